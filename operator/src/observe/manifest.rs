//! Building an [`Inventory`] from manifests (JSON values), as fixtures and benchmarks do, with the
//! same filters the watch caches apply (controlled Pods, ReplicaSets and Jobs are left out).

use std::sync::Arc;

use kube::Resource;
use serde::de::DeserializeOwned;

use super::Inventory;

/// Why a manifest cannot join an inventory.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("the manifest has no kind")]
    MissingKind,
    #[error("{0} is not a kind the operator caches")]
    UnsupportedKind(String),
    #[error("{kind} does not parse: {source}")]
    Invalid {
        kind: String,
        source: serde_json::Error,
    },
}

fn parse<K: DeserializeOwned>(
    value: serde_json::Value,
    kind: &str,
) -> Result<Arc<K>, ManifestError> {
    serde_json::from_value(value)
        .map(Arc::new)
        .map_err(|source| ManifestError::Invalid {
            kind: kind.to_string(),
            source,
        })
}

fn controlled<K: Resource>(object: &K) -> bool {
    object
        .meta()
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.controller == Some(true))
}

impl Inventory {
    /// Adds one object, as the watch caches would hold it.
    pub fn insert_manifest(&mut self, value: serde_json::Value) -> Result<(), ManifestError> {
        let kind = value
            .get("kind")
            .and_then(serde_json::Value::as_str)
            .ok_or(ManifestError::MissingKind)?
            .to_string();
        match kind.as_str() {
            "Namespace" => self.namespaces.push(parse(value, &kind)?),
            "Deployment" => self.deployments.push(parse(value, &kind)?),
            "StatefulSet" => self.stateful_sets.push(parse(value, &kind)?),
            "DaemonSet" => self.daemon_sets.push(parse(value, &kind)?),
            "ReplicaSet" => {
                let rs: Arc<k8s_openapi::api::apps::v1::ReplicaSet> = parse(value, &kind)?;
                if rs
                    .metadata
                    .owner_references
                    .as_ref()
                    .is_none_or(Vec::is_empty)
                {
                    self.replica_sets.push(rs);
                }
            }
            "Job" => {
                let job: Arc<k8s_openapi::api::batch::v1::Job> = parse(value, &kind)?;
                if !controlled(job.as_ref()) {
                    self.jobs.push(job);
                }
            }
            "CronJob" => self.cron_jobs.push(parse(value, &kind)?),
            "Pod" => {
                let pod: Arc<k8s_openapi::api::core::v1::Pod> = parse(value, &kind)?;
                if !controlled(pod.as_ref()) {
                    self.pods.push(pod);
                }
            }
            "Service" => self.services.push(parse(value, &kind)?),
            "Ingress" => self.ingresses.push(parse(value, &kind)?),
            "PersistentVolumeClaim" => self.pvcs.push(parse(value, &kind)?),
            "NetworkPolicy" => self.network_policies.push(parse(value, &kind)?),
            "StorageClass" => self.storage_classes.push(parse(value, &kind)?),
            "Schedule" => {
                let schedule: kube::api::DynamicObject =
                    serde_json::from_value(value).map_err(|source| ManifestError::Invalid {
                        kind: kind.clone(),
                        source,
                    })?;
                self.backup_schedules
                    .push(super::velero::backup_schedule(&schedule));
            }
            _ => return Err(ManifestError::UnsupportedKind(kind)),
        }
        Ok(())
    }
}
