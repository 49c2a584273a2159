//! Nothing sensitive leaves: values seeded where they are sensitive (env values, Secret and
//! ConfigMap data, container args, pod and workload label and annotation values, a Namespace
//! annotation) never appear in what the webhook, the operator or `kubectl hipaa` let out: their
//! logs at debug level, admission denials and warnings, Events, the HipaaPolicy's status, both
//! /metrics, and `scan` / `status` / `report` in every format. Names may appear (an env var's
//! name, an object's name, a label key): they are what a finding must say.
//!
//! Each check has its positive control: the canaries are read back from the API server, and
//! each output names the objects that carry them, so a test that reads nothing cannot pass.
//! `leaks_e2e/files.rs` is the scan of files without a cluster.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod operator_support;
#[path = "webhook_e2e/support.rs"]
mod webhook_support;

mod leaks_e2e {
    pub mod canaries;
    pub mod cluster;
    pub mod files;
}

use std::time::Duration;

use hipaa_crds::HipaaPolicy;
use hipaa_testkit::{CmdOutput, apply_yaml, control_plane, expect_allowed, fresh_namespace};
use kube::Api;
use leaks_e2e::canaries::{Canaries, Sinks};
use leaks_e2e::cluster::{assert_seeded, events, scan_against_the_cluster, status_and_report};
use operator_support::{CASE_LABEL, Operator, audited, get, unique_case};
use webhook_support::{ENFORCE, PHI, WARN, http_get, kubectl, kubectl_until, start_logging};

/// The case's own policy, in Warn mode: the webhook admits the seeded objects (with warnings)
/// so that the operator has them to audit.
fn warn_policy(name: &str, case: &str) -> String {
    format!(
        "apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata:
  name: {name}
  labels: {{{CASE_LABEL}: {case}}}
spec:
  enforcement: Warn
  namespaceSelector:
    matchLabels: {{hipaaguard.io/phi: \"true\", {CASE_LABEL}: {case}}}
  auditInterval: 10m
"
    )
}

/// The operator's status names the seeded objects with the controls they fail.
fn saw_the_objects(policy: &HipaaPolicy) -> bool {
    let Some(status) = policy.status.as_ref().filter(|_| audited(policy)) else {
        return false;
    };
    let has = |control: &str, name: &str| {
        status
            .violations
            .iter()
            .any(|v| v.control == control && v.name == name)
    };
    has("HIPAA-K8S-SECRETS-IN-ENV", "billing-api")
        && has("HIPAA-K8S-SECRETS-IN-ENV", "intake")
        && has("HIPAA-K8S-TLS-LB", "public")
        && has("HIPAA-K8S-TLS-INGRESS", "portal")
}

fn admission(sinks: &mut Sinks, what: &str, out: &CmdOutput) {
    sinks.add(format!("{what}: kubectl stderr"), out.stderr.clone());
    sinks.add(format!("{what}: kubectl stdout"), out.stdout.clone());
}

#[tokio::test]
async fn nothing_seeded_leaves_the_webhook_the_operator_or_kubectl_hipaa() {
    let plane = control_plane().await.unwrap();
    let client = plane.client().await.unwrap();
    let webhook = start_logging("debug").await.unwrap();
    let canaries = Canaries::new();
    let case = unique_case("leaks");
    let mut sinks = Sinks::default();

    // Admission, Enforce: every judged object is denied, naming what fails but no value.
    let enforced = fresh_namespace(&client, "leaks-enforce", &[PHI, ENFORCE])
        .await
        .unwrap();
    let objects = canaries.objects(&enforced);
    let out = kubectl_until(&["apply", "-f", "-"], Some(&objects), "denials", |o| {
        o.stderr.contains("denied the request")
    })
    .await;
    for needle in [
        "[HIPAA-K8S-SECRETS-IN-ENV]",
        "sets DB_PASSWORD to a literal value",
        &format!("Deployment {enforced}/billing-api"),
        "[HIPAA-K8S-TLS-LB]",
        "aws-load-balancer-ssl-negotiation-policy",
    ] {
        assert!(out.stderr.contains(needle), "{needle}:\n{out}");
    }
    admission(&mut sinks, "denial (Enforce)", &out);

    // Admission, Warn: admitted with warnings; these objects stay for the operator and the scan.
    let audited_ns = fresh_namespace(&client, "leaks-audited", &[PHI, WARN, (CASE_LABEL, &case)])
        .await
        .unwrap();
    let policy_name = format!("{case}-policy");
    apply_yaml(&client, &warn_policy(&policy_name, &case))
        .await
        .unwrap();
    let out = kubectl(&["apply", "-f", "-"], Some(&canaries.objects(&audited_ns))).await;
    expect_allowed(&out);
    assert!(
        out.stderr.contains("Warning:") && out.stderr.contains("DB_PASSWORD"),
        "{out}"
    );
    admission(&mut sinks, "warnings (Warn)", &out);
    let annotation = format!(
        "patient-contact={}",
        canaries.value("Namespace annotation value")
    );
    let out = kubectl(&["annotate", "namespace", &audited_ns, &annotation], None).await;
    expect_allowed(&out);
    admission(&mut sinks, "namespace annotation", &out);
    assert_seeded(plane, &canaries, &audited_ns);

    // The operator audits them: its status names each object and its failing control.
    let mut operator = Operator::start_with(plane, &case, "operator-leaks", &[], |cmd| {
        cmd.env("RUST_LOG", "debug");
    })
    .await
    .unwrap();
    let policy = operator
        .wait_policy(
            &client,
            &policy_name,
            "audited with every seeded object named",
            Duration::from_secs(60),
            saw_the_objects,
        )
        .await
        .unwrap();
    let stored = Api::<HipaaPolicy>::all(client.clone())
        .get(&policy_name)
        .await
        .unwrap();
    sinks.add(
        "HipaaPolicy status",
        serde_json::to_string_pretty(&stored.status).unwrap(),
    );
    assert!(policy.status.is_some());
    let events_text = hipaa_testkit::wait_for(
        "a violation Event about billing-api",
        Duration::from_secs(30),
        || {
            let client = client.clone();
            async move {
                let text = events(&client).await;
                Ok(text.contains("billing-api").then_some(text))
            }
        },
    )
    .await
    .unwrap();
    sinks.add("Events", events_text);

    // Metrics of both, scraped while the series of the reviews and the audit exist.
    let (status, webhook_metrics) = http_get(webhook.admin_port, "/metrics").unwrap();
    assert_eq!(status, 200);
    assert!(
        webhook_metrics.contains("decision=\"denied\""),
        "{webhook_metrics}"
    );
    sinks.add("webhook /metrics", webhook_metrics);
    let (status, operator_metrics) = get(operator.admin_port, "/metrics").await.unwrap();
    assert_eq!(status, 200);
    assert!(
        operator_metrics.contains(&policy_name),
        "{operator_metrics}"
    );
    sinks.add("operator /metrics", operator_metrics);

    // kubectl hipaa against the cluster.
    let dir = tempfile::tempdir().unwrap();
    status_and_report(plane, &mut sinks, &policy_name);
    scan_against_the_cluster(plane, &mut sinks, &canaries, &audited_ns, dir.path());

    // The logs, after both stopped (everything flushed), at debug level.
    operator.guard.kill();
    webhook.process.lock().unwrap().kill();
    let webhook_log = webhook.process.lock().unwrap().log_contents();
    assert!(
        webhook_log.contains("billing-api"),
        "the webhook logged its reviews"
    );
    assert!(
        webhook_log.contains("DEBUG"),
        "the webhook logged at debug level"
    );
    sinks.add("webhook log (debug)", webhook_log);
    let operator_log = operator.guard.log_contents();
    assert!(
        operator_log.contains(&policy_name),
        "the operator logged its audit"
    );
    assert!(
        operator_log.contains("DEBUG"),
        "the operator logged at debug level"
    );
    sinks.add("operator log (debug)", operator_log);

    assert!(sinks.len() >= 30, "{} sinks read", sinks.len());
    sinks.assert_clean(&canaries);
}
