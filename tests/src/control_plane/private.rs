//! A control plane of one test's own: its etcd and kube-apiserver in a directory and on ports of
//! their own, which the test may stop, start and restart (the fault tests). Dropping it stops
//! both; if the test process dies first, their supervisors kill them (see `ChildGuard`).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use kube::Client;

use super::bootstrap::{
    apiserver_ready, free_ports, kubeconfig_yaml, random_token, start_apiserver, start_etcd,
    until_ready, write_credentials,
};
use super::{ATTEMPTS, client_for, install_crd, is_port_clash, kubectl_command, start_timeout};
use crate::binaries::bin_dir;
use crate::guard::ChildGuard;
use crate::loopback_http;
use crate::run_dir::unique_path;

/// An etcd + kube-apiserver that only the test that started it uses.
#[derive(Debug)]
pub struct PrivateControlPlane {
    bins: PathBuf,
    dir: PathBuf,
    etcd_port: u16,
    peer_port: u16,
    port: u16,
    apiserver_args: Vec<String>,
    kubeconfig: PathBuf,
    ca_file: PathBuf,
    server: String,
    etcd: Option<ChildGuard>,
    apiserver: Option<ChildGuard>,
    apiserver_log: PathBuf,
}

impl PrivateControlPlane {
    /// Starts a new control plane with the shared one's flags.
    pub async fn start() -> anyhow::Result<PrivateControlPlane> {
        PrivateControlPlane::start_with(&[]).await
    }

    /// Starts a new control plane; `apiserver_args` are added to kube-apiserver's flags, now and
    /// at every restart.
    pub async fn start_with(apiserver_args: &[&str]) -> anyhow::Result<PrivateControlPlane> {
        let bins = tokio::task::spawn_blocking(|| bin_dir().map(Path::to_path_buf)).await??;
        let args: Vec<String> = apiserver_args.iter().map(|a| (*a).to_owned()).collect();
        let mut attempt = 1;
        loop {
            match PrivateControlPlane::start_once(&bins, &args).await {
                Ok(plane) => return Ok(plane),
                Err(error) if attempt < ATTEMPTS && is_port_clash(&error) => attempt += 1,
                Err(error) => return Err(error),
            }
        }
    }

    async fn start_once(bins: &Path, args: &[String]) -> anyhow::Result<PrivateControlPlane> {
        let dir = unique_path("private-control-plane", "")?;
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let [etcd_port, peer_port, port] = free_ports()?;
        let token = random_token();
        write_credentials(&dir, &token)?;
        let ca_file = dir.join("certs/apiserver.crt");
        let kubeconfig = dir.join("kubeconfig");
        let server = format!("https://127.0.0.1:{port}");
        std::fs::write(&kubeconfig, kubeconfig_yaml(&server, &ca_file, &token))
            .with_context(|| format!("writing {}", kubeconfig.display()))?;
        let mut plane = PrivateControlPlane {
            bins: bins.to_path_buf(),
            dir,
            etcd_port,
            peer_port,
            port,
            apiserver_args: args.to_vec(),
            kubeconfig,
            ca_file,
            server,
            etcd: None,
            apiserver: None,
            apiserver_log: PathBuf::new(),
        };
        plane.start_etcd().await?;
        plane.start_apiserver().await?;
        Ok(plane)
    }

    /// A new client (one per `#[tokio::test]`, as for the shared control plane).
    pub async fn client(&self) -> anyhow::Result<Client> {
        client_for(&self.kubeconfig).await
    }

    /// The admin kubeconfig; it stays valid across restarts (same port, token and certificate).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// `https://127.0.0.1:<port>`, the same after every restart.
    pub fn server_url(&self) -> &str {
        &self.server
    }

    /// The directory of this control plane's data, certificates and kubeconfig.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The log of the API server started last.
    pub fn apiserver_log(&self) -> &Path {
        &self.apiserver_log
    }

    /// The real kubectl, for this control plane.
    pub fn kubectl(&self) -> Command {
        kubectl_command(&self.bins, &self.kubeconfig, &self.dir)
    }

    /// Installs the HipaaPolicy CRD and waits until it is Established (as
    /// `ControlPlane::install_hipaa_crd`).
    pub async fn install_hipaa_crd(&self) -> anyhow::Result<()> {
        install_crd(self.client().await?).await
    }

    /// Kills the API server (SIGKILL, as a crash or a node loss would) and waits until it is
    /// gone; clients see their connections reset. etcd keeps running.
    pub fn stop_apiserver(&mut self) {
        if let Some(mut apiserver) = self.apiserver.take() {
            apiserver.kill();
        }
    }

    /// Starts the API server again on the same port, certificate and etcd, and waits until it
    /// is ready. Its log is a new file ([`PrivateControlPlane::apiserver_log`]).
    pub async fn start_apiserver(&mut self) -> anyhow::Result<()> {
        if self.apiserver.is_some() {
            bail!("the API server is already running");
        }
        let deadline = Instant::now() + start_timeout();
        let mut apiserver = start_apiserver(
            &self.bins,
            &self.dir,
            self.etcd_port,
            self.port,
            &self.apiserver_args,
        )?;
        self.apiserver_log = apiserver.log_path().to_path_buf();
        let (ca_file, kubeconfig) = (self.ca_file.clone(), self.kubeconfig.clone());
        until_ready(&mut apiserver, deadline, || {
            apiserver_ready(&ca_file, &kubeconfig)
        })
        .await?;
        self.apiserver = Some(apiserver);
        Ok(())
    }

    /// [`stop_apiserver`](Self::stop_apiserver), then [`start_apiserver`](Self::start_apiserver);
    /// returns how long the API server was away.
    pub async fn restart_apiserver(&mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        self.stop_apiserver();
        self.start_apiserver().await?;
        Ok(started.elapsed())
    }

    /// Kills etcd (SIGKILL) and starts it again on the same data and ports, while the API server
    /// keeps running; waits until etcd is healthy and the API server ready again. Returns how
    /// long that took.
    pub async fn restart_etcd(&mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        if let Some(mut etcd) = self.etcd.take() {
            etcd.kill();
        }
        self.start_etcd().await?;
        let deadline = Instant::now() + start_timeout();
        if let Some(apiserver) = self.apiserver.as_mut() {
            let (ca_file, kubeconfig) = (self.ca_file.clone(), self.kubeconfig.clone());
            until_ready(apiserver, deadline, || {
                apiserver_ready(&ca_file, &kubeconfig)
            })
            .await?;
        }
        Ok(started.elapsed())
    }

    /// Compacts etcd's history up to its current revision (through etcd's JSON gateway, as
    /// `etcdctl compact` would): a watch that resumes from an older resourceVersion and is served
    /// from etcd gets 410 Gone. Returns the revision compacted to.
    pub async fn compact_etcd(&self) -> anyhow::Result<i64> {
        let addr = self.etcd_addr();
        // A range over every key with a limit of one returns the store's current revision.
        let range = loopback_http::request_with_body(
            addr,
            "POST",
            "/v3/kv/range",
            r#"{"key":"AA==","range_end":"AA==","limit":1,"keys_only":true}"#,
        )
        .await?;
        let reply: serde_json::Value =
            serde_json::from_str(&range.body).with_context(|| range.body.clone())?;
        let revision: i64 = reply
            .pointer("/header/revision")
            .and_then(serde_json::Value::as_str)
            .and_then(|r| r.parse().ok())
            .with_context(|| format!("no revision in etcd's reply: {}", range.body))?;
        let compact = loopback_http::request_with_body(
            addr,
            "POST",
            "/v3/kv/compaction",
            &format!(r#"{{"revision":"{revision}","physical":true}}"#),
        )
        .await?;
        if compact.status != 200 {
            bail!(
                "etcd refused the compaction ({}): {}",
                compact.status,
                compact.body
            );
        }
        Ok(revision)
    }

    fn etcd_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.etcd_port))
    }

    async fn start_etcd(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + start_timeout();
        let mut etcd = start_etcd(&self.bins, &self.dir, self.etcd_port, self.peer_port)?;
        let addr = self.etcd_addr();
        until_ready(&mut etcd, deadline, || async move {
            let reply = loopback_http::request(addr, "GET", "/health").await?;
            Ok(reply.body.contains("\"health\":\"true\""))
        })
        .await?;
        self.etcd = Some(etcd);
        Ok(())
    }
}
