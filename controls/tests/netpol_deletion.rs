//! HIPAA-K8S-NETPOL on deletions: a NetworkPolicy may go only when the pods it isolated stay
//! isolated by a remaining policy that provably selects them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use hipaa_controls::catalog::ids;
use hipaa_controls::{
    ClusterContext, EffectivePolicy, Evaluation, Outcome, evaluate_network_policy_deletion,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;

fn np(yaml: &str) -> NetworkPolicy {
    yaml_serde::from_str(yaml).unwrap()
}

const DENY_ALL: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: default-deny, namespace: billing}\nspec: {podSelector: {}, policyTypes: [Ingress]}";
const API_ONLY: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: api-ingress, namespace: billing}\nspec:\n  podSelector: {matchLabels: {app: api, tier: backend}}\n  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]";

fn delete(target: &str, others: &[&str], policy: &EffectivePolicy) -> Evaluation {
    let mut docs = vec![target];
    docs.extend_from_slice(others);
    let ctx = common::context(&docs.join("\n---\n"));
    evaluate_network_policy_deletion(&np(target), &ctx, policy, common::now())
}

fn outcome(eval: &Evaluation) -> Option<Outcome> {
    assert!(eval.checked.iter().any(|c| c.id == ids::K8S_NETPOL));
    eval.findings
        .iter()
        .find(|f| f.control.id == ids::K8S_NETPOL)
        .map(|f| f.outcome)
}

#[test]
fn deleting_the_only_isolating_policy_fails() {
    let eval = delete(DENY_ALL, &[], &EffectivePolicy::defaults());
    assert_eq!(outcome(&eval), Some(Outcome::Fail));
    let finding = &eval.findings[0];
    assert_eq!(
        finding.resource.to_string(),
        "NetworkPolicy billing/default-deny"
    );
    assert!(
        finding.message.contains("deleting NetworkPolicy billing/default-deny leaves the pods it selects without a NetworkPolicy that restricts ingress"),
        "{}",
        finding.message
    );
}

#[test]
fn deleting_a_narrow_policy_under_a_default_deny_passes() {
    assert_eq!(
        outcome(&delete(API_ONLY, &[DENY_ALL], &EffectivePolicy::defaults())),
        None
    );
}

#[test]
fn a_remaining_policy_with_a_subset_of_the_labels_still_covers() {
    let app_api = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: app-api, namespace: billing}\nspec: {podSelector: {matchLabels: {app: api}}, policyTypes: [Ingress]}";
    assert_eq!(
        outcome(&delete(API_ONLY, &[app_api], &EffectivePolicy::defaults())),
        None
    );
}

#[test]
fn a_remaining_policy_with_matching_expressions_still_covers() {
    let expr = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: apps, namespace: billing}\nspec:\n  podSelector:\n    matchExpressions:\n      - {key: app, operator: In, values: [api, web]}\n      - {key: tier, operator: Exists}\n      - {key: env, operator: NotIn, values: [dev]}\n  policyTypes: [Ingress]";
    // NotIn env=dev: the deleted selector says nothing about env, so coverage cannot be proved.
    assert_eq!(
        outcome(&delete(API_ONLY, &[expr], &EffectivePolicy::defaults())),
        Some(Outcome::Fail)
    );
    let provable = expr.replace("      - {key: env, operator: NotIn, values: [dev]}\n", "");
    assert_eq!(
        outcome(&delete(
            API_ONLY,
            &[&provable],
            &EffectivePolicy::defaults()
        )),
        None
    );
}

#[test]
fn remaining_policies_for_other_pods_other_namespaces_or_egress_do_not_cover() {
    let web = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: billing}\nspec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress]}";
    let elsewhere = DENY_ALL.replace("namespace: billing", "namespace: other");
    let egress = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: egress, namespace: billing}\nspec: {podSelector: {}, policyTypes: [Egress]}";
    let allow_all = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: open, namespace: billing}\nspec: {podSelector: {}, ingress: [{}]}";
    let eval = delete(
        API_ONLY,
        &[web, &elsewhere, egress, allow_all],
        &EffectivePolicy::defaults(),
    );
    assert_eq!(outcome(&eval), Some(Outcome::Fail));
}

#[test]
fn deleting_a_policy_that_restricted_nothing_passes() {
    let allow_all = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: open, namespace: billing}\nspec: {podSelector: {}, ingress: [{}]}";
    assert_eq!(
        outcome(&delete(allow_all, &[], &EffectivePolicy::defaults())),
        None
    );
    let egress = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: egress, namespace: billing}\nspec: {podSelector: {}, policyTypes: [Egress]}";
    assert_eq!(
        outcome(&delete(egress, &[], &EffectivePolicy::defaults())),
        None
    );
}

#[test]
fn egress_counts_when_required() {
    let policy = common::defaults_with(ids::K8S_NETPOL, |p| p.require_egress = true);
    let egress = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: egress, namespace: billing}\nspec: {podSelector: {}, policyTypes: [Egress]}";
    let eval = delete(egress, &[DENY_ALL], &policy);
    assert_eq!(outcome(&eval), Some(Outcome::Fail));
    assert!(
        eval.findings[0].message.ends_with("restricts egress"),
        "{}",
        eval.findings[0].message
    );
}

#[test]
fn unknown_network_policies_are_an_error_and_a_disabled_control_checks_nothing() {
    let mut ctx = ClusterContext::new();
    ctx.completeness.network_policies = false;
    let eval = evaluate_network_policy_deletion(
        &np(DENY_ALL),
        &ctx,
        &EffectivePolicy::defaults(),
        common::now(),
    );
    assert_eq!(outcome(&eval), Some(Outcome::Error));

    let mut policy = EffectivePolicy::defaults();
    policy.controls.remove(ids::K8S_NETPOL);
    let eval = delete(DENY_ALL, &[], &policy);
    assert!(eval.checked.is_empty() && eval.findings.is_empty());
}

#[test]
fn an_update_is_judged_as_a_deletion_with_the_new_version_remaining() {
    let policy = EffectivePolicy::defaults();
    let ctx = common::context(API_ONLY);
    let old = np(API_ONLY);
    let update = |new_yaml: &str| {
        let eval = hipaa_controls::evaluate_network_policy_update(
            &old,
            &np(new_yaml),
            &ctx,
            &policy,
            common::now(),
        );
        outcome(&eval)
    };
    // Widening the selector keeps the pods covered.
    let wider = API_ONLY.replace("{app: api, tier: backend}", "{app: api}");
    assert_eq!(update(&wider), None);
    // Narrowing it uncovers pods the old one isolated.
    let narrower = API_ONLY.replace(
        "{app: api, tier: backend}",
        "{app: api, tier: backend, canary: \"true\"}",
    );
    assert_eq!(update(&narrower), Some(Outcome::Fail));
    // Dropping Ingress from policyTypes uncovers them too.
    let egress_only = format!("{API_ONLY}\n  policyTypes: [Egress]");
    let eval = hipaa_controls::evaluate_network_policy_update(
        &old,
        &np(&egress_only),
        &ctx,
        &policy,
        common::now(),
    );
    assert_eq!(outcome(&eval), Some(Outcome::Fail));
    assert!(
        eval.findings[0]
            .message
            .starts_with("updating NetworkPolicy billing/api-ingress leaves"),
        "{}",
        eval.findings[0].message
    );
}
