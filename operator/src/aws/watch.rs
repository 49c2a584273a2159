//! Watch caches of the secret integrations, read through the dynamic API: SecretProviderClasses
//! (secrets-store.csi.x-k8s.io/v1) and ExternalSecrets, SecretStores and ClusterSecretStores
//! (external-secrets.io/v1, else v1beta1). A CRD that is not installed, or that the operator may
//! not list, is not watched and its objects link nothing; discovery is tried again every
//! rediscovery interval, so an integration installed (or permitted) after the operator started is
//! watched from then on. Changes re-queue the policies of the namespace, like every other watched
//! object.

use hipaa_runtime::watch::with_watch_backoff;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::{StreamExt, future};
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Store, store::Writer};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, ResourceExt, discovery};
use tokio::sync::{OnceCell, broadcast};
use tokio::task::JoinHandle;

use hipaa_controls::object::KindInfo;
use hipaa_controls::object::kind::table;

use super::secret_refs::SecretSources;
use crate::observe::triggers::Change;

/// How long the first audit waits for the caches' first list before linking with what is there.
const SYNC_WAIT: Duration = Duration::from_secs(10);

/// How often discovery is tried again for the integrations not watched yet, by default.
pub const DEFAULT_REDISCOVERY: Duration = Duration::from_secs(60);

/// The integration kinds, in the order of [`SecretSources`]' fields: their rows of the kind
/// table, which say where the API server may serve them.
const INTEGRATIONS: [&KindInfo; 4] = [
    &table::SECRET_PROVIDER_CLASS,
    &table::EXTERNAL_SECRET,
    &table::SECRET_STORE,
    &table::CLUSTER_SECRET_STORE,
];

/// One integration kind: its row of the kind table, and its cache once watched.
struct Integration {
    info: &'static KindInfo,
    store: OnceLock<Store<DynamicObject>>,
}

impl Integration {
    fn new(info: &'static KindInfo) -> Integration {
        Integration {
            info,
            store: OnceLock::new(),
        }
    }

    /// What a change of one of its objects concerns.
    fn change_of(&self) -> fn(&DynamicObject) -> Change {
        if self.info.namespaced {
            Change::of_namespaced
        } else {
            Change::cluster_wide
        }
    }

    fn state(&self) -> Vec<Arc<DynamicObject>> {
        self.store.get().map(Store::state).unwrap_or_default()
    }
}

/// The integrations, in the order of [`SecretSources`]' fields.
type Integrations = [Integration; 4];

/// The watches of the secret integrations, and the task that looks for the missing ones.
pub struct SecretWatch {
    integrations: Arc<Integrations>,
    /// Done once the first audit has waited for the initial lists.
    initial_lists: OnceCell<()>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl SecretWatch {
    /// Discovers the integration CRDs and starts a watch per kind that is served and listable;
    /// the others are looked for again every `rediscovery`.
    pub async fn start(
        client: &Client,
        changes: &broadcast::Sender<Change>,
        rediscovery: Duration,
    ) -> SecretWatch {
        let integrations = Arc::new(INTEGRATIONS.map(Integration::new));
        let tasks = Arc::new(Mutex::new(Vec::new()));
        let missing = watch_found(client, &integrations, changes, &tasks, true).await;
        if missing > 0 {
            let (client, changes) = (client.clone(), changes.clone());
            let (shared, task_list) = (Arc::clone(&integrations), Arc::clone(&tasks));
            let rediscover = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(rediscovery).await;
                    if watch_found(&client, &shared, &changes, &task_list, false).await == 0 {
                        break;
                    }
                }
            });
            lock(&tasks).push(rediscover);
        }
        SecretWatch {
            integrations,
            initial_lists: OnceCell::new(),
            tasks,
        }
    }

    /// The cached objects. The first call waits (at most [`SYNC_WAIT`]) for every started watch
    /// to list; later calls never wait, so a watch that cannot list does not slow every audit
    /// (and one started later announces its first list as a change instead).
    pub async fn sources(&self) -> SecretSources {
        self.initial_lists
            .get_or_init(|| async {
                let waits = self
                    .integrations
                    .iter()
                    .filter_map(|integration| integration.store.get())
                    .map(|store| tokio::time::timeout(SYNC_WAIT, store.wait_until_ready()));
                if futures::future::join_all(waits)
                    .await
                    .iter()
                    .any(Result::is_err)
                {
                    tracing::warn!(
                        "a secret integration watch has not listed yet; linking with what it has"
                    );
                }
            })
            .await;
        let [classes, externals, stores, cluster_stores] = &*self.integrations;
        SecretSources {
            provider_classes: classes.state(),
            external_secrets: externals.state(),
            secret_stores: stores.state(),
            cluster_secret_stores: cluster_stores.state(),
        }
    }
}

impl Drop for SecretWatch {
    fn drop(&mut self) {
        for task in lock(&self.tasks).iter() {
            task.abort();
        }
    }
}

fn lock(tasks: &Mutex<Vec<JoinHandle<()>>>) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
    tasks
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts a watch for every integration not watched yet that the API server now serves and lets
/// the operator list; returns how many are still missing. `first` logs the missing ones (later
/// rounds only log what they find).
async fn watch_found(
    client: &Client,
    integrations: &Integrations,
    changes: &broadcast::Sender<Change>,
    tasks: &Mutex<Vec<JoinHandle<()>>>,
    first: bool,
) -> usize {
    let mut missing = 0;
    for integration in integrations {
        if integration.store.get().is_some() {
            continue;
        }
        let (group, kind) = (integration.info.group(), integration.info.kind);
        match find(client, integration.info).await {
            Found::Listable(resource) => {
                let (store, task) =
                    reflect(client, resource, integration.change_of(), changes.clone());
                if integration.store.set(store).is_ok() {
                    lock(tasks).push(task);
                    if first {
                        tracing::info!(%group, %kind, "watching a secret integration");
                    } else {
                        tracing::info!(%group, %kind, "a secret integration appeared; watching it from now on");
                    }
                } else {
                    task.abort();
                }
            }
            Found::NotInstalled => {
                missing += 1;
                if first {
                    tracing::info!(%group, %kind, "not installed; nothing links through it until it is");
                }
            }
            Found::NotListable => {
                missing += 1;
                if first {
                    tracing::warn!(%group, %kind, "the operator may not list this secret integration; its secrets are not linked");
                }
            }
            Found::DiscoveryFailed(error) => {
                missing += 1;
                tracing::warn!(%group, %kind, %error, "discovering a secret integration failed; trying again later");
            }
        }
    }
    missing
}

/// What discovery says of an integration kind.
enum Found {
    Listable(ApiResource),
    NotInstalled,
    /// Served, but the operator's role may not list it.
    NotListable,
    DiscoveryFailed(kube::Error),
}

/// The resource of the kind in the first of its versions the API server serves, if it may be
/// listed.
async fn find(client: &Client, info: &KindInfo) -> Found {
    let (group, kind) = (info.group(), info.kind);
    for version in info.versions() {
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let resource = match discovery::pinned_kind(client, &gvk).await {
            Ok((resource, _)) => resource,
            Err(kube::Error::Api(status)) if status.code == 404 => continue,
            Err(kube::Error::Discovery(_)) => continue,
            Err(error) => return Found::DiscoveryFailed(error),
        };
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        return match api.list(&ListParams::default().limit(1)).await {
            Ok(_) => Found::Listable(resource),
            Err(kube::Error::Api(status)) if status.code == 403 => Found::NotListable,
            Err(error) => {
                // Transient: the watch retries with backoff.
                tracing::warn!(%group, %kind, error = %hipaa_controls::redact::Redacted(&error), "listing a secret integration failed; retrying in the watch");
                Found::Listable(resource)
            }
        };
    }
    Found::NotInstalled
}

fn reflect(
    client: &Client,
    resource: ApiResource,
    change_of: fn(&DynamicObject) -> Change,
    changes: broadcast::Sender<Change>,
) -> (Store<DynamicObject>, JoinHandle<()>) {
    let kind = resource.kind.clone();
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let writer = Writer::new(resource);
    let reader = writer.as_reader();
    let events = with_watch_backoff(watcher::watcher(
        api,
        watcher::Config::default().any_semantic(),
    ))
    .modify(|object: &mut DynamicObject| object.managed_fields_mut().clear());
    let task = tokio::spawn(reflector::reflector(writer, events).for_each(move |event| {
        match event {
            Ok(Event::Apply(object) | Event::Delete(object)) => {
                let _ = changes.send(change_of(&object));
            }
            Ok(Event::InitDone) => {
                let _ = changes.send(Change::ClusterWide);
            }
            Ok(Event::Init | Event::InitApply(_)) => {}
            Err(error) => tracing::warn!(%kind, error = %hipaa_controls::redact::Redacted(&error), "watch failed; retrying with backoff"),
        }
        future::ready(())
    }));
    (reader, task)
}
