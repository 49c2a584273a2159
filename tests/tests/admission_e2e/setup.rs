//! The release under test: the chart installed with its Deployments off (as the local demo does),
//! and the operator and the webhook as local processes with the tokens of the chart's
//! ServiceAccounts, so that they hold exactly the permissions the chart grants them.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hipaa_testkit::{
    ChildGuard, CmdOutput, cargo_bin, control_plane, free_port, run, spawn_guarded, wait_for,
};

use crate::webhook_e2e::support::{TestCa, http_get};

pub const RELEASE: &str = "hipaa-guard";
pub const NAMESPACE: &str = "hipaa-guard";

/// The chart installed, a CA, and where the processes will listen.
pub struct Release {
    pub ca: TestCa,
    pub ca_file: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub port: u16,
    pub webhook_admin: u16,
    pub operator_admin: u16,
    pub dir: tempfile::TempDir,
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `kubectl` as the cluster's administrator.
pub async fn kubectl(args: &[&str], stdin: Option<&str>) -> CmdOutput {
    let mut command = control_plane().await.unwrap().kubectl();
    command.args(args);
    run(&mut command, stdin).unwrap()
}

pub async fn install() -> Release {
    let plane = control_plane().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let ca = TestCa::new();
    ca.issue("hipaa-webhook admission e2e", &cert, &key);
    let ca_file = dir.path().join("ca.crt");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let port = free_port();
    let mut helm = plane.helm();
    helm.arg("install")
        .arg(RELEASE)
        .arg(repo_root().join("charts/hipaa-guard"))
        .args(["--namespace", NAMESPACE, "--create-namespace", "--wait"])
        .arg("--values")
        .arg(repo_root().join("deploy/demo/values-local.yaml"))
        .arg("--set")
        .arg(format!("admission.url=https://127.0.0.1:{port}/validate"))
        .arg("--set-file")
        .arg(format!(
            "certificates.provided.caBundle={}",
            ca_file.display()
        ));
    let out = run(&mut helm, None).unwrap();
    assert!(out.success(), "helm install failed:\n{out}");
    Release {
        ca,
        ca_file,
        cert,
        key,
        port,
        webhook_admin: free_port(),
        operator_admin: free_port(),
        dir,
    }
}

/// A kubeconfig with the token of one of the chart's ServiceAccounts.
pub async fn service_account_kubeconfig(account: &str, dir: &Path) -> PathBuf {
    let plane = control_plane().await.unwrap();
    let token = kubectl(
        &["create", "token", account, "-n", NAMESPACE, "--duration=2h"],
        None,
    )
    .await;
    assert!(token.success(), "{token}");
    let file = dir.join(format!("{account}.kubeconfig"));
    let text = format!(
        "apiVersion: v1\nkind: Config\n\
         clusters: [{{name: local, cluster: {{server: \"{}\", certificate-authority: \"{}\"}}}}]\n\
         users: [{{name: sa, user: {{token: \"{}\"}}}}]\n\
         contexts: [{{name: sa, context: {{cluster: local, user: sa, namespace: {NAMESPACE}}}}}]\n\
         current-context: sa\n",
        plane.server_url(),
        plane.ca_file().display(),
        token.stdout.trim()
    );
    std::fs::write(&file, text).unwrap();
    file
}

impl Release {
    pub async fn start_operator(&self) -> ChildGuard {
        let kubeconfig =
            service_account_kubeconfig(&format!("{RELEASE}-operator"), self.dir.path()).await;
        let mut command = Command::new(cargo_bin("hipaa-operator"));
        command
            .env("KUBECONFIG", kubeconfig)
            .env("POD_NAMESPACE", NAMESPACE)
            .env("RUST_LOG", "info,hipaa_operator::admission=debug")
            .args([
                "--log-format=text",
                &format!("--admin-listen=127.0.0.1:{}", self.operator_admin),
                "--webhook-configuration",
                RELEASE,
                "--webhook-configuration-owner",
                &format!("{RELEASE}-operator"),
                "--webhook-url",
                &format!("https://127.0.0.1:{}/validate", self.port),
                "--certificates=file",
                "--registration-interval=2s",
            ])
            .arg("--ca-bundle-file")
            .arg(&self.ca_file);
        spawn_guarded(command, "hipaa-operator").unwrap()
    }

    pub async fn start_webhook(&self) -> ChildGuard {
        let kubeconfig =
            service_account_kubeconfig(&format!("{RELEASE}-webhook"), self.dir.path()).await;
        let mut command = Command::new(cargo_bin("hipaa-webhook"));
        command
            .env("KUBECONFIG", kubeconfig)
            .env("POD_NAMESPACE", NAMESPACE)
            .env("RUST_LOG", "info")
            .arg("--tls-cert")
            .arg(&self.cert)
            .arg("--tls-key")
            .arg(&self.key)
            .args([
                &format!("--listen=127.0.0.1:{}", self.port),
                &format!("--admin-listen=127.0.0.1:{}", self.webhook_admin),
                "--log-format=text",
            ]);
        let mut process = spawn_guarded(command, "hipaa-webhook").unwrap();
        let admin = self.webhook_admin;
        let waited = wait_for("the webhook's /readyz", Duration::from_secs(60), || {
            let ready = http_get(admin, "/readyz").is_ok_and(|(status, _)| status == 200);
            let alive = process.is_running();
            async move {
                anyhow::ensure!(alive, "hipaa-webhook exited");
                Ok(ready.then_some(()))
            }
        })
        .await;
        if let Err(err) = waited {
            panic!("{err}\n{}", process.log_tail(30));
        }
        process
    }

    /// The operator's /readyz: status and body.
    pub fn operator_ready(&self) -> (u16, String) {
        http_get(self.operator_admin, "/readyz").unwrap_or((0, String::new()))
    }
}
