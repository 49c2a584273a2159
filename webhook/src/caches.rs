//! The Kubernetes edge: watch caches (kube-runtime reflectors) of HipaaPolicies, Namespaces,
//! NetworkPolicies, StorageClasses, PVCs, HorizontalPodAutoscalers and the RBAC objects (`rbac`),
//! and the task that rebuilds the snapshot when they change. Watch events only mark what changed;
//! bursts coalesce into one rebuild, and the access model is computed again only when an RBAC
//! object changed. The workloads per namespace are counted by metadata-only watches
//! (`workloads`), in place.

mod rbac;
mod workloads;

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use futures::StreamExt;
use hipaa_controls::context::ContextObjects;
use hipaa_crds::HipaaPolicy;
use hipaa_runtime::trim_for_cache;
use hipaa_runtime::watch::with_watch_backoff;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource as KubeResource};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::metrics::{Metrics, ResourceLabels};
use crate::snapshot::{ClusterState, Snapshot, SnapshotCell};
use crate::sync::{Resource, SyncState};
use crate::workloads::WorkloadIndex;

/// What changed since the last rebuild.
#[derive(Debug, Default)]
struct Changes {
    notify: Notify,
    /// Namespaces or HipaaPolicies changed: namespace scopes must be resolved again.
    scopes: AtomicBool,
    /// An RBAC object or a ServiceAccount changed: the access model must be computed again.
    rbac: AtomicBool,
}

impl Changes {
    fn mark(&self, resource: Resource) {
        if matches!(resource, Resource::Namespaces | Resource::HipaaPolicies) {
            self.scopes.store(true, Ordering::Release);
        }
        if resource.is_rbac() {
            self.rbac.store(true, Ordering::Release);
        }
        self.notify.notify_one();
    }
}

/// The readers of every watch cache.
#[derive(Clone)]
struct Stores {
    policies: Store<HipaaPolicy>,
    namespaces: Store<Namespace>,
    network_policies: Store<NetworkPolicy>,
    storage_classes: Store<StorageClass>,
    pvcs: Store<PersistentVolumeClaim>,
    autoscalers: Store<HorizontalPodAutoscaler>,
    rbac: rbac::RbacStores,
    workloads: Arc<WorkloadIndex>,
}

impl Stores {
    /// What the caches hold; the RBAC objects only when `with_rbac` (the access model is built
    /// again), since the previous snapshot's are reused otherwise.
    fn state(&self, with_rbac: bool) -> ClusterState {
        ClusterState {
            policies: self.policies.state(),
            context: ContextObjects {
                namespaces: self.namespaces.state(),
                network_policies: self.network_policies.state(),
                storage_classes: self.storage_classes.state(),
                pvcs: self.pvcs.state(),
                autoscalers: self.autoscalers.state(),
                backup_schedules: Vec::new(),
                rbac: if with_rbac {
                    self.rbac.set()
                } else {
                    Default::default()
                },
            },
            workloads: Arc::clone(&self.workloads),
        }
    }
}

/// Starts the watches and the snapshot rebuilder on `tasks`. They run until the set is dropped.
pub fn start(
    client: Client,
    snapshots: Arc<SnapshotCell>,
    sync: Arc<SyncState>,
    metrics: Arc<Metrics>,
    tasks: &mut JoinSet<()>,
) {
    let changes = Arc::new(Changes::default());
    let counting = Arc::new(workloads::Counting {
        index: Arc::new(WorkloadIndex::new()),
        changes: Arc::clone(&changes),
        sync: Arc::clone(&sync),
        metrics: Arc::clone(&metrics),
    });
    workloads::start(&client, &counting, tasks);
    let rbac = rbac::RbacStores::start(&client, &changes, &sync, &metrics, tasks);
    let stores = Stores {
        policies: watch(
            Api::all(client.clone()),
            Resource::HipaaPolicies,
            trim_for_cache,
            &changes,
            &sync,
            &metrics,
            tasks,
        ),
        namespaces: watch(
            Api::all(client.clone()),
            Resource::Namespaces,
            trim_for_cache,
            &changes,
            &sync,
            &metrics,
            tasks,
        ),
        network_policies: watch(
            Api::all(client.clone()),
            Resource::NetworkPolicies,
            trim_for_cache,
            &changes,
            &sync,
            &metrics,
            tasks,
        ),
        storage_classes: watch(
            Api::all(client.clone()),
            Resource::StorageClasses,
            trim_for_cache,
            &changes,
            &sync,
            &metrics,
            tasks,
        ),
        pvcs: watch(
            Api::all(client.clone()),
            Resource::PersistentVolumeClaims,
            trim_for_cache,
            &changes,
            &sync,
            &metrics,
            tasks,
        ),
        autoscalers: watch(
            Api::all(client),
            Resource::HorizontalPodAutoscalers,
            trim_for_cache,
            &changes,
            &sync,
            &metrics,
            tasks,
        ),
        rbac,
        workloads: Arc::clone(&counting.index),
    };
    tasks.spawn(rebuild_loop(stores, changes, snapshots, sync, metrics));
}

/// One reflector: keeps its store current (each object trimmed by `trim` before it is stored),
/// marks changes, and flags the first complete list.
fn watch<K>(
    api: Api<K>,
    resource: Resource,
    trim: fn(&mut K),
    changes: &Arc<Changes>,
    sync: &Arc<SyncState>,
    metrics: &Arc<Metrics>,
    tasks: &mut JoinSet<()>,
) -> Store<K>
where
    K: KubeResource + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    let (reader, writer) = reflector::store::<K>();
    let stream = with_watch_backoff(watcher::watcher(api, watcher::Config::default()))
        .modify(trim)
        .reflect(writer);
    let on_event = Arc::clone(changes);
    let freshness = sync.freshness().watch(resource.as_str());
    tasks.spawn(async move {
        tokio::pin!(stream);
        while let Some(event) = stream.next().await {
            freshness.observe(&event);
            match event {
                Ok(Event::Apply(_) | Event::Delete(_) | Event::InitDone) => on_event.mark(resource),
                Ok(Event::Init | Event::InitApply(_)) => {}
                Err(err) => {
                    tracing::warn!(resource = resource.as_str(), error = %hipaa_controls::redact::Redacted(&err), "watch failed; retrying with backoff");
                }
            }
        }
    });
    let ready = reader.clone();
    let (on_sync, sync, metrics) = (Arc::clone(changes), Arc::clone(sync), Arc::clone(metrics));
    tasks.spawn(async move {
        if ready.wait_until_ready().await.is_ok() {
            sync.mark_synced(resource);
            metrics
                .cache_synced
                .get_or_create(&ResourceLabels {
                    resource: resource.as_str(),
                })
                .set(1);
            tracing::info!(
                resource = resource.as_str(),
                objects = ready.len(),
                "watch cache synced"
            );
            on_sync.mark(resource);
        }
    });
    reader
}

/// Rebuilds and publishes the snapshot after each batch of changes.
async fn rebuild_loop(
    stores: Stores,
    changes: Arc<Changes>,
    snapshots: Arc<SnapshotCell>,
    sync: Arc<SyncState>,
    metrics: Arc<Metrics>,
) {
    let generation = AtomicU64::new(snapshots.load().generation);
    for resource in Resource::ALL {
        metrics
            .cache_synced
            .get_or_create(&ResourceLabels {
                resource: resource.as_str(),
            })
            .set(0);
    }
    loop {
        changes.notify.notified().await;
        let scopes_changed = changes.scopes.swap(false, Ordering::AcqRel);
        let rbac_changed = changes.rbac.swap(false, Ordering::AcqRel);
        let previous = snapshots.load_full();
        let reuse = (!scopes_changed && previous.synced).then(|| previous.scopes());
        // The access model takes milliseconds per thousand bindings: built again only when an
        // RBAC object changed, never on the request path.
        let reuse_access = (!rbac_changed && previous.synced).then(|| previous.access());
        let synced = sync.all();
        let next = generation.fetch_add(1, Ordering::Relaxed) + 1;
        let stores = stores.clone();
        let built = tokio::task::spawn_blocking(move || {
            let state = stores.state(reuse_access.is_none());
            let [
                roles,
                cluster_roles,
                role_bindings,
                cluster_role_bindings,
                service_accounts,
            ] = stores.rbac.counts();
            let counts = [
                (Resource::HipaaPolicies, state.policies.len()),
                (Resource::Namespaces, state.context.namespaces.len()),
                (
                    Resource::NetworkPolicies,
                    state.context.network_policies.len(),
                ),
                (
                    Resource::StorageClasses,
                    state.context.storage_classes.len(),
                ),
                (Resource::PersistentVolumeClaims, state.context.pvcs.len()),
                (
                    Resource::HorizontalPodAutoscalers,
                    state.context.autoscalers.len(),
                ),
                roles,
                cluster_roles,
                role_bindings,
                cluster_role_bindings,
                service_accounts,
            ];
            // Scopes computed before every cache synced may miss namespaces or policies.
            let reuse = if synced { reuse } else { None };
            let snapshot = Snapshot::build_reusing(&state, synced, next, reuse, reuse_access);
            (snapshot, counts)
        })
        .await;
        let Ok((snapshot, counts)) = built else {
            tracing::error!("building the cluster snapshot panicked; keeping the previous one");
            continue;
        };
        for (resource, count) in counts {
            let count = i64::try_from(count).unwrap_or(i64::MAX);
            metrics
                .cache_objects
                .get_or_create(&ResourceLabels {
                    resource: resource.as_str(),
                })
                .set(count);
        }
        metrics.snapshot_rebuilds.inc();
        if snapshot.synced && !previous.synced {
            tracing::info!(
                generation = snapshot.generation,
                selected_namespaces = snapshot.selected_namespaces(),
                "every watch cache synced; reviews are judged from now on"
            );
        }
        snapshots.publish(snapshot);
    }
}
