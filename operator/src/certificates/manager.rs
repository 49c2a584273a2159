//! One pass over the webhook's certificates: read both Secrets, plan, issue what the plan asks
//! for, write the CA Secret before the serving Secret (so that a serving certificate never names
//! a CA that is not stored), then report, log and publish Events on what changed.

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{ObjectReference, Secret};
use kube::Client;
use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

use super::facts::{
    CA_CERT_KEY, CA_KEY_KEY, CaObserved, PREVIOUS_CA_KEY, ServingObserved, TLS_CERT_KEY,
    TLS_KEY_KEY, observe, single_certificate,
};
use super::issue::{Issued, issue_ca, issue_serving};
use super::metrics::CertificateMetrics;
use super::plan::{CaReason, CaStep, Plan, PreviousAfter, ServingReason, ServingStep, plan};
use super::secrets::{SecretStore, ca_secret, data_text, serving_secret};
use super::{CertificateConfig, CertificateError, CertificateState, RegisteredBundle};

/// Keeps the webhook's CA and serving certificate current.
pub struct CertificateManager {
    client: Client,
    config: CertificateConfig,
    store: SecretStore,
    metrics: Option<CertificateMetrics>,
    reporter: Option<Reporter>,
}

impl CertificateManager {
    /// A manager of the certificates `config` describes; fails on an invalid configuration.
    pub fn new(client: Client, config: CertificateConfig) -> Result<Self, CertificateError> {
        config.validate()?;
        Ok(CertificateManager {
            store: SecretStore::new(client.clone(), &config.namespace),
            client,
            config,
            metrics: None,
            reporter: None,
        })
    }

    /// Reports expiries and rotations to these metrics.
    pub fn with_metrics(mut self, metrics: CertificateMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Publishes an Event on a Secret each time a certificate is replaced.
    pub fn with_events(mut self, reporter: Reporter) -> Self {
        self.reporter = Some(reporter);
        self
    }

    /// The Secrets it creates are owned by the webhook Service `name`: uninstalling the release
    /// collects them.
    pub fn owned_by_service(mut self, name: &str) -> Self {
        self.store = self.store.owned_by_service(name);
        self
    }

    pub fn config(&self) -> &CertificateConfig {
        &self.config
    }

    /// One pass: read the CA Secret and the serving Secret, decide (pure), write what changed.
    /// Returns the PEM bundle the webhook configuration must carry now, and expiry facts.
    pub async fn reconcile(
        &self,
        registered: Option<&RegisteredBundle>,
        now: DateTime<Utc>,
    ) -> Result<CertificateState, CertificateError> {
        let config = &self.config;
        let ca_read = self.store.get(&config.ca_secret).await?;
        let serving_read = self.store.get(&config.serving_secret).await?;
        let observed = observe(ca_read.as_ref(), serving_read.as_ref());
        let plan = plan(&observed, registered, config, now);

        let ca = match (&plan.ca, &plan.new_ca, &ca_read) {
            (CaStep::Rotate(_), Some(validity), _) => {
                // The date tells CAs of one name apart, in the bundle and in logs.
                let name = format!("{} {}", config.ca_secret, now.format("%Y-%m-%dT%H:%M:%SZ"));
                issue_ca(&name, *validity)?
            }
            (_, _, Some(secret)) => stored_pair(secret, CA_CERT_KEY, CA_KEY_KEY)
                .ok_or_else(|| CertificateError::Config("the CA Secret lost its CA".into()))?,
            (_, _, None) => {
                return Err(CertificateError::Config("no CA to keep".into()));
            }
        };
        let ca_facts = single_certificate(&ca.cert_pem)
            .map_err(|why| CertificateError::Config(format!("the CA does not parse: {why}")))?;
        let previous_pem = match (plan.previous, &observed.ca) {
            (PreviousAfter::None, _) => None,
            (PreviousAfter::Kept, _) => observed.previous.as_ref().map(|c| c.pem()),
            (PreviousAfter::Retired, CaObserved::Usable(current)) => Some(current.pem()),
            (PreviousAfter::Retired, _) => None,
            (PreviousAfter::Salvaged, _) => observed.salvaged.as_ref().map(|c| c.pem()),
        };
        let bundle = format!(
            "{}{}",
            ca_facts.pem(),
            previous_pem.as_deref().unwrap_or("")
        );

        let ca_changed = matches!(plan.ca, CaStep::Rotate(_))
            || plan.clear_rotate_annotation
            || ca_read.as_ref().and_then(|s| data_text(s, PREVIOUS_CA_KEY)) != previous_pem;
        let ca_written = if ca_changed {
            let desired = ca_secret(
                &config.ca_secret,
                &config.namespace,
                ca_read.as_ref(),
                (&ca.cert_pem, &ca.key_pem),
                previous_pem.as_deref(),
                plan.clear_rotate_annotation,
            );
            Some(self.store.write(ca_read.as_ref(), desired).await?)
        } else {
            None
        };

        let serving = match (&plan.serving, &plan.new_serving) {
            (ServingStep::Issue(_), Some(validity)) => Some(issue_serving(
                &ca,
                &config.dns_names,
                &config.ip_addresses,
                *validity,
            )?),
            _ => serving_read
                .as_ref()
                .and_then(|secret| stored_pair(secret, TLS_CERT_KEY, TLS_KEY_KEY)),
        };
        let stale_bundle = match &observed.serving {
            ServingObserved::Usable { ca_field, .. } => *ca_field != bundle,
            _ => true,
        };
        let serving_written = match serving {
            Some(pair) if matches!(plan.serving, ServingStep::Issue(_)) || stale_bundle => {
                let desired = serving_secret(
                    &config.serving_secret,
                    &config.namespace,
                    serving_read.as_ref(),
                    (&pair.cert_pem, &pair.key_pem),
                    &bundle,
                );
                Some(self.store.write(serving_read.as_ref(), desired).await?)
            }
            _ => None,
        };

        self.report(&plan, ca_written.as_ref(), serving_written.as_ref())
            .await;
        let state = CertificateState {
            ca_bundle: bundle,
            ca_not_after: plan.ca_not_after,
            serving_not_after: plan.serving_not_after,
            next_check: plan.next_check,
        };
        if let Some(metrics) = &self.metrics {
            metrics.observe(&state);
        }
        Ok(state)
    }

    /// Logs, counts and publishes what the pass changed or is waiting for.
    async fn report(&self, plan: &Plan, ca: Option<&Secret>, serving: Option<&Secret>) {
        let config = &self.config;
        if let (CaStep::Rotate(reason), Some(secret)) = (&plan.ca, ca) {
            let broken = matches!(reason, CaReason::Unusable(_));
            if broken {
                tracing::warn!(secret = %config.ca_secret, %reason, "made a new webhook CA");
            } else {
                tracing::info!(secret = %config.ca_secret, %reason, ca_not_after = %plan.ca_not_after,
                    "made a new webhook CA; it joins the bundle beside the previous one");
            }
            if let Some(metrics) = &self.metrics {
                metrics.rotated("ca", reason.label());
            }
            let note = format!("Made a new webhook CA: {reason}.");
            self.publish(secret, broken, "CertificateAuthorityRotated", note)
                .await;
        }
        match (&plan.serving, serving) {
            (ServingStep::Issue(reason), Some(secret)) => {
                let broken = matches!(reason, ServingReason::Unusable(_));
                if broken {
                    tracing::warn!(secret = %config.serving_secret, %reason, "issued a new serving certificate");
                } else {
                    tracing::info!(secret = %config.serving_secret, %reason,
                        serving_not_after = %plan.serving_not_after, "issued a new serving certificate");
                }
                if let Some(metrics) = &self.metrics {
                    metrics.rotated("serving", reason.label());
                }
                let note = format!("Issued a new webhook serving certificate: {reason}.");
                self.publish(secret, broken, "ServingCertificateIssued", note)
                    .await;
            }
            (ServingStep::Wait(reason), _) => {
                tracing::info!(secret = %config.serving_secret, %reason,
                    "the new serving certificate waits until the webhook configuration has trusted the CA for the propagation delay");
            }
            _ => {}
        }
        if plan.rotation_deferred {
            tracing::info!(secret = %config.ca_secret,
                "a CA rotation is due and waits until the serving certificate has moved to the current CA");
        }
    }

    async fn publish(&self, secret: &Secret, warning: bool, reason: &str, note: String) {
        let Some(reporter) = &self.reporter else {
            return;
        };
        let reference: ObjectReference = secret.object_ref(&());
        let event = Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: reason.to_owned(),
            note: Some(note),
            action: "Rotate".to_owned(),
            secondary: None,
        };
        let recorder = Recorder::new(self.client.clone(), reporter.clone());
        if let Err(error) = recorder.publish(&event, &reference).await {
            tracing::warn!(%error, reason, "publishing a certificate Event failed");
        }
    }
}

/// A certificate and key as stored in `secret`.
fn stored_pair(secret: &Secret, cert_key: &str, key_key: &str) -> Option<Issued> {
    Some(Issued {
        cert_pem: data_text(secret, cert_key)?,
        key_pem: data_text(secret, key_key)?,
    })
}
