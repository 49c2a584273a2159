//! The kinds the engine judges: how each is named (apiVersion and kind), and the one table that
//! parses an object of each kind from any serde deserializer (a JSON value, JSON text in the
//! middle of an AdmissionReview, a YAML document), so that the webhook, the operator and the CLI
//! all build the engine's [`Object`] the same way.

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
    /// Every kind, in a stable order.
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

    /// The kind an object's `apiVersion` and `kind` name; None for anything the engine does not
    /// judge (including other versions of these kinds).
    pub fn of(api_version: &str, kind: &str) -> Option<ObjectKind> {
        ObjectKind::ALL
            .into_iter()
            .find(|k| k.as_str() == kind && k.api_version() == api_version)
    }

    /// The kind's name, e.g. `Deployment`.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Pod => "Pod",
            ObjectKind::Deployment => "Deployment",
            ObjectKind::StatefulSet => "StatefulSet",
            ObjectKind::DaemonSet => "DaemonSet",
            ObjectKind::ReplicaSet => "ReplicaSet",
            ObjectKind::Job => "Job",
            ObjectKind::CronJob => "CronJob",
            ObjectKind::Service => "Service",
            ObjectKind::Ingress => "Ingress",
            ObjectKind::PersistentVolumeClaim => "PersistentVolumeClaim",
            ObjectKind::Namespace => "Namespace",
            ObjectKind::NetworkPolicy => "NetworkPolicy",
        }
    }

    /// The `apiVersion` the engine reads the kind in.
    pub fn api_version(self) -> &'static str {
        match self {
            ObjectKind::Deployment
            | ObjectKind::StatefulSet
            | ObjectKind::DaemonSet
            | ObjectKind::ReplicaSet => "apps/v1",
            ObjectKind::Job | ObjectKind::CronJob => "batch/v1",
            ObjectKind::Ingress | ObjectKind::NetworkPolicy => "networking.k8s.io/v1",
            ObjectKind::Pod
            | ObjectKind::Service
            | ObjectKind::PersistentVolumeClaim
            | ObjectKind::Namespace => "v1",
        }
    }

    /// True for the kinds that run pods (and so parse into a [`Workload`]).
    pub fn runs_pods(self) -> bool {
        matches!(
            self,
            ObjectKind::Pod
                | ObjectKind::Deployment
                | ObjectKind::StatefulSet
                | ObjectKind::DaemonSet
                | ObjectKind::ReplicaSet
                | ObjectKind::Job
                | ObjectKind::CronJob
        )
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
