//! When to write status and when to audit again. A status that changed is written at once; one
//! that did not is left alone (no write per debounced event) until the periodic audit is due,
//! when it is written again only to advance `lastAuditTime`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hipaa_crds::HipaaPolicyStatus;

use crate::time::from_timestamp;

/// Slack on the periodic audit: `lastAuditTime` is stored in whole seconds, so a requeue that
/// lands exactly on time may see it up to a second early.
const DUE_SLACK: Duration = Duration::from_secs(1);
/// The shortest requeue, so that a clock oddity cannot make a hot loop.
const MIN_REQUEUE: Duration = Duration::from_secs(1);

/// Why the status is (or is not) written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// Something other than `lastAuditTime` changed.
    Changed,
    /// Nothing changed, but the periodic audit is due: advance `lastAuditTime`.
    AuditDue,
    /// Nothing to write.
    Unchanged,
}

/// Compares `desired` with `previous`, ignoring `lastAuditTime`; `interval` is the audit
/// interval (None for a policy that is not audited, e.g. an invalid one).
pub fn decide_write(
    previous: Option<&HipaaPolicyStatus>,
    desired: &HipaaPolicyStatus,
    interval: Option<Duration>,
    now: DateTime<Utc>,
) -> Write {
    let Some(previous) = previous else {
        return Write::Changed;
    };
    // The EvidenceHistory condition has its own writer (crate::history), not the audit's.
    let mut previous_conditions = previous.conditions.clone();
    previous_conditions.retain(|c| c.type_ != hipaa_crds::CONDITION_EVIDENCE_HISTORY);
    let same = HipaaPolicyStatus {
        last_audit_time: None,
        conditions: previous_conditions,
        ..previous.clone()
    } == HipaaPolicyStatus {
        last_audit_time: None,
        ..desired.clone()
    };
    if !same {
        return Write::Changed;
    }
    let Some(interval) = interval else {
        return Write::Unchanged;
    };
    if audit_due(previous, interval, now) {
        Write::AuditDue
    } else {
        Write::Unchanged
    }
}

fn audit_due(previous: &HipaaPolicyStatus, interval: Duration, now: DateTime<Utc>) -> bool {
    let Some(last) = &previous.last_audit_time else {
        return true;
    };
    let elapsed = (now - from_timestamp(last.0))
        .to_std()
        .unwrap_or(Duration::ZERO);
    elapsed + DUE_SLACK >= interval
}

/// How long until the next periodic audit, from the `lastAuditTime` now in force.
pub fn next_audit_in(
    status: Option<&HipaaPolicyStatus>,
    interval: Duration,
    now: DateTime<Utc>,
) -> Duration {
    let Some(last) = status.and_then(|s| s.last_audit_time.as_ref()) else {
        return interval;
    };
    let elapsed = (now - from_timestamp(last.0))
        .to_std()
        .unwrap_or(Duration::ZERO);
    interval.saturating_sub(elapsed).max(MIN_REQUEUE)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::time::to_k8s_time;
    use hipaa_crds::ComplianceSummary;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn status(violations: u32, audited: &str) -> HipaaPolicyStatus {
        HipaaPolicyStatus {
            observed_generation: Some(1),
            summary: Some(ComplianceSummary {
                violations,
                ..Default::default()
            }),
            last_audit_time: Some(to_k8s_time(at(audited))),
            ..Default::default()
        }
    }

    const TEN_MINUTES: Option<Duration> = Some(Duration::from_secs(600));

    #[test]
    fn a_change_is_written_at_once() {
        let before = status(1, "2026-01-01T00:00:00Z");
        let now = at("2026-01-01T00:00:05Z");
        assert_eq!(
            decide_write(
                Some(&before),
                &status(2, "2026-01-01T00:00:05Z"),
                TEN_MINUTES,
                now
            ),
            Write::Changed
        );
        assert_eq!(
            decide_write(None, &before, TEN_MINUTES, now),
            Write::Changed
        );
    }

    #[test]
    fn the_evidence_history_condition_is_not_the_audits_change() {
        let mut before = status(1, "2026-01-01T00:00:00Z");
        before
            .conditions
            .push(k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
                type_: hipaa_crds::CONDITION_EVIDENCE_HISTORY.into(),
                status: "False".into(),
                reason: hipaa_crds::REASON_OBJECT_LOCK_OFF.into(),
                message: "no Object Lock".into(),
                observed_generation: Some(1),
                last_transition_time: to_k8s_time(at("2026-01-01T00:00:00Z")),
            });
        let now = at("2026-01-01T00:00:05Z");
        assert_eq!(
            decide_write(
                Some(&before),
                &status(1, "2026-01-01T00:00:05Z"),
                TEN_MINUTES,
                now
            ),
            Write::Unchanged
        );
    }

    #[test]
    fn an_unchanged_status_waits_for_the_periodic_audit() {
        let before = status(1, "2026-01-01T00:00:00Z");
        let soon = at("2026-01-01T00:05:00Z");
        assert_eq!(
            decide_write(
                Some(&before),
                &status(1, "2026-01-01T00:05:00Z"),
                TEN_MINUTES,
                soon
            ),
            Write::Unchanged
        );
        assert_eq!(
            next_audit_in(Some(&before), Duration::from_secs(600), soon),
            Duration::from_secs(300)
        );
        let due = at("2026-01-01T00:09:59.500Z");
        assert_eq!(
            decide_write(
                Some(&before),
                &status(1, "2026-01-01T00:09:59Z"),
                TEN_MINUTES,
                due
            ),
            Write::AuditDue
        );
    }

    #[test]
    fn an_unaudited_policy_is_never_written_for_time_alone() {
        let before = HipaaPolicyStatus {
            observed_generation: Some(4),
            ..Default::default()
        };
        let now = at("2030-01-01T00:00:00Z");
        assert_eq!(
            decide_write(Some(&before), &before.clone(), None, now),
            Write::Unchanged
        );
    }

    #[test]
    fn the_requeue_never_drops_below_a_second() {
        let before = status(0, "2026-01-01T00:00:00Z");
        assert_eq!(
            next_audit_in(
                Some(&before),
                Duration::from_secs(600),
                at("2026-01-01T01:00:00Z")
            ),
            MIN_REQUEUE
        );
        assert_eq!(
            next_audit_in(None, Duration::from_secs(600), at("2026-01-01T01:00:00Z")),
            Duration::from_secs(600)
        );
    }
}
