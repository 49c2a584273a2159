//! Access Events: a baseline first, then one Event per access granted or revoked in the
//! namespaces governed at both audits, Warning for a subject outside allowedSubjects, bounded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::sync::Arc;

use hipaa_controls::access::{AccessEvidence, RbacSet};
use hipaa_crds::HipaaPolicy;

use super::*;

fn policy(extra: &str) -> EffectivePolicy {
    let policy: HipaaPolicy = yaml_serde::from_str(&format!(
        "apiVersion: hipaaguard.io/v1alpha1\nkind: HipaaPolicy\nmetadata: {{name: phi}}\n\
         spec:\n  namespaceSelector: {{matchLabels: {{phi: \"true\"}}}}\n{extra}"
    ))
    .unwrap();
    EffectivePolicy::from_policy(&policy).unwrap()
}

const READER: &str = r#"{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
  "metadata": {"name": "reader", "namespace": "NS"},
  "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}]}"#;

fn binding(namespace: &str, name: &str, user: &str) -> serde_json::Value {
    serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": user}]})
}

/// The evidence of readers in `namespaces` plus the given bindings.
fn evidence(namespaces: &[&str], bindings: &[serde_json::Value]) -> AccessEvidence {
    let mut set = RbacSet::default();
    for namespace in namespaces {
        set.push_value(serde_json::from_str(&READER.replace("NS", namespace)).unwrap())
            .unwrap();
    }
    for binding in bindings {
        set.push_value(binding.clone()).unwrap();
    }
    AccessEvidence::Known(Arc::new(set.model()))
}

fn scope(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

#[test]
fn the_first_audit_sets_the_baseline_then_grants_and_revocations_are_reported() {
    let policy = policy("");
    let mut baseline = AccessBaseline::default();
    let billing = scope(&["billing"]);
    let bob = binding("billing", "bob-reads", "bob");
    assert!(
        baseline
            .advance(
                &evidence(&["billing"], std::slice::from_ref(&bob)),
                1,
                &billing,
                &policy
            )
            .is_empty(),
        "a start reports nothing"
    );
    let mallory = binding("billing", "mallory-reads", "mallory");
    let granted = baseline.advance(
        &evidence(&["billing"], &[bob.clone(), mallory.clone()]),
        2,
        &billing,
        &policy,
    );
    assert_eq!(granted.len(), 1, "{granted:?}");
    assert_eq!(granted[0].reason, REASON_ACCESS_GRANTED);
    assert!(granted[0].warning, "mallory is not in allowedSubjects");
    assert_eq!(
        granted[0].note,
        "User mallory can now read-secrets in namespace billing through \
         RoleBinding billing/mallory-reads → Role billing/reader, rule 0 (not in allowedSubjects)"
    );
    assert!(
        baseline
            .advance(
                &evidence(&["billing"], &[bob.clone(), mallory]),
                2,
                &billing,
                &policy
            )
            .is_empty(),
        "same version, same scope: nothing"
    );
    let revoked = baseline.advance(&evidence(&["billing"], &[bob]), 3, &billing, &policy);
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].reason, REASON_ACCESS_REVOKED);
    assert!(!revoked[0].warning);
    assert!(
        revoked[0]
            .note
            .starts_with("User mallory can no longer read-secrets in namespace billing")
    );
}

#[test]
fn an_allowed_subject_is_granted_normally_and_unreadable_rbac_keeps_the_baseline() {
    let policy = policy(
        "  controls:\n  - id: HIPAA-K8S-ACCESS-SECRETS\n    parameters: {allowedSubjects: [\"User:bob\"]}\n",
    );
    let mut baseline = AccessBaseline::default();
    let billing = scope(&["billing"]);
    baseline.advance(&evidence(&["billing"], &[]), 1, &billing, &policy);
    let unreadable = AccessEvidence::Unreadable("the operator may not list roles: no".into());
    assert!(
        baseline
            .advance(&unreadable, 2, &billing, &policy)
            .is_empty()
    );
    let bob = binding("billing", "bob-reads", "bob");
    let granted = baseline.advance(&evidence(&["billing"], &[bob]), 3, &billing, &policy);
    assert_eq!(granted.len(), 1);
    assert!(!granted[0].warning, "bob is allowed: {granted:?}");
}

#[test]
fn a_namespace_entering_the_scope_brings_no_events() {
    let policy = policy("");
    let mut baseline = AccessBaseline::default();
    let bindings = [binding("claims", "mallory-reads", "mallory")];
    baseline.advance(
        &evidence(&["claims"], &bindings),
        1,
        &scope(&["billing"]),
        &policy,
    );
    let wider = scope(&["billing", "claims"]);
    assert!(
        baseline
            .advance(&evidence(&["claims"], &bindings), 1, &wider, &policy)
            .is_empty()
    );
}

#[test]
fn beyond_the_limit_one_summary_counts_the_rest() {
    let policy = policy("");
    let mut baseline = AccessBaseline::default();
    let billing = scope(&["billing"]);
    baseline.advance(&evidence(&["billing"], &[]), 1, &billing, &policy);
    let many: Vec<serde_json::Value> = (0..25)
        .map(|i| binding("billing", &format!("b{i}"), &format!("user-{i:02}")))
        .collect();
    let events = baseline.advance(&evidence(&["billing"], &many), 2, &billing, &policy);
    assert_eq!(events.len(), MAX_ACCESS_EVENTS + 1);
    let summary = events.last().unwrap();
    assert_eq!(summary.reason, REASON_ACCESS_CHANGED);
    assert!(
        summary
            .note
            .starts_with("15 more accesses granted and 0 revoked"),
        "{}",
        summary.note
    );
}
