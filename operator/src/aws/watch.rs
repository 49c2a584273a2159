//! Watch caches of the secret integrations, read through the dynamic API: SecretProviderClasses
//! (secrets-store.csi.x-k8s.io/v1) and ExternalSecrets, SecretStores and ClusterSecretStores
//! (external-secrets.io/v1, else v1beta1). A CRD that is not installed, or that the operator may
//! not list, is simply not watched: its objects link nothing. Changes re-queue the policies of
//! the namespace, like every other watched object.

use std::time::Duration;

use futures::{StreamExt, future};
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Store, store::Writer};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, ResourceExt, discovery};
use tokio::sync::{OnceCell, broadcast};
use tokio::task::JoinHandle;

use super::secret_refs::SecretSources;
use crate::observe::triggers::Change;

/// How long the first audit waits for the caches' first list before linking with what is there.
const SYNC_WAIT: Duration = Duration::from_secs(10);

const SECRETS_STORE_GROUP: &str = "secrets-store.csi.x-k8s.io";
const EXTERNAL_SECRETS_GROUP: &str = "external-secrets.io";
/// Versions of external-secrets.io to try, newest first.
const EXTERNAL_SECRETS_VERSIONS: &[&str] = &["v1", "v1beta1"];

/// The running watches (a kind is `None` when its CRD is absent or not listable).
#[derive(Default)]
pub struct SecretWatch {
    provider_classes: Option<Store<DynamicObject>>,
    external_secrets: Option<Store<DynamicObject>>,
    secret_stores: Option<Store<DynamicObject>>,
    cluster_secret_stores: Option<Store<DynamicObject>>,
    /// Done once the first audit has waited for the initial lists.
    initial_lists: OnceCell<()>,
    tasks: Vec<JoinHandle<()>>,
}

impl SecretWatch {
    /// Discovers the integration CRDs and starts a watch per kind that is served and listable.
    pub async fn start(client: &Client, changes: &broadcast::Sender<Change>) -> SecretWatch {
        let mut watch = SecretWatch::default();
        let mut start = |resource: Option<ApiResource>, change_of: fn(&DynamicObject) -> Change| {
            resource.map(|resource| {
                let (store, task) = reflect(client, resource, change_of, changes.clone());
                watch.tasks.push(task);
                store
            })
        };
        let classes = find(client, SECRETS_STORE_GROUP, &["v1"], "SecretProviderClass").await;
        let externals = find(
            client,
            EXTERNAL_SECRETS_GROUP,
            EXTERNAL_SECRETS_VERSIONS,
            "ExternalSecret",
        )
        .await;
        let stores = find(
            client,
            EXTERNAL_SECRETS_GROUP,
            EXTERNAL_SECRETS_VERSIONS,
            "SecretStore",
        )
        .await;
        let cluster_stores = find(
            client,
            EXTERNAL_SECRETS_GROUP,
            EXTERNAL_SECRETS_VERSIONS,
            "ClusterSecretStore",
        )
        .await;
        let provider_classes = start(classes, Change::of_namespaced);
        let external_secrets = start(externals, Change::of_namespaced);
        let secret_stores = start(stores, Change::of_namespaced);
        let cluster_secret_stores = start(cluster_stores, Change::cluster_wide);
        watch.provider_classes = provider_classes;
        watch.external_secrets = external_secrets;
        watch.secret_stores = secret_stores;
        watch.cluster_secret_stores = cluster_secret_stores;
        watch
    }

    /// The cached objects. The first call waits (at most [`SYNC_WAIT`]) for every started watch
    /// to list; later calls never wait, so a watch that cannot list does not slow every audit.
    pub async fn sources(&self) -> SecretSources {
        self.initial_lists
            .get_or_init(|| async {
                let stores = [
                    &self.provider_classes,
                    &self.external_secrets,
                    &self.secret_stores,
                    &self.cluster_secret_stores,
                ];
                let waits = stores
                    .into_iter()
                    .flatten()
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
        let state = |store: &Option<Store<DynamicObject>>| {
            store.as_ref().map(Store::state).unwrap_or_default()
        };
        SecretSources {
            provider_classes: state(&self.provider_classes),
            external_secrets: state(&self.external_secrets),
            secret_stores: state(&self.secret_stores),
            cluster_secret_stores: state(&self.cluster_secret_stores),
        }
    }
}

impl Drop for SecretWatch {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The resource of `kind` in the first of `versions` the API server serves, if it may be listed.
async fn find(client: &Client, group: &str, versions: &[&str], kind: &str) -> Option<ApiResource> {
    for version in versions {
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let resource = match discovery::pinned_kind(client, &gvk).await {
            Ok((resource, _)) => resource,
            Err(kube::Error::Api(status)) if status.code == 404 => continue,
            Err(kube::Error::Discovery(_)) => continue,
            Err(error) => {
                tracing::warn!(%group, %version, %kind, %error, "discovering a secret integration failed; not linking it");
                return None;
            }
        };
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        return match api.list(&ListParams::default().limit(1)).await {
            Ok(_) => {
                tracing::info!(%group, %version, %kind, "watching a secret integration");
                Some(resource)
            }
            Err(kube::Error::Api(status)) if status.code == 403 => {
                tracing::warn!(%group, %kind, "the operator may not list this secret integration; its secrets are not linked");
                None
            }
            Err(error) => {
                // Transient: the watch retries with backoff.
                tracing::warn!(%group, %kind, %error, "listing a secret integration failed; retrying in the watch");
                Some(resource)
            }
        };
    }
    tracing::info!(%group, %kind, "not installed; nothing links through it");
    None
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
    let events = watcher::watcher(api, watcher::Config::default().any_semantic())
        .default_backoff()
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
            Err(error) => tracing::warn!(%kind, %error, "watch failed; retrying with backoff"),
        }
        future::ready(())
    }));
    (reader, task)
}
