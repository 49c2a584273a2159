//! The tally: per-control results, counts, the score, the bounded violation list, exception
//! states and AWS resource results, and their conversion into the HipaaPolicy status.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod aws_support;

use aws_support::now;
use chrono::Duration;
use hipaa_controls::aws::evaluate_aws_resources;
use hipaa_controls::catalog::ids;
use hipaa_controls::engine::Evaluation;
use hipaa_controls::model::{ExceptionRef, Finding, Outcome, ResourceRef};
use hipaa_controls::policy::{EffectivePolicy, ScopedException};
use hipaa_controls::tally::{ResourceEvaluation, tally, tally_with_limit};
use hipaa_crds::{
    ControlResult, Enforcement, ExceptionMatch, ExceptionState, HipaaPolicyStatus, PolicyException,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

fn deployment(name: &str) -> ResourceRef {
    ResourceRef::new("Deployment", Some("billing"), name)
}

fn finding(id: &str, outcome: Outcome, resource: &ResourceRef) -> Finding {
    Finding {
        control: hipaa_controls::control(id).unwrap(),
        outcome,
        resource: resource.clone(),
        message: format!("{id} on {resource}"),
        enforcement: Enforcement::Enforce,
        exception: None,
    }
}

fn evaluated(
    resource: &ResourceRef,
    checked: &[&str],
    findings: Vec<Finding>,
) -> ResourceEvaluation {
    let checked = checked
        .iter()
        .map(|id| hipaa_controls::control(id).unwrap())
        .collect();
    ResourceEvaluation::new(resource.clone(), Evaluation { findings, checked })
}

fn exception(index: usize, expires_in: Duration) -> ScopedException {
    let expires = now() + expires_in;
    ScopedException {
        policy: "production-phi".into(),
        index,
        exception: PolicyException {
            controls: vec![ids::K8S_IMAGE_REGISTRY.into()],
            match_: ExceptionMatch::default(),
            justification: "vendor image".into(),
            approved_by: "security@example.com".into(),
            expires: Time(Timestamp::from_second(expires.timestamp()).unwrap()),
        },
    }
}

/// Two Deployments and the EKS cluster under the default policy minus HIPAA-K8S-HA.
fn mixed_scope() -> (EffectivePolicy, Vec<ResourceEvaluation>) {
    let mut policy = EffectivePolicy::defaults();
    policy.controls.remove(ids::K8S_HA);
    policy.exceptions.push(exception(0, Duration::days(123)));
    let checked = [
        ids::K8S_SECRETS_IN_ENV,
        ids::K8S_NETPOL,
        ids::K8S_PRIVILEGED,
        ids::K8S_IMAGE_REGISTRY,
    ];
    let api = deployment("api");
    let web = deployment("web");
    let mut excepted = finding(ids::K8S_IMAGE_REGISTRY, Outcome::Excepted, &web);
    excepted.exception = Some(ExceptionRef {
        policy: "production-phi".into(),
        index: 0,
    });
    let cluster = ResourceRef::new("EKSCluster", None, "prod");
    let evaluations = vec![
        evaluated(
            &api,
            &checked,
            vec![finding(ids::K8S_NETPOL, Outcome::Fail, &api)],
        ),
        evaluated(&web, &checked, vec![excepted]),
        evaluated(
            &cluster,
            &[ids::EKS_VERSION],
            vec![finding(ids::EKS_VERSION, Outcome::Error, &cluster)],
        ),
    ];
    (policy, evaluations)
}

#[test]
fn every_control_gets_one_result() {
    let (policy, evaluations) = mixed_scope();
    let tally = tally(&policy, &evaluations, now());
    assert_eq!(tally.controls.len(), hipaa_controls::catalog().len());
    let result = |id: &str| tally.control(id).unwrap().result;
    assert_eq!(result(ids::K8S_SECRETS_IN_ENV), ControlResult::Pass);
    assert_eq!(result(ids::K8S_NETPOL), ControlResult::Fail);
    assert_eq!(result(ids::K8S_IMAGE_REGISTRY), ControlResult::Excepted);
    assert_eq!(result(ids::EKS_VERSION), ControlResult::Error);
    assert_eq!(result(ids::K8S_HA), ControlResult::Disabled);
    assert_eq!(result(ids::K8S_TLS_INGRESS), ControlResult::NotEvaluated);
    assert_eq!(tally.control(ids::K8S_NETPOL).unwrap().violations, 1);
    assert_eq!(
        tally
            .control(ids::K8S_PRIVILEGED)
            .unwrap()
            .resources_checked,
        2
    );
    assert_eq!(
        tally.control(ids::EKS_VERSION).unwrap().message.as_deref(),
        Some("HIPAA-EKS-VERSION on EKSCluster prod")
    );
    let not_linked = tally
        .control(ids::ECR_SCAN)
        .unwrap()
        .message
        .clone()
        .unwrap();
    assert!(
        not_linked.contains("spec.aws.ecrRepositories"),
        "{not_linked}"
    );
    assert!(!tally.is_compliant());
}

#[test]
fn summary_counts_and_score() {
    let (policy, evaluations) = mixed_scope();
    let summary = tally(&policy, &evaluations, now()).summary;
    assert_eq!(
        (
            summary.resources_evaluated,
            summary.violations,
            summary.high,
            summary.critical,
            summary.excepted,
            summary.errors
        ),
        (3, 1, 1, 0, 1, 1)
    );
    // Evaluated: SECRETS-IN-ENV (CRITICAL 8) pass, PRIVILEGED (HIGH 4) pass, IMAGE-REGISTRY
    // (MEDIUM 2) excepted, NETPOL (HIGH 4) fail, EKS-VERSION (MEDIUM 2) error: 14/20 = 70.
    assert_eq!(summary.score, 70);
}

#[test]
fn the_score_is_100_only_when_everything_evaluated_passes() {
    let policy = EffectivePolicy::defaults();
    assert_eq!(tally(&policy, &[], now()).summary.score, 100);
    let all: Vec<&str> = hipaa_controls::catalog().iter().map(|c| c.id).collect();
    let api = deployment("api");
    let clean = evaluated(&api, &all, Vec::new());
    let clean_tally = tally(&policy, [&clean], now());
    assert_eq!(clean_tally.summary.score, 100);
    assert!(clean_tally.is_compliant());
    // One LOW-weight failure among 21 controls still rounds down below 100.
    let one_failure = evaluated(
        &api,
        &all,
        vec![finding(ids::SM_ROTATION, Outcome::Fail, &api)],
    );
    let score = tally(&policy, [&one_failure], now()).summary.score;
    assert!((95..100).contains(&score), "{score}");
}

#[test]
fn a_failure_outranks_errors_and_the_message_counts_them() {
    let policy = EffectivePolicy::defaults();
    let (a, b, c) = (deployment("a"), deployment("b"), deployment("c"));
    let evaluations = [
        evaluated(
            &a,
            &[ids::K8S_NETPOL],
            vec![finding(ids::K8S_NETPOL, Outcome::Error, &a)],
        ),
        evaluated(
            &b,
            &[ids::K8S_NETPOL],
            vec![finding(ids::K8S_NETPOL, Outcome::Fail, &b)],
        ),
        evaluated(
            &c,
            &[ids::K8S_NETPOL],
            vec![finding(ids::K8S_NETPOL, Outcome::Error, &c)],
        ),
    ];
    let tally = tally(&policy, &evaluations, now());
    let netpol = tally.control(ids::K8S_NETPOL).unwrap();
    assert_eq!(netpol.result, ControlResult::Fail);
    assert_eq!((netpol.violations, netpol.errors), (1, 2));
    assert_eq!(
        netpol.message.as_deref(),
        Some(
            "HIPAA-K8S-NETPOL on Deployment billing/a (and 1 more resources could not be evaluated)"
        )
    );
}

#[test]
fn violations_are_sorted_most_severe_first_and_bounded() {
    let policy = EffectivePolicy::defaults();
    let (a, b) = (deployment("a"), deployment("b"));
    let evaluations = [
        evaluated(
            &a,
            &[ids::K8S_IMAGE_REGISTRY, ids::K8S_NETPOL],
            vec![
                finding(ids::K8S_IMAGE_REGISTRY, Outcome::Fail, &a),
                finding(ids::K8S_NETPOL, Outcome::Fail, &a),
            ],
        ),
        evaluated(
            &b,
            &[ids::K8S_SECRETS_IN_ENV, ids::K8S_NETPOL],
            vec![
                finding(ids::K8S_NETPOL, Outcome::Fail, &b),
                finding(ids::K8S_SECRETS_IN_ENV, Outcome::Fail, &b),
            ],
        ),
    ];
    let all = tally_with_limit(&policy, &evaluations, now(), 10);
    let order: Vec<(&str, &str)> = all
        .violations
        .iter()
        .map(|f| (f.control.id, f.resource.name.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            (ids::K8S_SECRETS_IN_ENV, "b"),
            (ids::K8S_NETPOL, "a"),
            (ids::K8S_NETPOL, "b"),
            (ids::K8S_IMAGE_REGISTRY, "a"),
        ]
    );
    assert!(!all.truncated);
    let bounded = tally_with_limit(&policy, &evaluations, now(), 2);
    assert_eq!(bounded.violations.len(), 2);
    assert!(bounded.truncated);
    assert_eq!(bounded.summary.violations, 4);
    assert_eq!(bounded.summary.critical, 1);
}

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
    let states: Vec<(ExceptionState, Option<&str>, u32)> = tally
        .exceptions
        .iter()
        .map(|e| (e.state, e.expires_in.as_deref(), e.matched))
        .collect();
    assert_eq!(
        states,
        [
            (ExceptionState::Active, Some("123d"), 1),
            (ExceptionState::ExpiringSoon, Some("5h"), 0),
            (ExceptionState::Expired, None, 0),
        ]
    );
    let statuses = tally.exception_statuses("production-phi");
    assert_eq!(statuses.len(), 3);
    assert!(statuses[0].active && statuses[1].active && !statuses[2].active);
    assert_eq!(statuses[2].index, 2);
    assert!(tally.exception_statuses("another-policy").is_empty());
}

#[test]
fn expires_in_uses_the_largest_whole_unit() {
    use hipaa_controls::tally::expires_in;
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
    let snapshot = aws_support::snapshot("secrets-kms");
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
fn a_resource_evaluated_twice_counts_once() {
    let policy = EffectivePolicy::defaults();
    let api = deployment("api");
    let once = evaluated(&api, &[ids::K8S_NETPOL], Vec::new());
    let nothing_checked = evaluated(&deployment("config"), &[], Vec::new());
    let summary = tally(&policy, [&once, &once.clone(), &nothing_checked], now()).summary;
    assert_eq!(summary.resources_evaluated, 1);
}
