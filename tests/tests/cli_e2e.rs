//! `kubectl-hipaa` against real parts: the project's own Helm chart rendered by the real helm and
//! piped into `scan -f -`; `scan --cluster` taking its context from the real API server; and
//! `status` and `report` on the real control plane with the real `hipaa-operator` auditing,
//! whose numbers must equal the HipaaPolicy's status.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod operator_support;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use hipaa_crds::ControlResult;
use hipaa_testkit::{
    CmdOutput, ControlPlane, apply_yaml_in, bin_dir, cargo_bin, control_plane, fresh_namespace, run,
};
use operator_support::*;
use serde_json::Value;

fn kubectl_hipaa(args: &[&str]) -> Command {
    let mut cmd = Command::new(cargo_bin("kubectl-hipaa"));
    cmd.args(args)
        .env_remove("KUBECTL_HIPAA_FAIL_ON")
        .env_remove("KUBECTL_HIPAA_OUTPUT")
        .env_remove("KUBECONFIG");
    cmd
}

fn with_cluster(plane: &ControlPlane, args: &[&str]) -> Command {
    let mut cmd = kubectl_hipaa(args);
    cmd.arg("--kubeconfig").arg(plane.kubeconfig());
    cmd
}

fn json_of(out: &CmdOutput) -> Value {
    assert_eq!(out.status, 0, "{out}");
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"))
}

/// `helm template` of charts/hipaa-guard with `extra` arguments.
fn render_chart(extra: &[&str]) -> String {
    let helm = bin_dir().unwrap().join("helm");
    let chart = concat!(env!("CARGO_MANIFEST_DIR"), "/../charts/hipaa-guard");
    let mut cmd = Command::new(helm);
    cmd.args([
        "template",
        "hipaa-guard",
        chart,
        "--namespace",
        "hipaa-guard",
    ])
    .args(extra);
    let out = run(&mut cmd, None).unwrap();
    assert_eq!(out.status, 0, "{out}");
    out.stdout
}

/// The findings the chart is known to have when everything is judged, and why each is accepted.
const CHART_FINDINGS: &[(&str, &str, &str)] = &[
    (
        "HIPAA-K8S-ACCESS-SECRETS",
        "hipaa-guard",
        "the operator writes, and the webhook reads, the webhook's serving-certificate Secret in the chart's own namespace, which holds no PHI; a policy that governs that namespace lists both ServiceAccounts in allowedSubjects",
    ),
    (
        "HIPAA-K8S-NETPOL",
        "hipaa-guard-operator",
        "the chart ships no NetworkPolicy: the operator needs egress to the API server and AWS, whose addresses vary per cluster; it handles no PHI",
    ),
    (
        "HIPAA-K8S-NETPOL",
        "hipaa-guard-webhook",
        "the chart ships no NetworkPolicy: on EKS the API server reaches the webhook from control-plane ENIs whose addresses are not selectable by pod or namespace",
    ),
    (
        "HIPAA-K8S-TLS-WORKLOAD",
        "hipaa-guard-operator",
        "the operator only serves /metrics and health probes over plain HTTP, inside the cluster, without PHI",
    ),
    (
        "HIPAA-K8S-TLS-WORKLOAD",
        "hipaa-guard-webhook",
        "with managed certificates (the default) the webhook serves TLS from the Secret it reads through the API (--tls-secret), so that a renewal is served at once; the control only sees mounted Secrets",
    ),
];

#[test]
fn helm_template_of_the_chart_scans_with_only_explained_findings() {
    // Judged as strictly as possible: catalog defaults (every namespace in scope), the namespace
    // labelled production, the images mirrored into ECR as an EKS install does (imageRegistry).
    let namespace = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: hipaa-guard\n  labels: {hipaaguard.io/environment: production}\n---\n";
    let rendered = render_chart(&[
        "--set",
        "imageRegistry=123456789012.dkr.ecr.us-east-1.amazonaws.com",
    ]);
    let input = format!("{namespace}{rendered}");
    let out = run(
        &mut kubectl_hipaa(&["scan", "-f", "-", "-o", "json"]),
        Some(&input),
    )
    .unwrap();
    assert_eq!(
        out.status, 1,
        "the chart's known findings fail at the default --fail-on LOW:\n{out}"
    );
    let document: Value = serde_json::from_str(&out.stdout).unwrap();
    let found: BTreeSet<(String, String)> = document["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["control"].as_str().unwrap().to_string(),
                f["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let explained: BTreeSet<(String, String)> = CHART_FINDINGS
        .iter()
        .map(|(control, name, _)| (control.to_string(), name.to_string()))
        .collect();
    assert_eq!(
        found, explained,
        "the chart's findings changed: explain new ones in CHART_FINDINGS, drop fixed ones\n{}",
        out.stdout
    );
    assert_eq!(
        document["summary"]["errors"], 0,
        "the context is complete: {}",
        out.stdout
    );
    // Every finding of the chart names its line in the rendered stream (after the Namespace);
    // the access review of the namespace names the Namespace the test put first.
    for finding in document["findings"].as_array().unwrap() {
        assert_eq!(finding["file"], "<stdin>");
        let line = finding["line"].as_u64().unwrap();
        if finding["kind"] == "Namespace" {
            assert!(line <= 6, "{finding}");
        } else {
            assert!(line > 6, "{finding}");
        }
    }
    // Where the chart is installed, no HipaaPolicy selects its namespace: it scans clean.
    let policy = "apiVersion: hipaaguard.io/v1alpha1\nkind: HipaaPolicy\nmetadata: {name: phi}\nspec:\n  namespaceSelector: {matchLabels: {hipaaguard.io/phi: \"true\"}}\n";
    let dir = tempfile::tempdir().unwrap();
    let policy_file = dir.path().join("policy.yaml");
    std::fs::write(&policy_file, policy).unwrap();
    let installed = render_chart(&[]);
    let out = run(
        &mut kubectl_hipaa(&["scan", "-f", "-", "--policy", policy_file.to_str().unwrap()]),
        Some(&format!("{namespace}{installed}")),
    )
    .unwrap();
    assert_eq!(out.status, 0, "{out}");
    assert!(
        out.stdout.contains("No findings.") && out.stdout.contains("out of scope"),
        "{out}"
    );
}

#[tokio::test]
async fn scan_with_cluster_takes_context_from_the_live_cluster() {
    let plane = control_plane().await.unwrap();
    let client = plane.client().await.unwrap();
    let ns = fresh_namespace(
        &client,
        "cli-cluster",
        &[
            ("hipaaguard.io/phi", "true"),
            ("hipaaguard.io/environment", "development"),
        ],
    )
    .await
    .unwrap();
    apply_yaml_in(&client, &ns, DEFAULT_DENY).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("api.yaml");
    std::fs::write(
        &manifest,
        compliant_deployment("api").replace(
            "metadata: {name: api}",
            &format!("metadata: {{name: api, namespace: {ns}}}"),
        ),
    )
    .unwrap();
    let path = manifest.to_str().unwrap();

    // Offline, the namespace is not among the inputs: it is judged under the stated assumption
    // (a PHI production namespace), said once, not as errors; no NetworkPolicy is among the
    // inputs.
    let offline = json_or_findings(
        &run(
            &mut kubectl_hipaa(&["scan", "-f", path, "-o", "json"]),
            None,
        )
        .unwrap(),
    );
    let controls = |doc: &Value| -> BTreeSet<String> {
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["control"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(controls(&offline).contains("HIPAA-K8S-NETPOL"), "{offline}");
    assert_eq!(offline["summary"]["errors"], 0, "{offline}");
    assert_eq!(
        offline["summary"]["assumptions"][0]["namespaces"],
        serde_json::json!([ns.as_str()]),
        "{offline}"
    );

    // With --cluster: the namespace's default-deny covers the pods and its labels are known.
    let out = run(
        &mut with_cluster(plane, &["scan", "-f", path, "-o", "json", "--cluster"]),
        None,
    )
    .unwrap();
    let live = json_or_findings(&out);
    assert_eq!(out.status, 0, "{out}");
    assert!(controls(&live).is_empty(), "{live}");
    assert_eq!(live["summary"]["errors"], 0);
    assert!(live["summary"]["resourcesEvaluated"].as_u64().unwrap() >= 1);
    // A development namespace: a PHI-marked workload there fails HIPAA-K8S-DEV-PHI.
    let phi = std::fs::read_to_string(&manifest).unwrap().replace(
        "labels: {app: api}",
        "labels: {app: api, hipaaguard.io/phi: \"true\"}",
    );
    std::fs::write(&manifest, phi).unwrap();
    let out = run(
        &mut with_cluster(plane, &["scan", "-f", path, "-o", "json", "--cluster"]),
        None,
    )
    .unwrap();
    assert_eq!(out.status, 1, "{out}");
    assert_eq!(
        controls(&json_or_findings(&out)),
        BTreeSet::from(["HIPAA-K8S-DEV-PHI".to_string()])
    );
}

/// The JSON document of a scan that exited 0 or 1.
fn json_or_findings(out: &CmdOutput) -> Value {
    assert!(out.status == 0 || out.status == 1, "{out}");
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"))
}

#[tokio::test]
async fn status_and_report_show_the_numbers_of_the_policy_status() {
    let case = Case::governed("cli", "cli-status").await.unwrap();
    let (plane, ns) = (case.plane, &case.ns);
    apply_mixed_workloads(&case.client, ns).await.unwrap();
    let _operator = case.start_operator("cli-operator", &[]).await.unwrap();
    let soon = k8s_openapi::jiff::Timestamp::now()
        .checked_add(k8s_openapi::jiff::SignedDuration::from_hours(5 * 24))
        .unwrap()
        .round(k8s_openapi::jiff::Unit::Second)
        .unwrap();
    let exception = format!(
        "  exceptions:\n  - controls: [HIPAA-K8S-TLS-LB]\n    match: {{kinds: [Service], names: [public]}}\n    justification: TLS ends at the CDN\n    approvedBy: security@example.com\n    expires: \"{soon}\"\n"
    );
    let (name, policy) = case
        .apply_policy_until(&exception, "audited", Duration::from_secs(60), audited)
        .await
        .unwrap();
    let status = policy.status.clone().unwrap();
    let summary = status.summary.clone().unwrap();
    assert!(
        summary.violations > 0 && summary.excepted > 0,
        "the fixture must fail and except something: {summary:?}"
    );

    // status -o json: the summary is the status's, the failing controls are its Fail/Error ones.
    let out = run(
        &mut with_cluster(plane, &["status", "--policy", &name, "-o", "json"]),
        None,
    )
    .unwrap();
    let document = json_of(&out);
    let view = &document["policies"][0];
    assert_eq!(view["name"], name.as_str());
    assert_eq!(
        serde_json::from_value::<hipaa_crds::ComplianceSummary>(view["summary"].clone()).unwrap(),
        summary
    );
    let failing: Vec<(String, u64)> = view["failingControls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["violations"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, u64)> = status
        .controls
        .iter()
        .filter(|c| matches!(c.result, ControlResult::Fail | ControlResult::Error))
        .map(|c| (c.id.clone(), u64::from(c.violations)))
        .collect();
    assert_eq!(failing, expected);
    let worst: Vec<hipaa_crds::ViolationStatus> =
        serde_json::from_value(view["worstViolations"].clone()).unwrap();
    assert_eq!(
        worst,
        status
            .violations
            .iter()
            .take(worst.len())
            .cloned()
            .collect::<Vec<_>>()
    );
    assert_eq!(worst.len(), status.violations.len().min(5));
    assert_eq!(
        view["exceptionsNeedingAttention"][0]["state"],
        "ExpiringSoon"
    );
    assert_eq!(
        view["exceptionsNeedingAttention"][0]["approvedBy"],
        "security@example.com"
    );
    assert_eq!(
        view["lastAuditTime"],
        status.last_audit_time.as_ref().unwrap().0.to_string()
    );

    // The table says the same numbers; -n keeps the policy that selects the namespace.
    let out = run(
        &mut with_cluster(
            plane,
            &["status", "--policy", &name, "-n", ns, "--color", "never"],
        ),
        None,
    )
    .unwrap();
    assert_eq!(out.status, 0, "{out}");
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with(&name))
        .unwrap_or_else(|| panic!("{out}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[3], summary.score.to_string(), "{row}");
    assert_eq!(cells[4], summary.violations.to_string(), "{row}");
    assert!(
        out.stdout
            .contains("Exceptions expired or expiring within 14 days"),
        "{out}"
    );

    // report -o json: per control, the results and violation counts of the status.
    let out = run(
        &mut with_cluster(plane, &["report", "--policy", &name, "-o", "json"]),
        None,
    )
    .unwrap();
    let report = json_of(&out);
    assert_eq!(report["cluster"]["server"], plane.server_url());
    assert!(
        report["cluster"]["version"]
            .as_str()
            .unwrap()
            .starts_with("v1."),
        "{}",
        report["cluster"]
    );
    assert_eq!(
        serde_json::from_value::<hipaa_crds::ComplianceSummary>(
            report["policies"][0]["summary"].clone()
        )
        .unwrap(),
        summary
    );
    assert!(
        report["policies"][0]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == ns.as_str())
    );
    // The access review read the real RBAC objects: the policy's namespace is reviewed, with the
    // bootstrap cluster-admin binding among the paths.
    assert!(
        report["accessReview"]["unavailable"].is_null(),
        "{}",
        report["accessReview"]
    );
    let reviewed = report["accessReview"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["namespace"] == ns.as_str())
        .unwrap_or_else(|| panic!("{ns} not reviewed: {}", report["accessReview"]));
    assert!(
        reviewed["grants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["subject"]["name"] == "system:masters"),
        "{reviewed}"
    );
    for control in &status.controls {
        let evidence = report["controls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == control.id.as_str())
            .unwrap();
        assert_eq!(
            evidence["results"][0]["result"],
            control.result.as_str(),
            "{}",
            control.id
        );
        assert_eq!(
            evidence["results"][0]["violations"], control.violations,
            "{}",
            control.id
        );
        let listed = status
            .violations
            .iter()
            .filter(|v| v.control == control.id)
            .count();
        assert_eq!(
            evidence["findings"].as_array().unwrap().len(),
            listed,
            "{}",
            control.id
        );
    }
    let privileged = report["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "HIPAA-K8S-PRIVILEGED")
        .unwrap();
    let checked: Vec<&str> = privileged["kubernetesResources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        checked.contains(&format!("Deployment {ns}/api").as_str()),
        "{checked:?}"
    );
    assert!(
        checked.contains(&format!("Deployment {ns}/worker").as_str()),
        "{checked:?}"
    );
    let sections: Vec<&str> = report["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["part"].as_str().unwrap())
        .collect();
    // 164.316 through HIPAA-AWS-LOG-RETENTION's 164.316(b)(2)(i) (documentation retention).
    assert_eq!(sections, ["164.308", "164.312", "164.316"]);
    let exception = &report["exceptions"][0];
    assert_eq!(
        (
            exception["justification"].as_str(),
            exception["state"].as_str()
        ),
        (Some("TLS ends at the CDN"), Some("ExpiringSoon"))
    );

    // HTML to a file: one self-contained document; Markdown by section.
    let dir = tempfile::tempdir().unwrap();
    let html_path = dir.path().join("evidence.html");
    let out = run(
        &mut with_cluster(
            plane,
            &[
                "report",
                "--policy",
                &name,
                "-o",
                "html",
                "--output-file",
                html_path.to_str().unwrap(),
            ],
        ),
        None,
    )
    .unwrap();
    assert_eq!(out.status, 0, "{out}");
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("@media print"));
    assert!(
        !html.contains("<script") && !html.contains("<link") && !html.contains("src="),
        "self-contained"
    );
    assert!(html.contains(&format!("Deployment {ns}/worker")));
    // A real browser loads it with nothing on its console (the report's Content-Security-Policy
    // turns any external asset into a logged refusal); the screenshot stays as a test artifact.
    let load = hipaa_testkit::load_page(
        &html_path,
        &hipaa_testkit::artifacts_dir().join("evidence-report.png"),
        2400,
    )
    .unwrap();
    assert_eq!(
        load.console,
        Vec::<String>::new(),
        "console of the HTML report"
    );
    let out = run(
        &mut with_cluster(plane, &["report", "--policy", &name]),
        None,
    )
    .unwrap();
    assert_eq!(out.status, 0, "{out}");
    assert!(
        out.stdout.contains("## 164.312 Technical safeguards")
            && out
                .stdout
                .contains("### 164.312(e)(1) Transmission security"),
        "{}",
        out.stdout
    );
}

/// With `--cluster`, the real API server's discovery decides which apiVersions are served: a
/// removed Ingress version and a Deployment in the core group are invalid input naming the
/// version the cluster serves; the served ones pass that check.
#[tokio::test]
async fn scan_with_cluster_checks_api_versions_against_its_discovery() {
    let plane = control_plane().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("old.yaml");
    let ingress =
        "apiVersion: networking.k8s.io/v1beta1\nkind: Ingress\nmetadata: {name: web}\nspec: {}\n";
    std::fs::write(&manifest, format!("# an old chart\n{ingress}")).unwrap();
    let path = manifest.to_str().unwrap();
    let out = run(
        &mut with_cluster(plane, &["scan", "-f", path, "--cluster"]),
        None,
    )
    .unwrap();
    assert_eq!(out.status, 2, "{out}");
    assert!(
        out.stderr.contains(&format!(
            "{path}:2: Ingress has apiVersion networking.k8s.io/v1beta1 (removed from Kubernetes in 1.22); the cluster serves it as networking.k8s.io/v1"
        )),
        "{out}"
    );
    let deployment = compliant_deployment("api").replace("apiVersion: apps/v1", "apiVersion: v1");
    assert!(
        deployment.contains("apiVersion: v1\nkind: Deployment"),
        "{deployment}"
    );
    std::fs::write(&manifest, &deployment).unwrap();
    let out = run(
        &mut with_cluster(plane, &["scan", "-f", path, "--cluster"]),
        None,
    )
    .unwrap();
    assert_eq!(out.status, 2, "{out}");
    assert!(
        out.stderr
            .contains("Deployment has apiVersion v1; the cluster serves it as apps/v1"),
        "{out}"
    );
    // The served version passes the check (and is judged: exit 0 or 1, not 2).
    std::fs::write(&manifest, compliant_deployment("api")).unwrap();
    let out = run(
        &mut with_cluster(plane, &["scan", "-f", path, "--cluster"]),
        None,
    )
    .unwrap();
    assert!(out.status == 0 || out.status == 1, "{out}");
}
