//! The certificate series of the operator: `certificate_expiry_seconds{certificate="ca"|"serving"}`,
//! computed at each scrape from the expiry the last pass saw (so it counts down between passes),
//! and `certificate_rotations_total{certificate, reason}`.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::CertificateState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CertificateLabels {
    /// `ca` or `serving`.
    pub certificate: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RotationLabels {
    pub certificate: &'static str,
    /// Why: `missing`, `unusable`, `expired`, `expiring`, `forced`, `new_ca`, ...
    pub reason: &'static str,
}

/// The expiries the last pass saw.
#[derive(Debug, Default)]
struct Expiries {
    ca: Option<DateTime<Utc>>,
    serving: Option<DateTime<Utc>>,
}

/// The certificate metrics; clones share their series.
#[derive(Clone, Debug, Default)]
pub struct CertificateMetrics {
    expiries: Arc<Mutex<Expiries>>,
    rotations: Family<RotationLabels, Counter>,
}

impl CertificateMetrics {
    pub fn new() -> Self {
        CertificateMetrics::default()
    }

    /// Adds the series to `registry` (the operator's, whose prefix they take).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "certificate_rotations",
            "Webhook certificates replaced, by certificate (ca, serving) and reason",
            self.rotations.clone(),
        );
        registry.register_collector(Box::new(ExpiryCollector {
            expiries: Arc::clone(&self.expiries),
        }));
    }

    /// Records the expiries of a pass.
    pub fn observe(&self, state: &CertificateState) {
        let mut expiries = self
            .expiries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        expiries.ca = Some(state.ca_not_after);
        expiries.serving = Some(state.serving_not_after);
    }

    /// Counts a replaced certificate.
    pub fn rotated(&self, certificate: &'static str, reason: &'static str) {
        self.rotations
            .get_or_create(&RotationLabels {
                certificate,
                reason,
            })
            .inc();
    }
}

/// Seconds until each known expiry, at scrape time.
#[derive(Debug)]
struct ExpiryCollector {
    expiries: Arc<Mutex<Expiries>>,
}

impl Collector for ExpiryCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (ca, serving) = {
            let expiries = self
                .expiries
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            (expiries.ca, expiries.serving)
        };
        let known: Vec<_> = [("ca", ca), ("serving", serving)]
            .into_iter()
            .filter_map(|(certificate, at)| Some((certificate, at?)))
            .collect();
        if known.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        let mut family = encoder.encode_descriptor(
            "certificate_expiry_seconds",
            "Seconds until the webhook's certificate expires (negative once it has)",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for (certificate, at) in known {
            let seconds = (at - now).num_milliseconds() as f64 / 1000.0;
            let labels = CertificateLabels { certificate };
            ConstGauge::new(seconds).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use std::time::Duration;

    #[test]
    fn expiry_counts_down_from_the_last_pass_and_rotations_are_counted() {
        let metrics = CertificateMetrics::new();
        let mut registry = Registry::with_prefix("hipaaguard_operator");
        metrics.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(!text.contains("certificate_expiry_seconds{"), "{text}");

        let now = Utc::now();
        metrics.observe(&CertificateState {
            ca_bundle: String::new(),
            ca_not_after: now + chrono::TimeDelta::days(365),
            serving_not_after: now + chrono::TimeDelta::hours(1),
            next_check: Duration::from_secs(60),
        });
        metrics.rotated("serving", "forced");
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        let value = |series: &str| -> f64 {
            text.lines()
                .find_map(|line| line.strip_prefix(series))
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        };
        let serving =
            value("hipaaguard_operator_certificate_expiry_seconds{certificate=\"serving\"}");
        assert!((3590.0..=3600.0).contains(&serving), "{serving}");
        let ca = value("hipaaguard_operator_certificate_expiry_seconds{certificate=\"ca\"}");
        assert!(ca > 364.0 * 86400.0, "{ca}");
        assert_eq!(
            value(
                "hipaaguard_operator_certificate_rotations_total{certificate=\"serving\",reason=\"forced\"}"
            ),
            1.0
        );
    }
}
