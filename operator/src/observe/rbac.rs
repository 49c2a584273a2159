//! The RBAC watch caches the access controls read: Roles, ClusterRoles, RoleBindings,
//! ClusterRoleBindings and ServiceAccounts, trimmed to what the access model reads, with what each
//! watch has told ([`super::access::WatchHealth`]). Unlike the other caches they do not hold up
//! readiness: an operator the cluster refuses RBAC (403) audits everything else, and the access
//! controls report Error with the reason. Every change re-audits the policies, as other context
//! changes do (RBAC anywhere can grant in any namespace, so as a cluster-wide change; a
//! ServiceAccount only in its namespace).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, future};
use hipaa_controls::access::{AccessEvidence, RbacSet};
use hipaa_runtime::watch::with_watch_backoff;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Store, store::Writer};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use serde::de::DeserializeOwned;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use super::access::{AccessCached, SharedModel, WatchHealth, rbac_version, readability};
use super::triggers::Change;

/// Read handles on the RBAC caches, their health and the shared model.
#[derive(Clone)]
pub struct RbacCaches {
    pub roles: Store<Role>,
    pub cluster_roles: Store<ClusterRole>,
    pub role_bindings: Store<RoleBinding>,
    pub cluster_role_bindings: Store<ClusterRoleBinding>,
    pub service_accounts: Store<ServiceAccount>,
    board: Arc<HealthBoard>,
    model: SharedModel,
}

/// What each RBAC watch has told, by resource plural, and a signal on every change of it.
#[derive(Debug)]
struct HealthBoard {
    watches: Mutex<BTreeMap<String, WatchHealth>>,
    changed: watch::Sender<()>,
}

impl HealthBoard {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, WatchHealth>> {
        self.watches
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records what `event` says of the watch of `plural`; true when it just became forbidden.
    fn observe<K>(&self, plural: &str, event: &Result<Event<K>, watcher::Error>) -> bool {
        let newly_forbidden = {
            let mut watches = self.lock();
            let health = watches.entry(plural.to_owned()).or_default();
            match event {
                Ok(Event::InitDone) => {
                    health.succeeded(true);
                    false
                }
                Ok(Event::Apply(_) | Event::Delete(_)) => {
                    health.succeeded(false);
                    false
                }
                Ok(Event::Init | Event::InitApply(_)) => return false,
                Err(error) => health.failed(
                    is_forbidden(error),
                    hipaa_controls::redact::Redacted(error).to_string(),
                ),
            }
        };
        self.changed.send_replace(());
        newly_forbidden
    }
}

/// Whether the API server refused the list or watch (403 Forbidden).
fn is_forbidden(error: &watcher::Error) -> bool {
    match error {
        watcher::Error::InitialListFailed(kube::Error::Api(status))
        | watcher::Error::WatchStartFailed(kube::Error::Api(status))
        | watcher::Error::WatchFailed(kube::Error::Api(status)) => status.code == 403,
        watcher::Error::WatchError(status) => status.code == 403,
        _ => false,
    }
}

impl RbacCaches {
    /// Starts one reflector per RBAC kind and ServiceAccounts.
    pub fn start(
        client: &Client,
        changes: &broadcast::Sender<Change>,
        spawn: &mut impl FnMut(JoinHandle<()>),
    ) -> Self {
        let board = Arc::new(HealthBoard {
            watches: Mutex::default(),
            changed: watch::channel(()).0,
        });
        for plural in [
            "roles",
            "clusterroles",
            "rolebindings",
            "clusterrolebindings",
            "serviceaccounts",
        ] {
            board
                .lock()
                .insert(plural.to_owned(), WatchHealth::default());
        }
        RbacCaches {
            roles: reflect(client, &board, Change::cluster_wide, changes, spawn),
            cluster_roles: reflect(client, &board, Change::cluster_wide, changes, spawn),
            role_bindings: reflect(client, &board, Change::cluster_wide, changes, spawn),
            cluster_role_bindings: reflect(client, &board, Change::cluster_wide, changes, spawn),
            service_accounts: reflect(client, &board, Change::of_namespaced, changes, spawn),
            board,
            model: SharedModel::default(),
        }
    }

    /// Caches the caller fills (tests, benchmarks): no watch, so readable as they are.
    pub fn detached(
        roles: Store<Role>,
        cluster_roles: Store<ClusterRole>,
        role_bindings: Store<RoleBinding>,
        cluster_role_bindings: Store<ClusterRoleBinding>,
        service_accounts: Store<ServiceAccount>,
    ) -> Self {
        RbacCaches {
            roles,
            cluster_roles,
            role_bindings,
            cluster_role_bindings,
            service_accounts,
            board: Arc::new(HealthBoard {
                watches: Mutex::default(),
                changed: watch::channel(()).0,
            }),
            model: SharedModel::default(),
        }
    }

    /// Every cached RBAC object and ServiceAccount, shared with the caches.
    pub fn set(&self) -> RbacSet {
        RbacSet {
            roles: self.roles.state(),
            cluster_roles: self.cluster_roles.state(),
            role_bindings: self.role_bindings.state(),
            cluster_role_bindings: self.cluster_role_bindings.state(),
            service_accounts: self.service_accounts.state(),
        }
    }

    /// What the audits know of access from `set` (this cache's [`Self::set`]), and the version
    /// that identifies it: the model is built only when the version changed.
    pub fn evidence(&self, set: &RbacSet) -> (AccessEvidence, u64) {
        let readable = readability(&self.board.lock());
        let version = rbac_version(set, &readable);
        (self.model.evidence(set, version, readable), version)
    }

    /// Resolves once every RBAC watch has listed or been refused, or after `timeout`: the first
    /// audits then judge access from complete caches, or say why they cannot.
    pub async fn wait_settled(&self, timeout: Duration) {
        let mut changed = self.board.changed.subscribe();
        let settled = async {
            loop {
                if self.board.lock().values().all(WatchHealth::settled) {
                    return;
                }
                if changed.changed().await.is_err() {
                    return;
                }
            }
        };
        if tokio::time::timeout(timeout, settled).await.is_err() {
            tracing::warn!(
                ?timeout,
                "the RBAC caches have not synced; the access controls report Error until they do"
            );
        }
    }
}

fn reflect<K>(
    client: &Client,
    board: &Arc<HealthBoard>,
    change_of: fn(&K) -> Change,
    changes: &broadcast::Sender<Change>,
    spawn: &mut impl FnMut(JoinHandle<()>),
) -> Store<K>
where
    K: AccessCached + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let plural = K::plural(&()).to_string();
    let writer = Writer::new(());
    let reader = writer.as_reader();
    let config = watcher::Config::default().any_semantic().page_size(500);
    let events =
        with_watch_backoff(watcher::watcher(Api::<K>::all(client.clone()), config)).modify(K::trim);
    let (board, changes) = (Arc::clone(board), changes.clone());
    let task = tokio::spawn(reflector::reflector(writer, events).for_each(move |event| {
        let newly_forbidden = board.observe(&plural, &event);
        match &event {
            Ok(Event::Apply(object) | Event::Delete(object)) => {
                let _ = changes.send(change_of(object));
            }
            // The first list completes the model; a relist may hide any change.
            Ok(Event::InitDone) => {
                let _ = changes.send(Change::ClusterWide);
            }
            Ok(Event::Init | Event::InitApply(_)) => {}
            Err(error) if newly_forbidden => {
                tracing::warn!(%plural, error = %hipaa_controls::redact::Redacted(error), "the operator may not list this RBAC kind; the access controls report Error");
                let _ = changes.send(Change::ClusterWide);
            }
            Err(error) => {
                tracing::debug!(%plural, error = %hipaa_controls::redact::Redacted(error), "RBAC watch failed; retrying with backoff")
            }
        }
        future::ready(())
    }));
    spawn(task);
    reader
}
