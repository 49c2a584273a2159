//! Every metric the alerts and the dashboard read is one the real binaries expose: the webhook as
//! webhook_e2e runs it, after a denial and a bad request, and the operator with managed
//! certificates after auditing a policy with a violation, an exception and a linked AWS resource
//! (a label family appears in the exposition only once it holds a series), each scraped at
//! `/metrics`. A renamed or removed metric fails here, not in a silent panel or an alert that can
//! never fire.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use hipaa_testkit::{
    apply_yaml, cargo_bin, control_plane, free_port, fresh_namespace, spawn_guarded, wait_for,
};

use super::chart::{alerts, dashboard_file, dashboard_queries, rule_groups};
use super::promql::{exposed_names, metric_names};
use crate::operator_support::{CASE_LABEL, Case, non_compliant_deployment, policy_yaml};
use crate::webhook_support::{ENFORCE, PHI, Webhook, http_get, kubectl, start_logging};

/// Series Prometheus makes itself for every target, not the binaries.
const PROMETHEUS_OWN: [&str; 1] = ["up"];

/// The operator's `/metrics` once it has audited a policy with a CRITICAL violation and a linked
/// (missing) EKS cluster looked up at moto, and made its managed certificates: the label families
/// exist only once they hold a series.
async fn operator_metrics() -> anyhow::Result<String> {
    let case = Case::new("alerts", "alerts-op").await?;
    // Before the policy exists, so that the webhook this binary runs does not refuse it.
    case.apply(&non_compliant_deployment("billing")).await?;
    let moto = hipaa_testkit::moto().await?;
    let admin_port = free_port();
    let mut cmd = Command::new(cargo_bin("hipaa-operator"));
    cmd.arg("--admin-listen")
        .arg(format!("127.0.0.1:{admin_port}"))
        .arg("--policy-selector")
        .arg(format!("{CASE_LABEL}={}", case.label))
        .args([
            "--webhook-configuration",
            &format!("{}-webhook", case.label),
        ])
        .args(["--webhook-service", "hipaa-guard-webhook"])
        .args(["--lease-namespace", &case.ns])
        .env("KUBECONFIG", case.plane.kubeconfig())
        .env("RUST_LOG", "info")
        .env_remove("POD_NAME")
        .env_remove("POD_NAMESPACE");
    moto.configure(&mut cmd);
    let guard = spawn_guarded(cmd, "hipaa-operator")?;
    let exception = "  exceptions:
    - controls: [HIPAA-K8S-IMAGE-REGISTRY]
      match: {namespaces: [elsewhere]}
      justification: the registry moves next quarter
      approvedBy: ciso@example.com
      expires: \"2099-01-01T00:00:00Z\"
  aws: {region: us-east-1, eksClusterName: alerts-missing}
";
    apply_yaml(
        &case.client,
        &policy_yaml(&case.policy_name(), &case.label, exception),
    )
    .await?;
    let wanted = [
        "hipaaguard_operator_certificate_expiry_seconds{",
        "hipaaguard_operator_violations{",
        "hipaaguard_operator_aws_attempts_total{",
        "hipaaguard_operator_section_compliance_ratio{",
        "hipaaguard_operator_exception_expiry_timestamp_seconds{",
    ];
    let scraped = wait_for(
        "the operator's audit, AWS and certificate series",
        Duration::from_secs(90),
        || async move {
            let text = http_get(admin_port, "/metrics").ok().map(|(_, body)| body);
            Ok(text.filter(|t| wanted.iter().all(|series| t.contains(series))))
        },
    )
    .await;
    scraped.map_err(|err| anyhow::anyhow!("{err}\noperator log:\n{}", guard.log_tail(40)))
}

/// The running webhook (kept for the rest of the test: its configuration fails closed) and its
/// `/metrics` once it has denied a request and refused a bad one.
async fn webhook_metrics() -> anyhow::Result<(Webhook, String)> {
    let webhook = start_logging("info").await?;
    let client = control_plane().await?.client().await?;
    let ns = fresh_namespace(&client, "alerts-wh", &[PHI, ENFORCE]).await?;
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: privileged}\nspec:\n  containers: [{name: app, image: busybox, securityContext: {privileged: true}}]\n";
    let denied = kubectl(&["apply", "-n", &ns, "-f", "-"], Some(pod)).await;
    anyhow::ensure!(
        !denied.success(),
        "the privileged pod was admitted: {denied}"
    );
    // A GET on the review port is refused before judging (bad_requests_total{reason="method"}).
    let tls = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(webhook.ca.pem().as_bytes())?)
        .no_proxy()
        .build()?;
    let answer = tls
        .get(format!("https://127.0.0.1:{}/validate", webhook.port))
        .send()
        .await?;
    anyhow::ensure!(
        !answer.status().is_success(),
        "GET /validate: {}",
        answer.status()
    );
    let port = webhook.admin_port;
    let text = wait_for(
        "the webhook's denial and bad-request series",
        Duration::from_secs(30),
        || async move {
            let text = http_get(port, "/metrics").ok().map(|(_, body)| body);
            Ok(text.filter(|t| {
                t.contains("hipaaguard_webhook_control_findings_total{")
                    && t.contains("hipaaguard_webhook_bad_requests_total{")
            }))
        },
    )
    .await?;
    Ok((webhook, text))
}

#[tokio::test]
async fn the_metrics_the_alerts_and_the_dashboard_read_are_exposed_by_the_binaries() {
    let (_webhook, webhook_text) = webhook_metrics().await.unwrap();
    let operator_text = operator_metrics().await.unwrap();
    let mut exposed = exposed_names(&webhook_text);
    exposed.extend(exposed_names(&operator_text));
    // The exposition itself is read, not a list kept by hand: it must hold both binaries' series.
    assert!(
        exposed.contains("hipaaguard_webhook_ready"),
        "{webhook_text}"
    );
    assert!(
        exposed.contains("hipaaguard_operator_ready"),
        "{operator_text}"
    );

    let groups = tokio::task::spawn_blocking(|| rule_groups(&[]))
        .await
        .unwrap()
        .unwrap();
    let mut used: Vec<(String, String)> = Vec::new();
    for alert in alerts(&groups) {
        let name = alert["alert"].as_str().unwrap_or("?");
        for metric in metric_names(alert["expr"].as_str().unwrap_or("")) {
            used.push((format!("alert {name}"), metric));
        }
    }
    for query in dashboard_queries(&dashboard_file().unwrap()) {
        for metric in metric_names(&query) {
            used.push((format!("dashboard query {query}"), metric));
        }
    }
    assert!(used.len() > 30, "{used:?}");
    let missing: BTreeSet<String> = used
        .iter()
        .filter(|(_, metric)| {
            !exposed.contains(metric) && !PROMETHEUS_OWN.contains(&metric.as_str())
        })
        .map(|(place, metric)| format!("{metric} (in {place})"))
        .collect();
    assert!(
        missing.is_empty(),
        "metrics no binary exposes:\n{}\n\nexposed: {exposed:?}",
        missing.into_iter().collect::<Vec<_>>().join("\n")
    );
}
