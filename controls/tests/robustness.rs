//! Absence never panics: every fixture object, with each of its fields removed or nulled in turn,
//! parses or is refused, and then evaluates under complete, empty and unknown contexts; so do
//! bare objects of every kind and NetworkPolicies in every shape as context or deletion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;

use hipaa_controls::{
    ClusterContext, EffectivePolicy, Mode, Object, evaluate, evaluate_network_policy_deletion,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde_json::Value;

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// Paths to every node below the root.
fn paths(value: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                prefix.push(Step::Key(key.clone()));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                prefix.push(Step::Index(i));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// The value with the node at `path` removed (`null_it`: set to null instead).
fn without(value: &Value, path: &[Step], null_it: bool) -> Value {
    let mut copy = value.clone();
    let (last, parents) = path.split_last().unwrap();
    let mut node = &mut copy;
    for step in parents {
        node = match step {
            Step::Key(k) => node.get_mut(k.as_str()).unwrap(),
            Step::Index(i) => node.get_mut(*i).unwrap(),
        };
    }
    match (last, node) {
        (Step::Key(k), Value::Object(map)) if null_it => {
            map.insert(k.clone(), Value::Null);
        }
        (Step::Key(k), Value::Object(map)) => {
            map.remove(k.as_str());
        }
        (Step::Index(i), Value::Array(items)) if null_it => items[*i] = Value::Null,
        (Step::Index(i), Value::Array(items)) => {
            items.remove(*i);
        }
        _ => unreachable!(),
    }
    copy
}

fn contexts(full: &ClusterContext) -> Vec<ClusterContext> {
    let mut unknown = ClusterContext::new();
    unknown.completeness.namespaces = false;
    unknown.completeness.network_policies = false;
    unknown.completeness.storage_classes = false;
    unknown.completeness.pvcs = false;
    unknown.completeness.backup_schedules = false;
    vec![full.clone(), ClusterContext::new(), unknown]
}

fn judge_everywhere(object: &Object, ctxs: &[ClusterContext]) -> usize {
    let policy = EffectivePolicy::defaults();
    let mut findings = 0;
    for ctx in ctxs {
        for mode in [Mode::Admission, Mode::Audit] {
            let eval = evaluate(object, ctx, &policy, mode, common::now());
            for finding in &eval.findings {
                assert!(!finding.message.is_empty());
                assert!(eval.checked.iter().any(|c| c.id == finding.control.id));
            }
            findings += eval.findings.len();
        }
    }
    findings
}

fn fixture_paths() -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(common::fixtures_dir().join("k8s")).unwrap() {
        let dir = dir.unwrap().path();
        if dir.is_dir() {
            out.extend(std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()));
        }
    }
    out.sort();
    out
}

#[test]
fn any_field_of_any_fixture_object_may_be_absent_or_null() {
    let mut variants = 0;
    for path in fixture_paths() {
        let fixture = common::load_fixture(&path);
        let docs = common::documents(&fixture.text);
        let base = &docs[0];
        let ctxs = contexts(&fixture.ctx);
        let mut all = Vec::new();
        paths(base, &mut Vec::new(), &mut all);
        for p in &all {
            for null_it in [false, true] {
                let variant = without(base, p, null_it);
                if let Ok(object) = Object::from_value(variant, None) {
                    judge_everywhere(&object, &ctxs);
                    variants += 1;
                }
            }
        }
    }
    assert!(variants > 1000, "only {variants} variants parsed");
}

#[test]
fn bare_objects_of_every_kind_evaluate() {
    let kinds = [
        ("v1", "Pod"),
        ("apps/v1", "Deployment"),
        ("apps/v1", "StatefulSet"),
        ("apps/v1", "DaemonSet"),
        ("apps/v1", "ReplicaSet"),
        ("batch/v1", "Job"),
        ("batch/v1", "CronJob"),
        ("v1", "Service"),
        ("networking.k8s.io/v1", "Ingress"),
        ("v1", "PersistentVolumeClaim"),
        ("v1", "Namespace"),
        ("networking.k8s.io/v1", "NetworkPolicy"),
    ];
    let ctxs = contexts(&ClusterContext::new());
    for (api_version, kind) in kinds {
        for extra in [
            serde_json::json!({}),
            serde_json::json!({"metadata": {}}),
            serde_json::json!({"metadata": null, "spec": null}),
            serde_json::json!({"metadata": {"labels": {}, "annotations": {}}, "spec": {}}),
            serde_json::json!({"spec": {"template": {}, "jobTemplate": {}, "type": "LoadBalancer"}}),
            serde_json::json!({"spec": {"template": {"spec": {}}, "jobTemplate": {"spec": {"template": {"spec": {}}}}}}),
        ] {
            let mut value = extra.clone();
            value["apiVersion"] = Value::from(api_version);
            value["kind"] = Value::from(kind);
            let object =
                Object::from_value(value, None).unwrap_or_else(|e| panic!("{kind} {extra}: {e}"));
            assert_eq!(object.kind(), kind);
            judge_everywhere(&object, &ctxs);
        }
    }
}

#[test]
fn network_policies_of_any_shape_serve_as_context_and_deletions() {
    let base: Value = serde_json::to_value(
        yaml_serde::from_str::<yaml_serde::Value>(
            r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np, namespace: billing}
spec:
  podSelector:
    matchLabels: {app: api}
    matchExpressions: [{key: tier, operator: In, values: [backend]}]
  policyTypes: [Ingress, Egress]
  ingress:
    - from: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}, {namespaceSelector: {}, podSelector: {}}]
      ports: [{port: 443, protocol: TCP}]
  egress:
    - to: [{podSelector: {matchLabels: {app: db}}}]
"#,
        )
        .unwrap(),
    )
    .unwrap();
    let object = common::object(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: billing}\nspec: {template: {metadata: {labels: {app: api, tier: backend}}, spec: {containers: [{name: c}]}}}",
    );
    let mut all = Vec::new();
    paths(&base, &mut Vec::new(), &mut all);
    let mut judged = 0;
    for p in &all {
        for null_it in [false, true] {
            let Ok(np) = serde_json::from_value::<NetworkPolicy>(without(&base, p, null_it)) else {
                continue;
            };
            let mut ctx = ClusterContext::new();
            ctx.insert_network_policy(Arc::new(np.clone()));
            judge_everywhere(&object, &[ctx.clone()]);
            let policy = EffectivePolicy::defaults();
            evaluate_network_policy_deletion(&np, &ctx, &policy, common::now());
            evaluate_network_policy_deletion(&np, &ClusterContext::new(), &policy, common::now());
            judged += 1;
        }
    }
    assert!(judged > 20);
}
