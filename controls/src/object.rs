//! The Kubernetes objects the engine judges, parsed from JSON into k8s-openapi types.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};

use crate::model::ResourceRef;

/// An object the engine can judge.
#[derive(Clone, Debug)]
pub enum Object {
    Pod(Box<Pod>),
    Deployment(Box<Deployment>),
    StatefulSet(Box<StatefulSet>),
    DaemonSet(Box<DaemonSet>),
    ReplicaSet(Box<ReplicaSet>),
    Job(Box<Job>),
    CronJob(Box<CronJob>),
    Service(Box<Service>),
    Ingress(Box<Ingress>),
    PersistentVolumeClaim(Box<PersistentVolumeClaim>),
    Namespace(Box<Namespace>),
    NetworkPolicy(Box<NetworkPolicy>),
}

/// Why a value is not an object the engine judges.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("the object has no kind or apiVersion")]
    MissingKind,
    #[error("{api_version} {kind} is not a kind HIPAA Guard judges")]
    UnsupportedKind { api_version: String, kind: String },
    #[error("{kind} does not parse: {source}")]
    Invalid {
        kind: String,
        #[source]
        source: serde_json::Error,
    },
}
