//! The test control plane: a real etcd and kube-apiserver on free loopback ports, with RBAC, a
//! service-account signing key, a bearer-token admin and a kubeconfig; one per test binary,
//! shared by its tests. A test that stops or restarts servers starts a private one instead
//! ([`PrivateControlPlane`]).

mod bootstrap;
mod private;

pub use private::PrivateControlPlane;

pub(crate) use bootstrap::{etcd_command, free_ports, kubeconfig_yaml, until_ready};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, anyhow};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, CustomResourceExt};
use tokio::sync::OnceCell;

use crate::binaries::bin_dir;
use crate::guard::ChildGuard;
use crate::wait::wait_for;

/// Seconds the control plane may take to become ready (default 120), not counting a build.
pub const START_TIMEOUT_ENV: &str = "HIPAA_TESTKIT_START_TIMEOUT_SECS";

/// Start-up attempts when a port taken by another process makes a server exit.
const ATTEMPTS: usize = 3;

/// A running etcd + kube-apiserver. Obtain it with [`control_plane`]; it lives until the test
/// process ends, when its supervisors kill both servers.
#[derive(Debug)]
pub struct ControlPlane {
    dir: PathBuf,
    bin_dir: PathBuf,
    kubeconfig: PathBuf,
    server: String,
    token: String,
    ca_file: PathBuf,
    etcd_log: PathBuf,
    apiserver_log: PathBuf,
    _servers: [ChildGuard; 2],
}

static CONTROL_PLANE: OnceCell<Result<ControlPlane, String>> = OnceCell::const_new();

/// The test binary's control plane, started on first use (building the binaries first if needed)
/// and shared by its tests. A start-up failure is reported to every caller, with the log paths.
pub async fn control_plane() -> anyhow::Result<&'static ControlPlane> {
    let started = CONTROL_PLANE
        .get_or_init(|| async { ControlPlane::start().await.map_err(|e| format!("{e:#}")) })
        .await;
    started
        .as_ref()
        .map_err(|e| anyhow!("the test control plane did not start: {e}"))
}

/// The header `kubectl get hipaapolicies` prints (the CRD's printer columns), split on white
/// space: `LAST AUDIT` is one column and two words.
pub const HIPAA_POLICY_COLUMNS: [&str; 8] = [
    "NAME",
    "ENFORCEMENT",
    "COMPLIANT",
    "SCORE",
    "VIOLATIONS",
    "LAST",
    "AUDIT",
    "AGE",
];

impl ControlPlane {
    async fn start() -> anyhow::Result<ControlPlane> {
        let bins = tokio::task::spawn_blocking(|| bin_dir().map(Path::to_path_buf)).await??;
        let timeout = start_timeout();
        let mut attempt = 1;
        loop {
            match bootstrap::start_once(&bins, timeout).await {
                Ok(plane) => return Ok(plane),
                Err(error) if attempt < ATTEMPTS && is_port_clash(&error) => {
                    eprintln!(
                        "hipaa-testkit: control plane attempt {attempt} hit a port clash; retrying"
                    );
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// A new client for the calling test (clients are tied to the runtime they were made on, and
    /// each `#[tokio::test]` has its own).
    pub async fn client(&self) -> anyhow::Result<Client> {
        client_for(&self.kubeconfig).await
    }

    /// The admin kubeconfig (bearer token, CA = the API server's self-signed serving certificate).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The API server's URL, `https://127.0.0.1:<port>`.
    pub fn server_url(&self) -> &str {
        &self.server
    }

    /// The admin bearer token (user `hipaa-testkit-admin`, group `system:masters`).
    pub fn admin_token(&self) -> &str {
        &self.token
    }

    /// The PEM file that verifies the API server's serving certificate (IP SAN 127.0.0.1).
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The directory of the control plane's data, certificates and kubeconfig.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory of `kube-apiserver`, `etcd`, `kubectl`, `helm` and `moto_server`.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// kube-apiserver's log (admission webhook calls and their errors show up here).
    pub fn apiserver_log(&self) -> &Path {
        &self.apiserver_log
    }

    /// etcd's log.
    pub fn etcd_log(&self) -> &Path {
        &self.etcd_log
    }

    /// The real kubectl, with `--kubeconfig` and a private `--cache-dir` already set.
    pub fn kubectl(&self) -> Command {
        kubectl_command(&self.bin_dir, &self.kubeconfig, &self.dir)
    }

    /// The real helm, with `KUBECONFIG` and private helm cache/config/data directories set.
    pub fn helm(&self) -> Command {
        helm_command(&self.bin_dir, &self.kubeconfig, &self.dir)
    }

    /// Installs the HipaaPolicy CRD (`hipaa_crds::HipaaPolicy::crd()`, identical to the file the
    /// chart's CRD template renders) by server-side apply and waits until it is Established.
    /// Idempotent. Helm will not adopt a CRD installed this way (docs/upgrades.md).
    pub async fn install_hipaa_crd(&self) -> anyhow::Result<()> {
        install_crd(self.client().await?).await
    }
}

/// Applies the HipaaPolicy CRD server-side and waits until it is Established.
async fn install_crd(client: Client) -> anyhow::Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client);
    let crd = hipaa_crds::HipaaPolicy::crd();
    let name = crd
        .metadata
        .name
        .clone()
        .context("the HipaaPolicy CRD has no name")?;
    crds.patch(
        &name,
        &PatchParams::apply("hipaa-testkit").force(),
        &Patch::Apply(&crd),
    )
    .await
    .with_context(|| format!("applying CRD {name}"))?;
    wait_for(
        &format!("CRD {name} to be Established"),
        Duration::from_secs(30),
        || async {
            let crd = crds.get(&name).await?;
            let established = crd
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            Ok(established.then_some(()))
        },
    )
    .await
}

/// The real kubectl for the cluster of `kubeconfig`, with a cache directory under `dir`.
pub(crate) fn kubectl_command(bin_dir: &Path, kubeconfig: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(bin_dir.join("kubectl"));
    cmd.arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(dir.join("kubectl-cache"))
        .env("KUBECONFIG", kubeconfig)
        .env("NO_PROXY", "127.0.0.1,localhost,10.213.0.0/16");
    cmd
}

/// The real helm for the cluster of `kubeconfig`, with private cache/config/data under `dir`.
pub(crate) fn helm_command(bin_dir: &Path, kubeconfig: &Path, dir: &Path) -> Command {
    let home = dir.join("helm");
    let mut cmd = Command::new(bin_dir.join("helm"));
    cmd.env("KUBECONFIG", kubeconfig)
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env("NO_PROXY", "127.0.0.1,localhost,10.213.0.0/16");
    cmd
}

pub(crate) async fn client_for(kubeconfig: &Path) -> anyhow::Result<Client> {
    // ring is the build's one rustls provider (kube, the AWS SDK's client); made the process
    // default explicitly all the same. Installing fails harmlessly if already done.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig = Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading {}", kubeconfig.display()))?;
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    Ok(Client::try_from(config)?)
}

fn start_timeout() -> Duration {
    let seconds = std::env::var(START_TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(120);
    Duration::from_secs(seconds)
}

fn is_port_clash(error: &anyhow::Error) -> bool {
    format!("{error:#}").contains("address already in use")
}
