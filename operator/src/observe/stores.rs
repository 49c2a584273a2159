//! The watch caches: one per kind the audit reads, trimmed of what no control needs
//! (managedFields, the last-applied annotation), with controlled Pods, ReplicaSets and Jobs left
//! out (their owner is judged instead, as the kind table says). The context kinds (Namespaces,
//! NetworkPolicies, StorageClasses, PVCs, HorizontalPodAutoscalers, and the RBAC kinds of
//! [`super::rbac`]) are kube reflector stores of structs; the judged
//! workloads, Services and Ingresses are [`CompactStore`]s, one per kind the table keeps compact.
//! Every change is announced as a [`Change`] so that the controller re-queues the policies it
//! concerns.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::{StreamExt, future};
use hipaa_runtime::trim_for_cache;
use hipaa_runtime::watch::{CacheFreshness, Freshness, with_watch_backoff};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{ApiResource, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Store, store::Writer};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::cache::CompactWriter;
use super::compact::CompactResource;
use super::judged::{self, CompactVisitor, JudgedStores};
use super::rbac::RbacCaches;
use super::triggers::Change;
use super::velero;

/// Read handles on every watch cache.
#[derive(Clone)]
pub struct Stores {
    pub namespaces: Store<Namespace>,
    /// The workloads, Services and Ingresses, compact: one cache per judged kind.
    pub judged: JudgedStores,
    pub pvcs: Store<PersistentVolumeClaim>,
    pub network_policies: Store<NetworkPolicy>,
    pub storage_classes: Store<StorageClass>,
    /// The autoscalers, whose minReplicas HIPAA-K8S-HA judges for the workloads they scale.
    pub autoscalers: Store<HorizontalPodAutoscaler>,
    /// Velero `Schedule`s: set when the Velero CRD is installed, at start or found since.
    pub backup_schedules: Arc<OnceLock<Store<DynamicObject>>>,
    /// Roles, ClusterRoles, their bindings and ServiceAccounts, for the access controls.
    pub rbac: RbacCaches,
}

/// The running reflectors.
pub struct Reflectors {
    /// Since when each cache has been out of sync (readiness and `/metrics` read it).
    pub freshness: Arc<CacheFreshness>,
    pub stores: Stores,
    tasks: Vec<JoinHandle<()>>,
}

impl Reflectors {
    /// Starts one reflector per kind. `velero` is the Velero Schedule resource when its CRD exists;
    /// when it does not, discovery is tried again every `rediscovery` and the cache starts once
    /// the CRD appears. Each records its freshness into `freshness`.
    pub fn start(
        client: &Client,
        velero: Option<ApiResource>,
        changes: broadcast::Sender<Change>,
        rediscovery: Duration,
        freshness: Arc<CacheFreshness>,
    ) -> Self {
        let fresh = &freshness;
        let mut tasks = Vec::new();
        let mut spawn = |task: JoinHandle<()>| tasks.push(task);
        let stores = Stores {
            namespaces: reflect(
                Api::all(client.clone()),
                (),
                keep_all,
                Change::of_namespace,
                &changes,
                fresh,
                &mut spawn,
            ),
            judged: judged::compact_kinds()
                .filter_map(|kind| {
                    let start = ReflectCompact {
                        client,
                        changes: &changes,
                        freshness: fresh,
                        spawn: &mut spawn,
                    };
                    Some((kind, judged::visit(kind, start)?))
                })
                .collect(),
            pvcs: reflect(
                Api::all(client.clone()),
                (),
                keep_all,
                Change::of_namespaced,
                &changes,
                fresh,
                &mut spawn,
            ),
            network_policies: reflect(
                Api::all(client.clone()),
                (),
                keep_all,
                Change::of_namespaced,
                &changes,
                fresh,
                &mut spawn,
            ),
            storage_classes: reflect(
                Api::all(client.clone()),
                (),
                keep_all,
                Change::cluster_wide,
                &changes,
                fresh,
                &mut spawn,
            ),
            autoscalers: reflect(
                Api::all(client.clone()),
                (),
                keep_all,
                Change::of_namespaced,
                &changes,
                fresh,
                &mut spawn,
            ),
            backup_schedules: Arc::new(OnceLock::new()),
            rbac: RbacCaches::start(client, &changes, &mut spawn),
        };
        match velero {
            Some(resource) => {
                let store = reflect_schedules(client, resource, &changes, fresh, &mut spawn);
                let _ = stores.backup_schedules.set(store);
            }
            None => spawn(tokio::spawn(rediscover_schedules(
                client.clone(),
                Arc::clone(&stores.backup_schedules),
                changes.clone(),
                rediscovery,
                Arc::clone(fresh),
            ))),
        }
        Reflectors {
            freshness,
            stores,
            tasks,
        }
    }

    /// Resolves once every cache holds a complete initial list, and the RBAC caches have listed
    /// or been refused (for at most [`RBAC_SETTLE_TIMEOUT`]: they never hold up the others).
    pub async fn wait_until_synced(&self, synced: Arc<AtomicBool>) -> Result<(), CacheStopped> {
        let s = &self.stores;
        let typed = async {
            futures::try_join!(
                s.namespaces.wait_until_ready(),
                s.pvcs.wait_until_ready(),
                s.network_policies.wait_until_ready(),
                s.storage_classes.wait_until_ready(),
                s.autoscalers.wait_until_ready(),
                async {
                    match s.backup_schedules.get() {
                        Some(store) => store.wait_until_ready().await,
                        None => Ok(()),
                    }
                },
            )
            .map_err(|_| CacheStopped)
        };
        let compact = async {
            future::try_join_all(s.judged.values().map(|store| store.wait_until_ready()))
                .await
                .map_err(|_| CacheStopped)
        };
        futures::try_join!(typed, compact)?;
        s.rbac.wait_settled(RBAC_SETTLE_TIMEOUT).await;
        synced.store(true, Ordering::Release);
        Ok(())
    }
}

/// How long the start waits for the RBAC caches after the others synced; an operator refused
/// RBAC (403) does not wait, one whose RBAC lists hang audits with the access controls in Error.
pub const RBAC_SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

/// A watch cache stopped before its first complete list.
#[derive(Debug, thiserror::Error)]
#[error("a watch cache stopped before its first complete list")]
pub struct CacheStopped;

impl Drop for Reflectors {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn reflect_schedules(
    client: &Client,
    resource: ApiResource,
    changes: &broadcast::Sender<Change>,
    freshness: &CacheFreshness,
    spawn: &mut impl FnMut(JoinHandle<()>),
) -> Store<DynamicObject> {
    reflect(
        Api::all_with(client.clone(), &resource),
        resource.clone(),
        keep_all,
        Change::cluster_wide,
        changes,
        freshness,
        spawn,
    )
}

/// Looks for the Velero Schedule CRD every `interval` until it appears, then runs its cache in
/// `slot` for as long as this task lives, and re-queues every policy once it has listed.
async fn rediscover_schedules(
    client: Client,
    slot: Arc<OnceLock<Store<DynamicObject>>>,
    changes: broadcast::Sender<Change>,
    interval: Duration,
    freshness: Arc<CacheFreshness>,
) {
    let resource = loop {
        tokio::time::sleep(interval).await;
        match velero::discover(&client).await {
            Ok(Some(resource)) => break resource,
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, "discovering the Velero Schedule API failed; trying again later")
            }
        }
    };
    let mut reflector = None;
    let store = reflect_schedules(&client, resource, &changes, &freshness, &mut |task| {
        reflector = Some(task);
    });
    let _stop_with_this_task = reflector.map(AbortOnDrop);
    tracing::info!("the Velero Schedule CRD appeared; backup schedules are watched from now on");
    if slot.set(store.clone()).is_ok() && store.wait_until_ready().await.is_ok() {
        let _ = changes.send(Change::ClusterWide);
    }
    future::pending::<()>().await;
}

/// Aborts a task when dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn keep_all<K>(_: &K) -> bool {
    true
}

/// Keeps only objects that `keep` accepts: an update that makes an object unwanted (a Pod adopted
/// by a controller) removes it from the cache.
fn filter_event<K>(event: Event<K>, keep: impl Fn(&K) -> bool) -> Option<Event<K>> {
    match event {
        Event::Apply(object) if !keep(&object) => Some(Event::Delete(object)),
        Event::InitApply(object) if !keep(&object) => None,
        other => Some(other),
    }
}

fn reflect<K>(
    api: Api<K>,
    dyntype: K::DynamicType,
    keep: fn(&K) -> bool,
    change_of: fn(&K) -> Change,
    changes: &broadcast::Sender<Change>,
    freshness: &CacheFreshness,
    spawn: &mut impl FnMut(JoinHandle<()>),
) -> Store<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Clone + Eq + Hash + Send + Sync + Unpin,
{
    let kind = K::kind(&dyntype).to_string();
    let fresh = freshness.watch(&K::plural(&dyntype));
    let writer = Writer::new(dyntype);
    let reader = writer.as_reader();
    let config = watcher::Config::default().any_semantic().page_size(500);
    let events = with_watch_backoff(watcher::watcher(api, config))
        .modify(trim_for_cache::<K>)
        .filter_map(move |event| future::ready(event.map(|e| filter_event(e, keep)).transpose()));
    let changes = changes.clone();
    let mut initial_lists = 0_u32;
    let task = tokio::spawn(reflector::reflector(writer, events).for_each(move |event| {
        fresh.observe(&event);
        announce(&event, &kind, change_of, &changes, &mut initial_lists);
        future::ready(())
    }));
    spawn(task);
    reader
}

/// Starts the compact cache of a judged kind, announcing changes in the object's namespace;
/// only the objects judged themselves are kept (Pods a ReplicaSet controls are judged through it).
struct ReflectCompact<'a, S> {
    client: &'a Client,
    changes: &'a broadcast::Sender<Change>,
    freshness: &'a CacheFreshness,
    spawn: &'a mut S,
}

impl<S: FnMut(JoinHandle<()>)> CompactVisitor for ReflectCompact<'_, S> {
    type Output = super::cache::CompactStore;

    fn visit<K: CompactResource + Clone + Debug + Send + Sync + 'static>(self) -> Self::Output {
        let ReflectCompact {
            client,
            changes,
            freshness,
            spawn,
        } = self;
        let fresh = freshness.watch(&K::plural(&()));
        reflect_compact::<K>(client, changes, fresh, spawn)
    }
}

fn reflect_compact<K>(
    client: &Client,
    changes: &broadcast::Sender<Change>,
    fresh: Arc<Freshness>,
    spawn: &mut impl FnMut(JoinHandle<()>),
) -> super::cache::CompactStore
where
    K: CompactResource + Clone + Debug + Send + Sync + 'static,
{
    let kind = K::KIND.as_str().to_string();
    let keep = |object: &K| judged::judged_itself(K::KIND, object);
    let mut writer = CompactWriter::new();
    let reader = writer.as_reader();
    let config = watcher::Config::default().any_semantic().page_size(500);
    let events = with_watch_backoff(watcher::watcher(Api::<K>::all(client.clone()), config))
        .modify(trim_for_cache::<K>)
        .filter_map(move |event| future::ready(event.map(|e| filter_event(e, keep)).transpose()));
    let changes = changes.clone();
    let mut initial_lists = 0_u32;
    let task = tokio::spawn(events.for_each(move |event| {
        fresh.observe(&event);
        if let Ok(event) = &event {
            writer.apply(event);
        }
        announce(
            &event,
            &kind,
            Change::of_namespaced,
            &changes,
            &mut initial_lists,
        );
        future::ready(())
    }));
    spawn(task);
    reader
}

/// Announces what a watch event changed; a relist after a broken watch may hide any change, so
/// it re-audits everything.
fn announce<K>(
    event: &Result<Event<K>, watcher::Error>,
    kind: &str,
    change_of: fn(&K) -> Change,
    changes: &broadcast::Sender<Change>,
    initial_lists: &mut u32,
) {
    match event {
        Ok(Event::Apply(object) | Event::Delete(object)) => {
            // Nobody listens while this replica does not lead; that is fine.
            let _ = changes.send(change_of(object));
        }
        Ok(Event::InitDone) => {
            *initial_lists = initial_lists.saturating_add(1);
            if *initial_lists > 1 {
                tracing::info!(%kind, "watch cache relisted");
                let _ = changes.send(Change::ClusterWide);
            }
        }
        Ok(Event::Init | Event::InitApply(_)) => {}
        Err(error) => {
            tracing::warn!(%kind, error = %hipaa_controls::redact::Redacted(&error), "watch failed; retrying with backoff")
        }
    }
}
