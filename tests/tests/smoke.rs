//! Smoke tests of the harness itself: the control plane, kubectl, helm and moto are real, the
//! HipaaPolicy CRD is accepted and validated by the real API server, and nothing of a run
//! survives its test process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "smoke/aws.rs"]
mod aws;
#[path = "smoke/cleanup.rs"]
mod cleanup;
mod probe_support;

use std::collections::BTreeMap;
use std::time::Duration;

use hipaa_testkit::{
    apply_yaml, apply_yaml_in, control_plane, fresh_namespace, pinned_versions, run,
};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::ClusterRole;
use kube::api::{Api, ObjectMeta, PostParams};

#[tokio::test]
async fn configmap_created_with_kube_rs_reads_back_with_kubectl() {
    let cp = control_plane().await.unwrap();
    let client = cp.client().await.unwrap();
    let ns = fresh_namespace(&client, "smoke-cm", &[("hipaa.example/scope", "phi")])
        .await
        .unwrap();
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some("greeting".into()),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(
            "hello".to_string(),
            "from kube-rs".to_string(),
        )])),
        ..ConfigMap::default()
    };
    Api::<ConfigMap>::namespaced(client, &ns)
        .create(&PostParams::default(), &cm)
        .await
        .unwrap();

    let out = run(
        cp.kubectl().args([
            "get",
            "configmap",
            "greeting",
            "-n",
            &ns,
            "-o",
            "jsonpath={.data.hello}",
        ]),
        None,
    )
    .unwrap();
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout, "from kube-rs");

    let labels = run(
        cp.kubectl().args([
            "get",
            "namespace",
            &ns,
            "-o",
            "jsonpath={.metadata.labels.hipaa\\.example/scope}",
        ]),
        None,
    )
    .unwrap();
    assert_eq!(labels.stdout, "phi", "{labels}");
}

#[tokio::test]
async fn apply_yaml_applies_every_document_in_its_scope() {
    let cp = control_plane().await.unwrap();
    let client = cp.client().await.unwrap();
    let ns = fresh_namespace(&client, "smoke-apply", &[]).await.unwrap();
    let role = format!("{ns}-reader");
    let yaml = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\ndata:\n  n: \"1\"\n\
         ---\n\
         apiVersion: v1\nkind: Secret\nmetadata:\n  name: second\nstringData:\n  k: v\n\
         ---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {role}\n\
         rules:\n- apiGroups: [\"\"]\n  resources: [configmaps]\n  verbs: [get]\n---\n"
    );
    let applied = apply_yaml_in(&client, &ns, &yaml).await.unwrap();
    let kinds: Vec<_> = applied
        .iter()
        .map(|o| o.types.as_ref().unwrap().kind.clone())
        .collect();
    assert_eq!(kinds, ["ConfigMap", "Secret", "ClusterRole"]);
    assert_eq!(applied[0].metadata.namespace.as_deref(), Some(ns.as_str()));
    assert_eq!(applied[2].metadata.namespace, None);

    // Applying again is a no-op, and the objects are really there.
    apply_yaml_in(&client, &ns, &yaml).await.unwrap();
    let cm = Api::<ConfigMap>::namespaced(client.clone(), &ns)
        .get("first")
        .await
        .unwrap();
    assert_eq!(cm.data.unwrap()["n"], "1");
    Api::<ClusterRole>::all(client.clone())
        .get(&role)
        .await
        .unwrap();

    // Without a namespace, a namespaced object is refused rather than put into `default`.
    let err = apply_yaml(
        &client,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    )
    .await
    .unwrap_err();
    assert!(format!("{err:#}").contains("use apply_yaml_in"), "{err:#}");
}

#[tokio::test]
async fn api_server_and_kubectl_report_the_pinned_version() {
    let pinned = pinned_versions().unwrap();
    let cp = control_plane().await.unwrap();
    let info = cp
        .client()
        .await
        .unwrap()
        .apiserver_version()
        .await
        .unwrap();
    assert_eq!(info.git_version, pinned.kubernetes);

    let out = run(cp.kubectl().args(["version", "-o", "json"]), None).unwrap();
    assert!(out.success(), "{out}");
    let version: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        version["clientVersion"]["gitVersion"],
        pinned.kubernetes.as_str()
    );
    assert_eq!(
        version["serverVersion"]["gitVersion"],
        pinned.kubernetes.as_str()
    );

    let helm = run(
        cp.helm().args(["version", "--template", "{{.Version}}"]),
        None,
    )
    .unwrap();
    assert_eq!(helm.stdout, pinned.helm, "{helm}");
}

#[tokio::test]
async fn readyz_needs_the_admin_token() {
    // The API server really authenticates: the kubeconfig's token works, a wrong one does not.
    let cp = control_plane().await.unwrap();
    let ok = run(cp.kubectl().args(["get", "--raw", "/readyz"]), None).unwrap();
    assert_eq!(ok.stdout.trim(), "ok", "{ok}");
    let denied = run(
        cp.kubectl()
            .args(["--token", "not-the-token", "get", "namespaces"]),
        None,
    )
    .unwrap();
    assert!(!denied.success(), "{denied}");
    assert!(denied.stderr.contains("Unauthorized"), "{denied}");
}

#[tokio::test]
async fn hipaa_policy_crd_is_served_with_its_printer_columns() {
    let cp = control_plane().await.unwrap();
    cp.install_hipaa_crd().await.unwrap();
    cp.install_hipaa_crd().await.unwrap(); // idempotent
    let client = cp.client().await.unwrap();
    let name = fresh_namespace(&client, "smoke-policy", &[]).await.unwrap(); // a unique name
    let policy = format!(
        "apiVersion: hipaaguard.io/v1alpha1\nkind: HipaaPolicy\nmetadata:\n  name: {name}\n\
         spec:\n  enforcement: Warn\n  namespaceSelector:\n    matchLabels:\n      hipaa: \"true\"\n"
    );
    let applied = apply_yaml(&client, &policy).await.unwrap();
    // The API server applied the schema's default.
    assert_eq!(applied[0].data["spec"]["auditInterval"], "10m");

    let out = run(cp.kubectl().args(["get", "hipaapolicies", &name]), None).unwrap();
    assert!(out.success(), "{out}");
    let mut lines = out.stdout.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, hipaa_testkit::HIPAA_POLICY_COLUMNS, "{out}");
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(row[..2], [name.as_str(), "Warn"], "{out}");

    // The short name and category work too.
    let short = run(cp.kubectl().args(["get", "hp", &name, "-o", "name"]), None).unwrap();
    assert_eq!(
        short.stdout.trim(),
        format!("hipaapolicy.hipaaguard.io/{name}"),
        "{short}"
    );
}

/// A policy that is valid except for `broken`, which is spliced into its spec.
fn policy_with(name: &str, broken: &str) -> String {
    format!(
        "apiVersion: hipaaguard.io/v1alpha1\nkind: HipaaPolicy\nmetadata:\n  name: {name}\nspec:\n{broken}"
    )
}

const SELECTOR: &str = "  namespaceSelector:\n    matchLabels:\n      hipaa: \"true\"\n";
const EXCEPTION_HEAD: &str = "  exceptions:\n  - controls: [HIPAA-K8S-NETPOL]\n    approvedBy: CISO\n    expires: \"2030-01-01T00:00:00Z\"\n";

#[tokio::test]
async fn invalid_hipaa_policies_are_rejected_by_the_api_server() {
    let cp = control_plane().await.unwrap();
    cp.install_hipaa_crd().await.unwrap();
    let cases = [
        (
            "exception without justification",
            format!("{SELECTOR}{EXCEPTION_HEAD}    justification: \"   \"\n"),
            "an exception needs a justification",
        ),
        (
            "malformed control ID",
            format!("{SELECTOR}  controls:\n  - id: hipaa-k8s-netpol\n"),
            "control id must look like HIPAA-K8S-NETPOL",
        ),
        (
            "malformed control ID in an exception",
            format!(
                "{SELECTOR}  exceptions:\n  - controls: [NETPOL]\n    approvedBy: CISO\n    justification: fine\n    expires: \"2030-01-01T00:00:00Z\"\n"
            ),
            "control ids must look like HIPAA-K8S-NETPOL",
        ),
        (
            "empty namespaceSelector",
            "  namespaceSelector: {}\n".to_string(),
            "namespaceSelector must have matchLabels or matchExpressions",
        ),
        (
            "negative auditInterval",
            format!("{SELECTOR}  auditInterval: \"-5m\"\n"),
            "auditInterval must be a positive duration",
        ),
        (
            "zero auditInterval",
            format!("{SELECTOR}  auditInterval: \"0s\"\n"),
            "auditInterval must be a positive duration",
        ),
    ];
    for (index, (case, spec, message)) in cases.iter().enumerate() {
        let yaml = policy_with(&format!("invalid-{index}"), spec);
        let out = run(
            cp.kubectl().args(["create", "--dry-run=server", "-f", "-"]),
            Some(&yaml),
        )
        .unwrap();
        assert!(
            !out.success(),
            "{case}: the API server accepted\n{yaml}\n{out}"
        );
        assert!(
            out.stderr.contains(message),
            "{case}: expected {message:?}\n{out}"
        );
    }

    // The same document with the broken part fixed is accepted: the rejections are the rules'.
    let valid = policy_with(
        "valid-with-exception",
        &format!(
            "{SELECTOR}  auditInterval: 1h30m\n  controls:\n  - id: HIPAA-K8S-NETPOL\n    enforcement: Audit\n{EXCEPTION_HEAD}    justification: compensating egress proxy\n"
        ),
    );
    let out = run(
        cp.kubectl().args(["create", "--dry-run=server", "-f", "-"]),
        Some(&valid),
    )
    .unwrap();
    assert!(out.success(), "{valid}\n{out}");
}

#[tokio::test]
async fn helm_installs_a_chart_into_the_test_cluster() {
    let cp = control_plane().await.unwrap();
    let client = cp.client().await.unwrap();
    let ns = fresh_namespace(&client, "smoke-helm", &[]).await.unwrap();
    let chart = tempfile::tempdir().unwrap();
    std::fs::create_dir(chart.path().join("templates")).unwrap();
    std::fs::write(
        chart.path().join("Chart.yaml"),
        "apiVersion: v2\nname: tiny\nversion: 0.1.0\nkubeVersion: \">=1.35.0-0\"\n",
    )
    .unwrap();
    std::fs::write(chart.path().join("values.yaml"), "greeting: hello\n").unwrap();
    std::fs::write(
        chart.path().join("templates/configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\n\
         data:\n  greeting: {{ .Values.greeting | quote }}\n  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}\n",
    )
    .unwrap();

    let install = run(
        cp.helm()
            .args([
                "install",
                "tiny",
                "--namespace",
                &ns,
                "--set",
                "greeting=hi",
                "--wait",
                "--timeout",
                "60s",
            ])
            .arg(chart.path()),
        None,
    )
    .unwrap();
    assert!(install.success(), "{install}");

    let cm = Api::<ConfigMap>::namespaced(client, &ns)
        .get("tiny-settings")
        .await
        .unwrap();
    let data = cm.data.unwrap();
    assert_eq!(data["greeting"], "hi");
    // Helm read the version from the real API server.
    assert_eq!(data["kubeVersion"], pinned_versions().unwrap().kubernetes);

    let list = run(
        cp.helm().args(["list", "--namespace", &ns, "-o", "json"]),
        None,
    )
    .unwrap();
    let releases: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(releases[0]["name"], "tiny", "{list}");
    assert_eq!(releases[0]["status"], "deployed", "{list}");
}

#[tokio::test]
async fn wait_for_sees_an_object_appear() {
    let cp = control_plane().await.unwrap();
    let client = cp.client().await.unwrap();
    let ns = fresh_namespace(&client, "smoke-wait", &[]).await.unwrap();
    let api = Api::<ConfigMap>::namespaced(client, &ns);
    let creator = {
        let api = api.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let cm = ConfigMap {
                metadata: ObjectMeta {
                    name: Some("late".into()),
                    ..ObjectMeta::default()
                },
                ..ConfigMap::default()
            };
            api.create(&PostParams::default(), &cm).await
        })
    };
    let found = hipaa_testkit::wait_for("configmap late", Duration::from_secs(20), || {
        let api = api.clone();
        async move { Ok(api.get_opt("late").await?) }
    })
    .await
    .unwrap();
    assert_eq!(found.metadata.name.as_deref(), Some("late"));
    creator.await.unwrap().unwrap();
}

/// The browser check the HTML reports rely on sees what a broken page does: a script error, an
/// explicit console error, and an external image, which the reports' Content-Security-Policy
/// refuses (and which could not load anyway: no host resolves).
#[test]
fn headless_chromium_reports_console_errors_and_external_assets() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("broken.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'\">\
         <title>broken</title></head><body>\
         <h1>broken</h1><script>console.error('boom'); notDefined();</script>\
         <img src=\"https://assets.invalid/logo.png\"></body></html>",
    )
    .unwrap();
    let load = hipaa_testkit::load_page(&page, &dir.path().join("broken.png"), 400).unwrap();
    let console = load.console.join("\n");
    assert!(console.contains("boom"), "{console}");
    assert!(console.contains("notDefined"), "{console}");
    assert!(
        console.contains("https://assets.invalid/logo.png")
            && console.contains("Content Security Policy"),
        "{console}"
    );
    assert!(std::fs::metadata(&load.screenshot).unwrap().len() > 1000);

    let clean = dir.path().join("clean.html");
    std::fs::write(
        &clean,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>clean</title></head><body><p>fine</p></body></html>",
    )
    .unwrap();
    let load = hipaa_testkit::load_page(&clean, &dir.path().join("clean.png"), 400).unwrap();
    assert_eq!(load.console, Vec::<String>::new());
}
