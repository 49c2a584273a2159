//! `hipaa-localcluster`: the local stand-in for an EKS cluster that the demos run on.
//! By default (`make demo`) it starts the test harness's real etcd + kube-apiserver and a moto
//! AWS endpoint on loopback, and writes a webhook serving certificate for 127.0.0.1 signed by a
//! fresh local CA, for a webhook run as a local process. With `--node` (`make demo-cluster`) it
//! starts the harness's real single-node cluster instead (`hipaa_testkit::node()`: root, one per
//! machine), imports the images of `make images` into it, and binds moto on the node's address,
//! which the operator's pods reach. Either way it writes a kubeconfig and a shell-sourceable
//! environment file describing it all, then stays up until SIGINT or SIGTERM. Every server dies
//! with this process, however it ends (see `hipaa_testkit::ChildGuard`), and the node's janitor
//! restores the host after it.
//!
//! Usage: `hipaa-localcluster --state-dir DIR [--node]`. Files written to DIR:
//! - `kubeconfig`: the cluster admin's kubeconfig;
//! - without `--node`: `webhook/ca.crt`, `webhook/tls.crt`, `webhook/tls.key`, the webhook's
//!   local CA and certificate (with `--node` the chart generates the in-cluster webhook's);
//! - `cluster.env`: `export NAME='value'` lines (KUBECONFIG, HIPAA_GUARD_K8S_BIN, K8S_SERVER,
//!   K8S_CA_FILE, HIPAA_LOCALCLUSTER_LOGS, the AWS_* variables that point at moto, and with
//!   `--node` HIPAA_IMAGE_TAG and HIPAA_NODE_ADDR), written last and atomically: its existence
//!   means the cluster is ready.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use hipaa_testkit::{Moto, NODE_ADDR};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let Args { state_dir, node } = args()?;
    std::fs::create_dir_all(&state_dir)
        .with_context(|| format!("creating {}", state_dir.display()))?;
    // Subscribe before starting anything, so that a Ctrl-C during start-up is not lost.
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;

    let started = tokio::select! {
        started = start(&state_dir, node) => started?,
        _ = interrupt.recv() => return Ok(()),
        _ = terminate.recv() => return Ok(()),
    };
    let mut stdout = std::io::stdout();
    writeln!(
        stdout,
        "hipaa-localcluster: ready; environment in {}",
        started.env_file.display()
    )?;
    stdout.flush()?;

    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    let what = if node { "node" } else { "control plane" };
    writeln!(stdout, "hipaa-localcluster: stopping the {what} and moto")?;
    // Moto (with --node) stops here; the servers of the harness when this process exits.
    drop(started);
    Ok(())
}

const USAGE: &str = "usage: hipaa-localcluster --state-dir DIR [--node]";

struct Args {
    state_dir: PathBuf,
    /// The real single-node cluster instead of a bare control plane.
    node: bool,
}

fn args() -> anyhow::Result<Args> {
    let mut state_dir = None;
    let mut node = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--state-dir" => state_dir = args.next().map(PathBuf::from),
            "--node" => node = true,
            _ => bail!("{USAGE}"),
        }
    }
    let Some(state_dir) = state_dir else {
        bail!("{USAGE}")
    };
    Ok(Args { state_dir, node })
}

/// What `start` brought up: the environment file, and what must live as long as this process.
struct Started {
    env_file: PathBuf,
    /// The node's moto (the control plane's is the harness's shared one).
    _moto: Option<Moto>,
}

/// The images `--node` imports: the product's two and the node's sandbox (`make images`).
const IMAGES: [&str; 3] = ["hipaa-webhook", "hipaa-operator", "pause"];

/// Starts everything and writes the state files.
async fn start(state_dir: &Path, node: bool) -> anyhow::Result<Started> {
    if node {
        return start_node(state_dir).await;
    }
    let plane = hipaa_testkit::control_plane().await?;
    let moto = hipaa_testkit::moto().await?;
    write_webhook_certificate(&state_dir.join("webhook"))?;
    let mut vars = cluster_vars(
        state_dir,
        plane.kubeconfig(),
        plane.bin_dir(),
        plane.server_url(),
        plane.ca_file(),
    )?;
    vars.extend(moto.env());
    Ok(Started {
        env_file: write_env_file(state_dir, &vars)?,
        _moto: None,
    })
}

/// `--node`: the node cluster, the images imported, moto on the node's address.
async fn start_node(state_dir: &Path) -> anyhow::Result<Started> {
    let node = hipaa_testkit::node().await?;
    let mut tags = Vec::new();
    for name in IMAGES {
        let reference = node.import_image(name)?;
        let tag = reference.rsplit_once(':').map(|(_, tag)| tag.to_string());
        tags.push(tag.with_context(|| format!("{reference} has no tag"))?);
    }
    // One tag for all: build-images.sh writes them together, so a mismatch means stale archives.
    let tag = tags.first().cloned().unwrap_or_default();
    if tags.iter().any(|other| *other != tag) {
        bail!("the images in target/images carry different tags ({tags:?}): run `make images`");
    }
    // Pods reach the node's address (on lo) but not the host's loopback.
    let moto = Moto::start_on(NODE_ADDR.parse()?).await?;
    let bins = tokio::task::spawn_blocking(hipaa_testkit::bin_dir).await??;
    let mut vars = cluster_vars(
        state_dir,
        node.kubeconfig(),
        bins,
        node.server_url(),
        node.ca_file(),
    )?;
    vars.push(("HIPAA_IMAGE_TAG".into(), tag));
    vars.push(("HIPAA_NODE_ADDR".into(), NODE_ADDR.into()));
    vars.extend(moto.env());
    Ok(Started {
        env_file: write_env_file(state_dir, &vars)?,
        _moto: Some(moto),
    })
}

/// Copies the admin kubeconfig into the state directory; the variables every mode exports.
fn cluster_vars(
    state_dir: &Path,
    admin_kubeconfig: &Path,
    bins: &Path,
    server: &str,
    ca_file: &Path,
) -> anyhow::Result<Vec<(String, String)>> {
    let kubeconfig = state_dir.join("kubeconfig");
    std::fs::copy(admin_kubeconfig, &kubeconfig)
        .with_context(|| format!("copying the kubeconfig to {}", kubeconfig.display()))?;
    let logs = hipaa_testkit::run_dir()?.join("logs");
    Ok([
        ("KUBECONFIG", kubeconfig.display().to_string()),
        ("HIPAA_GUARD_K8S_BIN", bins.display().to_string()),
        ("K8S_SERVER", server.to_string()),
        ("K8S_CA_FILE", ca_file.display().to_string()),
        ("HIPAA_LOCALCLUSTER_LOGS", logs.display().to_string()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value))
    .collect())
}

/// Writes `cluster.env` through a temporary file, so that it appears complete or not at all.
fn write_env_file(state_dir: &Path, vars: &[(String, String)]) -> anyhow::Result<PathBuf> {
    let env_file = state_dir.join("cluster.env");
    let temporary = state_dir.join("cluster.env.tmp");
    std::fs::write(&temporary, shell_exports(vars))
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
