//! The series read from the leader's HipaaPolicy cache at each scrape, for the alerts and the
//! dashboard (docs/alerts.md): each exception's expiry,
//! `exception_expiry_timestamp_seconds{policy, exception}` (the exception's index in
//! `spec.exceptions`), and each policy's compliance per 45 CFR section,
//! `section_compliance_ratio{policy, section}`, from the per-control results its status holds.
//!
//! Only the leader exports them: a standby's cache is the last term's, and two replicas
//! answering for the same policy would disagree. Cardinality is bounded by the CRD (at most 256
//! exceptions per policy) and the catalog (its sections).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use hipaa_controls::model::Severity;
use hipaa_crds::HipaaPolicy;
use hipaa_crds::{ControlResult, ControlStatus};
use kube::ResourceExt;
use kube::runtime::reflector::Store;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};

use super::lock;

/// The leadership term's policy cache, shared with [`super::Metrics`].
pub type TrackedPolicies = Arc<Mutex<Option<Store<HipaaPolicy>>>>;

/// Encodes the policy-derived series while `leader` is 1.
#[derive(Debug)]
pub struct PolicyCollector {
    pub policies: TrackedPolicies,
    pub leader: Gauge,
}

/// When each exception of `policy` stops applying, in Unix seconds, by its index.
pub fn exception_expiries(policy: &HipaaPolicy) -> Vec<(String, f64)> {
    policy
        .spec
        .exceptions
        .iter()
        .enumerate()
        .map(|(index, exception)| {
            let at = exception.expires.0.as_millisecond() as f64 / 1000.0;
            (index.to_string(), at)
        })
        .collect()
}

/// Per 45 CFR section, the severity-weighted share of its evaluated controls that pass, as the
/// status's score counts them: Pass and Excepted pass, Fail and Error do not, NotEvaluated and
/// Disabled do not count. A section with nothing evaluated has no ratio (rather than a 1 that
/// would claim compliance nobody checked). A control mapped to several sections counts in each.
pub fn section_compliance(controls: &[ControlStatus]) -> BTreeMap<String, f64> {
    let mut weights: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    for control in controls {
        let passing = match control.result {
            ControlResult::Pass | ControlResult::Excepted => true,
            ControlResult::Fail | ControlResult::Error => false,
            ControlResult::NotEvaluated | ControlResult::Disabled => continue,
        };
        // An unknown severity weighs as the heaviest: it cannot make a section look better.
        let weight = Severity::parse(&control.severity)
            .unwrap_or(Severity::Critical)
            .weight();
        for section in &control.sections {
            let (total, pass) = weights.entry(section.as_str()).or_default();
            *total += weight;
            if passing {
                *pass += weight;
            }
        }
    }
    weights
        .into_iter()
        .filter(|(_, (total, _))| *total > 0)
        .map(|(section, (total, pass))| (section.to_string(), f64::from(pass) / f64::from(total)))
        .collect()
}

impl Collector for PolicyCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let policies = match lock(&self.policies).clone() {
            Some(store) if self.leader.get() == 1 => store.state(),
            _ => Vec::new(),
        };
        let mut policies: Vec<_> = policies.iter().map(|p| (p.name_any(), p)).collect();
        policies.sort_by(|a, b| a.0.cmp(&b.0));

        let mut family = encoder.encode_descriptor(
            "exception_expiry_timestamp_seconds",
            "When an exception of a policy stops applying (Unix seconds), by its index in spec.exceptions",
            None,
            MetricType::Gauge,
        )?;
        for (name, policy) in &policies {
            for (exception, at) in exception_expiries(policy) {
                let labels = [("policy", name.as_str()), ("exception", exception.as_str())];
                ConstGauge::new(at).encode(family.encode_family(&labels)?)?;
            }
        }

        let mut family = encoder.encode_descriptor(
            "section_compliance_ratio",
            "Compliance of a policy per 45 CFR section from 0 to 1: the severity-weighted share of the section's evaluated controls that pass",
            None,
            MetricType::Gauge,
        )?;
        for (name, policy) in &policies {
            let controls = policy.status.as_ref().map_or(&[][..], |s| &s.controls[..]);
            for (section, ratio) in section_compliance(controls) {
                let labels = [("policy", name.as_str()), ("section", section.as_str())];
                ConstGauge::new(ratio).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}
