//! The Kubernetes objects the engine judges, parsed from JSON into k8s-openapi types, and the
//! reduction of every workload kind to its pod template.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    Namespace, PersistentVolumeClaim, Pod, PodSpec, PodTemplateSpec, Service,
};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

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
    fn from_template(template: &'a PodTemplateSpec, workload: &'a ObjectMeta) -> Self {
        let meta = template.metadata.as_ref();
        PodTemplate {
            labels: meta.and_then(|m| m.labels.as_ref()),
            annotations: meta.and_then(|m| m.annotations.as_ref()),
            workload_labels: workload.labels.as_ref(),
            spec: template.spec.as_ref(),
        }
    }

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

/// Kinds that live in a namespace among those the engine judges.
fn is_namespaced(kind: &str) -> bool {
    kind != "Namespace"
}

fn parse<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    kind: &str,
) -> Result<Box<T>, ObjectError> {
    serde_json::from_value(value)
        .map(Box::new)
        .map_err(|source| ObjectError::Invalid {
            kind: kind.to_string(),
            source,
        })
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
        let (api_version, kind) = (api_version.to_string(), kind.to_string());
        let mut object = match (api_version.as_str(), kind.as_str()) {
            ("v1", "Pod") => Object::Pod(parse(value, &kind)?),
            ("apps/v1", "Deployment") => Object::Deployment(parse(value, &kind)?),
            ("apps/v1", "StatefulSet") => Object::StatefulSet(parse(value, &kind)?),
            ("apps/v1", "DaemonSet") => Object::DaemonSet(parse(value, &kind)?),
            ("apps/v1", "ReplicaSet") => Object::ReplicaSet(parse(value, &kind)?),
            ("batch/v1", "Job") => Object::Job(parse(value, &kind)?),
            ("batch/v1", "CronJob") => Object::CronJob(parse(value, &kind)?),
            ("v1", "Service") => Object::Service(parse(value, &kind)?),
            ("networking.k8s.io/v1", "Ingress") => Object::Ingress(parse(value, &kind)?),
            ("v1", "PersistentVolumeClaim") => Object::PersistentVolumeClaim(parse(value, &kind)?),
            ("v1", "Namespace") => Object::Namespace(parse(value, &kind)?),
            ("networking.k8s.io/v1", "NetworkPolicy") => {
                Object::NetworkPolicy(parse(value, &kind)?)
            }
            _ => return Err(ObjectError::UnsupportedKind { api_version, kind }),
        };
        if is_namespaced(&kind) {
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

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
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
        match self {
            Object::Pod(_) => "Pod",
            Object::Deployment(_) => "Deployment",
            Object::StatefulSet(_) => "StatefulSet",
            Object::DaemonSet(_) => "DaemonSet",
            Object::ReplicaSet(_) => "ReplicaSet",
            Object::Job(_) => "Job",
            Object::CronJob(_) => "CronJob",
            Object::Service(_) => "Service",
            Object::Ingress(_) => "Ingress",
            Object::PersistentVolumeClaim(_) => "PersistentVolumeClaim",
            Object::Namespace(_) => "Namespace",
            Object::NetworkPolicy(_) => "NetworkPolicy",
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
        match self {
            Object::Pod(pod) => Some(PodTemplate {
                labels: pod.metadata.labels.as_ref(),
                annotations: pod.metadata.annotations.as_ref(),
                workload_labels: pod.metadata.labels.as_ref(),
                spec: pod.spec.as_ref(),
            }),
            Object::Deployment(o) => Some(template_of(
                o.spec.as_ref().map(|s| &s.template),
                &o.metadata,
            )),
            Object::StatefulSet(o) => Some(template_of(
                o.spec.as_ref().map(|s| &s.template),
                &o.metadata,
            )),
            Object::DaemonSet(o) => Some(template_of(
                o.spec.as_ref().map(|s| &s.template),
                &o.metadata,
            )),
            Object::ReplicaSet(o) => Some(template_of(
                o.spec.as_ref().and_then(|s| s.template.as_ref()),
                &o.metadata,
            )),
            Object::Job(o) => Some(template_of(
                o.spec.as_ref().map(|s| &s.template),
                &o.metadata,
            )),
            Object::CronJob(o) => Some(template_of(
                o.spec
                    .as_ref()
                    .and_then(|s| s.job_template.spec.as_ref())
                    .map(|s| &s.template),
                &o.metadata,
            )),
            _ => None,
        }
    }
}

fn template_of<'a>(
    template: Option<&'a PodTemplateSpec>,
    workload: &'a ObjectMeta,
) -> PodTemplate<'a> {
    match template {
        Some(template) => PodTemplate::from_template(template, workload),
        None => PodTemplate {
            labels: None,
            annotations: None,
            workload_labels: workload.labels.as_ref(),
            spec: None,
        },
    }
}
