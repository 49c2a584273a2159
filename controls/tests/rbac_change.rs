//! An RBAC change judged at admission: the access controls fail on what the change adds in a
//! governed namespace (naming the subject, the access and the path), never on what was already
//! there, and respect allowedSubjects; the parameter's entries are validated and the opt-in
//! SA-TOKEN control applies only where a policy lists it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;

use hipaa_controls::access::{AccessModel, RbacSet};
use hipaa_controls::catalog::ids;
use hipaa_controls::{EffectivePolicy, Outcome, evaluate_rbac_change, validate_policy};

const READER: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: secret-reader, namespace: billing}
rules:
  - apiGroups: [""]
    resources: [secrets]
    verbs: [get]
"#;

fn binding(user: &str) -> String {
    format!(
        r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: readers, namespace: billing}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: secret-reader}}
subjects:
  - {{apiGroup: rbac.authorization.k8s.io, kind: User, name: {user}}}
"#
    )
}

fn model(documents: &[&str]) -> AccessModel {
    let mut set = RbacSet::default();
    for text in documents {
        for doc in common::documents(text) {
            assert!(set.push_value(doc).unwrap());
        }
    }
    set.model()
}

fn judge(before: &AccessModel, after: &AccessModel, policy: &EffectivePolicy) -> Vec<String> {
    let eval = evaluate_rbac_change(
        "RoleBinding",
        Some("billing"),
        "readers",
        before,
        after,
        "billing",
        policy,
        common::now(),
    );
    eval.findings
        .iter()
        .map(|f| {
            assert_eq!(f.outcome, Outcome::Fail);
            assert_eq!(f.resource.kind, "RoleBinding");
            format!("{} {}", f.control.id, f.message)
        })
        .collect()
}

#[test]
fn binding_an_outside_user_to_a_secret_reader_fails_with_the_subject_access_and_path() {
    let before = model(&[READER]);
    let after = model(&[READER, &binding("mallory")]);
    let findings = judge(&before, &after, &EffectivePolicy::defaults());
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0].starts_with(ids::K8S_ACCESS_SECRETS),
        "{findings:?}"
    );
    assert!(
        findings[0].contains(
            "RoleBinding billing/readers would grant access outside allowedSubjects: User mallory \
             can read-secrets through RoleBinding billing/readers → Role billing/secret-reader, \
             rule 0 in namespace billing"
        ),
        "{findings:?}"
    );
}

#[test]
fn what_was_already_granted_is_not_the_change_s_doing() {
    let before = model(&[READER, &binding("mallory")]);
    let after = before_and_unrelated_edit();
    assert!(judge(&before, &after, &EffectivePolicy::defaults()).is_empty());
    // Removing access never fails either.
    assert!(judge(&before, &model(&[READER]), &EffectivePolicy::defaults()).is_empty());
}

fn before_and_unrelated_edit() -> AccessModel {
    let extra = READER.replace("verbs: [get]", "verbs: [get, list]");
    model(&[&extra, &binding("mallory")])
}

#[test]
fn an_allowed_subject_passes_and_a_policy_without_the_control_judges_nothing() {
    let before = model(&[READER]);
    let after = model(&[READER, &binding("auditor")]);
    let mut policy = common::defaults_with(ids::K8S_ACCESS_SECRETS, |p| {
        p.allowed_subject_lists = vec![vec!["User:auditor".into()]];
    });
    assert!(judge(&before, &after, &policy).is_empty());
    policy.controls.remove(ids::K8S_ACCESS_SECRETS);
    let after = model(&[READER, &binding("mallory")]);
    assert!(judge(&before, &after, &policy).is_empty());
}

#[test]
fn kinds_that_are_not_rbac_are_not_judged() {
    let before = model(&[READER]);
    let after = model(&[READER, &binding("mallory")]);
    let eval = evaluate_rbac_change(
        "ConfigMap",
        Some("billing"),
        "readers",
        &before,
        &after,
        "billing",
        &EffectivePolicy::defaults(),
        common::now(),
    );
    assert!(eval.findings.is_empty() && eval.checked.is_empty());
}

#[test]
fn allowed_subjects_entries_are_validated() {
    let policy = common::policy(
        r#"
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: p}
spec:
  namespaceSelector: {matchLabels: {hipaaguard.io/phi: "true"}}
  controls:
    - id: HIPAA-K8S-ACCESS-SECRETS
      parameters: {allowedSubjects: ["User:alice", "Robot:r2", "ServiceAccount:api"]}
    - id: HIPAA-K8S-PRIVILEGED
      parameters: {allowedSubjects: ["User:alice"]}
"#,
    );
    let errors: Vec<String> = validate_policy(&policy.spec)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].contains("unknown subject kind"), "{errors:?}");
    assert!(
        errors[1].contains("ServiceAccount:NAMESPACE:NAME"),
        "{errors:?}"
    );
    assert!(errors[2].contains("allowedSubjects"), "{errors:?}");
}

#[test]
fn the_sa_token_control_applies_only_where_a_policy_lists_it() {
    let unlisted = common::policy(
        r#"
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: p}
spec:
  namespaceSelector: {matchLabels: {hipaaguard.io/phi: "true"}}
"#,
    );
    let listed = common::policy(
        r#"
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: q}
spec:
  namespaceSelector: {matchLabels: {hipaaguard.io/phi: "true"}}
  controls:
    - id: HIPAA-K8S-SA-TOKEN
"#,
    );
    assert!(
        EffectivePolicy::defaults()
            .setting(ids::K8S_SA_TOKEN)
            .is_none()
    );
    let of = |p| EffectivePolicy::from_policy(p).unwrap();
    assert!(of(&unlisted).setting(ids::K8S_SA_TOKEN).is_none());
    assert!(of(&listed).setting(ids::K8S_SA_TOKEN).is_some());
    let namespace = Arc::new(
        serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "billing", "labels": {"hipaaguard.io/phi": "true"}}
        }))
        .unwrap(),
    );
    let merged = EffectivePolicy::for_namespace([&unlisted, &listed], &namespace).unwrap();
    assert!(merged.setting(ids::K8S_SA_TOKEN).is_some());
}
