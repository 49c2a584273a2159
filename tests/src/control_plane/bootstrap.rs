//! Bringing the control plane up: etcd, then kube-apiserver with its credentials and kubeconfig,
//! each polled until ready, with start-up failures reported together with the server's log.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;

use super::{ControlPlane, START_TIMEOUT_ENV, client_for};
use crate::guard::{ChildGuard, spawn_supervised};
use crate::loopback_http;
use crate::run_dir::unique_path;

pub(super) async fn start_once(bins: &Path, timeout: Duration) -> anyhow::Result<ControlPlane> {
    let deadline = Instant::now() + timeout;
    let dir = unique_path("control-plane", "")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

    let [etcd_port, peer_port, port] = free_ports()?;
    let mut etcd = start_etcd(bins, &dir, etcd_port, peer_port)?;
    let etcd_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, etcd_port));
    until_ready(&mut etcd, deadline, || async {
        let reply = loopback_http::request(etcd_addr, "GET", "/health").await?;
        Ok(reply.body.contains("\"health\":\"true\""))
    })
    .await?;

    let token = random_token();
    let ca_file = dir.join("certs/apiserver.crt");
    let kubeconfig = dir.join("kubeconfig");
    let server = format!("https://127.0.0.1:{port}");
    write_credentials(&dir, &token)?;
    std::fs::write(&kubeconfig, kubeconfig_yaml(&server, &ca_file, &token))
        .with_context(|| format!("writing {}", kubeconfig.display()))?;
    let mut apiserver = start_apiserver(bins, &dir, etcd_port, port, &[])?;
    until_ready(&mut apiserver, deadline, || {
        apiserver_ready(&ca_file, &kubeconfig)
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

/// Whether the API server of `kubeconfig` answers `/readyz` with ok and serves the `default`
/// namespace (bootstrapping creates it; tests may need it right away).
pub(crate) async fn apiserver_ready(ca_file: &Path, kubeconfig: &Path) -> anyhow::Result<bool> {
    if !ca_file.exists() {
        return Ok(false);
    }
    let client = client_for(kubeconfig).await?;
    let readyz = http::Request::get("/readyz").body(Vec::new())?;
    if client.request_text(readyz).await?.trim() != "ok" {
        return Ok(false);
    }
    Ok(Api::<Namespace>::all(client)
        .get_opt("default")
        .await?
        .is_some())
}

/// Polls `ready` until it returns true, failing with the server's log if it exits or the
/// deadline passes. Errors from `ready` count as "not yet".
pub(crate) async fn until_ready<F, Fut>(
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

pub(crate) fn etcd_command(bins: &Path, dir: &Path, port: u16, peer_port: u16) -> Command {
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
    cmd
}

pub(super) fn start_etcd(
    bins: &Path,
    dir: &Path,
    port: u16,
    peer_port: u16,
) -> anyhow::Result<ChildGuard> {
    spawn_supervised(&etcd_command(bins, dir, port, peer_port), "etcd", 0)
}

/// kube-apiserver on `port` over the etcd at `etcd_port`, with `extra` flags last (a later flag
/// wins over an earlier one of the same name).
pub(super) fn start_apiserver(
    bins: &Path,
    dir: &Path,
    etcd_port: u16,
    port: u16,
    extra: &[String],
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
        .arg("--allow-privileged=true")
        .args(extra);
    spawn_supervised(&cmd, "kube-apiserver", 0)
}

/// Writes the service-account signing key pair and the static token file of the admin.
pub(super) fn write_credentials(dir: &Path, token: &str) -> anyhow::Result<()> {
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

pub(crate) fn kubeconfig_yaml(server: &str, ca_file: &Path, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\n\
         clusters:\n- name: hipaa-testkit\n  cluster:\n    server: \"{server}\"\n    certificate-authority: \"{}\"\n\
         users:\n- name: hipaa-testkit-admin\n  user:\n    token: \"{token}\"\n\
         contexts:\n- name: hipaa-testkit\n  context:\n    cluster: hipaa-testkit\n    user: hipaa-testkit-admin\n    namespace: default\n\
         current-context: hipaa-testkit\n",
        ca_file.display()
    )
}

/// Three distinct free loopback ports (all bound at once, so the kernel cannot hand out one twice).
pub(crate) fn free_ports() -> anyhow::Result<[u16; 3]> {
    let bind = || -> anyhow::Result<TcpListener> {
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding 127.0.0.1:0 for a free port")
    };
    let listeners = [bind()?, bind()?, bind()?];
    let mut ports = [0; 3];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr()?.port();
    }
    Ok(ports)
}

pub(super) fn random_token() -> String {
    use std::hash::{BuildHasher, RandomState};
    let part = |salt: u64| RandomState::new().hash_one((salt, std::process::id()));
    format!("{:016x}{:016x}", part(1), part(2))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::control_plane::is_port_clash;
    use kube::config::Kubeconfig;

    #[tokio::test]
    async fn a_server_that_dies_during_start_up_is_reported_with_its_log() {
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "echo 'listen tcp 127.0.0.1:1: bind: address already in use' >&2; exit 3",
        ]);
        let mut server = spawn_supervised(&cmd, "doomed", 0).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let err = until_ready(&mut server, deadline, || async { Ok(false) })
            .await
            .unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("doomed exited during start-up"), "{text}");
        assert!(
            text.contains(&server.log_path().display().to_string()),
            "{text}"
        );
        assert!(is_port_clash(&err), "{text}");
    }

    #[tokio::test]
    async fn a_server_that_never_gets_ready_times_out_with_its_log() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo still warming up; sleep 30"]);
        let mut server = spawn_supervised(&cmd, "slow", 0).unwrap();
        server
            .wait_for_log("warming", Duration::from_secs(5))
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_millis(300);
        let err = until_ready(&mut server, deadline, || async {
            anyhow::bail!("connection refused")
        })
        .await
        .unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("slow was not ready in time"), "{text}");
        assert!(text.contains("connection refused"), "{text}");
        assert!(text.contains("still warming up"), "{text}");
        assert!(!is_port_clash(&err));
    }

    #[test]
    fn free_ports_are_distinct() {
        let [a, b, c] = free_ports().unwrap();
        assert!(a != b && b != c && a != c, "{a} {b} {c}");
    }

    #[test]
    fn the_kubeconfig_names_server_ca_and_token() {
        let yaml = kubeconfig_yaml(
            "https://127.0.0.1:6443",
            Path::new("/d/certs/apiserver.crt"),
            "tok",
        );
        let parsed = Kubeconfig::from_yaml(&yaml).unwrap();
        let cluster = parsed.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:6443"));
        assert_eq!(
            cluster.certificate_authority.as_deref(),
            Some("/d/certs/apiserver.crt")
        );
        assert!(
            parsed.auth_infos[0]
                .auth_info
                .as_ref()
                .unwrap()
                .token
                .is_some()
        );
        let raw: yaml_serde::Value = yaml_serde::from_str(&yaml).unwrap();
        assert_eq!(raw["users"][0]["user"]["token"], "tok");
        assert_eq!(parsed.current_context.as_deref(), Some("hipaa-testkit"));
    }
}
