//! `hipaa-webhook`: wires the watch caches, the reloading TLS certificate, the review port and
//! the admin port together, and shuts down gracefully on SIGTERM or SIGINT.

use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use hipaa_webhook::config::{Args, LogFormat};
use hipaa_webhook::tls::{ReloadingCertResolver, server_config};
use hipaa_webhook::{
    Exemptions, Metrics, Snapshot, SnapshotCell, SyncState, Webhook, admin_router, caches, router,
    serve,
};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// The review path parses every object into k8s-openapi types, which allocates a lot; mimalloc
/// serves those small, short-lived allocations faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    init_tracing(args.log_format);
    // kube's client and our server both use ring; make it the process default explicitly.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let resolver = ReloadingCertResolver::load(&args.tls_cert, &args.tls_key)
        .context("loading --tls-cert/--tls-key")?;
    let tls = TlsAcceptor::from(server_config(Arc::clone(&resolver))?);
    let client = kube_client(&args).await?;

    let metrics = Arc::new(Metrics::new());
    let snapshots = Arc::new(SnapshotCell::new(Snapshot::starting()));
    let sync = Arc::new(SyncState::new());
    let mut tasks = JoinSet::new();
    caches::start(
        client,
        Arc::clone(&snapshots),
        Arc::clone(&sync),
        Arc::clone(&metrics),
        &mut tasks,
    );
    tasks.spawn(Arc::clone(&resolver).watch(args.cert_reload_interval, Arc::clone(&metrics)));

    let exempt = args.exempt();
    let webhook = Arc::new(Webhook::new(
        Arc::clone(&snapshots),
        Exemptions::new(exempt.iter().cloned()),
        Arc::clone(&metrics),
        args.limits(),
    ));
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding --listen {}", args.listen))?;
    let admin_listener = TcpListener::bind(args.admin_listen)
        .await
        .with_context(|| format!("binding --admin-listen {}", args.admin_listen))?;
    tracing::info!(listen = %args.listen, admin_listen = %args.admin_listen, exempt_namespaces = ?exempt,
        "serving POST /validate over TLS; /healthz, /readyz and /metrics over plain HTTP");

    let (stop, stopped) = watch::channel(false);
    let shutdown_delay = args.shutdown_delay;
    let draining = Arc::clone(&sync);
    tokio::spawn(async move {
        wait_for_signal().await;
        // Readiness fails first and reviews are still answered, so that no apply meets a closed
        // port while the endpoints still name this pod (a rolling upgrade, a deleted pod).
        draining.start_draining();
        tracing::info!(delay = ?shutdown_delay, "shutdown signal received; draining");
        tokio::time::sleep(shutdown_delay).await;
        let _ = stop.send(true);
    });
    let options = args.serve_options();
    let reviews = serve::serve(
        listener,
        Some(tls),
        warp::service(router(webhook)),
        options,
        until(stopped.clone()),
    );
    let admin = serve::serve(
        admin_listener,
        None,
        warp::service(admin_router(snapshots, sync, metrics)),
        options,
        until(stopped),
    );
    tokio::join!(reviews, admin);
    tasks.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

async fn until(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

async fn wait_for_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(err) => {
            tracing::error!(error = %err, "cannot listen for SIGTERM; only SIGINT stops the webhook");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

async fn kube_client(args: &Args) -> anyhow::Result<kube::Client> {
    let config = match &args.kubeconfig {
        Some(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading --kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(
                kubeconfig,
                &kube::config::KubeConfigOptions::default(),
            )
            .await?
        }
        None => kube::Config::infer()
            .await
            .context("inferring the Kubernetes configuration")?,
    };
    kube::Client::try_from(config).context("building the Kubernetes client")
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}
