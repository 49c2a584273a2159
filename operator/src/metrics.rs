//! The operator's Prometheus metrics: violations and scores per policy, reconcile counts,
//! durations and errors, status writes, Events and leadership, and their text exposition.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of `hipaaguard_violations`.
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

/// Every metric the operator exports, registered once.
pub struct Metrics {
    registry: Registry,
    violations: Family<ViolationLabels, Gauge>,
    score: Family<PolicyLabels, Gauge>,
    resources: Family<PolicyLabels, Gauge>,
    reconciles: Family<PolicyLabels, Counter>,
    reconcile_errors: Family<ErrorLabels, Counter>,
    reconcile_duration: Histogram,
    status_writes: Family<PolicyLabels, Counter>,
    events: Family<EventLabels, Counter>,
    events_suppressed: Counter,
    leader: Gauge,
    /// The violation label sets last exported per policy, so that fixed ones disappear.
    exported: Mutex<HashMap<String, HashSet<ViolationLabels>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("hipaaguard");
        let violations = Family::<ViolationLabels, Gauge>::default();
        registry.register(
            "violations",
            "Violations (failed, not excepted checks) per policy, control, severity and namespace",
            violations.clone(),
        );
        let score = Family::<PolicyLabels, Gauge>::default();
        registry.register(
            "compliance_score",
            "Compliance score of a policy, 0 to 100",
            score.clone(),
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
            "Violation Events held back by the rate limit (published later)",
            events_suppressed.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica leads and writes status",
            leader.clone(),
        );
        Metrics {
            registry,
            violations,
            score,
            resources,
            reconciles,
            reconcile_errors,
            reconcile_duration,
            status_writes,
            events,
            events_suppressed,
            leader,
            exported: Mutex::new(HashMap::new()),
        }
    }

    /// The registry, to add series owned elsewhere (the AWS call metrics) before serving.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }

    pub fn reconcile_started(&self, policy: &str) {
        self.reconciles
            .get_or_create(&PolicyLabels {
                policy: policy.to_string(),
            })
            .inc();
    }

    pub fn reconcile_finished(&self, elapsed: Duration) {
        self.reconcile_duration.observe(elapsed.as_secs_f64());
    }

    pub fn reconcile_failed(&self, policy: &str, error: &str) {
        self.reconcile_errors
            .get_or_create(&ErrorLabels {
                policy: policy.to_string(),
                error: error.to_string(),
            })
            .inc();
    }

    pub fn status_written(&self, policy: &str) {
        self.status_writes
            .get_or_create(&PolicyLabels {
                policy: policy.to_string(),
            })
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

    /// Replaces a policy's audit figures: its score, resource count and violation counts
    /// (keyed by control, severity and namespace); series that no longer apply are removed.
    pub fn set_audit(
        &self,
        policy: &str,
        score: Option<u8>,
        resources: u32,
        violations: &BTreeMap<(String, String, String), u32>,
    ) {
        let policy_labels = PolicyLabels {
            policy: policy.to_string(),
        };
        match score {
            Some(score) => {
                self.score
                    .get_or_create(&policy_labels)
                    .set(i64::from(score));
            }
            None => {
                self.score.remove(&policy_labels);
            }
        }
        self.resources
            .get_or_create(&policy_labels)
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
        let mut exported = self
            .exported
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(previous) = exported.get(policy) {
            for stale in previous.difference(&current) {
                self.violations.remove(stale);
            }
        }
        exported.insert(policy.to_string(), current);
    }

    /// Drops every series of policies that no longer exist.
    pub fn retain_policies(&self, existing: &HashSet<String>) {
        let mut exported = self
            .exported
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        exported.retain(|policy, labels| {
            if existing.contains(policy) {
                return true;
            }
            for stale in labels.iter() {
                self.violations.remove(stale);
            }
            let policy_labels = PolicyLabels {
                policy: policy.clone(),
            };
            self.score.remove(&policy_labels);
            self.resources.remove(&policy_labels);
            false
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn counts(entries: &[(&str, &str, &str, u32)]) -> BTreeMap<(String, String, String), u32> {
        entries
            .iter()
            .map(|(c, s, n, v)| ((c.to_string(), s.to_string(), n.to_string()), *v))
            .collect()
    }

    #[test]
    fn audit_figures_are_exported_and_fixed_violations_disappear() {
        let metrics = Metrics::new();
        metrics.set_audit(
            "prod",
            Some(93),
            42,
            &counts(&[
                ("HIPAA-K8S-NETPOL", "HIGH", "billing", 2),
                ("HIPAA-K8S-PRIVILEGED", "CRITICAL", "api", 1),
            ]),
        );
        let text = metrics.encode().unwrap();
        assert!(text.contains(
            r#"hipaaguard_violations{policy="prod",control="HIPAA-K8S-NETPOL",severity="HIGH",namespace="billing"} 2"#
        ), "{text}");
        assert!(
            text.contains(r#"hipaaguard_compliance_score{policy="prod"} 93"#),
            "{text}"
        );

        metrics.set_audit(
            "prod",
            Some(97),
            42,
            &counts(&[("HIPAA-K8S-NETPOL", "HIGH", "billing", 1)]),
        );
        let text = metrics.encode().unwrap();
        assert!(!text.contains("HIPAA-K8S-PRIVILEGED"), "{text}");

        metrics.retain_policies(&HashSet::new());
        let text = metrics.encode().unwrap();
        assert!(!text.contains(r#"policy="prod""#), "{text}");
    }

    #[test]
    fn reconciles_are_counted_per_policy() {
        let metrics = Metrics::new();
        metrics.reconcile_started("a");
        metrics.reconcile_started("a");
        metrics.reconcile_failed("a", "status_write");
        let text = metrics.encode().unwrap();
        assert!(
            text.contains(r#"hipaaguard_reconciles_total{policy="a"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"hipaaguard_reconcile_errors_total{policy="a",error="status_write"} 1"#
            ),
            "{text}"
        );
    }
}
