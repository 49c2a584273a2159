//! The test control plane: a real etcd and kube-apiserver on free loopback ports, with RBAC, a
//! service-account signing key, a bearer-token admin and a kubeconfig; one per test binary.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, CustomResourceExt};
use tokio::sync::OnceCell;

use crate::binaries::bin_dir;
use crate::command::free_port;
use crate::guard::{ChildGuard, spawn_supervised};
use crate::loopback_http;
use crate::run_dir::unique_path;
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

impl ControlPlane {
    async fn start() -> anyhow::Result<ControlPlane> {
        let bins = tokio::task::spawn_blocking(|| bin_dir().map(Path::to_path_buf)).await??;
        let timeout = start_timeout();
        let mut attempt = 1;
        loop {
            match start_once(&bins, timeout).await {
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
        let mut cmd = Command::new(self.bin_dir.join("kubectl"));
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.join("kubectl-cache"))
            .env("KUBECONFIG", &self.kubeconfig)
            .env("NO_PROXY", "127.0.0.1,localhost");
        cmd
    }

    /// The real helm, with `KUBECONFIG` and private helm cache/config/data directories set.
    pub fn helm(&self) -> Command {
        let home = self.dir.join("helm");
        let mut cmd = Command::new(self.bin_dir.join("helm"));
        cmd.env("KUBECONFIG", &self.kubeconfig)
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_DATA_HOME", home.join("data"))
            .env("NO_PROXY", "127.0.0.1,localhost");
        cmd
    }

    /// Installs the HipaaPolicy CRD (`hipaa_crds::HipaaPolicy::crd()`, identical to the chart's
    /// `crds/` file) by server-side apply and waits until it is Established. Idempotent.
    pub async fn install_hipaa_crd(&self) -> anyhow::Result<()> {
        let client = self.client().await?;
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
}

async fn client_for(kubeconfig: &Path) -> anyhow::Result<Client> {
    // kube and the AWS SDK enable both of rustls's providers (ring, aws-lc-rs), so rustls cannot
    // pick one by itself; kube is built with ring. Installing fails harmlessly if already done.
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

async fn start_once(bins: &Path, timeout: Duration) -> anyhow::Result<ControlPlane> {
    let deadline = Instant::now() + timeout;
    let dir = unique_path("control-plane", "")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

    let (etcd_port, peer_port) = (free_port(), free_port());
    let mut etcd = start_etcd(bins, &dir, etcd_port, peer_port)?;
    let etcd_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, etcd_port));
    until_ready(&mut etcd, deadline, || async {
        let reply = loopback_http::request(etcd_addr, "GET", "/health").await?;
        Ok(reply.body.contains("\"health\":\"true\""))
    })
    .await?;

    let port = free_port();
    let token = random_token();
    let ca_file = dir.join("certs/apiserver.crt");
    let kubeconfig = dir.join("kubeconfig");
    let server = format!("https://127.0.0.1:{port}");
    write_credentials(&dir, &token)?;
    std::fs::write(&kubeconfig, kubeconfig_yaml(&server, &ca_file, &token))
        .with_context(|| format!("writing {}", kubeconfig.display()))?;
    let mut apiserver = start_apiserver(bins, &dir, etcd_port, port)?;
    until_ready(&mut apiserver, deadline, || async {
        if !ca_file.exists() {
            return Ok(false);
        }
        let client = client_for(&kubeconfig).await?;
        let readyz = http::Request::get("/readyz").body(Vec::new())?;
        if client.request_text(readyz).await?.trim() != "ok" {
            return Ok(false);
        }
        // Bootstrapping creates `default`; tests may need it right away.
        Ok(Api::<Namespace>::all(client)
            .get_opt("default")
            .await?
            .is_some())
    })
    .await?;

    Ok(ControlPlane {
        bin_dir: bins.to_path_buf(),
        kubeconfig,
        server,
        token,
        ca_file,
        etcd_log: etcd.log_path().to_path_buf(),
        apiserver_log: apiserver.log_path().to_path_buf(),
        _servers: [etcd, apiserver],
        dir,
    })
}

/// Polls `ready` until it returns true, failing with the server's log if it exits or the
/// deadline passes. Errors from `ready` count as "not yet".
async fn until_ready<F, Fut>(
    server: &mut ChildGuard,
    deadline: Instant,
    mut ready: F,
) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let mut last_error = String::from("none");
    loop {
        match ready().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(error) => last_error = format!("{error:#}"),
        }
        if let Some(status) = server.try_exit_status() {
            bail!(
                "{} exited during start-up ({status}); log {}:\n{}",
                server.name(),
                server.log_path().display(),
                server.log_tail(30)
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "{} was not ready in time (raise {START_TIMEOUT_ENV}); last error: {last_error}; \
                 log {}:\n{}",
                server.name(),
                server.log_path().display(),
                server.log_tail(30)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn start_etcd(bins: &Path, dir: &Path, port: u16, peer_port: u16) -> anyhow::Result<ChildGuard> {
    let client_url = format!("http://127.0.0.1:{port}");
    let peer_url = format!("http://127.0.0.1:{peer_port}");
    let mut cmd = Command::new(bins.join("etcd"));
    cmd.arg("--name=default")
        .arg(format!("--data-dir={}", dir.join("etcd").display()))
        .arg(format!("--listen-client-urls={client_url}"))
        .arg(format!("--advertise-client-urls={client_url}"))
        .arg(format!("--listen-peer-urls={peer_url}"))
        .arg(format!("--initial-advertise-peer-urls={peer_url}"))
        .arg(format!("--initial-cluster=default={peer_url}"))
        .arg("--unsafe-no-fsync=true")
        .arg("--log-level=warn");
    spawn_supervised(&cmd, "etcd", 0)
}

fn start_apiserver(
    bins: &Path,
    dir: &Path,
    etcd_port: u16,
    port: u16,
) -> anyhow::Result<ChildGuard> {
    let mut cmd = Command::new(bins.join("kube-apiserver"));
    cmd.arg(format!("--etcd-servers=http://127.0.0.1:{etcd_port}"))
        .arg(format!("--cert-dir={}", dir.join("certs").display()))
        .arg("--bind-address=127.0.0.1")
        .arg(format!("--secure-port={port}"))
        .arg("--advertise-address=127.0.0.1")
        .arg("--endpoint-reconciler-type=none")
        .arg("--service-cluster-ip-range=10.0.0.0/24")
        .arg("--service-account-issuer=https://kubernetes.default.svc.cluster.local")
        .arg(format!(
            "--service-account-key-file={}",
            dir.join("sa.pub").display()
        ))
        .arg(format!(
            "--service-account-signing-key-file={}",
            dir.join("sa.key").display()
        ))
        .arg(format!(
            "--token-auth-file={}",
            dir.join("tokens.csv").display()
        ))
        .arg("--authorization-mode=RBAC")
        // No controller-manager creates `default` service accounts, so Pods must be admitted without.
        .arg("--disable-admission-plugins=ServiceAccount")
        .arg("--allow-privileged=true");
    spawn_supervised(&cmd, "kube-apiserver", 0)
}

/// Writes the service-account signing key pair and the static token file of the admin.
fn write_credentials(dir: &Path, token: &str) -> anyhow::Result<()> {
    let key = rcgen::KeyPair::generate().context("generating the service-account signing key")?;
    let files = [
        ("sa.key", key.serialize_pem()),
        ("sa.pub", key.public_key_pem()),
        (
            "tokens.csv",
            format!("{token},hipaa-testkit-admin,hipaa-testkit-admin,\"system:masters\"\n"),
        ),
    ];
    for (name, contents) in files {
        let path = dir.join(name);
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn kubeconfig_yaml(server: &str, ca_file: &Path, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\n\
         clusters:\n- name: hipaa-testkit\n  cluster:\n    server: \"{server}\"\n    certificate-authority: \"{}\"\n\
         users:\n- name: hipaa-testkit-admin\n  user:\n    token: \"{token}\"\n\
         contexts:\n- name: hipaa-testkit\n  context:\n    cluster: hipaa-testkit\n    user: hipaa-testkit-admin\n    namespace: default\n\
         current-context: hipaa-testkit\n",
        ca_file.display()
    )
}

fn random_token() -> String {
    use std::hash::{BuildHasher, RandomState};
    let part = |salt: u64| RandomState::new().hash_one((salt, std::process::id()));
    format!("{:016x}{:016x}", part(1), part(2))
}
