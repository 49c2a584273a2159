//! What the fault tests and the recovery benchmark share: `hipaa-webhook` and `hipaa-operator`
//! started against a private control plane, AdmissionReviews posted straight to the webhook (so
//! that it can be asked while the API server is down), Events counted, and the clock.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use hipaa_crds::HipaaPolicy;
use hipaa_testkit::{
    ChildGuard, PrivateControlPlane, cargo_bin, free_port, spawn_guarded, spawn_guarded_with_grace,
    wait_for,
};
use k8s_openapi::api::events::v1::Event;
use kube::api::ListParams;
use kube::{Api, Client};
use serde_json::{Value, json};

use crate::operator_support::{Operator, get};

/// A directory to take `hipaa-webhook` and `hipaa-operator` from instead of this build's (the
/// benchmark measures an older build this way).
pub const BIN_DIR_ENV: &str = "HIPAA_FAULTS_BIN_DIR";

/// How recovery is bounded in the tests; the 5 s targets are the benchmark's.
pub const RECOVERY_BOUND: Duration = Duration::from_secs(20);

/// How long the tests keep the API server down: long enough for kube-runtime's default backoff
/// (800 ms doubling to 30 s, plus up to 100% jitter) to reach its cap, which is what left the
/// caches a minute behind (reproduced on 2026-12-05: 39-49 s after a 30 s outage).
pub const OUTAGE: Duration = Duration::from_secs(30);

/// How long a quiet cache whose watch resumed without a relist may still count as out of sync:
/// `hipaa_runtime::watch::MIN_QUIET` (35 s after its last error), with room to spare.
pub const QUIET_RESUME: Duration = Duration::from_secs(60);

fn product_bin(name: &str) -> PathBuf {
    match std::env::var_os(BIN_DIR_ENV).filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir).join(name),
        None => cargo_bin(name),
    }
}

/// A running `hipaa-webhook` on loopback, serving a self-signed certificate for 127.0.0.1.
pub struct Webhook {
    pub guard: ChildGuard,
    pub port: u16,
    pub admin_port: u16,
    client: reqwest::Client,
}

impl Webhook {
    /// Starts the webhook against `plane` and waits until it is ready.
    pub async fn start(
        plane: &PrivateControlPlane,
        log_name: &str,
        extra_args: &[&str],
    ) -> anyhow::Result<Webhook> {
        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])?;
        let (cert, key) = (
            plane.dir().join(format!("{log_name}.crt")),
            plane.dir().join(format!("{log_name}.key")),
        );
        std::fs::write(&cert, certified.cert.pem())?;
        std::fs::write(&key, certified.signing_key.serialize_pem())?;
        let (port, admin_port) = (free_port(), free_port());
        let mut command = Command::new(product_bin("hipaa-webhook"));
        command
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .arg(format!("--listen=127.0.0.1:{port}"))
            .arg(format!("--admin-listen=127.0.0.1:{admin_port}"))
            .arg("--kubeconfig")
            .arg(plane.kubeconfig())
            .arg("--log-format=text")
            .args(extra_args)
            .env("RUST_LOG", "info");
        let guard = spawn_guarded(command, log_name)?;
        let root = reqwest::Certificate::from_pem(certified.cert.pem().as_bytes())?;
        let client = reqwest::Client::builder()
            .add_root_certificate(root)
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()?;
        let webhook = Webhook {
            guard,
            port,
            admin_port,
            client,
        };
        wait_for("the webhook's /readyz", Duration::from_secs(60), || async {
            Ok(webhook.ready().await.then_some(()))
        })
        .await
        .with_context(|| format!("webhook log:\n{}", webhook.guard.log_tail(30)))?;
        Ok(webhook)
    }

    /// Whether `/readyz` on the admin port answers 200.
    pub async fn ready(&self) -> bool {
        get(self.admin_port, "/readyz")
            .await
            .is_ok_and(|(status, _)| status == 200)
    }

    /// `/readyz` on the admin port: status and body.
    pub async fn readyz(&self) -> anyhow::Result<(u16, String)> {
        get(self.admin_port, "/readyz").await
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> anyhow::Result<String> {
        Ok(get(self.admin_port, "/metrics").await?.1)
    }

    /// Posts the CREATE of a privileged Pod in `namespace` and returns whether it was allowed.
    pub async fn allows_privileged_pod(&self, namespace: &str) -> anyhow::Result<bool> {
        let answer: Value = self
            .client
            .post(format!("https://127.0.0.1:{}/validate", self.port))
            .json(&privileged_pod_review(namespace))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        answer["response"]["allowed"]
            .as_bool()
            .with_context(|| format!("no response.allowed in {answer}"))
    }

    /// Waits until the webhook denies a privileged Pod in `namespace`; returns how long it took.
    pub async fn until_denied(
        &self,
        namespace: &str,
        timeout: Duration,
    ) -> anyhow::Result<Duration> {
        let started = Instant::now();
        wait_until("the webhook to deny a privileged Pod", timeout, || async {
            Ok(!self.allows_privileged_pod(namespace).await?)
        })
        .await
        .with_context(|| format!("webhook log:\n{}", self.guard.log_tail(30)))?;
        Ok(started.elapsed())
    }
}

/// The AdmissionReview the API server would send for a privileged Pod's CREATE in `namespace`.
pub fn privileged_pod_review(namespace: &str) -> Value {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "fault-probe", "namespace": namespace},
        "spec": {"containers": [{
            "name": "main",
            "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/billing/api:1.4.2",
            "securityContext": {"privileged": true}
        }]}
    });
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "00000000-0000-4000-8000-00000000fa17",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "name": "fault-probe", "namespace": namespace, "operation": "CREATE",
        "userInfo": {"username": "alice@example.com"},
        "object": pod, "dryRun": false}})
}

/// Starts `hipaa-operator` (every policy, no leader election) against `plane`; waits until ready.
pub async fn start_operator(
    plane: &PrivateControlPlane,
    log_name: &str,
    extra_args: &[&str],
) -> anyhow::Result<Operator> {
    start_operator_with_grace(plane, log_name, extra_args, 5).await
}

/// [`start_operator`]; with `grace_seconds` 0, killing its guard is a SIGKILL (a crash).
pub async fn start_operator_with_grace(
    plane: &PrivateControlPlane,
    log_name: &str,
    extra_args: &[&str],
    grace_seconds: u32,
) -> anyhow::Result<Operator> {
    let admin_port = free_port();
    let mut cmd = Command::new(product_bin("hipaa-operator"));
    cmd.arg("--admin-listen")
        .arg(format!("127.0.0.1:{admin_port}"))
        .arg("--debounce")
        .arg("200ms")
        .args(extra_args)
        .env("KUBECONFIG", plane.kubeconfig())
        .env("RUST_LOG", "info,hipaa_operator=debug")
        .env_remove("POD_NAME")
        .env_remove("POD_NAMESPACE");
    let guard = spawn_guarded_with_grace(cmd, log_name, grace_seconds)?;
    let mut operator = Operator { guard, admin_port };
    operator.wait_ready().await?;
    Ok(operator)
}

/// Polls `check` every 50 ms until it holds (errors count as "not yet": the API server may be
/// coming back), failing after `timeout`.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_error = String::from("none");
    loop {
        match check().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(error) => last_error = format!("{error:#}"),
        }
        if Instant::now() >= deadline {
            anyhow::bail!("{what}: not within {timeout:?} (last error: {last_error})");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every Event in the cluster with `reason`, counting each series' occurrences.
pub async fn count_events(client: &Client, reason: &str) -> anyhow::Result<i32> {
    let events = Api::<Event>::all(client.clone())
        .list(&ListParams::default())
        .await?;
    Ok(crate::operator_support::occurrences(&events.items, reason))
}

/// Prints a measured figure in one greppable form (`cargo test -- --nocapture` shows it).
pub fn figure(what: &str, took: Duration) {
    println!("FIGURE {what}: {:.2} s", took.as_secs_f64());
}

/// Polls the policy every 50 ms until it satisfies `check` (errors count as "not yet").
pub async fn wait_policy_quietly(
    client: &Client,
    name: &str,
    timeout: Duration,
    check: impl Fn(&HipaaPolicy) -> bool,
) -> anyhow::Result<()> {
    let api: Api<HipaaPolicy> = Api::all(client.clone());
    wait_until(&format!("policy {name}"), timeout, || async {
        Ok(check(&api.get(name).await?))
    })
    .await
}
