//! The tally's conversion into the HipaaPolicy status: the violation bound, exception states
//! and expiry, and AWS resource results.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;
mod tally_support;

use chrono::Duration;
use common::aws::now;
use hipaa_controls::aws::evaluate_aws_resources;
use hipaa_controls::catalog::ids;
use hipaa_controls::model::Outcome;
use hipaa_controls::policy::EffectivePolicy;
use hipaa_controls::tally::{ResourceEvaluation, expires_in, tally, to_time};
use hipaa_crds::{ControlResult, ExceptionState, HipaaPolicyStatus};
use tally_support::{deployment, evaluated, exception, finding, mixed_scope};

#[test]
fn the_status_lists_at_most_max_status_violations() {
    let policy = EffectivePolicy::defaults();
    let evaluations: Vec<ResourceEvaluation> = (0..150)
        .map(|i| {
            let resource = deployment(&format!("app-{i:03}"));
            evaluated(
                &resource,
                &[ids::K8S_NETPOL],
                vec![finding(ids::K8S_NETPOL, Outcome::Fail, &resource)],
            )
        })
        .collect();
    let mut status = HipaaPolicyStatus::default();
    tally(&policy, &evaluations, now()).write_status("production-phi", &mut status);
    assert_eq!(status.violations.len(), hipaa_crds::MAX_STATUS_VIOLATIONS);
    assert!(status.truncated);
    let summary = status.summary.unwrap();
    assert_eq!(
        (
            summary.violations,
            summary.high,
            summary.resources_evaluated
        ),
        (150, 150, 150)
    );
    assert_eq!(status.violations[0].name, "app-000");
    assert_eq!(status.violations[0].severity, "HIGH");
    let netpol = status
        .controls
        .iter()
        .find(|c| c.id == ids::K8S_NETPOL)
        .unwrap();
    assert_eq!(
        (netpol.result, netpol.violations),
        (ControlResult::Fail, 150)
    );
    assert_eq!(
        netpol.sections,
        hipaa_controls::control(ids::K8S_NETPOL).unwrap().sections
    );
}

#[test]
fn exception_states_expiry_and_matches() {
    let (mut policy, evaluations) = mixed_scope();
    policy
        .exceptions
        .push(exception(1, Duration::hours(5) + Duration::minutes(30)));
    policy.exceptions.push(exception(2, -Duration::days(1)));
    let tally = tally(&policy, &evaluations, now());
    let states: Vec<(ExceptionState, Option<String>, u32)> = tally
        .exceptions
        .iter()
        .map(|e| (e.state, expires_in(e.expires_at, now()), e.matched))
        .collect();
    assert_eq!(
        states,
        [
            (ExceptionState::Active, Some("123d".to_string()), 1),
            (ExceptionState::ExpiringSoon, Some("5h".to_string()), 0),
            (ExceptionState::Expired, None, 0),
        ]
    );
    let statuses = tally.exception_statuses("production-phi");
    assert_eq!(statuses.len(), 3);
    assert!(statuses[0].active && statuses[1].active && !statuses[2].active);
    assert_eq!(statuses[2].index, 2);
    // The status keeps the expiry itself, expired or not: a timestamp does not go stale.
    let expiring = now() + Duration::hours(5) + Duration::minutes(30);
    assert_eq!(statuses[1].expires_at, to_time(expiring));
    assert_eq!(statuses[2].expires_at, to_time(now() - Duration::days(1)));
    assert!(tally.exception_statuses("another-policy").is_empty());
}

#[test]
fn expires_in_uses_the_largest_whole_unit() {
    let at = |d: Duration| Some(now() + d);
    assert_eq!(
        expires_in(at(Duration::days(14) + Duration::hours(23)), now()).as_deref(),
        Some("14d")
    );
    assert_eq!(
        expires_in(at(Duration::minutes(59)), now()).as_deref(),
        Some("59m")
    );
    assert_eq!(
        expires_in(at(Duration::seconds(30)), now()).as_deref(),
        Some("30s")
    );
    assert_eq!(expires_in(at(Duration::zero()), now()), None);
    assert_eq!(expires_in(None, now()), None);
}

#[test]
fn aws_resources_are_listed_failing_first_with_their_snapshot_time() {
    let snapshot = common::aws::snapshot("secrets-kms");
    let evaluations = evaluate_aws_resources(&snapshot, &EffectivePolicy::defaults(), now());
    let mut status = HipaaPolicyStatus::default();
    let tally = tally(&EffectivePolicy::defaults(), &evaluations, now());
    tally.write_status("production-phi", &mut status);
    let rows: Vec<(&str, &str, ControlResult, Vec<&str>)> = status
        .aws_resources
        .iter()
        .map(|r| {
            (
                r.kind.as_str(),
                r.name.as_str(),
                r.result,
                r.failed_controls.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    let missing = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/missing";
    assert_eq!(
        rows,
        [
            (
                "SecretsManagerSecret",
                "prod/api-key",
                ControlResult::Fail,
                vec![ids::SM_KMS, ids::SM_ROTATION]
            ),
            (
                "SecretsManagerSecret",
                "prod/legacy",
                ControlResult::Fail,
                vec![ids::SM_ROTATION]
            ),
            (
                "KMSKey",
                "9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff",
                ControlResult::Fail,
                vec![ids::KMS_ROTATION]
            ),
            (
                "SecretsManagerSecret",
                missing,
                ControlResult::Error,
                vec![ids::SM_KMS, ids::SM_ROTATION]
            ),
            (
                "SecretsManagerSecret",
                "prod/db",
                ControlResult::Pass,
                vec![]
            ),
            (
                "KMSKey",
                "5e6f7a8b-1111-2222-3333-444455556666",
                ControlResult::Pass,
                vec![]
            ),
        ]
    );
    let checked_at = status.aws_resources[0].checked_at.clone().unwrap();
    assert_eq!(checked_at.0.as_second(), snapshot.taken_at.timestamp());
    assert_eq!(
        tally.control(ids::EKS_SECRETS_KMS).unwrap().result,
        ControlResult::NotEvaluated
    );
    assert_eq!(tally.control(ids::SM_ROTATION).unwrap().violations, 2);
}

#[test]
fn status_times_are_whole_seconds_as_the_api_server_stores_them() {
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-28T12:00:00.987654321Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let time = hipaa_controls::tally::to_time(at).unwrap();
    assert_eq!(time.0.as_second(), at.timestamp());
    assert_eq!(time.0.subsec_nanosecond(), 0);
}
