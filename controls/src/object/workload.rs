//! The kinds that run pods (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob) as
//! the engine holds them: the workload's identity and labels, its replica count, its pod template
//! and its claim templates, parsed straight from the object's JSON or YAML in the kind's own shape.
//! Parsing reads only what the controls judge (see `pod_spec`), which makes it several times
//! cheaper than parsing into the full k8s-openapi types: it is the admission webhook's hot path.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Deserializer};

use super::pod_spec::{ClaimTemplate, PodSpec, TemplateMetadata};

/// A workload of any kind that runs pods.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Workload {
    /// The workload's metadata. Only `name`, `generateName`, `namespace`, `labels` and
    /// `annotations` are read from the object; every other field is left unset.
    pub metadata: ObjectMeta,
    /// `spec.replicas`, for the kinds that have it (Deployment, StatefulSet, ReplicaSet).
    pub replicas: Option<i32>,
    /// The pod template (for a CronJob, the one in its job template); for a Pod, its own spec
    /// with no template metadata. None when the workload has no spec or template.
    pub template: Option<PodTemplateSpec>,
    /// A StatefulSet's `spec.volumeClaimTemplates`.
    pub volume_claim_templates: Option<Vec<ClaimTemplate>>,
}

/// `PodTemplateSpec`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct PodTemplateSpec {
    pub metadata: Option<TemplateMetadata>,
    pub spec: Option<PodSpec>,
}

/// The shape a workload's JSON has, by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    Pod,
    /// `spec.template` (DaemonSet, Job) and `spec.replicas` (Deployment, ReplicaSet).
    Controller {
        replicas: bool,
    },
    /// `spec.template`, `spec.replicas` and `spec.volumeClaimTemplates`.
    StatefulSet,
    /// `spec.jobTemplate.spec.template`.
    CronJob,
}

impl Workload {
    /// Parses a workload whose JSON has `shape`.
    pub(crate) fn deserialize_shape<'de, D: Deserializer<'de>>(
        shape: Shape,
        deserializer: D,
    ) -> Result<Workload, D::Error> {
        if shape == Shape::Pod {
            let pod = PodJson::deserialize(deserializer)?;
            return Ok(Workload {
                metadata: pod.metadata.unwrap_or_default().into(),
                replicas: None,
                template: Some(PodTemplateSpec {
                    metadata: None,
                    spec: pod.spec,
                }),
                volume_claim_templates: None,
            });
        }
        let object = ControllerJson::deserialize(deserializer)?;
        let spec = object.spec.unwrap_or_default();
        let (replicas, claims) = match shape {
            Shape::Controller { replicas } => (spec.replicas.filter(|_| replicas), None),
            Shape::StatefulSet => (spec.replicas, spec.volume_claim_templates),
            Shape::Pod | Shape::CronJob => (None, None),
        };
        let template = match shape {
            Shape::CronJob => spec.job_template.and_then(|j| j.spec?.template),
            _ => spec.template,
        };
        Ok(Workload {
            metadata: object.metadata.unwrap_or_default().into(),
            replicas,
            template,
            volume_claim_templates: claims,
        })
    }
}

/// The part of an object's metadata the engine reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct MetadataJson {
    name: Option<String>,
    generate_name: Option<String>,
    namespace: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
}

impl From<MetadataJson> for ObjectMeta {
    fn from(meta: MetadataJson) -> ObjectMeta {
        ObjectMeta {
            name: meta.name,
            generate_name: meta.generate_name,
            namespace: meta.namespace,
            labels: meta.labels,
            annotations: meta.annotations,
            ..ObjectMeta::default()
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PodJson {
    metadata: Option<MetadataJson>,
    spec: Option<PodSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ControllerJson {
    metadata: Option<MetadataJson>,
    spec: Option<ControllerSpecJson>,
}

/// The union of the workload specs' fields the engine reads; the shape picks among them.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ControllerSpecJson {
    replicas: Option<i32>,
    template: Option<PodTemplateSpec>,
    volume_claim_templates: Option<Vec<ClaimTemplate>>,
    job_template: Option<JobTemplateJson>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct JobTemplateJson {
    spec: Option<JobSpecJson>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct JobSpecJson {
    template: Option<PodTemplateSpec>,
}
