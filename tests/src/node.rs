//! A real single-node cluster for the in-cluster tests: etcd, kube-apiserver,
//! kube-controller-manager, kube-scheduler, the kubelet with containerd, runc and the CNI
//! plugins, and kube-proxy, all from the same pinned Kubernetes as the control plane. One per
//! test binary (and one per machine: its bridge, addresses and directory are fixed), started on
//! first use; the host is restored by a janitor when the test process ends, however it ends.
//! Needs root. Pod traffic never leaves the machine (tests/README.md, "The node").

mod config;
mod host;
mod images;
mod pki;
mod start;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::anyhow;
use kube::Client;
use tokio::sync::OnceCell;

pub use config::{NODE_ADDR, NODE_DIR, NODE_NAME, POD_CIDR, SERVICE_CIDR};
pub use images::IMAGES_DIR_ENV;

use crate::binaries::bin_dir;
use crate::control_plane::{client_for, helm_command, kubectl_command};
use crate::guard::ChildGuard;

/// A running node cluster. Obtain it with [`node`].
#[derive(Debug)]
pub struct Node {
    started_in: Duration,
    dir: PathBuf,
    bin_dir: PathBuf,
    kubeconfig: PathBuf,
    server: String,
    ca_file: PathBuf,
    socket: PathBuf,
    apiserver_log: PathBuf,
    kubelet_log: PathBuf,
    containerd_log: PathBuf,
    _servers: Vec<ChildGuard>,
    _janitor: host::Janitor,
}

static NODE: OnceCell<Result<Node, String>> = OnceCell::const_new();

/// The test binary's node cluster, started on first use (about 10 s when built) and shared by
/// its tests: give each test its own namespaces. Needs the images of `make images`.
pub async fn node() -> anyhow::Result<&'static Node> {
    let started = NODE
        .get_or_init(|| async {
            let start = async {
                let bins =
                    tokio::task::spawn_blocking(|| bin_dir().map(Path::to_path_buf)).await??;
                start::start(&bins, Duration::from_secs(180)).await
            };
            start.await.map_err(|e: anyhow::Error| format!("{e:#}"))
        })
        .await;
    started
        .as_ref()
        .map_err(|e| anyhow!("the test node did not start: {e}"))
}

impl Node {
    /// A new client for the calling test (admin, system:masters).
    pub async fn client(&self) -> anyhow::Result<Client> {
        client_for(&self.kubeconfig).await
    }

    /// How long the start took, from nothing to a Ready node with its controllers running.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// The admin kubeconfig.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// `https://<NODE_ADDR>:<port>`.
    pub fn server_url(&self) -> &str {
        &self.server
    }

    /// The CA of every certificate the cluster serves (API server) or trusts (kubelet clients).
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The node's directory ([`NODE_DIR`]).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn apiserver_log(&self) -> &Path {
        &self.apiserver_log
    }

    pub fn kubelet_log(&self) -> &Path {
        &self.kubelet_log
    }

    pub fn containerd_log(&self) -> &Path {
        &self.containerd_log
    }

    /// The real kubectl against this cluster.
    pub fn kubectl(&self) -> Command {
        kubectl_command(&self.bin_dir, &self.kubeconfig, &self.dir)
    }

    /// The real helm against this cluster.
    pub fn helm(&self) -> Command {
        helm_command(&self.bin_dir, &self.kubeconfig, &self.dir)
    }

    /// Imports the archive `<images dir>/<name>.tar` of `make images` into the node's containerd
    /// and returns the reference it carries (e.g. `hipaa-guard/hipaa-webhook:0.1.0`).
    pub fn import_image(&self, name: &str) -> anyhow::Result<String> {
        images::import(&self.socket, &images::archive(name)?)
    }

    /// SIGKILLs a container through containerd, as a crash or the OOM killer would: no SIGTERM,
    /// no chance to release anything. `container_id` is a pod status's `containerID`
    /// (`containerd://<id>`) or the bare id.
    pub fn kill_container(&self, container_id: &str) -> anyhow::Result<()> {
        let id = container_id.trim_start_matches("containerd://");
        images::run_ctr(&self.socket, ["tasks", "kill", "--signal", "SIGKILL", id]).map(drop)
    }

    /// Gives an image already in the node another name (`ctr images tag`), as a registry push of
    /// the same binaries under a new tag would.
    pub fn tag_image(&self, source: &str, target: &str) -> anyhow::Result<()> {
        // containerd stores short names fully qualified; take the stored name's prefix for both.
        let listed = images::run_ctr(&self.socket, ["images", "ls", "-q"])?;
        let stored = listed
            .lines()
            .find(|name| *name == source || name.ends_with(&format!("/{source}")))
            .ok_or_else(|| anyhow!("{source} is not in the node's containerd: {listed}"))?;
        let prefix = stored.strip_suffix(source).unwrap_or_default();
        let target = format!("{prefix}{target}");
        images::run_ctr(&self.socket, ["images", "tag", "--force", stored, &target]).map(drop)
    }
}
