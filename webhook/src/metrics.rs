//! The webhook's Prometheus metrics (prefix `hipaaguard_webhook_`): reviews by kind, operation,
//! decision and dry-run; failed controls; review latency; cache sync state; bad requests and
//! certificate reloads and the served certificate's expiry; the review port's connections (open,
//! accepted, closed by the server by why); then, as on the operator, `hipaaguard_webhook_build_info` and the
//! `process_*` series. Every label value is a `&'static str`, so counting allocates nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use hipaa_runtime::serve::{ConnectionStats, ConnectionsCollector};
use hipaa_runtime::watch::CacheFreshness;
use hipaa_runtime::{ConditionGauge, StandardMetrics};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The prefix of every webhook series (the operator's is `hipaaguard_operator`).
pub const PREFIX: &str = "hipaaguard_webhook";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReviewLabels {
    pub kind: &'static str,
    pub operation: &'static str,
    pub decision: &'static str,
    pub dry_run: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControlLabels {
    pub control: &'static str,
    pub kind: &'static str,
    /// `fail`, `error` or `excepted`.
    pub outcome: &'static str,
    pub enforcement: &'static str,
    pub dry_run: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    pub resource: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: &'static str,
}

/// Every metric the webhook exports, registered once.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Build info and process metrics, encoded after the webhook's own.
    standard: StandardMetrics,
    pub reviews: Family<ReviewLabels, Counter>,
    pub control_findings: Family<ControlLabels, Counter>,
    pub review_duration: Histogram,
    pub bad_requests: Family<ReasonLabels, Counter>,
    pub cache_synced: Family<ResourceLabels, Gauge>,
    pub cache_objects: Family<ResourceLabels, Gauge>,
    pub snapshot_rebuilds: Counter,
    pub tls_reloads: Family<ResultLabels, Counter>,
    pub in_flight: Gauge,
    /// The served certificate's expiry in Unix seconds ([`NO_CERTIFICATE`] before the first).
    certificate_not_after: Arc<AtomicI64>,
}

/// No certificate served yet.
const NO_CERTIFICATE: i64 = i64::MIN;

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let reviews = Family::<ReviewLabels, Counter>::default();
        registry.register(
            "reviews",
            "AdmissionReviews answered, by kind, operation, decision and dry-run",
            reviews.clone(),
        );
        let control_findings = Family::<ControlLabels, Counter>::default();
        registry.register(
            "control_findings",
            "Controls that failed, could not be evaluated or were waived by an exception, per review",
            control_findings.clone(),
        );
        // 50 µs .. ~0.8 s
        let review_duration = Histogram::new(exponential_buckets(0.000_05, 2.0, 15));
        registry.register(
            "review_duration_seconds",
            "Time from the request's arrival to its answer",
            review_duration.clone(),
        );
        let bad_requests = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "bad_requests",
            "Requests refused before judging: wrong method, content type, size, JSON, timeout, overload",
            bad_requests.clone(),
        );
        let cache_synced = Family::<ResourceLabels, Gauge>::default();
        registry.register(
            "cache_synced",
            "1 when the watch cache of the resource has listed it at least once",
            cache_synced.clone(),
        );
        let cache_objects = Family::<ResourceLabels, Gauge>::default();
        registry.register(
            "cache_objects",
            "Objects in the watch cache of the resource at the last snapshot",
            cache_objects.clone(),
        );
        let snapshot_rebuilds = Counter::default();
        registry.register(
            "snapshot_rebuilds",
            "Rebuilds of the cluster snapshot after watch events",
            snapshot_rebuilds.clone(),
        );
        let tls_reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "tls_reloads",
            "Certificate reloads from the --tls-cert/--tls-key files, by result",
            tls_reloads.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "in_flight_reviews",
            "Reviews being processed",
            in_flight.clone(),
        );
        let certificate_not_after = Arc::new(AtomicI64::new(NO_CERTIFICATE));
        registry.register_collector(Box::new(CertificateExpiry(Arc::clone(
            &certificate_not_after,
        ))));
        // Series that exist from the start, so that dashboards and alerts see zeros, not gaps.
        for resource in crate::sync::Resource::ALL {
            cache_synced
                .get_or_create(&ResourceLabels {
                    resource: resource.as_str(),
                })
                .set(0);
        }
        for result in ["reloaded", "failed"] {
            tls_reloads
                .get_or_create(&ResultLabels { result })
                .inc_by(0);
        }
        Metrics {
            registry,
            standard: StandardMetrics::new(PREFIX, env!("CARGO_PKG_VERSION")),
            reviews,
            control_findings,
            review_duration,
            bad_requests,
            cache_synced,
            cache_objects,
            snapshot_rebuilds,
            tls_reloads,
            in_flight,
            certificate_not_after,
        }
    }

    /// Counts one certificate reload, `reloaded` or `failed` (the file and Secret sources alike).
    pub fn tls_reload(&self, result: &'static str) {
        self.tls_reloads
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    /// Records the expiry (Unix seconds) of the certificate now served, for
    /// `certificate_expiry_seconds`; `None` (unreadable) leaves the last one.
    pub fn served_certificate(&self, not_after: Option<i64>) {
        if let Some(not_after) = not_after {
            self.certificate_not_after
                .store(not_after, Ordering::Relaxed);
        }
    }

    /// Exports `cache_out_of_sync_seconds{resource}` from `freshness` (the watches' records).
    pub fn export_freshness(&mut self, freshness: &Arc<CacheFreshness>) {
        self.registry
            .register_collector(Box::new(freshness.collector()));
    }

    /// Exports the review port's `connections_*` series from `stats` (what its server counts).
    pub fn export_connections(&mut self, stats: Arc<ConnectionStats>) {
        self.registry
            .register_collector(Box::new(ConnectionsCollector(stats)));
    }

    /// Exports `ready`: 1 while `ready` (what `/readyz` answers) holds, asked at each scrape.
    pub fn export_readiness(&mut self, ready: impl Fn() -> bool + Send + Sync + 'static) {
        self.registry.register_collector(Box::new(ConditionGauge::new(
            "ready",
            "1 while /readyz answers ready (caches synced and fresh, certificate loaded, not draining)",
            ready,
        )));
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(8192);
        if let Err(err) = self.standard.encode(&mut out, &self.registry) {
            tracing::warn!(error = %err, "encoding metrics failed");
        }
        out
    }

    pub fn bad_request(&self, reason: &'static str) {
        self.bad_requests
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }
}

/// `certificate_expiry_seconds`: computed at each scrape, so that it counts down.
#[derive(Debug)]
struct CertificateExpiry(Arc<AtomicI64>);

impl Collector for CertificateExpiry {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let not_after = self.0.load(Ordering::Relaxed);
        if not_after == NO_CERTIFICATE {
            return Ok(());
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|since| since.as_secs_f64())
            .unwrap_or(0.0);
        let gauge = ConstGauge::new(not_after as f64 - now);
        let metric = encoder.encode_descriptor(
            "certificate_expiry_seconds",
            "Seconds until the served TLS certificate expires (negative once it has)",
            None,
            gauge.metric_type(),
        )?;
        gauge.encode(metric)
    }
}

/// `"true"`/`"false"` for a label.
pub fn flag(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// Increments a gauge for as long as it lives.
pub struct InFlight<'a>(&'a prometheus_client::metrics::gauge::Gauge);

impl<'a> InFlight<'a> {
    pub fn new(gauge: &'a prometheus_client::metrics::gauge::Gauge) -> Self {
        gauge.inc();
        InFlight(gauge)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

pub fn outcome_label(outcome: hipaa_controls::model::Outcome) -> &'static str {
    match outcome {
        hipaa_controls::model::Outcome::Fail => "fail",
        hipaa_controls::model::Outcome::Error => "error",
        hipaa_controls::model::Outcome::Excepted => "excepted",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_info_and_process_metrics_follow_the_webhook_series() {
        let text = Metrics::new().encode();
        let reviews = text.find("hipaaguard_webhook_in_flight_reviews 0\n");
        let build = text.find(&format!(
            "hipaaguard_webhook_build_info{{version=\"{}\",",
            env!("CARGO_PKG_VERSION")
        ));
        assert!(
            reviews.is_some() && build.is_some() && reviews < build,
            "{text}"
        );
        if cfg!(target_os = "linux") {
            assert!(text.contains("\nprocess_cpu_seconds_total "), "{text}");
            assert!(text.contains("\nprocess_resident_memory_bytes "), "{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn ready_follows_the_readiness_asked_at_each_scrape() {
        let ready = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut metrics = Metrics::new();
        let flag = Arc::clone(&ready);
        metrics.export_readiness(move || flag.load(Ordering::Relaxed));
        assert!(metrics.encode().contains("\nhipaaguard_webhook_ready 0\n"));
        ready.store(true, Ordering::Relaxed);
        assert!(metrics.encode().contains("\nhipaaguard_webhook_ready 1\n"));
    }

    #[test]
    fn the_review_ports_connection_series_exist_from_the_start() {
        let mut metrics = Metrics::new();
        metrics.export_connections(Arc::new(ConnectionStats::default()));
        let text = metrics.encode();
        for series in [
            "\nhipaaguard_webhook_connections_open 0\n",
            "\nhipaaguard_webhook_connections_accepted_total 0\n",
            "\nhipaaguard_webhook_connections_closed_by_server_total{reason=\"shed\"} 0\n",
            "\nhipaaguard_webhook_connections_closed_by_server_total{reason=\"shutdown\"} 0\n",
        ] {
            assert!(text.contains(series), "{series} in\n{text}");
        }
    }
}
