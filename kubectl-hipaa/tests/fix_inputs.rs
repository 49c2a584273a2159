//! `kubectl hipaa fix` on the inputs as they come (the built binary): a JSON List stays JSON,
//! CRLF line ends stay, a namespace the inputs lack is judged under the scan's assumption (which
//! decides the fixes), and a directory walk skips what the scan skips.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use serde_json::Value;

mod common;
use common::{kubectl_hipaa, text};

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
    // Invalid YAML that is no manifest is skipped, as the scan skips it; beside an object, the
    // file cannot be edited, and that is said rather than leaving the object unfixed.
    let notes = dir.path().join("notes.yaml");
    std::fs::write(&notes, "todo: [unclosed\n").unwrap();
    let output = kubectl_hipaa(&["fix", "-f", root], None);
    assert!(
        output.status.code().is_some_and(|c| c < 2),
        "{}",
        text(&output.stderr)
    );
    std::fs::write(&notes, "todo: [unclosed\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: q, namespace: shop}\nspec:\n  hostPID: true\n  containers: [{name: c, image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/c:1.0.0}]\n").unwrap();
    let output = kubectl_hipaa(&["fix", "-f", root], None);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("invalid YAML beside Kubernetes objects cannot be fixed"),
        "{}",
        text(&output.stderr)
    );
    std::fs::remove_file(&notes).unwrap();
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
