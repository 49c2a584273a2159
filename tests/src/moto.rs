//! Moto, the AWS endpoint of the tests: `moto_server` on a free loopback port, one per test
//! binary, and the AWS SDK configuration and environment that point at it and nowhere else.
//! [`Moto::start_on`] binds another address of this machine instead (the in-cluster demo binds
//! the test node's address, which pods reach).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_smithy_http_client::tls;
use tokio::sync::OnceCell;

use crate::binaries::bin_dir;
use crate::guard::{ChildGuard, spawn_supervised};
use crate::loopback_http;
use crate::node::NODE_ADDR;

/// The region every test uses.
pub const REGION: &str = "us-east-1";
/// Moto accepts any credentials; these are the conventional test ones.
const ACCESS_KEY_ID: &str = "testing";
const SECRET_ACCESS_KEY: &str = "testing";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const ATTEMPTS: usize = 3;

/// A running `moto_server`. Obtain it with [`moto`].
#[derive(Debug)]
pub struct Moto {
    endpoint: String,
    addr: SocketAddr,
    log_path: PathBuf,
    _server: ChildGuard,
}

static MOTO: OnceCell<Result<Moto, String>> = OnceCell::const_new();

/// The test binary's moto server, started on first use and shared by its tests (its state is
/// shared too: use unique resource names, or [`Moto::reset`] in a test binary of its own).
pub async fn moto() -> anyhow::Result<&'static Moto> {
    let started = MOTO
        .get_or_init(|| async {
            Moto::start_on(Ipv4Addr::LOCALHOST)
                .await
                .map_err(|e| format!("{e:#}"))
        })
        .await;
    started
        .as_ref()
        .map_err(|e| anyhow!("moto did not start: {e}"))
}

impl Moto {
    /// A moto server of the caller's own (not the shared [`moto`]) on a free port of `host`: a
    /// loopback address, or [`NODE_ADDR`] while the test node runs (the in-cluster demo's
    /// operator pods call it there; the address is on `lo`, so no traffic leaves the machine).
    /// The server stops when the returned value is dropped or this process ends.
    pub async fn start_on(host: Ipv4Addr) -> anyhow::Result<Moto> {
        if !loopback_http::on_this_machine(host.into()) {
            bail!("moto binds loopback or the node's address {NODE_ADDR} only, not {host}");
        }
        let bins = tokio::task::spawn_blocking(|| bin_dir().map(Path::to_path_buf)).await??;
        let mut attempt = 1;
        loop {
            match start_once(&bins, host).await {
                Ok(moto) => return Ok(moto),
                Err(error) if attempt < ATTEMPTS && format!("{error:#}").contains("in use") => {
                    eprintln!("hipaa-testkit: moto attempt {attempt} hit a port clash; retrying");
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// `http://<host>:<port>` (`http://127.0.0.1:<port>` for [`moto`]).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// moto's log (one line per request).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// An AWS SDK configuration for moto: static test credentials, region us-east-1 and the moto
    /// endpoint, all explicit, so no credential or region provider chain runs and nothing can
    /// reach instance metadata; the host's environment (and with it `HOME`'s profile files) is
    /// ignored, so a developer's `AWS_*` variables cannot redirect the tests. The HTTP client is
    /// rustls on ring, the build's one crypto provider (the SDK has no default client here), and
    /// reads no proxy variables either.
    /// For S3 use `force_path_style(true)`: virtual-host addressing would put the bucket in the host.
    pub async fn sdk_config(&self) -> aws_types::SdkConfig {
        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        aws_config::defaults(BehaviorVersion::latest())
            .empty_test_environment()
            .http_client(http_client)
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new(
                ACCESS_KEY_ID,
                SECRET_ACCESS_KEY,
                None,
                None,
                "hipaa-testkit",
            ))
            .endpoint_url(&self.endpoint)
            .load()
            .await
    }

    /// Clears all of moto's state (`POST /moto-api/reset`).
    pub async fn reset(&self) -> anyhow::Result<()> {
        let reply = loopback_http::request(self.addr, "POST", "/moto-api/reset").await?;
        if reply.status != 200 {
            bail!("moto reset answered {}: {}", reply.status, reply.body);
        }
        Ok(())
    }

    /// Environment for a subprocess that must use moto (the operator, the CLI, boto3):
    /// `AWS_ENDPOINT_URL`, static credentials, the region, `AWS_EC2_METADATA_DISABLED=true`, and
    /// `/dev/null` as the shared config and credentials files, and moto's host in `NO_PROXY`.
    pub fn env(&self) -> Vec<(String, String)> {
        let host = self.addr.ip();
        let no_proxy = if host.is_loopback() {
            "127.0.0.1,localhost".to_string()
        } else {
            format!("127.0.0.1,localhost,{host}")
        };
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
            ("AWS_REGION", REGION),
            ("AWS_DEFAULT_REGION", REGION),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
            ("NO_PROXY", no_proxy.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Applies [`Moto::env`] to `cmd` and removes `AWS_PROFILE`, `AWS_SESSION_TOKEN` and
    /// `AWS_ROLE_ARN`/`AWS_WEB_IDENTITY_TOKEN_FILE`, which would otherwise override it.
    pub fn configure(&self, cmd: &mut Command) {
        for name in [
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
        ] {
            cmd.env_remove(name);
        }
        cmd.envs(self.env());
    }
}

async fn start_once(bins: &Path, host: Ipv4Addr) -> anyhow::Result<Moto> {
    let port = std::net::TcpListener::bind((host, 0))
        .and_then(|listener| listener.local_addr())
        .with_context(|| format!("finding a free port on {host}"))?
        .port();
    let addr = SocketAddr::from((host, port));
    let mut cmd = Command::new(bins.join("moto_server"));
    cmd.args(["-H", &host.to_string(), "-p", &port.to_string()]);
    let mut server = spawn_supervised(&cmd, "moto", 0)?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        // The request must show up in our log: a 200 from another process that got the port
        // first would otherwise pass for ours.
        if let Ok(reply) = loopback_http::request(addr, "GET", "/moto-api/data.json").await
            && reply.status == 200
            && server.log_contents().contains("/moto-api/data.json")
        {
            break;
        }
        if let Some(status) = server.try_exit_status() {
            bail!(
                "moto_server exited during start-up ({status}); log {}:\n{}",
                server.log_path().display(),
                server.log_tail(30)
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "moto_server was not ready within {START_TIMEOUT:?}; log {}:\n{}",
                server.log_path().display(),
                server.log_tail(30)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log_path = server.log_path().to_path_buf();
    Ok(Moto {
        endpoint: format!("http://{addr}"),
        addr,
        log_path,
        _server: server,
    })
}
