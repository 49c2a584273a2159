//! The registration loop: observe (the policies, the CA bundle, the configuration as it is, its
//! owner), decide (the configuration as it should be: `build`), and write it only once a webhook
//! answers with a certificate that bundle trusts. Every replica observes, for its readiness; only
//! the leader writes.
//!
//! Writing only after a successful probe is what makes registration safe: a fresh install never
//! sends a user's apply to a webhook that cannot answer, and a configuration an administrator
//! deleted while the webhook was down (the emergency exit) stays deleted until a webhook answers.

use hipaa_runtime::watch::with_watch_backoff;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use hipaa_crds::HipaaPolicy;
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::rbac::v1::ClusterRole;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Patch, PatchParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use tokio::sync::watch;

use super::args::ProbeVia;
use super::build::{Registration, webhook_configuration};
use super::bundle::BundleSource;
use super::policies::governing;
use super::probe::{ProbeTarget, probe};
use super::status::RegistrationStatus;
use crate::certificates::RegisteredBundle;

/// The field manager of the configuration.
pub const FIELD_MANAGER: &str = "hipaa-guard-operator";
/// How long one probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// How soon to look again while the configuration is not in place.
const RETRY: Duration = Duration::from_secs(1);

/// The CA bundle a configuration carries (its entries all carry the same one).
fn registered_bundle(config: &ValidatingWebhookConfiguration) -> Option<String> {
    config
        .webhooks
        .iter()
        .flatten()
        .find_map(|webhook| webhook.client_config.ca_bundle.as_ref())
        .map(|bundle| String::from_utf8_lossy(&bundle.0).into_owned())
        .filter(|pem| !pem.is_empty())
}

/// Aborts the policy watch when the loop ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What the last write left, to tell a configuration someone else changed or deleted.
struct Written {
    desired: String,
    resource_version: Option<String>,
}

/// One replica's registration.
pub struct Registrar {
    pub client: Client,
    pub registration: Registration,
    pub probe_via: ProbeVia,
    /// The ClusterRole that owns the configuration, when configured.
    pub owner: Option<String>,
    pub source: BundleSource,
    pub interval: Duration,
    pub status: Arc<RegistrationStatus>,
    /// Restricts the policies followed, as the controller's --policy-selector does.
    pub policy_selector: Option<String>,
}

/// Why one pass could not finish; logged, and retried on the next pass.
#[derive(Debug, thiserror::Error)]
enum PassError {
    #[error(transparent)]
    Bundle(#[from] super::bundle::BundleError),
    #[error("{what}: {source}")]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "the owner ClusterRole {0} does not exist (an uninstall under way?): not writing a configuration nothing would delete"
    )]
    OwnerMissing(String),
    #[error("waiting for the webhook to answer: {0}")]
    Probe(String),
}

fn api_error(what: impl Into<String>) -> impl FnOnce(kube::Error) -> PassError {
    let what = what.into();
    move |source| PassError::Api { what, source }
}

impl Registrar {
    /// Runs until `shutdown`: a pass at every policy change, every `interval`, and every second
    /// while the configuration is not in place.
    pub async fn run(self, leader: watch::Receiver<bool>, mut shutdown: watch::Receiver<bool>) {
        let api: Api<HipaaPolicy> = Api::all(self.client.clone());
        let mut config = watcher::Config::default();
        if let Some(selector) = &self.policy_selector {
            config = config.labels(selector);
        }
        let (store, writer) = reflector::store();
        // The watch runs in its own task (the store fills only while its stream is polled); each
        // change wakes the loop.
        let changed = Arc::new(tokio::sync::Notify::new());
        let watch = {
            let changed = Arc::clone(&changed);
            let stream = reflector::reflector(writer, with_watch_backoff(watcher(api, config)))
                .applied_objects();
            tokio::spawn(async move {
                futures::pin_mut!(stream);
                while stream.next().await.is_some() {
                    changed.notify_one();
                }
            })
        };
        let _stop_watch = AbortOnDrop(watch);
        let mut written: Option<Written> = None;
        let mut registered: Option<RegisteredBundle> = None;
        let mut wait = Duration::ZERO;
        loop {
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        return;
                    }
                }
                _ = tokio::time::sleep(wait) => {}
                _ = changed.notified() => {
                    // A burst of changes (the initial list) gives one pass.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            if store.wait_until_ready().await.is_err() {
                return;
            }
            let leading = *leader.borrow();
            let result = if leading {
                self.pass(&store, &mut written, &mut registered).await
            } else {
                // A leader again later starts from what the configuration then holds.
                written = None;
                registered = None;
                self.observe().await
            };
            let next_check = match result {
                Ok(next_check) => next_check,
                Err(error) => {
                    tracing::warn!(configuration = %self.registration.name, error = %error, "webhook registration");
                    if let PassError::Api { .. } = error {
                        written = None;
                    }
                    self.status.observe(
                        self.current().await.ok().flatten().as_ref(),
                        Utc::now(),
                        &error.to_string(),
                    );
                    None
                }
            };
            wait = if self.status.is_registered() {
                next_check.map_or(self.interval, |check| check.min(self.interval))
            } else {
                RETRY
            };
        }
    }

    async fn current(&self) -> Result<Option<ValidatingWebhookConfiguration>, PassError> {
        let api: Api<ValidatingWebhookConfiguration> = Api::all(self.client.clone());
        api.get_opt(&self.registration.name)
            .await
            .map_err(api_error(format!("reading {}", self.registration.name)))
    }

    /// A standby's look at the configuration.
    async fn observe(&self) -> Result<Option<Duration>, PassError> {
        let current = self.current().await?;
        self.status.observe(
            current.as_ref(),
            Utc::now(),
            "the leader to register the webhook configuration",
        );
        Ok(None)
    }

    /// The leader's pass; returns when the bundle's source wants the next one at the latest.
    async fn pass(
        &self,
        store: &Store<HipaaPolicy>,
        written: &mut Option<Written>,
        registered: &mut Option<RegisteredBundle>,
    ) -> Result<Option<Duration>, PassError> {
        let current = self.current().await?;
        if registered.is_none() {
            // After a restart: what the configuration already carries, as if written now (a
            // rotation then waits its full propagation delay, the safe side).
            *registered =
                current
                    .as_ref()
                    .and_then(registered_bundle)
                    .map(|pem| RegisteredBundle {
                        pem,
                        since: Utc::now(),
                    });
        }
        let super::bundle::Bundle {
            pem: bundle,
            next_check,
        } = self.source.bundle(registered.as_ref()).await?;
        let policies = store.state();
        let (governing, skipped) = governing(policies.iter().map(Arc::as_ref));
        for skip in &skipped {
            tracing::warn!(policy = %skip.policy, reason = %skip.reason,
                "policy left out of the webhook configuration: the API server would refuse its namespaceSelector");
        }
        let owner = self.owner_reference().await?;
        let desired = webhook_configuration(&self.registration, &governing, &bundle, owner);
        let desired_text = serde_json::to_string(&desired).unwrap_or_default();
        let unchanged = match (&current, written.as_ref()) {
            (Some(current), Some(written)) => {
                written.desired == desired_text
                    && written.resource_version == current.metadata.resource_version
            }
            _ => false,
        };
        if unchanged {
            self.status.observe(current.as_ref(), Utc::now(), "");
            return Ok(next_check);
        }
        let target = self.probe_target().await?;
        if let Err(error) = probe(&target, &bundle, PROBE_TIMEOUT).await {
            return Err(PassError::Probe(error.to_string()));
        }
        let api: Api<ValidatingWebhookConfiguration> = Api::all(self.client.clone());
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let applied = api
            .patch(&self.registration.name, &params, &Patch::Apply(&desired))
            .await
            .map_err(api_error(format!("applying {}", self.registration.name)))?;
        tracing::info!(configuration = %self.registration.name, policies = governing.len(),
            created = current.is_none(), "webhook configuration registered");
        *written = Some(Written {
            desired: desired_text,
            resource_version: applied.metadata.resource_version.clone(),
        });
        if registered.as_ref().is_none_or(|r| r.pem != bundle) {
            *registered = Some(RegisteredBundle {
                pem: bundle,
                since: Utc::now(),
            });
        }
        self.status.observe(Some(&applied), Utc::now(), "");
        Ok(next_check)
    }

    async fn owner_reference(&self) -> Result<Option<OwnerReference>, PassError> {
        let Some(name) = &self.owner else {
            return Ok(None);
        };
        let api: Api<ClusterRole> = Api::all(self.client.clone());
        let role = api
            .get_opt(name)
            .await
            .map_err(api_error(format!("reading ClusterRole {name}")))?
            .ok_or_else(|| PassError::OwnerMissing(name.clone()))?;
        Ok(role.controller_owner_ref(&()).map(|mut owner| {
            // Not the configuration's controller, and never blocking the role's deletion.
            owner.controller = None;
            owner.block_owner_deletion = None;
            owner
        }))
    }

    async fn probe_target(&self) -> Result<ProbeTarget, PassError> {
        match &self.probe_via {
            ProbeVia::Url(target) => Ok(target.clone()),
            ProbeVia::Service {
                namespace,
                name,
                port,
            } => {
                let api: Api<Service> = Api::namespaced(self.client.clone(), namespace);
                let service = api
                    .get_opt(name)
                    .await
                    .map_err(api_error(format!("reading Service {namespace}/{name}")))?
                    .ok_or_else(|| {
                        PassError::Probe(format!("Service {namespace}/{name} does not exist"))
                    })?;
                let ip = service
                    .spec
                    .and_then(|spec| spec.cluster_ip)
                    .filter(|ip| !ip.is_empty() && ip != "None")
                    .ok_or_else(|| {
                        PassError::Probe(format!("Service {namespace}/{name} has no cluster IP"))
                    })?;
                let host = if ip.contains(':') {
                    format!("[{ip}]")
                } else {
                    ip
                };
                Ok(ProbeTarget {
                    address: format!("{host}:{port}"),
                    server_name: format!("{name}.{namespace}.svc"),
                })
            }
        }
    }
}
