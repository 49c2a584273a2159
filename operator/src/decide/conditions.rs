//! The `Ready` and `Compliant` conditions: their status, reason and message from the audit, and
//! a transition time that moves only when the condition's status flips.

use chrono::{DateTime, Utc};
use hipaa_crds::{CONDITION_COMPLIANT, CONDITION_READY, ComplianceSummary};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use crate::time::to_k8s_time;

pub use hipaa_crds::{
    REASON_COMPLIANT, REASON_EVALUATED, REASON_EVALUATION_ERRORS, REASON_INVALID_SPEC,
    REASON_VIOLATIONS_FOUND, reason_of,
};

/// A condition as the audit sees it, before the transition time is settled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionState {
    pub type_: &'static str,
    /// `True`, `False` or `Unknown`.
    pub status: &'static str,
    pub reason: &'static str,
    pub message: String,
}

/// Ready and Compliant for a valid, evaluated policy.
pub fn evaluated(summary: &ComplianceSummary, namespaces: usize) -> [ConditionState; 2] {
    let ready = ConditionState {
        type_: CONDITION_READY,
        status: "True",
        reason: REASON_EVALUATED,
        message: format!(
            "evaluated {} resources in {namespaces} namespaces",
            summary.resources_evaluated
        ),
    };
    let errors = if summary.errors > 0 {
        format!(
            "; {} checks could not be evaluated (see status.controls)",
            summary.errors
        )
    } else {
        String::new()
    };
    let compliant = if summary.violations > 0 {
        ConditionState {
            type_: CONDITION_COMPLIANT,
            status: "False",
            reason: REASON_VIOLATIONS_FOUND,
            message: format!(
                "{} violations: {} critical, {} high, {} medium, {} low{errors}",
                summary.violations, summary.critical, summary.high, summary.medium, summary.low
            ),
        }
    } else if summary.errors > 0 {
        ConditionState {
            type_: CONDITION_COMPLIANT,
            status: "Unknown",
            reason: REASON_EVALUATION_ERRORS,
            message: format!(
                "no violations, but {} checks could not be evaluated (see status.controls)",
                summary.errors
            ),
        }
    } else {
        ConditionState {
            type_: CONDITION_COMPLIANT,
            status: "True",
            reason: REASON_COMPLIANT,
            message: format!("no violations in {} resources", summary.resources_evaluated),
        }
    };
    [ready, compliant]
}

/// Ready=False and Compliant=Unknown for a spec that cannot be evaluated.
pub fn invalid(errors: &[String]) -> [ConditionState; 2] {
    [
        ConditionState {
            type_: CONDITION_READY,
            status: "False",
            reason: REASON_INVALID_SPEC,
            message: format!("the spec is invalid: {}", errors.join("; ")),
        },
        ConditionState {
            type_: CONDITION_COMPLIANT,
            status: "Unknown",
            reason: REASON_INVALID_SPEC,
            message: "not evaluated until the spec is fixed".to_string(),
        },
    ]
}

/// The conditions to write: `lastTransitionTime` is kept from `previous` when the status did not
/// change, and is `now` when it did (or the condition is new).
pub fn settle(
    states: &[ConditionState],
    previous: &[Condition],
    generation: Option<i64>,
    now: DateTime<Utc>,
) -> Vec<Condition> {
    states
        .iter()
        .map(|state| {
            let before = previous.iter().find(|c| c.type_ == state.type_);
            let last_transition_time = match before {
                Some(before) if before.status == state.status => {
                    before.last_transition_time.clone()
                }
                _ => to_k8s_time(now),
            };
            Condition {
                type_: state.type_.to_string(),
                status: state.status.to_string(),
                reason: state.reason.to_string(),
                message: state.message.clone(),
                observed_generation: generation,
                last_transition_time,
            }
        })
        .collect()
}

/// The status of condition `type_` in `conditions`.
pub fn status_of<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a str> {
    conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status.as_str())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn summary(violations: u32, errors: u32) -> ComplianceSummary {
        ComplianceSummary {
            resources_evaluated: 10,
            violations,
            high: violations,
            errors,
            score: 50,
            ..Default::default()
        }
    }

    #[test]
    fn compliance_reasons_follow_violations_then_errors() {
        assert_eq!(evaluated(&summary(0, 0), 2)[1].reason, REASON_COMPLIANT);
        let failing = &evaluated(&summary(3, 1), 2)[1];
        assert_eq!(
            (failing.status, failing.reason),
            ("False", REASON_VIOLATIONS_FOUND)
        );
        assert_eq!(
            failing.message,
            "3 violations: 0 critical, 3 high, 0 medium, 0 low; 1 checks could not be evaluated (see status.controls)"
        );
        let unknown = &evaluated(&summary(0, 2), 2)[1];
        assert_eq!(
            (unknown.status, unknown.reason),
            ("Unknown", REASON_EVALUATION_ERRORS)
        );
    }

    #[test]
    fn the_transition_time_moves_only_when_the_status_flips() {
        let first = settle(
            &evaluated(&summary(3, 0), 1),
            &[],
            Some(1),
            at("2026-01-01T00:00:00Z"),
        );
        // Same status, other counts: the time stays.
        let same = settle(
            &evaluated(&summary(2, 0), 1),
            &first,
            Some(2),
            at("2026-01-02T00:00:00Z"),
        );
        assert_eq!(same[1].last_transition_time, first[1].last_transition_time);
        assert_eq!(
            same[1].message,
            "2 violations: 0 critical, 2 high, 0 medium, 0 low"
        );
        assert_eq!(same[1].observed_generation, Some(2));
        // Flipped: the time moves.
        let flipped = settle(
            &evaluated(&summary(0, 0), 1),
            &same,
            Some(2),
            at("2026-01-03T00:00:00Z"),
        );
        assert_eq!(
            flipped[1].last_transition_time,
            to_k8s_time(at("2026-01-03T00:00:00Z"))
        );
        assert_eq!(
            flipped[0].last_transition_time, first[0].last_transition_time,
            "Ready stayed True"
        );
    }

    #[test]
    fn an_invalid_spec_lists_every_error() {
        let [ready, compliant] = invalid(&["a".into(), "b".into()]);
        assert_eq!((ready.status, ready.reason), ("False", REASON_INVALID_SPEC));
        assert_eq!(ready.message, "the spec is invalid: a; b");
        assert_eq!(compliant.status, "Unknown");
    }
}
