//! The judged kinds the operator keeps compact, from the kind table: the one place that names
//! their Rust types ([`visit`]), which objects of each are judged themselves ([`judged_itself`]),
//! and a set of writers, one per kind, for tests and benchmarks that fill the caches by hand.

use std::collections::BTreeMap;
use std::fmt::Debug;

use hipaa_controls::object::{KINDS, ObjectKind};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, PodSpec, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::runtime::watcher::Event;
use kube::{Resource, ResourceExt};

use super::cache::{CompactStore, CompactWriter};
use super::compact::CompactResource;

/// One compact cache per judged kind.
pub type JudgedStores = BTreeMap<ObjectKind, CompactStore>;

macro_rules! compact_resource {
    ($($ty:ident => |$o:ident| $spec:expr;)*) => {
        $(impl CompactResource for $ty {
            const KIND: ObjectKind = ObjectKind::$ty;
            fn pod_spec(&self) -> Option<&PodSpec> {
                let $o = self;
                $spec
            }
        })*

        /// Calls `visitor` with the Rust type of `kind`; None for a kind not kept compact.
        pub fn visit<V: CompactVisitor>(kind: ObjectKind, visitor: V) -> Option<V::Output> {
            match kind {
                $(ObjectKind::$ty => Some(visitor.visit::<$ty>()),)*
                _ => None,
            }
        }
    };
}

compact_resource! {
    Deployment => |o| o.spec.as_ref()?.template.spec.as_ref();
    StatefulSet => |o| o.spec.as_ref()?.template.spec.as_ref();
    DaemonSet => |o| o.spec.as_ref()?.template.spec.as_ref();
    ReplicaSet => |o| o.spec.as_ref()?.template.as_ref()?.spec.as_ref();
    Job => |o| o.spec.as_ref()?.template.spec.as_ref();
    CronJob => |o| o.spec.as_ref()?.job_template.spec.as_ref()?.template.spec.as_ref();
    Pod => |o| o.spec.as_ref();
    Service => |_o| None;
    Ingress => |_o| None;
}

/// Something done with a compact kind's Rust type.
pub trait CompactVisitor {
    type Output;
    fn visit<K: CompactResource + Clone + Debug + Send + Sync + 'static>(self) -> Self::Output;
}

/// The kinds the operator judges and keeps compact, in the table's order.
pub fn compact_kinds() -> impl Iterator<Item = ObjectKind> {
    KINDS
        .iter()
        .filter(|row| row.operator_compact())
        .filter_map(|row| row.object)
}

/// Whether the audit judges `object` itself rather than through its owner, as the kind table
/// says for its kind.
pub fn judged_itself<K: Resource>(kind: ObjectKind, object: &K) -> bool {
    kind.info().judged_itself(
        object
            .owner_references()
            .iter()
            .map(|owner| owner.controller == Some(true)),
    )
}

/// A writer per compact kind, filled with objects in their JSON form (tests and benchmarks).
pub struct CompactWriters(BTreeMap<ObjectKind, CompactWriter>);

impl Default for CompactWriters {
    fn default() -> Self {
        CompactWriters(
            compact_kinds()
                .map(|kind| (kind, CompactWriter::new()))
                .collect(),
        )
    }
}

impl CompactWriters {
    /// Caches `value` as a watch event would (`initial`: part of the first list). Objects of
    /// kinds not kept compact are an error, as are objects that do not parse as their kind.
    pub fn apply(&mut self, value: serde_json::Value, initial: bool) -> Result<(), String> {
        let kind = value
            .get("apiVersion")
            .and_then(|v| v.as_str())
            .zip(value.get("kind").and_then(|k| k.as_str()))
            .and_then(|(api_version, kind)| ObjectKind::of(api_version, kind))
            .ok_or_else(|| format!("not an object the engine judges: {value}"))?;
        let writer = self
            .0
            .get_mut(&kind)
            .ok_or_else(|| format!("{kind:?} is not kept compact"))?;
        visit(
            kind,
            Apply {
                writer,
                value,
                initial,
            },
        )
        .ok_or_else(|| format!("{kind:?} has no compact type"))?
    }

    /// Ends every cache's initial list.
    pub fn init_done(&mut self) {
        for (kind, writer) in &mut self.0 {
            visit(*kind, InitDone(writer));
        }
    }

    /// The read handles.
    pub fn readers(&self) -> JudgedStores {
        self.0
            .iter()
            .map(|(kind, writer)| (*kind, writer.as_reader()))
            .collect()
    }
}

struct Apply<'w> {
    writer: &'w mut CompactWriter,
    value: serde_json::Value,
    initial: bool,
}

impl CompactVisitor for Apply<'_> {
    type Output = Result<(), String>;
    fn visit<K: CompactResource + Clone + Debug + Send + Sync + 'static>(self) -> Self::Output {
        let object: K = serde_json::from_value(self.value)
            .map_err(|e| hipaa_controls::redact::Redacted(&e).to_string())?;
        let event = if self.initial {
            Event::InitApply(object)
        } else {
            Event::Apply(object)
        };
        self.writer.apply(&event);
        Ok(())
    }
}

struct InitDone<'w>(&'w mut CompactWriter);

impl CompactVisitor for InitDone<'_> {
    type Output = ();
    fn visit<K: CompactResource + Clone + Debug + Send + Sync + 'static>(self) {
        self.0.apply(&Event::<K>::InitDone);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    /// Every row the table says the operator keeps compact has a Rust type here, of that kind.
    #[test]
    fn every_compact_kind_of_the_table_has_its_type() {
        struct KindOf;
        impl CompactVisitor for KindOf {
            type Output = ObjectKind;
            fn visit<K: CompactResource + Clone + Debug + Send + Sync + 'static>(
                self,
            ) -> ObjectKind {
                K::KIND
            }
        }
        let kinds: Vec<_> = compact_kinds().collect();
        assert_eq!(kinds.len(), 9);
        for kind in kinds {
            assert_eq!(visit(kind, KindOf), Some(kind));
        }
        assert_eq!(visit(ObjectKind::Namespace, KindOf), None);
    }

    #[test]
    fn controlled_pods_and_owned_replica_sets_are_judged_through_their_owner() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "r", "uid": "1", "controller": true}
            ]}
        }))
        .unwrap();
        assert!(!judged_itself(ObjectKind::Pod, &pod));
        assert!(judged_itself(ObjectKind::Deployment, &pod));
        let mut writers = CompactWriters::default();
        writers
            .apply(serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "n"}}), true)
            .unwrap();
        writers.init_done();
        assert_eq!(writers.readers()[&ObjectKind::Service].len(), 1);
        assert!(writers
            .apply(serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}), true)
            .is_err());
    }
}
