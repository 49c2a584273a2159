//! The built `kubectl-hipaa` binary's exit status and messages: 0 when nothing at or above
//! --fail-on fails, 1 when something does, 2 on bad usage or unreadable/invalid input (naming
//! file and line); unknown kinds are skipped and said so; standard input works.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::Output;

mod common;
use common::{kubectl_hipaa, text};

fn code(output: &Output) -> i32 {
    output.status.code().unwrap()
}

const COMPLIANT: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: claims
  labels: {hipaaguard.io/phi: "true", hipaaguard.io/environment: production}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: claims}
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: intake, namespace: claims}
spec:
  replicas: 2
  selector: {matchLabels: {app: intake}}
  template:
    metadata:
      labels: {app: intake}
      annotations: {linkerd.io/inject: enabled}
    spec:
      securityContext: {runAsNonRoot: true}
      topologySpreadConstraints:
        - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: intake}}}
      containers:
        - name: intake
          image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/claims/intake:3.1.0
          securityContext: {allowPrivilegeEscalation: false}
"#;

#[test]
fn exit_0_when_nothing_fails_even_with_an_unknown_kind_that_is_skipped_and_said_so() {
    let input = format!(
        "{COMPLIANT}---\n{}",
        std::fs::read_to_string("tests/fixtures/unknown-kind.yaml").unwrap()
    );
    let output = kubectl_hipaa(&["scan", "-f", "-"], Some(&input));
    let stdout = text(&output.stdout);
    assert_eq!(
        code(&output),
        0,
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&output.stderr)
    );
    assert!(stdout.contains("No findings."), "{stdout}");
    assert!(
        stdout.contains(
            "skipped 1 object of kind HIPAA Guard does not judge: Widget (example.com/v1)"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("PASSED"), "{stdout}");
}

#[test]
fn exit_1_when_something_at_or_above_fail_on_fails() {
    let output = kubectl_hipaa(
        &[
            "scan",
            "-f",
            "tests/fixtures/manifests",
            "--policy",
            "tests/fixtures/policy.yaml",
        ],
        None,
    );
    assert_eq!(code(&output), 1, "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("FAILED"));
}

#[test]
fn fail_on_sets_the_threshold() {
    // Only a MEDIUM control fails here: the image is public and unpinned.
    let medium_only = COMPLIANT.replace(
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/claims/intake:3.1.0",
        "busybox:latest",
    );
    let at_low = kubectl_hipaa(&["scan", "-f", "-", "-o", "json"], Some(&medium_only));
    assert_eq!(code(&at_low), 1, "{}", text(&at_low.stdout));
    let findings: serde_json::Value = serde_json::from_slice(&at_low.stdout).unwrap();
    let severities: Vec<&str> = findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    assert!(
        !severities.is_empty() && severities.iter().all(|s| *s == "MEDIUM"),
        "{severities:?}"
    );
    let at_high = kubectl_hipaa(
        &["scan", "-f", "-", "--fail-on", "HIGH"],
        Some(&medium_only),
    );
    assert_eq!(code(&at_high), 0, "{}", text(&at_high.stdout));
    let at_medium = kubectl_hipaa(
        &["scan", "-f", "-", "--fail-on", "medium"],
        Some(&medium_only),
    );
    assert_eq!(code(&at_medium), 1);
}

#[test]
fn exit_2_on_malformed_yaml_naming_file_and_line() {
    let output = kubectl_hipaa(&["scan", "-f", "tests/fixtures/malformed.yaml"], None);
    assert_eq!(code(&output), 2);
    let stderr = text(&output.stderr);
    // Line 10 is `   namespace: billing`, indented under nothing.
    assert!(
        stderr.starts_with("error: tests/fixtures/malformed.yaml:10: invalid YAML: "),
        "{stderr}"
    );
    assert!(
        stderr.contains("at line 10 column"),
        "positions are file lines, not document lines: {stderr}"
    );
    assert!(
        output.stdout.is_empty(),
        "nothing is printed for invalid input"
    );
}

#[test]
fn exit_2_on_malformed_stdin_and_objects_without_kind() {
    let output = kubectl_hipaa(
        &["scan", "-f", "-"],
        Some("apiVersion: v1\nkind: [unclosed\n"),
    );
    assert_eq!(code(&output), 2);
    // The unclosed flow sequence opened on line 2 is found unterminated at the end (line 3).
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with("error: <stdin>:3: invalid YAML"),
        "{stderr}"
    );
    assert!(stderr.contains("flow sequence at line 2"), "{stderr}");
    let output = kubectl_hipaa(
        &["scan", "-f", "-"],
        Some("# header\nmetadata: {name: x}\n"),
    );
    assert_eq!(code(&output), 2);
    assert!(
        text(&output.stderr).contains("<stdin>:2: the object has no apiVersion or kind"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn exit_2_on_bad_usage_and_unreadable_input() {
    for args in [
        vec!["scan"],
        vec!["scan", "-f", "x.yaml", "--fail-on", "SEVERE"],
        vec!["scan", "-f", "x.yaml", "-o", "xml"],
        vec!["frobnicate"],
    ] {
        let output = kubectl_hipaa(&args, None);
        assert_eq!(code(&output), 2, "{args:?}: {}", text(&output.stderr));
    }
    let missing = kubectl_hipaa(&["scan", "-f", "tests/fixtures/does-not-exist.yaml"], None);
    assert_eq!(code(&missing), 2);
    assert!(
        text(&missing.stderr).contains("tests/fixtures/does-not-exist.yaml: "),
        "{}",
        text(&missing.stderr)
    );
    let bad_policy = kubectl_hipaa(
        &[
            "scan",
            "-f",
            "tests/fixtures/unknown-kind.yaml",
            "--policy",
            "tests/fixtures/unknown-kind.yaml",
        ],
        None,
    );
    assert_eq!(code(&bad_policy), 2);
    assert!(
        text(&bad_policy.stderr)
            .contains("--policy expects hipaaguard.io/v1alpha1 HipaaPolicy objects")
    );
}

#[test]
fn help_has_examples_and_completion_scripts_are_printed() {
    let help = kubectl_hipaa(&["--help"], None);
    assert_eq!(code(&help), 0);
    assert!(text(&help.stdout).contains("Examples:"));
    let scan_help = kubectl_hipaa(&["scan", "--help"], None);
    assert!(text(&scan_help.stdout).contains("kubectl hipaa scan -f k8s/ -o sarif"));
    for shell in ["bash", "zsh", "fish"] {
        let output = kubectl_hipaa(&["completion", shell], None);
        assert_eq!(code(&output), 0);
        assert!(text(&output.stdout).contains("kubectl-hipaa"), "{shell}");
    }
}

#[test]
fn rbac_among_the_inputs_is_judged_and_an_outside_secret_reader_fails() {
    let rbac = r#"
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: secret-reader, namespace: claims}
rules:
  - {apiGroups: [""], resources: [secrets], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: contractor, namespace: claims}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: secret-reader}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: contractor}
"#;
    let output = kubectl_hipaa(
        &["scan", "-f", "-", "-o", "json"],
        Some(&format!("{COMPLIANT}{rbac}")),
    );
    assert_eq!(code(&output), 1, "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["control"], "HIPAA-K8S-ACCESS-SECRETS");
    let message = findings[0]["message"].as_str().unwrap();
    assert!(
        message.contains("User contractor can read-secrets through RoleBinding claims/contractor"),
        "{message}"
    );
    // Roles and bindings are read as context, not skipped as kinds HIPAA Guard does not judge.
    // (Without RBAC among the inputs the access controls are not judged: the compliant input
    // alone passes, in the first test.)
    assert_eq!(report["summary"]["skipped"]["objects"], 0, "{report}");
}
