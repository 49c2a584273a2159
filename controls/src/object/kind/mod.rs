//! The kinds the engine judges ([`ObjectKind`]), each with its row of the one kind table
//! ([`table::KINDS`]: API names, admission, caches), and the one parse of an object of each kind
//! from any serde deserializer (a JSON value, JSON text in the middle of an AdmissionReview, a
//! YAML document), so that the webhook, the operator and the CLI all build the engine's
//! [`Object`] the same way.

mod admission;
mod info;
pub mod table;

pub use admission::{Admission, Operation};

pub use info::{KindInfo, OperatorUse, Owners, RBAC_GROUP, READ_VERBS};
pub use table::{HIPAA_POLICY, KINDS};

use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, Service};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use serde::{Deserialize, Deserializer};

use super::Object;
use super::workload::{Shape, Workload};

/// A kind the engine judges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    Pod,
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    Job,
    CronJob,
    Service,
    Ingress,
    PersistentVolumeClaim,
    Namespace,
    NetworkPolicy,
}

impl ObjectKind {
    /// Every kind, in a stable order (the order of the first rows of [`KINDS`]).
    pub const ALL: [ObjectKind; 12] = [
        ObjectKind::Pod,
        ObjectKind::Deployment,
        ObjectKind::StatefulSet,
        ObjectKind::DaemonSet,
        ObjectKind::ReplicaSet,
        ObjectKind::Job,
        ObjectKind::CronJob,
        ObjectKind::Service,
        ObjectKind::Ingress,
        ObjectKind::PersistentVolumeClaim,
        ObjectKind::Namespace,
        ObjectKind::NetworkPolicy,
    ];

    /// The kind's row of the kind table.
    #[allow(clippy::indexing_slicing)]
    pub fn info(self) -> &'static KindInfo {
        // In bounds and the right row: the judged kinds' rows come first, in `ALL`'s order, and
        // KINDS has more rows than ObjectKind has variants (checked by a test below).
        &KINDS[self as usize]
    }

    /// The kind an object's `apiVersion` and `kind` name; None for anything the engine does not
    /// judge (including other versions of these kinds).
    pub fn of(api_version: &str, kind: &str) -> Option<ObjectKind> {
        ObjectKind::ALL
            .into_iter()
            .find(|k| k.as_str() == kind && k.api_version() == api_version)
    }

    /// The kind an admission request's group, version and kind name, when the webhook judges
    /// some operation on it.
    pub fn admitted(group: &str, version: &str, kind: &str) -> Option<ObjectKind> {
        admitted_row(group, version, kind).and_then(|row| row.object)
    }

    /// The kind whose subresource an admission request writes when the request names another
    /// kind (a `scale` write names `autoscaling/v1` `Scale`): found by the resource (`group`,
    /// `version`, plural) the request writes, when the webhook judges writes of `sub_resource`.
    pub fn admitted_subresource(
        group: &str,
        version: &str,
        resource: &str,
        sub_resource: &str,
    ) -> Option<ObjectKind> {
        ObjectKind::ALL.into_iter().find(|k| {
            let info = k.info();
            info.plural == resource
                && info.admission.subresources.contains(&sub_resource)
                && info.version() == version
                && info.group() == group
        })
    }

    /// The kind's name, e.g. `Deployment`.
    pub fn as_str(self) -> &'static str {
        self.info().kind
    }

    /// The `apiVersion` the engine reads the kind in.
    pub fn api_version(self) -> &'static str {
        self.info().api_version()
    }

    /// True for the kinds that run pods (and so parse into a [`Workload`]).
    pub fn runs_pods(self) -> bool {
        self.info()
            .targets
            .contains(&crate::model::Target::PodTemplate)
    }

    /// Parses an object of this kind. The object's own `apiVersion` and `kind` fields are not
    /// checked here (the caller read them to pick the kind); the namespace is what the object
    /// says, if anything.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Object, D::Error> {
        let workload = |shape, deserializer| Workload::deserialize_shape(shape, deserializer);
        let replicated = Shape::Controller { replicas: true };
        let unreplicated = Shape::Controller { replicas: false };
        Ok(match self {
            ObjectKind::Pod => Object::Pod(Box::new(workload(Shape::Pod, deserializer)?)),
            ObjectKind::Deployment => {
                Object::Deployment(Box::new(workload(replicated, deserializer)?))
            }
            ObjectKind::StatefulSet => {
                Object::StatefulSet(Box::new(workload(Shape::StatefulSet, deserializer)?))
            }
            ObjectKind::DaemonSet => {
                Object::DaemonSet(Box::new(workload(unreplicated, deserializer)?))
            }
            ObjectKind::ReplicaSet => {
                Object::ReplicaSet(Box::new(workload(replicated, deserializer)?))
            }
            ObjectKind::Job => Object::Job(Box::new(workload(unreplicated, deserializer)?)),
            ObjectKind::CronJob => {
                Object::CronJob(Box::new(workload(Shape::CronJob, deserializer)?))
            }
            ObjectKind::Service => Object::Service(Box::new(Service::deserialize(deserializer)?)),
            ObjectKind::Ingress => Object::Ingress(Box::new(Ingress::deserialize(deserializer)?)),
            ObjectKind::PersistentVolumeClaim => Object::PersistentVolumeClaim(Box::new(
                PersistentVolumeClaim::deserialize(deserializer)?,
            )),
            ObjectKind::Namespace => {
                Object::Namespace(Box::new(Namespace::deserialize(deserializer)?))
            }
            ObjectKind::NetworkPolicy => {
                Object::NetworkPolicy(Box::new(NetworkPolicy::deserialize(deserializer)?))
            }
        })
    }
}

/// The row of the kind an admission request's group, version and kind name, when the webhook
/// judges some operation on it (an engine kind, or [`HIPAA_POLICY`]).
pub fn admitted_row(group: &str, version: &str, kind: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|info| {
        info.kind == kind
            && !info.admission.operations.is_empty()
            && info.version() == version
            && info.group() == group
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn every_kind_is_found_by_its_own_names_only() {
        for kind in ObjectKind::ALL {
            assert_eq!(
                ObjectKind::of(kind.api_version(), kind.as_str()),
                Some(kind)
            );
        }
        assert_eq!(ObjectKind::of("extensions/v1beta1", "Ingress"), None);
        assert_eq!(ObjectKind::of("apps/v1", "Pod"), None);
        assert_eq!(ObjectKind::of("v1", "ConfigMap"), None);
    }

    #[test]
    fn each_kind_has_its_own_row_and_only_the_judged_rows_name_a_kind() {
        for kind in ObjectKind::ALL {
            let info = kind.info();
            assert_eq!(info.object, Some(kind));
            assert_eq!(info.kind, format!("{kind:?}"));
            assert!(!info.targets.is_empty(), "{kind:?}");
        }
        let named = KINDS.iter().filter(|row| row.object.is_some()).count();
        assert_eq!(named, ObjectKind::ALL.len());
        let mut names: Vec<_> = KINDS.iter().map(|row| (row.group(), row.kind)).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KINDS.len(), "a kind has two rows");
        for row in &KINDS {
            assert!(
                row.plural.chars().all(|c| c.is_ascii_lowercase()),
                "{}",
                row.kind
            );
            assert!(!row.api_versions.is_empty(), "{}", row.kind);
            assert!(
                row.object.is_some()
                    || row.admission.operations.is_empty()
                    || *row == HIPAA_POLICY
                    || row.is_rbac(),
                "{}",
                row.kind
            );
            assert!(!row.webhook_watches || row.context, "{}", row.kind);
            assert_eq!(
                row.webhook_counts,
                row.object.is_some_and(ObjectKind::runs_pods),
                "the webhook counts exactly the kinds that run pods: {}",
                row.kind
            );
        }
    }

    /// The webhook judges the writes of exactly the kinds the engine judges RBAC changes of.
    #[test]
    fn the_rbac_rows_are_the_engines_rbac_kinds() {
        let rows: Vec<_> = KINDS
            .iter()
            .filter(|row| row.is_rbac())
            .map(|row| row.kind)
            .collect();
        assert_eq!(rows, crate::RBAC_KINDS);
        for kind in crate::RBAC_KINDS {
            let row = admitted_row(RBAC_GROUP, "v1", kind).unwrap();
            assert!(row.admission.judges(Operation::Create, ""));
            assert!(row.admission.judges(Operation::Update, ""));
            assert!(!row.admission.judges(Operation::Delete, ""));
            assert!(row.webhook_watches);
        }
    }

    #[test]
    fn admission_names_only_the_judged_operations_kinds() {
        assert_eq!(
            ObjectKind::admitted("apps", "v1", "Deployment"),
            Some(ObjectKind::Deployment)
        );
        assert_eq!(
            ObjectKind::admitted("networking.k8s.io", "v1", "NetworkPolicy"),
            Some(ObjectKind::NetworkPolicy)
        );
        assert_eq!(
            ObjectKind::admitted("", "v1", "Namespace"),
            Some(ObjectKind::Namespace)
        );
        assert_eq!(
            ObjectKind::admitted("hipaaguard.io", "v1alpha1", "HipaaPolicy"),
            None
        );
        assert_eq!(
            admitted_row("hipaaguard.io", "v1alpha1", "HipaaPolicy"),
            Some(&HIPAA_POLICY)
        );
        assert_eq!(admitted_row("", "v1", "ConfigMap"), None);
        assert_eq!(
            ObjectKind::admitted("extensions", "v1beta1", "Ingress"),
            None
        );
        assert_eq!(ObjectKind::admitted("", "v1", "ConfigMap"), None);
        let judges = |kind: ObjectKind, operation, sub_resource| {
            kind.info().admission.judges(operation, sub_resource)
        };
        for operation in [Operation::Create, Operation::Update, Operation::Delete] {
            assert!(judges(ObjectKind::NetworkPolicy, operation, ""));
        }
        assert!(!judges(
            ObjectKind::NetworkPolicy,
            Operation::Update,
            "status"
        ));
        assert!(judges(ObjectKind::Pod, Operation::Update, ""));
        assert!(!judges(ObjectKind::Pod, Operation::Delete, ""));
        assert!(judges(ObjectKind::Namespace, Operation::Update, ""));
        assert!(!judges(ObjectKind::Namespace, Operation::Delete, ""));
        assert!(!judges(ObjectKind::Pod, Operation::Update, "status"));
        assert!(judges(
            ObjectKind::Pod,
            Operation::Update,
            "ephemeralcontainers"
        ));
        // Subresource writes arrive as UPDATEs; eviction and binding (CREATEs) are not asked for.
        assert!(!judges(
            ObjectKind::Pod,
            Operation::Create,
            "ephemeralcontainers"
        ));
        assert!(!judges(ObjectKind::Pod, Operation::Create, "eviction"));
        assert!(!judges(ObjectKind::Pod, Operation::Create, "binding"));
        assert!(judges(ObjectKind::Deployment, Operation::Update, "scale"));
        assert!(judges(ObjectKind::StatefulSet, Operation::Update, "scale"));
        assert!(!judges(ObjectKind::ReplicaSet, Operation::Update, "scale"));
        assert!(!judges(ObjectKind::Deployment, Operation::Update, "status"));
    }

    #[test]
    fn a_scale_write_is_found_by_the_resource_it_writes() {
        let scaled =
            |group, resource| ObjectKind::admitted_subresource(group, "v1", resource, "scale");
        assert_eq!(scaled("apps", "deployments"), Some(ObjectKind::Deployment));
        assert_eq!(
            scaled("apps", "statefulsets"),
            Some(ObjectKind::StatefulSet)
        );
        assert_eq!(scaled("apps", "replicasets"), None);
        assert_eq!(scaled("extensions", "deployments"), None);
        assert_eq!(
            ObjectKind::admitted_subresource("apps", "v1", "deployments", "status"),
            None
        );
    }

    #[test]
    fn owners_decide_which_objects_are_judged_themselves() {
        assert!(Owners::Any.judged_itself([true].into_iter()));
        assert!(Owners::NoController.judged_itself([false].into_iter()));
        assert!(!Owners::NoController.judged_itself([false, true].into_iter()));
        assert!(Owners::NoOwner.judged_itself([].into_iter()));
        assert!(!Owners::NoOwner.judged_itself([false].into_iter()));
    }

    #[test]
    fn each_kind_parses_into_its_own_variant() {
        for kind in ObjectKind::ALL {
            let object = kind
                .deserialize(serde_json::json!({"metadata": {"name": "x"}}))
                .unwrap();
            assert_eq!(object.kind(), kind.as_str());
            assert_eq!(object.object_kind(), kind);
            assert_eq!(object.name(), "x");
            assert_eq!(
                object.pod_template().is_some(),
                kind.runs_pods(),
                "{kind:?}"
            );
        }
    }
}
