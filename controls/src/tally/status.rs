//! The tally's parts that describe lifecycles (exception expiry, AWS resources), and the
//! conversions of the whole tally into the HipaaPolicy status types.

use chrono::{DateTime, Duration, Utc};
use hipaa_crds::{
    AwsResourceStatus, ControlResult, ControlStatus, ExceptionState, ExceptionStatus,
    HipaaPolicyStatus, MAX_STATUS_AWS_RESOURCES, ViolationStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::catalog;
use crate::model::{Finding, Outcome};
use crate::policy::EffectivePolicy;

use super::{
    AWS_KINDS, AwsResourceTally, ControlTally, ExceptionTally, ResourceEvaluation, Tally, count,
};

/// An exception expiring within this many days is `ExpiringSoon`.
pub const EXPIRING_SOON_DAYS: i64 = 14;

/// Active, ExpiringSoon (within 14 days) or Expired at `now`; an expiry that cannot be
/// represented counts as expired, as it does for the engine.
pub fn exception_state(expires: Option<DateTime<Utc>>, now: DateTime<Utc>) -> ExceptionState {
    match expires {
        Some(expires) if expires > now => {
            if expires - now <= Duration::days(EXPIRING_SOON_DAYS) {
                ExceptionState::ExpiringSoon
            } else {
                ExceptionState::Active
            }
        }
        _ => ExceptionState::Expired,
    }
}

/// Time left in its largest whole unit: `123d`, `5h`, `12m`, `30s`; `None` once expired. For
/// what is shown at a given moment (Events, `kubectl hipaa status`); the status keeps the
/// timestamp instead, which does not go stale.
pub fn expires_in(expires: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<String> {
    let left = expires? - now;
    if left <= Duration::zero() {
        return None;
    }
    Some(if left.num_days() > 0 {
        format!("{}d", left.num_days())
    } else if left.num_hours() > 0 {
        format!("{}h", left.num_hours())
    } else if left.num_minutes() > 0 {
        format!("{}m", left.num_minutes())
    } else {
        format!("{}s", left.num_seconds().max(1))
    })
}

/// The state of every exception of `policy` at `now`, with the failures each waived
/// (`matched`, in `policy.exceptions` order).
pub(super) fn exception_tallies(
    policy: &EffectivePolicy,
    matched: &[usize],
    now: DateTime<Utc>,
) -> Vec<ExceptionTally> {
    policy
        .exceptions
        .iter()
        .enumerate()
        .map(|(position, scoped)| {
            let expires = scoped.expires();
            ExceptionTally {
                policy: scoped.policy.clone(),
                index: scoped.index,
                state: exception_state(expires, now),
                expires_at: expires,
                matched: count(matched.get(position).copied().unwrap_or(0)),
            }
        })
        .collect()
}

pub(super) fn aws_resource_tallies(evaluations: &[&ResourceEvaluation]) -> Vec<AwsResourceTally> {
    let mut tallies: Vec<AwsResourceTally> = evaluations
        .iter()
        .filter(|e| AWS_KINDS.contains(&e.resource.kind.as_str()))
        .map(|e| {
            let findings = &e.evaluation.findings;
            let has = |outcome: Outcome| findings.iter().any(|f| f.outcome == outcome);
            let result = if has(Outcome::Fail) {
                ControlResult::Fail
            } else if has(Outcome::Error) {
                ControlResult::Error
            } else if has(Outcome::Excepted) {
                ControlResult::Excepted
            } else if e.evaluation.checked.is_empty() {
                ControlResult::NotEvaluated
            } else {
                ControlResult::Pass
            };
            let mut failed_controls: Vec<&'static str> = findings
                .iter()
                .filter(|f| matches!(f.outcome, Outcome::Fail | Outcome::Error))
                .map(|f| f.control.id)
                .collect();
            failed_controls.sort_by_key(|id| catalog::index_of(id));
            failed_controls.dedup();
            AwsResourceTally {
                resource: e.resource.clone(),
                result,
                failed_controls,
                checked_at: e.observed_at,
            }
        })
        .collect();
    tallies.sort_by(|a, b| {
        result_rank(a.result)
            .cmp(&result_rank(b.result))
            .then_with(|| kind_rank(&a.resource.kind).cmp(&kind_rank(&b.resource.kind)))
            .then_with(|| a.resource.name.cmp(&b.resource.name))
    });
    tallies
}

/// Failing first, then errors, then the rest.
fn result_rank(result: ControlResult) -> u8 {
    match result {
        ControlResult::Fail => 0,
        ControlResult::Error => 1,
        ControlResult::Excepted => 2,
        ControlResult::Pass => 3,
        ControlResult::NotEvaluated => 4,
        ControlResult::Disabled => 5,
    }
}

fn kind_rank(kind: &str) -> usize {
    AWS_KINDS
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(AWS_KINDS.len())
}

/// A chrono time as a Kubernetes `Time` (None if it does not fit).
///
/// Whole seconds: the API server stores `metav1.Time` at second precision, so a sub-second value
/// would read back different from what was written and make every status look changed.
pub fn to_time(at: DateTime<Utc>) -> Option<Time> {
    Timestamp::new(at.timestamp(), 0).ok().map(Time)
}

impl From<&ControlTally> for ControlStatus {
    fn from(tally: &ControlTally) -> Self {
        ControlStatus {
            id: tally.control.id.to_string(),
            sections: tally
                .control
                .sections
                .iter()
                .map(|s| s.to_string())
                .collect(),
            severity: tally.control.severity.as_str().to_string(),
            result: tally.result,
            violations: tally.violations,
            message: tally.message.clone(),
        }
    }
}

impl From<&Finding> for ViolationStatus {
    fn from(finding: &Finding) -> Self {
        ViolationStatus {
            control: finding.control.id.to_string(),
            severity: finding.control.severity.as_str().to_string(),
            kind: finding.resource.kind.clone(),
            namespace: finding.resource.namespace.clone(),
            name: finding.resource.name.clone(),
            message: finding.message.clone(),
        }
    }
}

impl From<&ExceptionTally> for ExceptionStatus {
    fn from(tally: &ExceptionTally) -> Self {
        ExceptionStatus {
            index: count(tally.index),
            active: tally.state != ExceptionState::Expired,
            state: tally.state,
            expires_at: tally.expires_at.and_then(to_time),
            matched: tally.matched,
        }
    }
}

impl From<&AwsResourceTally> for AwsResourceStatus {
    fn from(tally: &AwsResourceTally) -> Self {
        AwsResourceStatus {
            kind: tally.resource.kind.clone(),
            name: tally.resource.name.clone(),
            result: tally.result,
            failed_controls: tally
                .failed_controls
                .iter()
                .map(|id| id.to_string())
                .collect(),
            checked_at: tally.checked_at.and_then(to_time),
            linked_by: Vec::new(),
            linked_by_total: None,
        }
    }
}

impl Tally {
    pub fn control_statuses(&self) -> Vec<ControlStatus> {
        self.controls.iter().map(ControlStatus::from).collect()
    }

    pub fn violation_statuses(&self) -> Vec<ViolationStatus> {
        self.violations.iter().map(ViolationStatus::from).collect()
    }

    /// The states of the exceptions of the policy named `policy` (a status lists its own).
    pub fn exception_statuses(&self, policy: &str) -> Vec<ExceptionStatus> {
        self.exceptions
            .iter()
            .filter(|e| e.policy == policy)
            .map(ExceptionStatus::from)
            .collect()
    }

    /// The first [`MAX_STATUS_AWS_RESOURCES`] AWS resources, failing first.
    pub fn aws_resource_statuses(&self) -> Vec<AwsResourceStatus> {
        self.aws_resources
            .iter()
            .take(MAX_STATUS_AWS_RESOURCES)
            .map(AwsResourceStatus::from)
            .collect()
    }

    /// Writes summary, controls, violations, truncated, AWS resources and the exceptions of the
    /// policy named `policy` into `status`; conditions, observedGeneration and lastAuditTime are
    /// the caller's.
    pub fn write_status(&self, policy: &str, status: &mut HipaaPolicyStatus) {
        status.summary = Some(self.summary.clone());
        status.controls = self.control_statuses();
        status.violations = self.violation_statuses();
        status.truncated = self.truncated;
        status.aws_resources = self.aws_resource_statuses();
        status.exceptions = self.exception_statuses(policy);
    }
}
