//! RBAC reviews on a fixed snapshot: what is judged where, what is denied, warned and admitted,
//! and what the answer says.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use chrono::{TimeZone, Utc};
use hipaa_controls::object::{Operation, RBAC_GROUP};
use serde_json::value::RawValue;

use super::*;
use crate::kinds::Judged;
use crate::snapshot::ClusterState;

const CLUSTER: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: billing, labels: {phi: "true"}}
---
apiVersion: v1
kind: Namespace
metadata: {name: claims, labels: {phi: warn}}
---
apiVersion: v1
kind: Namespace
metadata: {name: sandbox}
---
apiVersion: v1
kind: Namespace
metadata: {name: kube-system}
---
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: phi-enforce}
spec:
  enforcement: Enforce
  namespaceSelector: {matchLabels: {phi: "true"}}
---
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: phi-warn}
spec:
  enforcement: Warn
  namespaceSelector: {matchLabels: {phi: warn}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: read-secrets, namespace: billing}
rules: [{apiGroups: [""], resources: [secrets], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: read-secrets, namespace: sandbox}
rules: [{apiGroups: [""], resources: [secrets], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: cluster-admin}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
"#;

fn snapshot() -> Snapshot {
    let documents = yaml_serde::Deserializer::from_str(CLUSTER).map(|document| {
        let value: serde_json::Value = serde::Deserialize::deserialize(document).unwrap();
        value
    });
    Snapshot::from_state(&ClusterState::from_documents(documents).unwrap())
}

fn row(kind: &str) -> &'static KindInfo {
    match Judged::admitted(RBAC_GROUP, "v1", kind) {
        Some(Judged::Rbac(row)) => row,
        other => panic!("{kind} is {other:?}"),
    }
}

fn role_binding(namespace: &str, user: &str) -> Box<RawValue> {
    RawValue::from_string(format!(
        r#"{{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{{"name":"mallory-reads","namespace":"{namespace}"}},"roleRef":{{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"read-secrets"}},"subjects":[{{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"{user}"}}]}}"#
    ))
    .unwrap()
}

fn admin_binding(user: &str) -> Box<RawValue> {
    RawValue::from_string(format!(
        r#"{{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{{"name":"ops-admin"}},"roleRef":{{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"}},"subjects":[{{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"{user}"}}]}}"#
    ))
    .unwrap()
}

fn judge_one(
    kind: &str,
    operation: Operation,
    namespace: &str,
    name: &str,
    raw: &RawValue,
    snapshot: &Snapshot,
) -> Judgement {
    let payload = Payload::Raw(raw);
    let delete = operation == Operation::Delete;
    let row = row(kind);
    let review = Review {
        kind: Some(Judged::Rbac(row)),
        operation,
        namespace,
        name,
        sub_resource: "",
        object: (!delete).then_some(&payload),
        old_object: delete.then_some(raw),
    };
    let exemptions = Exemptions::new(["kube-system"]);
    let now = Utc.with_ymd_and_hms(2026, 12, 5, 12, 0, 0).unwrap();
    judge(&review, row, snapshot, &exemptions, now)
}

#[test]
fn binding_an_outside_user_to_a_secret_reader_in_a_governed_namespace_is_denied() {
    let snapshot = snapshot();
    let raw = role_binding("billing", "mallory");
    let judgement = judge_one(
        "RoleBinding",
        Operation::Create,
        "billing",
        "mallory-reads",
        &raw,
        &snapshot,
    );
    assert_eq!(judgement.decision, Decision::Denied);
    let message = judgement.answer.message.clone().unwrap();
    for needle in [
        "HIPAA Guard denied RoleBinding billing/mallory-reads:",
        "[HIPAA-K8S-ACCESS-SECRETS]",
        "User mallory can read-secrets through RoleBinding billing/mallory-reads → Role billing/read-secrets",
        "in namespace billing",
        "HipaaPolicy phi-enforce: controls [HIPAA-K8S-ACCESS-SECRETS], match {namespaces: [billing], kinds: [RoleBinding], names: [mallory-reads]}",
    ] {
        assert!(message.contains(needle), "{needle:?} not in {message}");
    }
}

#[test]
fn the_same_binding_elsewhere_or_by_a_deletion_is_admitted() {
    let snapshot = snapshot();
    let raw = role_binding("sandbox", "mallory");
    let ungoverned = judge_one(
        "RoleBinding",
        Operation::Create,
        "sandbox",
        "mallory-reads",
        &raw,
        &snapshot,
    );
    assert_eq!(ungoverned.decision, Decision::Unselected);
    assert!(ungoverned.answer.allowed);
    let exempt = judge_one(
        "RoleBinding",
        Operation::Create,
        "kube-system",
        "mallory-reads",
        &role_binding("kube-system", "mallory"),
        &snapshot,
    );
    assert_eq!(exempt.decision, Decision::Exempt);
    // RBAC only adds: a deletion, judged on what it leaves, never fails (the kind table does
    // not even ask for RBAC deletions).
    let deletion = judge_one(
        "RoleBinding",
        Operation::Delete,
        "billing",
        "mallory-reads",
        &role_binding("billing", "mallory"),
        &snapshot,
    );
    assert!(deletion.answer.allowed, "{:?}", deletion.answer);
}

#[test]
fn a_cluster_admin_binding_is_judged_in_every_governed_namespace() {
    let snapshot = snapshot();
    let raw = admin_binding("eve");
    let judgement = judge_one(
        "ClusterRoleBinding",
        Operation::Create,
        "",
        "ops-admin",
        &raw,
        &snapshot,
    );
    assert_eq!(judgement.decision, Decision::Denied);
    let message = judgement.answer.message.clone().unwrap();
    assert!(
        message.starts_with("HIPAA Guard denied ClusterRoleBinding ops-admin:"),
        "{message}"
    );
    assert!(message.contains("[HIPAA-K8S-CLUSTER-ADMIN]"), "{message}");
    assert!(
        message.contains("User eve is an administrator through ClusterRoleBinding ops-admin"),
        "{message}"
    );
    assert!(message.contains("in namespace billing"), "{message}");
    // Only the policy that enforces is named for the exception; the Warn namespace warns.
    assert!(
        message.contains("HipaaPolicy phi-enforce: controls [HIPAA-K8S-ACCESS-EXEC, HIPAA-K8S-ACCESS-SECRETS, HIPAA-K8S-CLUSTER-ADMIN], match {kinds: [ClusterRoleBinding], names: [ops-admin]}"),
        "{message}"
    );
    assert!(
        judgement
            .answer
            .warnings
            .iter()
            .any(|w| w.contains("in namespace claims")),
        "{:?}",
        judgement.answer.warnings
    );
    // sandbox is ungoverned, kube-system exempt: neither is judged.
    assert!(!message.contains("sandbox") && !message.contains("kube-system"));
}

#[test]
fn warn_mode_admits_with_a_warning_and_an_allowed_subject_passes() {
    let snapshot = snapshot();
    let raw = RawValue::from_string(role_binding("claims", "mallory").get().replace(
        "read-secrets\"}",
        "read-secrets\",\"namespace\":\"claims\"}",
    ))
    .unwrap();
    let mut state_snapshot = snapshot;
    // A Role in claims to bind to.
    let role = RawValue::from_string(
        r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"read-secrets","namespace":"claims"},"rules":[{"apiGroups":[""],"resources":["secrets"],"verbs":["get"]}]}"#.to_owned(),
    )
    .unwrap();
    let created = judge_one(
        "Role",
        Operation::Create,
        "claims",
        "read-secrets",
        &role,
        &state_snapshot,
    );
    assert_eq!(
        created.decision,
        Decision::Allowed,
        "a Role alone grants nobody"
    );
    state_snapshot = {
        let mut documents: Vec<serde_json::Value> = yaml_serde::Deserializer::from_str(CLUSTER)
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .collect();
        documents.push(serde_json::from_str(role.get()).unwrap());
        Snapshot::from_state(&ClusterState::from_documents(documents).unwrap())
    };
    let judgement = judge_one(
        "RoleBinding",
        Operation::Create,
        "claims",
        "mallory-reads",
        &raw,
        &state_snapshot,
    );
    assert_eq!(judgement.decision, Decision::Warned);
    assert!(judgement.answer.allowed);
    assert!(
        judgement.answer.warnings[0].starts_with("[HIPAA-K8S-ACCESS-SECRETS]"),
        "{:?}",
        judgement.answer.warnings
    );
    assert!(judgement.answer.warnings[0].contains("User mallory can read-secrets"));
}

/// A Role widened to Secrets is judged through the bindings that name it; a ClusterRole with
/// aggregation labels is judged on every subject (it can reach roles that select it).
#[test]
fn widening_a_bound_role_is_denied_and_an_aggregated_cluster_role_is_judged_too() {
    let mut documents: Vec<serde_json::Value> = yaml_serde::Deserializer::from_str(CLUSTER)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    documents.push(
        serde_json::from_str(
            &role_binding("billing", "mallory")
                .get()
                .replace("read-secrets", "read-pods"),
        )
        .unwrap(),
    );
    documents.push(
        serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole", "metadata": {"name": "admin"},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"to-admin": "true"}}]}}),
    );
    documents.push(serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding", "metadata": {"name": "trent-admin", "namespace": "billing"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "trent"}]}));
    let snapshot = Snapshot::from_state(&ClusterState::from_documents(documents).unwrap());
    let widened = RawValue::from_string(
        r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"read-pods","namespace":"billing"},"rules":[{"apiGroups":[""],"resources":["pods","secrets"],"verbs":["get"]}]}"#.to_owned(),
    )
    .unwrap();
    let judgement = judge_one(
        "Role",
        Operation::Create,
        "billing",
        "read-pods",
        &widened,
        &snapshot,
    );
    assert_eq!(judgement.decision, Decision::Denied);
    let message = judgement.answer.message.unwrap();
    assert!(
        message.contains("User mallory can read-secrets through RoleBinding billing/mallory-reads → Role billing/read-pods"),
        "{message}"
    );
    let labelled = RawValue::from_string(
        r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"secrets-to-admin","labels":{"to-admin":"true"}},"rules":[{"apiGroups":[""],"resources":["secrets"],"verbs":["list"]}]}"#.to_owned(),
    )
    .unwrap();
    let judgement = judge_one(
        "ClusterRole",
        Operation::Create,
        "",
        "secrets-to-admin",
        &labelled,
        &snapshot,
    );
    assert_eq!(judgement.decision, Decision::Denied);
    let message = judgement.answer.message.unwrap();
    assert!(
        message.contains("User trent can read-secrets through RoleBinding billing/trent-admin → ClusterRole admin"),
        "{message}"
    );
}

#[test]
fn a_binding_to_a_role_the_caches_have_not_seen_is_turned_away_for_a_retry() {
    let raw = RawValue::from_string(role_binding("billing", "mallory").get().replace(
        "\"name\":\"read-secrets\"",
        "\"name\":\"created-a-moment-ago\"",
    ))
    .unwrap();
    let judgement = judge_one(
        "RoleBinding",
        Operation::Create,
        "billing",
        "mallory-reads",
        &raw,
        &snapshot(),
    );
    assert_eq!(judgement.decision, Decision::NotReady);
    assert_eq!(judgement.answer.code, 503);
    let message = judgement.answer.message.unwrap();
    assert!(
        message.starts_with("HIPAA Guard has not seen Role billing/created-a-moment-ago"),
        "{message}"
    );
    // The ungoverned namespace is not judged at all, so not turned away either.
    let elsewhere = judge_one(
        "RoleBinding",
        Operation::Create,
        "sandbox",
        "mallory-reads",
        &RawValue::from_string(raw.get().replace("billing", "sandbox")).unwrap(),
        &snapshot(),
    );
    assert_eq!(elsewhere.decision, Decision::Unselected);
}

#[test]
fn under_warn_a_binding_to_a_role_not_seen_is_admitted_with_a_warning() {
    // claims is governed by phi-warn: Warn admits, as the mode promises, and says what was not
    // judged; only where an access control is enforced is the binding turned away.
    let raw = RawValue::from_string(role_binding("claims", "mallory").get().replace(
        "\"name\":\"read-secrets\"",
        "\"name\":\"created-a-moment-ago\"",
    ))
    .unwrap();
    let judgement = judge_one(
        "RoleBinding",
        Operation::Create,
        "claims",
        "mallory-reads",
        &raw,
        &snapshot(),
    );
    assert_eq!(judgement.decision, Decision::Warned);
    assert!(judgement.answer.allowed);
    assert_eq!(judgement.answer.warnings.len(), 1, "{:?}", judgement.answer);
    let warning = &judgement.answer.warnings[0];
    assert!(
        warning.starts_with("HIPAA Guard has not seen Role claims/created-a-moment-ago")
            && warning.ends_with("the operator's audit will judge it"),
        "{warning}"
    );
    assert!(
        warning.len() < 256,
        "kubectl truncates long warnings: {warning}"
    );
}

#[test]
fn not_synced_caches_turn_rbac_writes_away_and_bad_objects_are_invalid() {
    let raw = role_binding("billing", "mallory");
    let starting = judge_one(
        "RoleBinding",
        Operation::Create,
        "billing",
        "mallory-reads",
        &raw,
        &Snapshot::starting(),
    );
    assert_eq!(starting.decision, Decision::NotReady);
    assert!(!starting.answer.allowed);
    let bad = RawValue::from_string(r#"{"roleRef":"cluster-admin"}"#.to_owned()).unwrap();
    let invalid = judge_one(
        "ClusterRoleBinding",
        Operation::Update,
        "",
        "x",
        &bad,
        &snapshot(),
    );
    assert_eq!(invalid.decision, Decision::Invalid);
    assert!(!invalid.answer.allowed);
}
