//! The Kubernetes objects the engine judges: the kinds that run pods as [`Workload`]s (what the
//! controls read of them, see `pod_spec`), the others as their k8s-openapi types; and the
//! reduction of every workload kind to its pod template.

pub mod kind;
pub mod pod_spec;
mod workload;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, Service};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::model::ResourceRef;
pub use kind::{
    Admission, HIPAA_POLICY, KINDS, KindInfo, ObjectKind, Operation, OperatorUse, Owners,
    RBAC_GROUP, READ_VERBS, admitted_row,
};
use pod_spec::PodSpec;
pub use workload::{PodTemplateSpec, Workload};

/// An object the engine can judge. Build one with [`Object::from_value`], or with
/// [`ObjectKind::deserialize`] from any serde deserializer.
#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    Pod(Box<Workload>),
    Deployment(Box<Workload>),
    StatefulSet(Box<Workload>),
    DaemonSet(Box<Workload>),
    ReplicaSet(Box<Workload>),
    Job(Box<Workload>),
    CronJob(Box<Workload>),
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
    /// The message leaves out the values serde quotes ([`crate::redact::Redacted`]).
    #[error("{kind} does not parse: {}", crate::redact::Redacted(.source))]
    Invalid {
        kind: String,
        #[source]
        source: serde_json::Error,
    },
}

/// The pod template of a workload, with the workload's own labels: what every pod-template control
/// judges, whatever the kind (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob).
#[derive(Clone, Copy, Debug)]
pub struct PodTemplate<'a> {
    /// Labels of the pods (the template's, or the Pod's own).
    pub labels: Option<&'a BTreeMap<String, String>>,
    /// Annotations of the pods.
    pub annotations: Option<&'a BTreeMap<String, String>>,
    /// The workload object's labels (for a Pod, its own labels again).
    pub workload_labels: Option<&'a BTreeMap<String, String>>,
    /// The pod spec, absent when the object has none.
    pub spec: Option<&'a PodSpec>,
}

impl<'a> PodTemplate<'a> {
    /// A pod label's value.
    pub fn label(&self, key: &str) -> Option<&'a str> {
        self.labels.and_then(|l| l.get(key)).map(String::as_str)
    }

    /// A pod annotation's value.
    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.annotations
            .and_then(|a| a.get(key))
            .map(String::as_str)
    }
}

impl Object {
    /// Parses an object from its JSON form (as in an AdmissionReview or a manifest). Objects of
    /// namespaced kinds that carry no namespace get `default_namespace`.
    pub fn from_value(
        value: serde_json::Value,
        default_namespace: Option<&str>,
    ) -> Result<Object, ObjectError> {
        let api_version = value.get("apiVersion").and_then(serde_json::Value::as_str);
        let kind = value.get("kind").and_then(serde_json::Value::as_str);
        let (Some(api_version), Some(kind)) = (api_version, kind) else {
            return Err(ObjectError::MissingKind);
        };
        let Some(object_kind) = ObjectKind::of(api_version, kind) else {
            return Err(ObjectError::UnsupportedKind {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
            });
        };
        let mut object = object_kind
            .deserialize(value)
            .map_err(|source| ObjectError::Invalid {
                kind: object_kind.as_str().to_string(),
                source,
            })?;
        if object_kind != ObjectKind::Namespace {
            let meta = object.metadata_mut();
            if meta.namespace.as_deref().is_none_or(str::is_empty) {
                meta.namespace = default_namespace.map(str::to_owned);
            }
        }
        Ok(object)
    }

    /// The object's metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Object::Pod(o) => &o.metadata,
            Object::Deployment(o) => &o.metadata,
            Object::StatefulSet(o) => &o.metadata,
            Object::DaemonSet(o) => &o.metadata,
            Object::ReplicaSet(o) => &o.metadata,
            Object::Job(o) => &o.metadata,
            Object::CronJob(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::Ingress(o) => &o.metadata,
            Object::PersistentVolumeClaim(o) => &o.metadata,
            Object::Namespace(o) => &o.metadata,
            Object::NetworkPolicy(o) => &o.metadata,
        }
    }

    /// The object's metadata, to fill in what the caller knows better (e.g. the namespace and
    /// name an AdmissionReview carries).
    pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Object::Pod(o) => &mut o.metadata,
            Object::Deployment(o) => &mut o.metadata,
            Object::StatefulSet(o) => &mut o.metadata,
            Object::DaemonSet(o) => &mut o.metadata,
            Object::ReplicaSet(o) => &mut o.metadata,
            Object::Job(o) => &mut o.metadata,
            Object::CronJob(o) => &mut o.metadata,
            Object::Service(o) => &mut o.metadata,
            Object::Ingress(o) => &mut o.metadata,
            Object::PersistentVolumeClaim(o) => &mut o.metadata,
            Object::Namespace(o) => &mut o.metadata,
            Object::NetworkPolicy(o) => &mut o.metadata,
        }
    }

    /// The Kubernetes kind, e.g. `Deployment`.
    pub fn kind(&self) -> &'static str {
        self.object_kind().as_str()
    }

    /// The kind, as the engine names it.
    pub fn object_kind(&self) -> ObjectKind {
        match self {
            Object::Pod(_) => ObjectKind::Pod,
            Object::Deployment(_) => ObjectKind::Deployment,
            Object::StatefulSet(_) => ObjectKind::StatefulSet,
            Object::DaemonSet(_) => ObjectKind::DaemonSet,
            Object::ReplicaSet(_) => ObjectKind::ReplicaSet,
            Object::Job(_) => ObjectKind::Job,
            Object::CronJob(_) => ObjectKind::CronJob,
            Object::Service(_) => ObjectKind::Service,
            Object::Ingress(_) => ObjectKind::Ingress,
            Object::PersistentVolumeClaim(_) => ObjectKind::PersistentVolumeClaim,
            Object::Namespace(_) => ObjectKind::Namespace,
            Object::NetworkPolicy(_) => ObjectKind::NetworkPolicy,
        }
    }

    /// The workload, for the kinds that run pods.
    pub fn workload(&self) -> Option<&Workload> {
        match self {
            Object::Pod(w)
            | Object::Deployment(w)
            | Object::StatefulSet(w)
            | Object::DaemonSet(w)
            | Object::ReplicaSet(w)
            | Object::Job(w)
            | Object::CronJob(w) => Some(w),
            _ => None,
        }
    }

    /// The namespace of a namespaced object (None for a Namespace, or when neither the object
    /// nor the caller named one).
    pub fn namespace(&self) -> Option<&str> {
        if matches!(self, Object::Namespace(_)) {
            return None;
        }
        self.metadata()
            .namespace
            .as_deref()
            .filter(|ns| !ns.is_empty())
    }

    /// The namespace the object lives in, as the API server would default it: `default` when none
    /// is set. None for a Namespace.
    pub fn effective_namespace(&self) -> Option<&str> {
        match self {
            Object::Namespace(_) => None,
            _ => Some(self.namespace().unwrap_or("default")),
        }
    }

    /// The name, or the `generateName` prefix when the name is not set yet, or "".
    pub fn name(&self) -> &str {
        let meta = self.metadata();
        meta.name
            .as_deref()
            .or(meta.generate_name.as_deref())
            .unwrap_or("")
    }

    /// The object's labels.
    pub fn labels(&self) -> Option<&BTreeMap<String, String>> {
        self.metadata().labels.as_ref()
    }

    /// Kind, namespace and name, for findings; the namespace as the API server would default it.
    pub fn resource_ref(&self) -> ResourceRef {
        ResourceRef::new(self.kind(), self.effective_namespace(), self.name())
    }

    /// The pod template, for the kinds that run pods; None for other kinds. A workload without a
    /// spec still yields a template (with no spec) so that controls report what is missing.
    pub fn pod_template(&self) -> Option<PodTemplate<'_>> {
        let workload = self.workload()?;
        let template = workload.template.as_ref();
        let workload_labels = workload.metadata.labels.as_ref();
        let spec = template.and_then(|t| t.spec.as_ref());
        if matches!(self, Object::Pod(_)) {
            return Some(PodTemplate {
                labels: workload_labels,
                annotations: workload.metadata.annotations.as_ref(),
                workload_labels,
                spec,
            });
        }
        let meta = template.and_then(|t| t.metadata.as_ref());
        Some(PodTemplate {
            labels: meta.and_then(|m| m.labels.as_ref()),
            annotations: meta.and_then(|m| m.annotations.as_ref()),
            workload_labels,
            spec,
        })
    }
}
