//! `kubectl hipaa fix` as users run it (the built binary): a multi-document file with comments, a
//! flow-style mapping and a List fixed in place with everything else kept as written; then the
//! scan passes. The diff, `-o patch`, standard input, and the exit codes (0 all fixed, 1 findings
//! left without an automatic fix, 2 bad usage).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;

use serde_json::Value;

mod common;
use common::{kubectl_hipaa, text};

const MANIFESTS: &str = r#"# Billing's production manifests.
apiVersion: v1
kind: Namespace
metadata:
  name: billing
  labels:
    hipaaguard.io/phi: "true"
    hipaaguard.io/environment: production
    istio-injection: enabled
---
# The API.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api # the public API
  namespace: billing
spec:
  replicas: 3
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api, tier: web}
    spec:
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: topology.kubernetes.io/zone
        whenUnsatisfiable: DoNotSchedule
        labelSelector: {matchLabels: {app: api}}
      containers:
      - name: api
        image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/billing/api:1.4.2
        env:
        - name: LOG_LEVEL
          value: info
        - {name: API_TOKEN, value: s3cr3t-t0ken}
        securityContext: {runAsNonRoot: true}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata:
    name: debug
    namespace: billing
  spec:
    hostPID: true   # for the profiler
    containers:
    - name: sh
      image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/billing/tools:2.0.0
      securityContext:
        allowPrivilegeEscalation: false
        runAsUser: 1000
...
"#;

/// MANIFESTS after `--write`: only the fixed values and keys differ, the NetworkPolicy is a new
/// document at the end.
const FIXED: &str = r#"# Billing's production manifests.
apiVersion: v1
kind: Namespace
metadata:
  name: billing
  labels:
    hipaaguard.io/phi: "true"
    hipaaguard.io/environment: production
    istio-injection: enabled
---
# The API.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api # the public API
  namespace: billing
spec:
  replicas: 3
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api, tier: web}
    spec:
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: topology.kubernetes.io/zone
        whenUnsatisfiable: DoNotSchedule
        labelSelector: {matchLabels: {app: api}}
      containers:
      - name: api
        image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/billing/api:1.4.2
        env:
        - name: LOG_LEVEL
          value: info
        - {name: API_TOKEN, valueFrom: {secretKeyRef: {key: API_TOKEN, name: api-credentials}}}
        securityContext: {runAsNonRoot: true, allowPrivilegeEscalation: false}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata:
    name: debug
    namespace: billing
  spec:
    hostPID: false   # for the profiler
    containers:
    - name: sh
      image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/billing/tools:2.0.0
      securityContext:
        allowPrivilegeEscalation: false
        runAsUser: 1000
...
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: billing
spec:
  podSelector: {}
  policyTypes:
    - Ingress
"#;

fn write_manifests(dir: &Path) -> String {
    let path = dir.join("billing.yaml");
    std::fs::write(&path, MANIFESTS).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn write_fixes_in_place_keeping_comments_and_order_and_the_scan_then_passes() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_manifests(dir.path());
    let before = kubectl_hipaa(&["scan", "-f", &path], None);
    assert_eq!(before.status.code(), Some(1), "{}", text(&before.stdout));

    let fixed = kubectl_hipaa(&["fix", "-f", &path, "--write"], None);
    assert_eq!(fixed.status.code(), Some(0), "{}", text(&fixed.stderr));
    assert_eq!(
        text(&fixed.stdout),
        format!("{path}: 5 fixes applied, NetworkPolicy billing/default-deny added\n")
    );
    similar_asserts::assert_eq!(std::fs::read_to_string(&path).unwrap(), FIXED);
    // The Secret skeleton is printed, with a placeholder, never the value.
    let notes = text(&fixed.stderr);
    assert!(
        notes.contains("create Secret api-credentials outside version control"),
        "{notes}"
    );
    assert!(notes.contains("API_TOKEN: REPLACE_ME"), "{notes}");
    assert!(
        !notes.contains("s3cr3t") && !std::fs::read_to_string(&path).unwrap().contains("s3cr3t")
    );

    let after = kubectl_hipaa(&["scan", "-f", &path], None);
    assert_eq!(after.status.code(), Some(0), "{}", text(&after.stdout));
    // Nothing left: a second run changes nothing.
    let again = kubectl_hipaa(&["fix", "-f", &path], None);
    assert_eq!(
        (again.status.code(), text(&again.stdout)),
        (Some(0), String::new())
    );
}

#[test]
fn the_default_is_a_unified_diff_and_the_file_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_manifests(dir.path());
    let output = kubectl_hipaa(&["fix", "-f", &path], None);
    assert_eq!(output.status.code(), Some(0));
    let diff = text(&output.stdout);
    assert!(
        diff.starts_with(&format!("--- a/{path}\n+++ b/{path}\n@@ ")),
        "{diff}"
    );
    assert!(
        diff.contains(
            "\n-    hostPID: true   # for the profiler\n+    hostPID: false   # for the profiler\n"
        ),
        "{diff}"
    );
    assert!(diff.contains("\n+kind: NetworkPolicy\n"), "{diff}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), MANIFESTS);
}

#[test]
fn patches_per_object_name_their_kustomize_target_and_apply() {
    let output = kubectl_hipaa(&["fix", "-f", "-", "-o", "patch"], Some(MANIFESTS));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let document: Value = serde_json::from_str(&text(&output.stdout)).unwrap();
    let objects = document["objects"].as_array().unwrap();
    let targets: Vec<String> = objects
        .iter()
        .map(|o| {
            let t = &o["target"];
            format!(
                "{}/{} {} {}/{}",
                t["group"].as_str().unwrap(),
                t["version"].as_str().unwrap(),
                t["kind"].as_str().unwrap(),
                t["namespace"].as_str().unwrap(),
                t["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        targets,
        ["apps/v1 Deployment billing/api", "/v1 Pod billing/debug"]
    );
    // The Pod's patch is relative to the Pod (a List item), not to the List.
    let pod = &objects[1];
    assert_eq!(
        pod["patch"],
        serde_json::json!([{"op": "replace", "path": "/spec/hostPID", "value": false}])
    );
    let created: Vec<&str> = document["create"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(created, ["NetworkPolicy", "Secret"]);
    assert!(!text(&output.stdout).contains("s3cr3t"));
    // Each patch applies to its object as kubectl patch --type=json would.
    let deployment: Value = yaml_serde::Deserializer::from_str(MANIFESTS)
        .nth(1)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .unwrap();
    let mut patched = deployment.clone();
    let patch: json_patch::Patch = serde_json::from_value(objects[0]["patch"].clone()).unwrap();
    json_patch::patch(&mut patched, &patch.0).unwrap();
    let env = &patched["spec"]["template"]["spec"]["containers"][0]["env"][1];
    assert_eq!(env["valueFrom"]["secretKeyRef"]["name"], "api-credentials");
    assert!(env.get("value").is_none());
}

#[test]
fn findings_without_an_automatic_fix_exit_1_and_say_how_to_fix_them() {
    let manifest = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec:\n  containers:\n  - name: web\n    image: nginx:latest\n";
    let output = kubectl_hipaa(&["fix", "-f", "-"], Some(manifest));
    assert_eq!(output.status.code(), Some(1));
    let notes = text(&output.stderr);
    assert!(
        notes.contains("<stdin>:1: [HIPAA-K8S-IMAGE-REGISTRY]"),
        "{notes}"
    );
    assert!(notes.contains("no automatic fix: "), "{notes}");
    // What can be fixed still is.
    assert!(
        text(&output.stdout).contains("+    securityContext:"),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn standard_input_cannot_be_written_and_bad_input_exits_2() {
    let output = kubectl_hipaa(&["fix", "-f", "-", "--write"], Some(MANIFESTS));
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("standard input cannot be written in place"));
    assert!(output.stdout.is_empty());
    let output = kubectl_hipaa(
        &["fix", "-f", "-"],
        Some("apiVersion: v1\nkind: Pod\nmetadata: [\n"),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let output = kubectl_hipaa(
        &["fix", "-f", "-", "--write", "-o", "patch"],
        Some(MANIFESTS),
    );
    assert_eq!(output.status.code(), Some(2));
}
