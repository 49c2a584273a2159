//! Metadata-only watches of the kinds that run pods (the kind table's `webhook_counts` rows),
//! feeding the count of workloads per namespace (`crate::workloads::WorkloadIndex`). The API
//! server sends only each object's metadata; the index keeps only names. Each watch's first
//! complete list marks its resource synced, which readiness waits for.

use std::fmt::Debug;
use std::sync::Arc;

use futures::StreamExt;
use hipaa_controls::object::ObjectKind;
use hipaa_runtime::watch::with_watch_backoff;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;
use kube::core::PartialObjectMeta;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource as KubeResource};
use serde::de::DeserializeOwned;
use tokio::task::JoinSet;

use super::Changes;
use crate::metrics::{Metrics, ResourceLabels};
use crate::sync::{Resource, SyncState};
use crate::workloads::WorkloadIndex;

/// What every counting watch shares.
pub(super) struct Counting {
    pub index: Arc<WorkloadIndex>,
    pub changes: Arc<Changes>,
    pub sync: Arc<SyncState>,
    pub metrics: Arc<Metrics>,
}

/// Starts one metadata-only watch per counted kind on `tasks`.
pub(super) fn start(client: &Client, counting: &Arc<Counting>, tasks: &mut JoinSet<()>) {
    for kind in counting.index.kinds() {
        let client = client.clone();
        let counting = Arc::clone(counting);
        match kind {
            ObjectKind::Pod => tasks.spawn(count::<Pod>(client, kind, counting)),
            ObjectKind::Deployment => tasks.spawn(count::<Deployment>(client, kind, counting)),
            ObjectKind::StatefulSet => tasks.spawn(count::<StatefulSet>(client, kind, counting)),
            ObjectKind::DaemonSet => tasks.spawn(count::<DaemonSet>(client, kind, counting)),
            ObjectKind::ReplicaSet => tasks.spawn(count::<ReplicaSet>(client, kind, counting)),
            ObjectKind::Job => tasks.spawn(count::<Job>(client, kind, counting)),
            ObjectKind::CronJob => tasks.spawn(count::<CronJob>(client, kind, counting)),
            other => {
                tracing::error!(
                    kind = other.as_str(),
                    "no Rust type to count this kind with"
                );
                continue;
            }
        };
    }
}

/// Keeps `kind`'s names in the index current, until the task set is dropped.
async fn count<K>(client: Client, kind: ObjectKind, counting: Arc<Counting>)
where
    K: KubeResource + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Default,
{
    let Some(resource) = Resource::counted(kind) else {
        return;
    };
    let index = &counting.index;
    let labels = ResourceLabels {
        resource: resource.as_str(),
    };
    // An Api of PartialObjectMeta asks the API server for metadata only.
    let api = Api::<PartialObjectMeta<K>>::all(client);
    let stream = with_watch_backoff(watcher::watcher(api, watcher::Config::default()));
    tokio::pin!(stream);
    let mut synced = false;
    let freshness = counting.sync.freshness().watch(resource.as_str());
    while let Some(event) = stream.next().await {
        freshness.observe(&event);
        let changed = match event {
            Ok(Event::Apply(meta)) => {
                index.apply(kind, namespace(&meta), name(&meta));
                true
            }
            Ok(Event::Delete(meta)) => {
                index.delete(kind, namespace(&meta), name(&meta));
                true
            }
            Ok(Event::Init) => {
                index.relist_started(kind);
                false
            }
            Ok(Event::InitApply(meta)) => {
                index.relisted(kind, namespace(&meta), name(&meta));
                false
            }
            Ok(Event::InitDone) => {
                index.relist_done(kind);
                if !synced {
                    synced = true;
                    counting.sync.mark_synced(resource);
                    counting.metrics.cache_synced.get_or_create(&labels).set(1);
                    tracing::info!(
                        resource = resource.as_str(),
                        objects = index.total(kind),
                        "workload count synced"
                    );
                    counting.changes.mark(resource);
                }
                true
            }
            Err(err) => {
                tracing::warn!(resource = resource.as_str(), error = %hipaa_controls::redact::Redacted(&err), "watch failed; retrying with backoff");
                false
            }
        };
        if changed {
            let total = i64::try_from(index.total(kind)).unwrap_or(i64::MAX);
            counting
                .metrics
                .cache_objects
                .get_or_create(&labels)
                .set(total);
        }
    }
}

fn namespace<K>(meta: &PartialObjectMeta<K>) -> &str {
    meta.metadata.namespace.as_deref().unwrap_or("")
}

fn name<K>(meta: &PartialObjectMeta<K>) -> &str {
    meta.metadata.name.as_deref().unwrap_or("")
}
