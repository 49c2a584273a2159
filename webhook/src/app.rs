//! Wiring of the webhook process: the reloading TLS certificate (files or a watched Secret), the Kubernetes client and the
//! watch caches, the review port and the admin port, and the shutdown on SIGTERM or SIGINT:
//! `/readyz` fails first, reviews are still answered for `--shutdown-delay` (each answer asking the
//! API server to close its connection), then both ports stop accepting and drain their in-flight
//! requests.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hipaa_runtime::serve::{ConnectionStats, Lifecycle, serve_with};
use hipaa_runtime::shutdown_signal;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::config::Args;
use crate::routes::readiness;
use crate::tls::{ReloadingCertResolver, TlsError, server_config};
use crate::tls_secret::SecretCertResolver;
use crate::{
    Exemptions, Metrics, Snapshot, SnapshotCell, SyncState, Webhook, admin_server, caches, router,
};

/// Why the webhook could not start. Once it serves, nothing stops it but a signal.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("loading --tls-cert/--tls-key")]
    Certificate(#[source] TlsError),
    #[error("--tls-secret needs the webhook's namespace: set --own-namespace (POD_NAMESPACE)")]
    NoNamespace,
    #[error("no certificate: give --tls-cert and --tls-key, or --tls-secret")]
    NoCertificateSource,
    /// Its message already says "building the TLS configuration".
    #[error(transparent)]
    TlsConfig(TlsError),
    #[error("reading --kubeconfig {path}")]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("inferring the Kubernetes configuration")]
    InferConfig(#[source] kube::config::InferConfigError),
    #[error("building the Kubernetes client")]
    Client(#[source] kube::Error),
    #[error("binding {flag} {addr}")]
    Bind {
        flag: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Runs the webhook until a shutdown signal has been handled and both ports have drained.
pub async fn run(args: Args) -> Result<(), StartError> {
    // Every connection is a file: without this the default soft limit (often 1,024) would stop
    // the ports long before their connection caps.
    match hipaa_runtime::raise_open_files_limit() {
        Ok(limits) => tracing::info!(soft = ?limits.soft, hard = ?limits.hard, "open-files limit"),
        Err(error) => tracing::warn!(%error, "cannot raise the open-files limit"),
    }
    let files = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            Some(ReloadingCertResolver::load(cert, key).map_err(StartError::Certificate)?)
        }
        _ => None,
    };
    let client = kube_client(&args).await?;

    let sync = Arc::new(SyncState::with_stale_after(args.cache_stale_after));
    let snapshots = Arc::new(SnapshotCell::new(Snapshot::starting()));
    let mut metrics = Metrics::new();
    metrics.export_freshness(sync.freshness());
    let connections = Arc::new(ConnectionStats::default());
    metrics.export_connections(Arc::clone(&connections));
    let (ready_snapshots, ready_sync) = (Arc::clone(&snapshots), Arc::clone(&sync));
    metrics.export_readiness(move || readiness(&ready_snapshots, &ready_sync).is_ok());
    let metrics = Arc::new(metrics);
    let mut tasks = JoinSet::new();
    let config = match (files, &args.tls_secret) {
        (Some(files), _) => {
            metrics.served_certificate(crate::tls::not_after(&files.current()));
            tasks.spawn(Arc::clone(&files).watch(args.cert_reload_interval, Arc::clone(&metrics)));
            server_config(files)
        }
        (None, Some(name)) => {
            let namespace = args.own_namespace().ok_or(StartError::NoNamespace)?;
            let secret = SecretCertResolver::new(&namespace, name);
            sync.await_certificate();
            tasks.spawn(Arc::clone(&secret).watch(
                client.clone(),
                Arc::clone(&metrics),
                Arc::clone(&sync),
            ));
            server_config(secret)
        }
        (None, None) => return Err(StartError::NoCertificateSource),
    };
    let tls = TlsAcceptor::from(config.map_err(StartError::TlsConfig)?);
    caches::start(
        client,
        Arc::clone(&snapshots),
        Arc::clone(&sync),
        Arc::clone(&metrics),
        &mut tasks,
    );

    let exempt = args.exempt();
    let webhook = Arc::new(Webhook::new(
        Arc::clone(&snapshots),
        Exemptions::new(exempt.iter().cloned()),
        Arc::clone(&metrics),
        args.limits(),
    ));
    let listener = bind("--listen", args.listen).await?;
    let admin_listener = bind("--admin-listen", args.admin_listen).await?;
    tracing::info!(listen = %args.listen, admin_listen = %args.admin_listen, exempt_namespaces = ?exempt,
        "serving POST /validate over TLS; /healthz, /readyz and /metrics over plain HTTP");

    let (phase, phases) = watch::channel(Phase::Serving);
    tokio::spawn(drain_after(
        shutdown_signal(),
        Arc::clone(&sync),
        args.shutdown_delay,
        phase,
    ));
    let options = args.serve_options();
    let reviews = serve_with(
        listener,
        Some(tls),
        warp::service(router(webhook, {
            let (snapshots, sync) = (Arc::clone(&snapshots), Arc::clone(&sync));
            move || readiness(&snapshots, &sync)
        })),
        options,
        Lifecycle {
            notice: reached(phases.clone(), Phase::Draining),
            shutdown: reached(phases.clone(), Phase::Stopped),
            stats: connections,
        },
    );
    let admin = admin_server(snapshots, sync, metrics).serve(
        admin_listener,
        args.admin_serve_options(),
        reached(phases, Phase::Stopped),
    );
    tokio::join!(reviews, admin);
    tasks.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

/// Where the ports are in the shutdown, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Serving,
    /// `/readyz` fails and reviews are still answered, each asking its client to close the
    /// connection: the API server keeps keep-alive connections to this pod in its pool after the
    /// endpoints have moved away, and must drop them itself before the port closes them.
    Draining,
    /// Both ports stop accepting and finish their in-flight requests.
    Stopped,
}

/// After `signal` (SIGTERM or SIGINT): readiness fails first and reviews are still answered for
/// `delay`, so that no apply meets a closed port while the endpoints still name this pod (a
/// rolling upgrade, a deleted pod); then both ports stop accepting and drain.
async fn drain_after(
    signal: impl Future<Output = ()>,
    sync: Arc<SyncState>,
    delay: Duration,
    phase: watch::Sender<Phase>,
) {
    signal.await;
    sync.start_draining();
    let _ = phase.send(Phase::Draining);
    tracing::info!(delay = ?delay, "draining: /readyz fails, reviews are still answered");
    tokio::time::sleep(delay).await;
    let _ = phase.send(Phase::Stopped);
}

/// Resolves once the shutdown has reached `wanted` (or its sender is gone).
async fn reached(mut phases: watch::Receiver<Phase>, wanted: Phase) {
    let _ = phases.wait_for(|phase| *phase >= wanted).await;
}

async fn bind(flag: &'static str, addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { flag, addr, source })
}

/// The client from `--kubeconfig`, or configured as kubectl would be (KUBECONFIG,
/// ~/.kube/config, then the in-cluster service account).
async fn kube_client(args: &Args) -> Result<kube::Client, StartError> {
    let config = match &args.kubeconfig {
        Some(path) => {
            let kubeconfig_error = |source| StartError::Kubeconfig {
                path: path.clone(),
                source,
            };
            let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(kubeconfig_error)?;
            kube::Config::from_custom_kubeconfig(
                kubeconfig,
                &kube::config::KubeConfigOptions::default(),
            )
            .await
            .map_err(kubeconfig_error)?
        }
        None => kube::Config::infer()
            .await
            .map_err(StartError::InferConfig)?,
    };
    kube::Client::try_from(config).map_err(StartError::Client)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[tokio::test]
    async fn a_signal_fails_readiness_at_once_and_stops_the_ports_after_the_delay() {
        let sync = Arc::new(SyncState::all_synced());
        let (phase, phases) = watch::channel(Phase::Serving);
        let (signal, received) = tokio::sync::oneshot::channel::<()>();
        let delay = Duration::from_millis(300);
        let drain = tokio::spawn(drain_after(
            async {
                let _ = received.await;
            },
            Arc::clone(&sync),
            delay,
            phase,
        ));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!sync.is_draining(), "nothing happens before the signal");
        assert_eq!(*phases.borrow(), Phase::Serving);

        let signalled = std::time::Instant::now();
        signal.send(()).unwrap();
        tokio::time::timeout(
            Duration::from_secs(1),
            reached(phases.clone(), Phase::Draining),
        )
        .await
        .expect("notice is given at once");
        assert!(sync.is_draining(), "readiness fails at once");
        assert_eq!(
            *phases.borrow(),
            Phase::Draining,
            "the ports still serve during the delay"
        );

        reached(phases.clone(), Phase::Stopped).await;
        assert!(signalled.elapsed() >= delay, "{:?}", signalled.elapsed());
        drain.await.unwrap();
    }
}
