//! Bringing the node cluster up, in the order each part needs the one before: etcd, the API
//! server (Node + RBAC authorization, ServiceAccount admission), containerd with the local
//! sandbox image, then kube-controller-manager, kube-scheduler, the kubelet and kube-proxy.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::{Node as NodeObject, ServiceAccount};
use kube::api::Api;

use super::config::{self, Layout, NODE_ADDR, NODE_NAME, POD_CIDR, SERVICE_CIDR};
use super::host::{self, NODE_PROCESS_ENV};
use super::{Node, images};
use crate::control_plane::{client_for, etcd_command, free_ports, until_ready};
use crate::guard::{ChildGuard, spawn_supervised};
use crate::loopback_http;

/// The node's commands, besides etcd and kube-apiserver, that the build script must have built.
const NODE_BINARIES: [&str; 4] = [
    "kubelet",
    "kube-proxy",
    "kube-controller-manager",
    "kube-scheduler",
];

pub(super) async fn start(bins: &Path, timeout: Duration) -> anyhow::Result<Node> {
    let begun = Instant::now();
    let deadline = begun + timeout;
    host::check_programs()?;
    for binary in NODE_BINARIES {
        if !bins.join(binary).is_file() {
            bail!(
                "{} lacks {binary}; run `bash tests/controlplane/build.sh`",
                bins.display()
            );
        }
    }
    let pause = images::archive("pause")?;
    let sandbox_image = images::reference(&pause)?;

    let dir = Path::new(config::NODE_DIR).to_path_buf();
    let janitor_log = crate::run_dir::unique_path("logs/node-teardown", ".log")?;
    let janitor = host::prepare(&janitor_log)?;
    let [kubelet_healthz, proxy_healthz, proxy_metrics] = free_ports()?;
    let layout = Layout {
        dir: dir.clone(),
        sandbox_image,
        kubelet_healthz_port: kubelet_healthz,
        proxy_healthz_port: proxy_healthz,
        proxy_metrics_port: proxy_metrics,
    };
    let [etcd_port, peer_port, _] = free_ports()?;
    let port = free_port_on_node()?;
    let server = format!("https://{NODE_ADDR}:{port}");
    super::pki::write(&dir, &server)?;
    write_configs(&layout)?;
    let kubeconfig = layout.path("kubeconfigs/admin");

    let mut servers = Vec::new();
    let mut etcd = spawn(etcd_command(bins, &dir, etcd_port, peer_port), "node-etcd")?;
    let etcd_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, etcd_port));
    until_ready(&mut etcd, deadline, || async {
        let reply = loopback_http::request(etcd_addr, "GET", "/health").await?;
        Ok(reply.body.contains("\"health\":\"true\""))
    })
    .await?;
    servers.push(etcd);

    let mut apiserver = spawn(
        apiserver_command(bins, &layout, etcd_port, port),
        "node-kube-apiserver",
    )?;
    until_ready(&mut apiserver, deadline, || async {
        let client = client_for(&kubeconfig).await?;
        let readyz = http::Request::get("/readyz").body(Vec::new())?;
        Ok(client.request_text(readyz).await?.trim() == "ok")
    })
    .await?;
    let apiserver_log = apiserver.log_path().to_path_buf();
    servers.push(apiserver);

    let mut containerd = spawn(
        {
            let mut cmd = Command::new("containerd");
            cmd.arg("--config")
                .arg(layout.path("containerd/config.toml"));
            cmd
        },
        "node-containerd",
    )?;
    let socket = layout.containerd_socket();
    until_ready(&mut containerd, deadline, || async {
        Ok(socket.exists()
            && images::ctr(&socket)
                .arg("version")
                .output()?
                .status
                .success())
    })
    .await?;
    let containerd_log = containerd.log_path().to_path_buf();
    servers.push(containerd);
    images::import(&socket, &pause)?;

    servers.push(spawn(
        controller_manager_command(bins, &layout),
        "node-kube-controller-manager",
    )?);
    servers.push(spawn(
        scheduler_command(bins, &layout),
        "node-kube-scheduler",
    )?);
    let mut kubelet = spawn(kubelet_command(bins, &layout), "node-kubelet")?;
    let client = client_for(&kubeconfig).await?;
    let nodes: Api<NodeObject> = Api::all(client.clone());
    until_ready(&mut kubelet, deadline, || async {
        let node = nodes.get_opt(NODE_NAME).await?;
        Ok(node
            .and_then(|n| n.status)
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True"))
    })
    .await?;
    let kubelet_log = kubelet.log_path().to_path_buf();
    servers.push(kubelet);
    let mut proxy = spawn(
        {
            let mut cmd = Command::new(bins.join("kube-proxy"));
            cmd.arg(format!(
                "--config={}",
                layout.path("kube-proxy.yaml").display()
            ));
            cmd
        },
        "node-kube-proxy",
    )?;
    let healthz = SocketAddr::from((Ipv4Addr::LOCALHOST, proxy_healthz));
    until_ready(&mut proxy, deadline, || async {
        let reply = loopback_http::request(healthz, "GET", "/healthz").await?;
        Ok(reply.status == 200)
    })
    .await?;
    servers.push(proxy);
    // The controller-manager is up once it has given `default` its ServiceAccount; every pod
    // needs one in its namespace before the ServiceAccount admission plugin lets it in.
    let accounts: Api<ServiceAccount> = Api::namespaced(client, "default");
    let controllers = servers
        .iter_mut()
        .find(|server| server.name() == "node-kube-controller-manager")
        .context("the controller-manager was not started")?;
    until_ready(controllers, deadline, || async {
        Ok(accounts.get_opt("default").await?.is_some())
    })
    .await?;

    Ok(Node {
        started_in: begun.elapsed(),
        bin_dir: bins.to_path_buf(),
        kubeconfig,
        server,
        ca_file: layout.ca_file(),
        socket,
        apiserver_log,
        kubelet_log,
        containerd_log,
        dir,
        _servers: servers,
        _janitor: janitor,
    })
}

fn spawn(mut cmd: Command, name: &str) -> anyhow::Result<ChildGuard> {
    cmd.env(NODE_PROCESS_ENV, "1");
    spawn_supervised(&cmd, name, 0)
}

/// A free port on the node's address (added to `lo` by `host.sh up`).
fn free_port_on_node() -> anyhow::Result<u16> {
    let addr: Ipv4Addr = NODE_ADDR.parse()?;
    let listener = std::net::TcpListener::bind((addr, 0))
        .with_context(|| format!("binding {NODE_ADDR}:0 (is {NODE_ADDR}/32 on lo?)"))?;
    Ok(listener.local_addr()?.port())
}

fn write_configs(layout: &Layout) -> anyhow::Result<()> {
    let files = [
        ("containerd/config.toml", config::containerd_toml(layout)),
        (
            "cni/net.d/10-hipaa-guard-node.conflist",
            config::cni_conflist(layout),
        ),
        ("kubelet.yaml", config::kubelet_yaml(layout)),
        ("kube-proxy.yaml", config::kube_proxy_yaml(layout)),
        ("resolv.conf", config::resolv_conf()),
    ];
    for (sub, text) in files {
        let path = layout.path(sub);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn apiserver_command(bins: &Path, layout: &Layout, etcd_port: u16, port: u16) -> Command {
    let pki = |name: &str| layout.path(&format!("pki/{name}")).display().to_string();
    let mut cmd = Command::new(bins.join("kube-apiserver"));
    cmd.arg(format!("--etcd-servers=http://127.0.0.1:{etcd_port}"))
        .arg(format!("--bind-address={NODE_ADDR}"))
        .arg(format!("--advertise-address={NODE_ADDR}"))
        .arg(format!("--secure-port={port}"))
        .arg(format!("--tls-cert-file={}", pki("apiserver.crt")))
        .arg(format!("--tls-private-key-file={}", pki("apiserver.key")))
        .arg(format!("--client-ca-file={}", pki("ca.crt")))
        .arg(format!("--service-cluster-ip-range={SERVICE_CIDR}"))
        .arg("--service-account-issuer=https://kubernetes.default.svc.cluster.local")
        .arg(format!("--service-account-key-file={}", pki("sa.pub")))
        .arg(format!(
            "--service-account-signing-key-file={}",
            pki("sa.key")
        ))
        .arg(format!(
            "--token-auth-file={}",
            layout.path("tokens.csv").display()
        ))
        .arg("--authorization-mode=Node,RBAC")
        .arg("--enable-admission-plugins=NodeRestriction")
        .arg(format!(
            "--kubelet-client-certificate={}",
            pki("apiserver-kubelet-client.crt")
        ))
        .arg(format!(
            "--kubelet-client-key={}",
            pki("apiserver-kubelet-client.key")
        ))
        .arg("--kubelet-preferred-address-types=InternalIP")
        // The API server calls a webhook Service at its endpoints' pod IPs, not through kube-proxy.
        .arg("--enable-aggregator-routing=true")
        .arg("--allow-privileged=true");
    cmd
}

fn controller_manager_command(bins: &Path, layout: &Layout) -> Command {
    let mut cmd = Command::new(bins.join("kube-controller-manager"));
    cmd.arg(format!(
        "--kubeconfig={}",
        layout.path("kubeconfigs/kube-controller-manager").display()
    ))
    .arg(format!(
        "--service-account-private-key-file={}",
        layout.path("pki/sa.key").display()
    ))
    .arg(format!("--root-ca-file={}", layout.ca_file().display()))
    .arg("--use-service-account-credentials=true")
    .arg("--leader-elect=false")
    .arg("--allocate-node-cidrs=false")
    .arg(format!("--cluster-cidr={POD_CIDR}"))
    .arg(format!("--service-cluster-ip-range={SERVICE_CIDR}"))
    .arg("--secure-port=0");
    cmd
}

fn scheduler_command(bins: &Path, layout: &Layout) -> Command {
    let mut cmd = Command::new(bins.join("kube-scheduler"));
    cmd.arg(format!(
        "--kubeconfig={}",
        layout.path("kubeconfigs/kube-scheduler").display()
    ))
    .arg("--leader-elect=false")
    .arg("--secure-port=0");
    cmd
}

fn kubelet_command(bins: &Path, layout: &Layout) -> Command {
    let mut cmd = Command::new(bins.join("kubelet"));
    cmd.arg(format!(
        "--config={}",
        layout.path("kubelet.yaml").display()
    ))
    .arg(format!(
        "--kubeconfig={}",
        layout.path("kubeconfigs/kubelet").display()
    ))
    .arg(format!("--root-dir={}", layout.path("kubelet").display()))
    .arg(format!(
        "--cert-dir={}",
        layout.path("kubelet/pki").display()
    ))
    .arg(format!("--hostname-override={NODE_NAME}"))
    .arg(format!("--node-ip={NODE_ADDR}"))
    // As on EKS: workloads spread across zones (HIPAA-K8S-HA) must find one to schedule in.
    .arg("--node-labels=topology.kubernetes.io/zone=node-a,topology.kubernetes.io/region=local");
    cmd
}
