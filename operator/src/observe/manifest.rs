//! Building an [`Inventory`] from manifests (JSON values), as fixtures and benchmarks do, with the
//! same filters and forms the watch caches use (controlled Pods, ReplicaSets and Jobs are left
//! out; judged kinds are kept compact).

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::Resource;
use serde::de::DeserializeOwned;

use super::Inventory;
use super::compact::{Compact, CompactResource};

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

fn parse<K: DeserializeOwned>(value: serde_json::Value, kind: &str) -> Result<K, ManifestError> {
    serde_json::from_value(value).map_err(|source| ManifestError::Invalid {
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
            "Namespace" => self.namespaces.push(Arc::new(parse(value, &kind)?)),
            "PersistentVolumeClaim" => self.pvcs.push(Arc::new(parse(value, &kind)?)),
            "NetworkPolicy" => self.network_policies.push(Arc::new(parse(value, &kind)?)),
            "StorageClass" => self.storage_classes.push(Arc::new(parse(value, &kind)?)),
            "Deployment" => self.insert_compact::<Deployment>(value, &kind, |_| true)?,
            "StatefulSet" => self.insert_compact::<StatefulSet>(value, &kind, |_| true)?,
            "DaemonSet" => self.insert_compact::<DaemonSet>(value, &kind, |_| true)?,
            "ReplicaSet" => self.insert_compact::<ReplicaSet>(value, &kind, |rs| {
                rs.metadata
                    .owner_references
                    .as_ref()
                    .is_none_or(Vec::is_empty)
            })?,
            "Job" => self.insert_compact::<Job>(value, &kind, |job| !controlled(job))?,
            "CronJob" => self.insert_compact::<CronJob>(value, &kind, |_| true)?,
            "Pod" => self.insert_compact::<Pod>(value, &kind, |pod| !controlled(pod))?,
            "Service" => self.insert_compact::<Service>(value, &kind, |_| true)?,
            "Ingress" => self.insert_compact::<Ingress>(value, &kind, |_| true)?,
            "Schedule" => {
                let schedule: kube::api::DynamicObject = parse(value, &kind)?;
                self.backup_schedules
                    .push(super::velero::backup_schedule(&schedule));
            }
            _ => return Err(ManifestError::UnsupportedKind(kind)),
        }
        Ok(())
    }

    fn insert_compact<K: CompactResource>(
        &mut self,
        value: serde_json::Value,
        kind: &str,
        keep: impl Fn(&K) -> bool,
    ) -> Result<(), ManifestError> {
        let object: K = parse(value, kind)?;
        if keep(&object) {
            let entry = Compact::encode(&object).map_err(|source| ManifestError::Invalid {
                kind: kind.to_string(),
                source,
            })?;
            self.objects.push(Arc::new(entry));
        }
        Ok(())
    }
}
