//! The operator's Prometheus metrics (prefix `hipaaguard_operator_`): violations and the
//! compliance ratio per policy, reconcile counts, durations and errors, status writes, Events and
//! leadership, then `hipaaguard_operator_build_info` and the `process_*` series. While it leads,
//! the exceptions' expiries and the compliance per 45 CFR section, read from the policy cache at
//! each scrape (`policies.rs`); `ready` and `caches_synced` as the admin port sees them.
//!
//! Every series labelled with a policy, gauge or counter, goes when the policy does: at the next
//! reconcile of any policy, and at the next scrape once the leadership term's policy watch has
//! seen the deletion (a deleted policy is never reconciled again, so the scrape is what notices
//! the last one going).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::FutureExt;
use hipaa_crds::HipaaPolicy;
use hipaa_runtime::{ConditionGauge, StandardMetrics};
use kube::ResourceExt;
use kube::runtime::reflector::Store;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The prefix of every operator series (the webhook's is `hipaaguard_webhook`).
pub const PREFIX: &str = "hipaaguard_operator";

/// Labels of `hipaaguard_operator_violations`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct ViolationLabels {
    pub policy: String,
    pub control: String,
    pub severity: String,
    /// Empty for cluster-scoped objects and AWS resources.
    pub namespace: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PolicyLabels {
    pub policy: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub policy: String,
    /// A short error kind, e.g. `status_write`.
    pub error: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    pub reason: String,
}

/// The label sets of one policy's series beyond its bare `policy` label, so that all of them can
/// be removed with it.
#[derive(Default)]
struct PolicySeries {
    violations: HashSet<ViolationLabels>,
    errors: HashSet<String>,
}

/// Every metric the operator exports, registered once.
pub struct Metrics {
    registry: Registry,
    /// Build info and process metrics, encoded after the operator's own.
    standard: StandardMetrics,
    violations: Family<ViolationLabels, Gauge>,
    compliance: Family<PolicyLabels, Gauge<f64, AtomicU64>>,
    resources: Family<PolicyLabels, Gauge>,
    reconciles: Family<PolicyLabels, Counter>,
    reconcile_errors: Family<ErrorLabels, Counter>,
    reconcile_duration: Histogram,
    status_writes: Family<PolicyLabels, Counter>,
    events: Family<EventLabels, Counter>,
    events_suppressed: Counter,
    leader: Gauge,
    /// Every policy with series, and their label sets. Series are created and removed under
    /// this lock, so that a scrape never sees half of a policy's.
    series: Mutex<HashMap<String, PolicySeries>>,
    /// The leadership term's HipaaPolicy cache, once it has listed them all (shared with the
    /// scrape-time [`policies::PolicyCollector`]).
    policies: policies::TrackedPolicies,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let violations = Family::<ViolationLabels, Gauge>::default();
        registry.register(
            "violations",
            "Violations (failed, not excepted checks) per policy, control, severity and namespace",
            violations.clone(),
        );
        let compliance = Family::<PolicyLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "compliance_ratio",
            "Compliance of a policy from 0 to 1: the severity-weighted share of its controls that pass (the status's score / 100)",
            compliance.clone(),
        );
        let resources = Family::<PolicyLabels, Gauge>::default();
        registry.register(
            "resources_evaluated",
            "Resources evaluated in a policy's last audit",
            resources.clone(),
        );
        let reconciles = Family::<PolicyLabels, Counter>::default();
        registry.register("reconciles", "Reconciles of a policy", reconciles.clone());
        let reconcile_errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "reconcile_errors",
            "Reconciles that failed, by error kind",
            reconcile_errors.clone(),
        );
        let reconcile_duration = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register(
            "reconcile_duration_seconds",
            "Time to observe, decide and write one policy",
            reconcile_duration.clone(),
        );
        let status_writes = Family::<PolicyLabels, Counter>::default();
        registry.register(
            "status_writes",
            "Status patches sent for a policy",
            status_writes.clone(),
        );
        let events = Family::<EventLabels, Counter>::default();
        registry.register(
            "events",
            "Kubernetes Events published, by reason",
            events.clone(),
        );
        let events_suppressed = Counter::default();
        registry.register(
            "events_rate_limited",
            "Events held back by a rate limit (a violation Event is published by a later audit if the violation is still there)",
            events_suppressed.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica leads and writes status",
            leader.clone(),
        );
        let policies: policies::TrackedPolicies = Arc::new(Mutex::new(None));
        registry.register_collector(Box::new(policies::PolicyCollector {
            policies: Arc::clone(&policies),
            leader: leader.clone(),
        }));
        Metrics {
            registry,
            standard: StandardMetrics::new(PREFIX, env!("CARGO_PKG_VERSION")),
            violations,
            compliance,
            resources,
            reconciles,
            reconcile_errors,
            reconcile_duration,
            status_writes,
            events,
            events_suppressed,
            leader,
            series: Mutex::new(HashMap::new()),
            policies,
        }
    }

    /// The registry, to add series owned elsewhere (the AWS call metrics) before serving.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Exports `name`, 1 while `condition` holds, asked at each scrape (`ready`, `caches_synced`).
    pub fn export_condition(
        &mut self,
        name: &'static str,
        help: &'static str,
        condition: impl Fn() -> bool + Send + Sync + 'static,
    ) {
        self.registry
            .register_collector(Box::new(ConditionGauge::new(name, help, condition)));
    }

    /// The Prometheus text exposition, without the series of policies deleted since.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        self.forget_deleted();
        let mut text = String::new();
        self.standard.encode(&mut text, &self.registry)?;
        Ok(text)
    }

    /// From now on, the series of any policy `policies` does not hold (once it has listed them
    /// all) are dropped at scrape time. One store per leadership term: the latest wins.
    pub fn track_policies(&self, policies: Store<HipaaPolicy>) {
        *lock(&self.policies) = Some(policies);
    }

    pub fn reconcile_started(&self, policy: &str) {
        let mut series = lock(&self.series);
        series.entry(policy.to_string()).or_default();
        self.reconciles.get_or_create(&policy_labels(policy)).inc();
    }

    pub fn reconcile_finished(&self, elapsed: Duration) {
        self.reconcile_duration.observe(elapsed.as_secs_f64());
    }

    pub fn reconcile_failed(&self, policy: &str, error: &str) {
        let mut series = lock(&self.series);
        let entry = series.entry(policy.to_string()).or_default();
        entry.errors.insert(error.to_string());
        self.reconcile_errors
            .get_or_create(&ErrorLabels {
                policy: policy.to_string(),
                error: error.to_string(),
            })
            .inc();
    }

    pub fn status_written(&self, policy: &str) {
        let mut series = lock(&self.series);
        series.entry(policy.to_string()).or_default();
        self.status_writes
            .get_or_create(&policy_labels(policy))
            .inc();
    }

    pub fn event_published(&self, reason: &str) {
        self.events
            .get_or_create(&EventLabels {
                reason: reason.to_string(),
            })
            .inc();
    }

    pub fn events_rate_limited(&self, count: u64) {
        self.events_suppressed.inc_by(count);
    }

    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// Replaces a policy's audit figures: its score (as a 0 to 1 ratio), resource count and
    /// violation counts (keyed by control, severity and namespace); series that no longer apply
    /// are removed.
    pub fn set_audit(
        &self,
        policy: &str,
        score: Option<u8>,
        resources: u32,
        violations: &BTreeMap<(String, String, String), u32>,
    ) {
        let mut series = lock(&self.series);
        let labels = policy_labels(policy);
        match score {
            Some(score) => {
                let ratio = f64::from(score) / 100.0;
                self.compliance.get_or_create(&labels).set(ratio);
            }
            None => {
                self.compliance.remove(&labels);
            }
        }
        self.resources
            .get_or_create(&labels)
            .set(i64::from(resources));
        let current: HashSet<ViolationLabels> = violations
            .iter()
            .map(|((control, severity, namespace), count)| {
                let labels = ViolationLabels {
                    policy: policy.to_string(),
                    control: control.clone(),
                    severity: severity.clone(),
                    namespace: namespace.clone(),
                };
                self.violations
                    .get_or_create(&labels)
                    .set(i64::from(*count));
                labels
            })
            .collect();
        let entry = series.entry(policy.to_string()).or_default();
        for stale in entry.violations.difference(&current) {
            self.violations.remove(stale);
        }
        entry.violations = current;
    }

    /// Drops every series, gauges and counters alike, of policies not in `existing`.
    pub fn retain_policies(&self, existing: &HashSet<String>) {
        lock(&self.series).retain(|policy, series| {
            if existing.contains(policy) {
                return true;
            }
            for labels in &series.violations {
                self.violations.remove(labels);
            }
            for error in &series.errors {
                self.reconcile_errors.remove(&ErrorLabels {
                    policy: policy.clone(),
                    error: error.clone(),
                });
            }
            let labels = policy_labels(policy);
            for family in [&self.reconciles, &self.status_writes] {
                family.remove(&labels);
            }
            self.compliance.remove(&labels);
            self.resources.remove(&labels);
            false
        });
    }

    /// Drops the series of policies the tracked cache no longer holds; nothing before it has
    /// listed them (an empty cache then means "not yet", not "all deleted").
    fn forget_deleted(&self) {
        let Some(policies) = lock(&self.policies).clone() else {
            return;
        };
        if !matches!(policies.wait_until_ready().now_or_never(), Some(Ok(()))) {
            return;
        }
        let existing: HashSet<String> = policies.state().iter().map(|p| p.name_any()).collect();
        self.retain_policies(&existing);
    }
}

fn policy_labels(policy: &str) -> PolicyLabels {
    PolicyLabels {
        policy: policy.to_string(),
    }
}

/// A lock that a panic elsewhere does not poison for the metrics.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub mod policies;

#[cfg(test)]
mod policies_tests;
#[cfg(test)]
mod tests;
