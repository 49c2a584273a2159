//! The kinds and operations the webhook judges, and the typed parse of a raw object into the
//! engine's `Object` (one parse, straight from the request body's bytes).

use hipaa_controls::object::{Object, ObjectKind};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserializer;
use serde_json::value::RawValue;

/// A kind the webhook judges. Every one is served at version `v1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
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
    NetworkPolicy,
}

impl Kind {
    /// Every judged kind, in a stable order.
    pub const ALL: [Kind; 11] = [
        Kind::Pod,
        Kind::Deployment,
        Kind::StatefulSet,
        Kind::DaemonSet,
        Kind::ReplicaSet,
        Kind::Job,
        Kind::CronJob,
        Kind::Service,
        Kind::Ingress,
        Kind::PersistentVolumeClaim,
        Kind::NetworkPolicy,
    ];

    /// The kind for an API group, version and kind, if the webhook judges it: the engine's
    /// `apiVersion` for the kind is `group/version` (`version` alone in the core group).
    pub fn from_gvk(group: &str, version: &str, kind: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| {
            let engine = k.object_kind();
            let api_version = engine.api_version();
            let (engine_group, engine_version) =
                api_version.split_once('/').unwrap_or(("", api_version));
            engine.as_str() == kind && engine_group == group && engine_version == version
        })
    }

    pub fn as_str(self) -> &'static str {
        self.object_kind().as_str()
    }

    /// The engine's name for the kind.
    pub fn object_kind(self) -> ObjectKind {
        match self {
            Kind::Pod => ObjectKind::Pod,
            Kind::Deployment => ObjectKind::Deployment,
            Kind::StatefulSet => ObjectKind::StatefulSet,
            Kind::DaemonSet => ObjectKind::DaemonSet,
            Kind::ReplicaSet => ObjectKind::ReplicaSet,
            Kind::Job => ObjectKind::Job,
            Kind::CronJob => ObjectKind::CronJob,
            Kind::Service => ObjectKind::Service,
            Kind::Ingress => ObjectKind::Ingress,
            Kind::PersistentVolumeClaim => ObjectKind::PersistentVolumeClaim,
            Kind::NetworkPolicy => ObjectKind::NetworkPolicy,
        }
    }

    /// Parses `raw` as this kind. The namespace and name the API server put on the request fill
    /// in what the object's metadata leaves out (e.g. a Pod that only has `generateName`).
    pub fn parse(self, raw: &RawValue, namespace: &str, name: &str) -> Result<Object, ParseError> {
        let mut deserializer = serde_json::Deserializer::from_str(raw.get());
        let mut object = self
            .parse_from(&mut deserializer)
            .and_then(|object| deserializer.end().map(|()| object))
            .map_err(|source| ParseError {
                kind: self.as_str(),
                source,
            })?;
        fill_metadata(&mut object, namespace, name);
        Ok(object)
    }

    /// Parses this kind from any deserializer (e.g. in the middle of the review) with the
    /// engine's parse. The kinds that run pods are read into the engine's lean workload, which
    /// skips what no control reads; the others into k8s-openapi types, skipping
    /// `metadata.managedFields` on the way. The caller fills in the namespace and name
    /// (`fill_metadata`).
    pub fn parse_from<'de, D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Object, D::Error> {
        let kind = self.object_kind();
        if kind.runs_pods() {
            kind.deserialize(deserializer)
        } else {
            kind.deserialize(crate::skip::Skip(deserializer))
        }
    }

    /// Parses `raw` as a NetworkPolicy (the old object of a DELETE).
    pub fn parse_network_policy(
        raw: &RawValue,
        namespace: &str,
        name: &str,
    ) -> Result<Box<NetworkPolicy>, ParseError> {
        let error = |source| ParseError {
            kind: Kind::NetworkPolicy.as_str(),
            source,
        };
        let mut policy: Box<NetworkPolicy> = crate::skip::from_str(raw.get()).map_err(error)?;
        fill(&mut policy.metadata, namespace, name);
        Ok(policy)
    }
}

/// The object in a review does not parse as the kind the review names.
#[derive(Debug, thiserror::Error)]
#[error("the object does not parse as {kind}: {source}")]
pub struct ParseError {
    pub kind: &'static str,
    #[source]
    pub source: serde_json::Error,
}

/// Fills in what the object's metadata leaves out from the namespace and name the API server put
/// on the request (e.g. a Pod that only has `generateName`).
pub fn fill_metadata(object: &mut Object, namespace: &str, name: &str) {
    fill(object.metadata_mut(), namespace, name);
}

fn fill(meta: &mut ObjectMeta, namespace: &str, name: &str) {
    if meta.namespace.as_deref().is_none_or(str::is_empty) && !namespace.is_empty() {
        meta.namespace = Some(namespace.to_owned());
    }
    if meta.name.as_deref().is_none_or(str::is_empty) {
        let fallback = if name.is_empty() {
            meta.generate_name.clone()
        } else {
            Some(name.to_owned())
        };
        meta.name = fallback;
    }
}

/// A review's operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    Create,
    Update,
    Delete,
    Connect,
}

impl Operation {
    pub fn parse(text: &str) -> Option<Operation> {
        match text {
            "CREATE" => Some(Operation::Create),
            "UPDATE" => Some(Operation::Update),
            "DELETE" => Some(Operation::Delete),
            "CONNECT" => Some(Operation::Connect),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn maps_group_version_kind() {
        assert_eq!(
            Kind::from_gvk("apps", "v1", "Deployment"),
            Some(Kind::Deployment)
        );
        assert_eq!(
            Kind::from_gvk("networking.k8s.io", "v1", "Ingress"),
            Some(Kind::Ingress)
        );
        assert_eq!(Kind::from_gvk("extensions", "v1beta1", "Ingress"), None);
        assert_eq!(Kind::from_gvk("", "v1", "ConfigMap"), None);
        for kind in Kind::ALL {
            let group = match kind {
                Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet | Kind::ReplicaSet => "apps",
                Kind::Job | Kind::CronJob => "batch",
                Kind::Ingress | Kind::NetworkPolicy => "networking.k8s.io",
                _ => "",
            };
            assert_eq!(Kind::from_gvk(group, "v1", kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn fills_namespace_and_generated_name() {
        let pod = raw(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"web-"},"spec":{"containers":[]}}"#,
        );
        let Object::Pod(pod) = Kind::Pod.parse(&pod, "billing", "").unwrap() else {
            panic!("not a pod")
        };
        assert_eq!(pod.metadata.namespace.as_deref(), Some("billing"));
        assert_eq!(pod.metadata.name.as_deref(), Some("web-"));
    }

    #[test]
    fn rejects_an_object_of_another_shape() {
        let bad =
            raw(r#"{"apiVersion":"apps/v1","kind":"Deployment","spec":{"replicas":"three"}}"#);
        let err = Kind::Deployment.parse(&bad, "ns", "x").unwrap_err();
        assert_eq!(err.kind, "Deployment");
        assert!(
            err.to_string()
                .starts_with("the object does not parse as Deployment")
        );
    }
}
