//! Whether admission is registered, as the operator's readiness and a gauge say it: every
//! replica reads the configuration (only the leader writes it), so that `helm install --wait`
//! returns only once the webhook configuration is in place and trusts a webhook that answers.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use hipaa_runtime::admin::Readiness;
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// How long a new configuration exists before it counts as in place: the API server loads
/// webhook configurations from a watch, a moment after they are created, and an apply in that
/// moment would be admitted unjudged.
pub const SETTLE: chrono::TimeDelta = chrono::TimeDelta::seconds(2);

/// The registration as last observed.
#[derive(Debug, Default)]
pub struct RegistrationStatus {
    registered: AtomicBool,
    waiting_for: Mutex<String>,
    gauge: Gauge,
}

impl RegistrationStatus {
    pub fn new() -> Self {
        RegistrationStatus {
            waiting_for: Mutex::new("the first registration check".to_owned()),
            ..RegistrationStatus::default()
        }
    }

    pub fn register_metrics(&self, registry: &mut Registry) {
        // Named under the operator registry's prefix: hipaaguard_operator_webhook_registered.
        registry.register(
            "webhook_registered",
            "1 while the ValidatingWebhookConfiguration is in place with a CA bundle, 0 before the webhook first answered (or after it was deleted)",
            self.gauge.clone(),
        );
    }

    /// Records what `current` (the configuration as read at `now`) says, and why it is not in
    /// place.
    pub fn observe(
        &self,
        current: Option<&ValidatingWebhookConfiguration>,
        now: DateTime<Utc>,
        waiting_for: &str,
    ) {
        let registered = current.is_some_and(|config| is_registered(config, now));
        let waiting_for = match current {
            Some(config) if !registered && waiting_for.is_empty() && is_complete(config) => {
                "the API server to load the new configuration"
            }
            _ => waiting_for,
        };
        self.registered.store(registered, Ordering::Release);
        self.gauge.set(i64::from(registered));
        let mut reason = self
            .waiting_for
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        waiting_for.clone_into(&mut reason);
    }

    pub fn is_registered(&self) -> bool {
        self.registered.load(Ordering::Acquire)
    }

    /// The operator's readiness part: registered, or why not.
    pub fn readiness(&self) -> Readiness {
        if self.is_registered() {
            return Ok(());
        }
        let reason = self
            .waiting_for
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Err(format!(
            "the webhook configuration is not registered yet: {reason}"
        ))
    }
}

/// In place: complete, and created at least [`SETTLE`] before `now`.
pub fn is_registered(config: &ValidatingWebhookConfiguration, now: DateTime<Utc>) -> bool {
    let settled = config
        .metadata
        .creation_timestamp
        .as_ref()
        .is_some_and(|created| {
            now.signed_duration_since(crate::time::from_timestamp(created.0)) >= SETTLE
        });
    settled && is_complete(config)
}

/// Every entry carries a CA bundle (an entry without one could not reach the webhook).
fn is_complete(config: &ValidatingWebhookConfiguration) -> bool {
    config.webhooks.iter().flatten().all(|webhook| {
        webhook
            .client_config
            .ca_bundle
            .as_ref()
            .is_some_and(|bundle| !bundle.0.is_empty())
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use k8s_openapi::ByteString;
    use k8s_openapi::api::admissionregistration::v1::ValidatingWebhook;

    fn created() -> DateTime<Utc> {
        "2026-12-05T10:00:00Z".parse().unwrap()
    }

    fn later(seconds: i64) -> DateTime<Utc> {
        created() + chrono::TimeDelta::seconds(seconds)
    }

    fn config(bundles: &[Option<&str>]) -> ValidatingWebhookConfiguration {
        let mut config = ValidatingWebhookConfiguration::default();
        config.metadata.creation_timestamp = Some(crate::time::to_k8s_time(created()));
        config.webhooks = Some(
            bundles
                .iter()
                .map(|bundle| {
                    let mut webhook = ValidatingWebhook::default();
                    webhook.client_config.ca_bundle =
                        bundle.map(|b| ByteString(b.as_bytes().to_vec()));
                    webhook
                })
                .collect(),
        );
        config
    }

    #[test]
    fn readiness_needs_a_configuration_whose_every_entry_has_a_bundle() {
        let status = RegistrationStatus::new();
        assert!(status.readiness().is_err());
        status.observe(None, later(9), "the webhook to answer: connection refused");
        let err = status.readiness().unwrap_err();
        assert!(err.contains("connection refused"), "{err}");
        status.observe(
            Some(&config(&[Some("PEM"), None])),
            later(9),
            "one entry without a bundle",
        );
        assert!(status.readiness().is_err());
        status.observe(Some(&config(&[Some("PEM"), Some("PEM")])), later(1), "");
        let err = status.readiness().unwrap_err();
        assert!(err.contains("load the new configuration"), "{err}");
        status.observe(Some(&config(&[Some("PEM"), Some("PEM")])), later(2), "");
        assert!(status.readiness().is_ok());
        status.observe(None, later(3), "deleted");
        assert!(!status.is_registered());
    }

    #[test]
    fn the_gauge_is_named_under_the_operator_prefix() {
        let status = RegistrationStatus::new();
        let mut registry = Registry::with_prefix(crate::metrics::PREFIX);
        status.register_metrics(&mut registry);
        status.observe(None, created(), "deleted");
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("\nhipaaguard_operator_webhook_registered 0\n"),
            "{text}"
        );
    }
}
