//! HIPAA-K8S-PHI-SCOPE on namespace label changes: a namespace that holds workloads may not leave
//! the scope of a policy that governed it, under that policy's enforcement and exceptions; an
//! empty namespace may; a policy that still selects the new labels, or does not apply the control,
//! is no departure at all.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use chrono::{TimeZone, Utc};
use hipaa_controls::catalog::ids;
use hipaa_controls::{Departure, Enforcement, HipaaPolicy, Outcome, evaluate_namespace_departures};
use k8s_openapi::api::core::v1::Namespace;

fn policies() -> Vec<HipaaPolicy> {
    let path = common::fixtures_dir().join("namespace_change.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    common::documents(&text)
        .into_iter()
        .map(|doc| serde_json::from_value(doc).unwrap())
        .collect()
}

fn namespace(name: &str, labels: &[(&str, &str)]) -> Namespace {
    let labels: serde_json::Map<_, _> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
        .collect();
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels},
    }))
    .unwrap()
}

const PHI: (&str, &str) = ("hipaaguard.io/phi", "true");
const PRODUCTION: (&str, &str) = ("hipaaguard.io/environment", "production");
const ONE_DEPLOYMENT: &[(&str, usize)] = &[("Deployment", 1), ("Pod", 0)];

fn departures(
    name: &str,
    old: &[(&str, &str)],
    new: &[(&str, &str)],
    held: &[(&str, usize)],
) -> Vec<Departure> {
    let policies = policies();
    evaluate_namespace_departures(
        &namespace(name, old),
        &namespace(name, new),
        &policies,
        held,
        common::now(),
    )
}

fn outcomes(departures: &[Departure]) -> Vec<(&str, Option<Outcome>)> {
    departures
        .iter()
        .map(|d| {
            assert!(
                d.evaluation
                    .checked
                    .iter()
                    .any(|c| c.id == ids::K8S_PHI_SCOPE)
            );
            let outcome = d.evaluation.findings.first().map(|f| f.outcome);
            (d.policy.as_str(), outcome)
        })
        .collect()
}

#[test]
fn removing_the_phi_label_from_a_namespace_with_a_deployment_fails_under_the_policy_left() {
    let left = departures("billing", &[PHI], &[], ONE_DEPLOYMENT);
    assert_eq!(outcomes(&left), [("phi-enforce", Some(Outcome::Fail))]);
    let finding = &left[0].evaluation.findings[0];
    assert_eq!(finding.enforcement, Enforcement::Enforce);
    assert_eq!(finding.resource.to_string(), "Namespace billing");
    assert!(
        finding.message.contains(
            "Namespace billing: the new labels take it out of the scope of HipaaPolicy phi-enforce"
        ) && finding.message.ends_with("while it holds 1 Deployment"),
        "{}",
        finding.message
    );
    assert!(
        finding
            .denial_line()
            .starts_with("[HIPAA-K8S-PHI-SCOPE] 164.308(a)(1)(ii)(B): "),
        "{}",
        finding.denial_line()
    );
}

#[test]
fn an_empty_namespace_leaves_freely() {
    let left = departures("billing", &[PHI], &[], &[]);
    assert_eq!(outcomes(&left), [("phi-enforce", None)]);
}

#[test]
fn the_policys_exception_for_the_namespace_waives_the_departure() {
    let left = departures("claims", &[PHI], &[], ONE_DEPLOYMENT);
    assert_eq!(outcomes(&left), [("phi-enforce", Some(Outcome::Excepted))]);
    let waived_by = left[0].evaluation.findings[0].exception.as_ref().unwrap();
    assert_eq!(
        (waived_by.policy.as_str(), waived_by.index),
        ("phi-enforce", 0)
    );
    // After the exception expires, the same change fails again.
    let later = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
    let policies = policies();
    let left = evaluate_namespace_departures(
        &namespace("claims", &[PHI]),
        &namespace("claims", &[]),
        &policies,
        ONE_DEPLOYMENT,
        later,
    );
    assert_eq!(outcomes(&left), [("phi-enforce", Some(Outcome::Fail))]);
}

#[test]
fn each_policy_left_is_judged_under_its_own_enforcement() {
    let left = departures("ledger", &[PHI, PRODUCTION], &[], ONE_DEPLOYMENT);
    assert_eq!(
        outcomes(&left),
        [
            ("phi-enforce", Some(Outcome::Fail)),
            ("prod-warn", Some(Outcome::Fail))
        ]
    );
    assert_eq!(
        left[0].evaluation.findings[0].enforcement,
        Enforcement::Enforce
    );
    assert_eq!(
        left[1].evaluation.findings[0].enforcement,
        Enforcement::Warn
    );
}

#[test]
fn a_change_that_stays_in_scope_or_enters_it_leaves_nothing() {
    // Still PHI: every policy that selected it still does.
    assert!(departures("billing", &[PHI], &[PHI, PRODUCTION], ONE_DEPLOYMENT).is_empty());
    // Entering scope is judged by the controls of the policies that now select it, not here.
    assert!(departures("billing", &[], &[PHI], ONE_DEPLOYMENT).is_empty());
    // Out of scope before and after.
    assert!(
        departures(
            "scratch",
            &[("team", "a")],
            &[("team", "b")],
            ONE_DEPLOYMENT
        )
        .is_empty()
    );
}

#[test]
fn a_policy_that_turns_the_control_off_is_no_departure() {
    let left = departures("billing", &[PHI], &[], ONE_DEPLOYMENT);
    assert!(left.iter().all(|d| d.policy != "phi-relaxed"), "{left:?}");
}
