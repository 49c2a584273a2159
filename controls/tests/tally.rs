//! The tally: per-control results, counts, the score and the bounded, most-severe-first
//! violation list.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;
mod tally_support;

use common::aws::now;
use hipaa_controls::catalog::ids;
use hipaa_controls::model::Outcome;
use hipaa_controls::policy::EffectivePolicy;
use hipaa_controls::tally::{tally, tally_with_limit};
use hipaa_crds::ControlResult;
use tally_support::{deployment, evaluated, finding, mixed_scope};

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
    // One MEDIUM failure (weight 2) among the 47 controls (total weight 184: twenty-four HIGH,
    // seven CRITICAL, sixteen MEDIUM): 182/184 = 98.9, rounded down.
    let one_failure = evaluated(
        &api,
        &all,
        vec![finding(ids::SM_ROTATION, Outcome::Fail, &api)],
    );
    let score = tally(&policy, [&one_failure], now()).summary.score;
    assert_eq!(score, 98);
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
fn a_resource_evaluated_twice_counts_once() {
    let policy = EffectivePolicy::defaults();
    let api = deployment("api");
    let once = evaluated(&api, &[ids::K8S_NETPOL], Vec::new());
    let nothing_checked = evaluated(&deployment("config"), &[], Vec::new());
    let summary = tally(&policy, [&once, &once.clone(), &nothing_checked], now()).summary;
    assert_eq!(summary.resources_evaluated, 1);
}
