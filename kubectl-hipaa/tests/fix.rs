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

#[test]
fn a_json_list_stays_json_and_gets_the_network_policy_as_an_item() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.json");
    let list = r#"{
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "tools"},
     "spec": {"hostNetwork": true, "containers": [{"name": "c", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/c:1.0.0"}]}}
  ]
}
"#;
    std::fs::write(&path, list).unwrap();
    let path = path.to_str().unwrap();
    let output = kubectl_hipaa(&["fix", "-f", path, "--write"], None);
    assert_eq!(
        text(&output.stdout),
        format!("{path}: 3 fixes applied, NetworkPolicy tools/default-deny added\n"),
        "{}",
        text(&output.stderr)
    );
    // As the scan: tools is judged as the strictest namespace (so mesh injection is the third
    // fix), and the notes say so.
    assert!(
        text(&output.stderr).starts_with(
            "namespace tools is not among the inputs: judged as a PHI production namespace"
        ),
        "{}",
        text(&output.stderr)
    );
    let written = std::fs::read_to_string(path).unwrap();
    let document: Value = serde_json::from_str(&written).expect("still JSON");
    assert_eq!(document["items"][1]["kind"], "NetworkPolicy");
    assert_eq!(document["items"][0]["spec"]["hostNetwork"], false);
    // The Pod's own text is edited where it changed, not rewritten.
    assert!(written.contains("{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"p\", \"namespace\": \"tools\", \"labels\": {\"sidecar.istio.io/inject\":\"true\"}},\n"), "{written}");
    let scan = kubectl_hipaa(&["scan", "-f", path, "-o", "json"], None);
    let report: Value = serde_json::from_slice(&scan.stdout).unwrap();
    let fixable: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["outcome"] != "Error" && !f["fix"].is_null())
        .collect();
    assert!(fixable.is_empty(), "{fixable:?}");
}

#[test]
fn a_file_with_crlf_line_ends_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crlf.yaml");
    let pod = "apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: p\r\n  namespace: shop\r\nspec:\r\n  hostIPC: true\r\n  containers:\r\n  - name: c\r\n    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/c:1.0.0\r\n";
    std::fs::write(&path, pod).unwrap();
    let path = path.to_str().unwrap();
    let output = kubectl_hipaa(&["fix", "-f", path, "--write"], None);
    assert!(
        output.status.code().is_some_and(|c| c < 2),
        "{}",
        text(&output.stderr)
    );
    let written = std::fs::read_to_string(path).unwrap();
    assert!(written.contains("  hostIPC: false\r\n"), "{written:?}");
    assert!(written.contains("    securityContext:\r\n"), "{written:?}");
    assert_eq!(
        written.matches('\n').count(),
        written.matches("\r\n").count(),
        "{written:?}"
    );
}

#[test]
fn the_namespace_assumption_decides_which_fixes_apply_as_in_the_scan() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: tools\nspec:\n  containers:\n  - name: c\n    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/c:1.0.0\n    securityContext: {allowPrivilegeEscalation: false, runAsNonRoot: true, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}\n    resources: {limits: {cpu: 100m, memory: 64Mi}, requests: {cpu: 100m, memory: 64Mi}}\n";
    let patched = |extra: &[&str]| {
        let mut args = vec!["fix", "-f", "-", "-o", "patch"];
        args.extend_from_slice(extra);
        let output = kubectl_hipaa(&args, Some(pod));
        assert!(
            output.status.code().is_some_and(|c| c < 2),
            "{}",
            text(&output.stderr)
        );
        text(&output.stdout)
    };
    // The default, the strictest namespace: TLS-WORKLOAD applies and its fix is the mesh's.
    assert!(
        patched(&[]).contains("sidecar.istio.io/inject"),
        "{}",
        patched(&[])
    );
    // A namespace said to have Istio inject its proxy: the pods get mTLS, nothing to fix.
    let labelled = patched(&["--assume-namespace-labels", "istio-injection=enabled"]);
    assert!(!labelled.contains("sidecar.istio.io"), "{labelled}");
    // Nothing assumed: the checks that need the labels are not evaluated, so not fixed.
    let nothing = patched(&["--no-assume-namespace"]);
    assert!(!nothing.contains("sidecar.istio.io"), "{nothing}");
}

#[test]
fn a_directory_walk_skips_what_the_scan_skips() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("chart/templates")).unwrap();
    std::fs::write(
        dir.path().join("chart/templates/pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("values.yaml"), "replicas: 2\nimage: web\n").unwrap();
    std::fs::write(dir.path().join("pod.yaml"), "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\nspec:\n  hostIPC: true\n  containers:\n  - name: c\n    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/c:1.0.0\n").unwrap();
    let root = dir.path().to_str().unwrap();
    let output = kubectl_hipaa(&["fix", "-f", root], None);
    assert!(
        output.status.code().is_some_and(|c| c < 2),
        "{}",
        text(&output.stderr)
    );
    assert!(
        text(&output.stdout).contains("+  hostIPC: false"),
        "{}",
        text(&output.stdout)
    );
    // Only skipped documents: nothing to fix is an error, as for scan, and says why.
    std::fs::remove_file(dir.path().join("pod.yaml")).unwrap();
    let output = kubectl_hipaa(&["fix", "-f", root], None);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("documents found in directories were skipped"),
        "{}",
        text(&output.stderr)
    );
}
