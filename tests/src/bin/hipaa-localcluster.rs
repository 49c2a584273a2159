//! `hipaa-localcluster`: the local stand-in for an EKS cluster that the demo (`make demo`) runs on.
//! Starts the test harness's real etcd + kube-apiserver and a moto AWS endpoint, writes a webhook
//! serving certificate for 127.0.0.1 signed by a fresh local CA, writes a kubeconfig and a
//! shell-sourceable environment file describing it all, and then stays up until SIGINT or SIGTERM.
//! Every server dies with this process, however it ends (see `hipaa_testkit::ChildGuard`).
//!
//! Usage: `hipaa-localcluster --state-dir DIR`. Files written to DIR:
//! - `kubeconfig`: the cluster admin's kubeconfig;
//! - `webhook/ca.crt`, `webhook/tls.crt`, `webhook/tls.key`: the webhook's local CA and certificate;
//! - `cluster.env`: `export NAME='value'` lines (KUBECONFIG, HIPAA_GUARD_K8S_BIN, K8S_SERVER,
//!   K8S_CA_FILE, HIPAA_LOCALCLUSTER_LOGS, and the AWS_* variables that point at moto), written
//!   last and atomically: its existence means the cluster is ready.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let state_dir = state_dir_from_args()?;
    std::fs::create_dir_all(&state_dir)
        .with_context(|| format!("creating {}", state_dir.display()))?;
    // Subscribe before starting anything, so that a Ctrl-C during start-up is not lost.
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;

    let started = tokio::select! {
        started = start(&state_dir) => started?,
        _ = interrupt.recv() => return Ok(()),
        _ = terminate.recv() => return Ok(()),
    };
    let mut stdout = std::io::stdout();
    writeln!(
        stdout,
        "hipaa-localcluster: ready; environment in {}",
        started.display()
    )?;
    stdout.flush()?;

    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    writeln!(
        stdout,
        "hipaa-localcluster: stopping the control plane and moto"
    )?;
    Ok(())
}

fn state_dir_from_args() -> anyhow::Result<PathBuf> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, dir] if flag == "--state-dir" => Ok(PathBuf::from(dir)),
        _ => bail!("usage: hipaa-localcluster --state-dir DIR"),
    }
}

/// Starts everything and writes the state files; returns the environment file's path.
async fn start(state_dir: &Path) -> anyhow::Result<PathBuf> {
    let plane = hipaa_testkit::control_plane().await?;
    let moto = hipaa_testkit::moto().await?;

    let kubeconfig = state_dir.join("kubeconfig");
    std::fs::copy(plane.kubeconfig(), &kubeconfig)
        .with_context(|| format!("copying the kubeconfig to {}", kubeconfig.display()))?;
    write_webhook_certificate(&state_dir.join("webhook"))?;

    let mut vars: Vec<(String, String)> = vec![
        ("KUBECONFIG".into(), kubeconfig.display().to_string()),
        (
            "HIPAA_GUARD_K8S_BIN".into(),
            plane.bin_dir().display().to_string(),
        ),
        ("K8S_SERVER".into(), plane.server_url().to_string()),
        ("K8S_CA_FILE".into(), plane.ca_file().display().to_string()),
        (
            "HIPAA_LOCALCLUSTER_LOGS".into(),
            hipaa_testkit::run_dir()?.join("logs").display().to_string(),
        ),
    ];
    vars.extend(moto.env());
    let env_file = state_dir.join("cluster.env");
    let temporary = state_dir.join("cluster.env.tmp");
    std::fs::write(&temporary, shell_exports(&vars))
        .with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, &env_file)
        .with_context(|| format!("writing {}", env_file.display()))?;
    Ok(env_file)
}

/// A CA and a serving certificate for `127.0.0.1` and `localhost`, as the API server needs to call
/// a webhook running on this machine (it rejects certificates without a matching SAN).
fn write_webhook_certificate(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let ca_key = KeyPair::generate().context("generating the CA key")?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "hipaa-guard local demo CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca
        .self_signed(&ca_key)
        .context("signing the CA certificate")?;
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate().context("generating the webhook key")?;
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])?;
    leaf.distinguished_name
        .push(DnType::CommonName, "hipaa-webhook (local)");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let cert = leaf
        .signed_by(&key, &issuer)
        .context("signing the webhook certificate")?;

    for (name, contents) in [
        ("ca.crt", ca_cert.pem()),
        ("tls.crt", cert.pem()),
        ("tls.key", key.serialize_pem()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// `export NAME='value'` lines; single quotes inside a value are closed, escaped and reopened.
fn shell_exports(vars: &[(String, String)]) -> String {
    vars.iter()
        .map(|(name, value)| format!("export {name}='{}'\n", value.replace('\'', r"'\''")))
        .collect()
}
