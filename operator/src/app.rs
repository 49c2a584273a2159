//! Wiring of the operator process: the client and CRD check, the watch caches, the admin server,
//! leader election, the controller, and an orderly shutdown on SIGTERM or SIGINT (finish running
//! reconciles, release the Lease, stop serving).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hipaa_crds::HipaaPolicy;
use hipaa_runtime::admin::Readiness;
use hipaa_runtime::watch::CacheFreshness;
use hipaa_runtime::{AdminServer, ServeOptions, shutdown_signal};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::ListParams;
use kube::runtime::events::Reporter;
use kube::{Api, Client};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};

use crate::admission::args::CertificateSource;
use crate::admission::bundle::BundleSource;
use crate::admission::register::Registrar;
use crate::admission::status::RegistrationStatus;
use crate::aws::{AwsCollector, AwsSnapshots};
use crate::certificates::{CertificateManager, CertificateMetrics};
use crate::cli::Args;
use crate::context::{Context, ControllerSettings};
use crate::controller::run_while_leading;
use crate::decide::event_budget::BudgetLimits;
use crate::history::HistoryWriter;
use crate::history::s3::HistoryS3;
use crate::leader::{LeaseSettings, run_election};
use crate::metrics::Metrics;
use crate::observe::stores::Reflectors;
use crate::observe::velero;
use crate::reports::write::ReportWriter;
use crate::write::events::EventSink;
use crate::write::status::FIELD_MANAGER;

/// What to tell users whose cluster lacks the CRD.
pub const CRD_MISSING: &str = "the HipaaPolicy CRD is not installed: helm upgrade --install the chart \
     (crds.install=true), or kubectl apply --server-side -f charts/hipaa-guard/files/hipaaguard.io_hipaapolicies.yaml";

/// How many change notifications may wait for the controller before it re-queues everything.
const CHANGE_BUFFER: usize = 4096;

/// Runs the operator until a shutdown signal, looking up linked AWS resources through the
/// default AWS configuration chain.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let aws = Arc::new(
        AwsCollector::new(args.aws_call_settings()).with_rediscovery(args.integration_rediscovery),
    );
    run_with_aws(args, aws).await
}

/// Runs the operator with the given AWS snapshot provider.
pub async fn run_with_aws(args: Args, aws: Arc<dyn AwsSnapshots>) -> anyhow::Result<()> {
    // The admin port sheds idle connections at its cap (as the webhook's do); without this the
    // default soft limit (often 1,024) would refuse accepts first.
    match hipaa_runtime::raise_open_files_limit() {
        Ok(limits) => tracing::info!(soft = ?limits.soft, hard = ?limits.hard, "open-files limit"),
        Err(error) => tracing::warn!(%error, "cannot raise the open-files limit"),
    }
    let client = Client::try_default()
        .await
        .context("no usable Kubernetes configuration (kubeconfig or in-cluster)")?;
    check_crd(&client).await?;
    let velero = velero::discover(&client)
        .await
        .context("discovering the Velero Schedule API")?;
    if velero.is_none() {
        tracing::info!(
            "the Velero Schedule CRD is not installed; backup coverage relies on StorageClass tags until it is"
        );
    }

    let (shutdown_tx, shutdown) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = shutdown_tx.send(true);
    });

    let mut metrics = Metrics::new();
    aws.register_metrics(metrics.registry_mut());
    let reports = Arc::new(ReportWriter::new(client.clone(), args.policy_reports));
    reports.register_metrics(metrics.registry_mut());
    let history = history_writer(&args, &client).await?;
    if let Some(writer) = &history {
        writer.register_metrics(metrics.registry_mut());
    }
    let registration = registration(&args, &client, metrics.registry_mut())?;
    let admission = registration.as_ref().map(|r| Arc::clone(&r.status));
    if let Some(status) = &admission {
        status.register_metrics(metrics.registry_mut());
    }
    let freshness = Arc::new(CacheFreshness::new());
    metrics
        .registry_mut()
        .register_collector(Box::new(freshness.collector()));
    let caches_synced = Arc::new(AtomicBool::new(false));
    let readiness = CacheReadiness {
        synced: Arc::clone(&caches_synced),
        freshness: Arc::clone(&freshness),
        stale_after: args.cache_stale_after,
    };
    export_readiness(&mut metrics, &readiness, admission.clone());
    let metrics = Arc::new(metrics);
    let listener = TcpListener::bind(args.admin_listen)
        .await
        .with_context(|| format!("binding the admin server to {}", args.admin_listen))?;
    tracing::info!(address = %args.admin_listen, "admin server listening");
    let admin = admin_server(Arc::clone(&metrics), readiness, admission);
    let mut admin_stop = shutdown.clone();
    let admin_task = tokio::spawn(admin.serve(listener, ServeOptions::default(), async move {
        let _ = admin_stop.wait_for(|stop| *stop).await;
    }));

    let (changes, _) = broadcast::channel(CHANGE_BUFFER);
    let reflectors = Reflectors::start(
        &client,
        velero,
        changes.clone(),
        args.integration_rediscovery,
        Arc::clone(&freshness),
    );
    aws.start(&client, &changes).await;

    let identity = args.identity();
    let (leader_tx, leader) = watch::channel(!args.leader_elect);
    // Without election the sender stays alive (and true) for the whole run.
    let mut constant_leadership = None;
    let election = if args.leader_elect {
        let settings = LeaseSettings {
            name: args.lease_name.clone(),
            namespace: args.lease_namespace.clone(),
            identity: identity.clone(),
            lease_duration: args.lease_duration,
            renew_interval: args.lease_renew_interval,
            retry_interval: args
                .lease_renew_interval
                .min(std::time::Duration::from_secs(2)),
        };
        tracing::info!(%identity, lease = %settings.name, namespace = %settings.namespace, "leader election on");
        let api: Api<Lease> = Api::namespaced(client.clone(), &settings.namespace);
        Some(tokio::spawn(run_election(
            api,
            settings,
            leader_tx,
            shutdown.clone(),
        )))
    } else {
        constant_leadership = Some(leader_tx);
        None
    };
    tokio::spawn(export_leadership(leader.clone(), metrics.clone()));
    if let Some(registrar) = registration {
        tokio::spawn(registrar.run(leader.clone(), shutdown.clone()));
    }

    let mut stop = shutdown.clone();
    tokio::select! {
        synced = reflectors.wait_until_synced(caches_synced.clone()) => {
            synced.context("a watch cache stopped before syncing")?;
            tracing::info!("watch caches synced");
        }
        _ = stop.wait_for(|stop| *stop) => {}
    }

    let reporter = Reporter {
        controller: FIELD_MANAGER.to_string(),
        instance: Some(identity),
    };
    let events = Arc::new(EventSink::new(
        client.clone(),
        reporter,
        BudgetLimits {
            violation_burst: args.event_burst,
            violation_rate: args.event_rate,
            repeat_burst: args.event_repeat_burst,
            repeat_interval: args.event_repeat_interval,
        },
        metrics.clone(),
    ));
    let settings = ControllerSettings {
        debounce: args.debounce,
        concurrency: args.concurrency,
        policy_selector: args.policy_selector.clone(),
    };
    let mut ctx = Context::new(
        client,
        reflectors.stores.clone(),
        metrics,
        events,
        aws,
        changes,
        settings,
    )
    .with_reports(reports);
    if let Some(writer) = history {
        ctx = ctx.with_history(writer);
    }
    if !*shutdown.borrow() {
        run_while_leading(ctx, leader, shutdown.clone(), freshness).await;
    }
    if let Some(election) = election {
        let _ = election.await;
    }
    let _ = admin_task.await;
    drop(constant_leadership);
    drop(reflectors);
    tracing::info!("shut down");
    Ok(())
}

/// The evidence history's writer when --history-s3-uri is set; its bucket's Object Lock is read
/// now, and again after any failed write.
async fn history_writer(
    args: &Args,
    client: &Client,
) -> anyhow::Result<Option<Arc<HistoryWriter>>> {
    let Some(settings) = args.history.settings()? else {
        return Ok(None);
    };
    let s3 = HistoryS3::from_default_chain(settings.region.as_deref()).await;
    let writer = HistoryWriter::new(s3, settings, client.clone());
    writer.check_bucket().await;
    Ok(Some(Arc::new(writer)))
}

/// Fails with [`CRD_MISSING`] when the API server does not serve HipaaPolicies.
async fn check_crd(client: &Client) -> anyhow::Result<()> {
    let api: Api<HipaaPolicy> = Api::all(client.clone());
    match api.list(&ListParams::default().limit(1)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => bail!(CRD_MISSING),
        Err(error) => {
            Err(error).context("listing HipaaPolicies to check that the CRD is installed")
        }
    }
}

/// The registration of the webhook configuration, when --webhook-configuration names one.
fn registration(
    args: &Args,
    client: &Client,
    registry: &mut prometheus_client::registry::Registry,
) -> anyhow::Result<Option<Registrar>> {
    let admission = &args.admission;
    if !admission.enabled() {
        return Ok(None);
    }
    let (registration, probe_via) = admission
        .registration(&args.lease_namespace)
        .context("the webhook registration flags")?;
    let source = match admission.certificates {
        CertificateSource::Managed => {
            let service = admission
                .webhook_service
                .as_deref()
                .unwrap_or("hipaa-guard-webhook");
            let config = args
                .certificates
                .config(service, &args.lease_namespace)
                .context("the webhook certificate flags")?;
            let metrics = CertificateMetrics::new();
            metrics.register(registry);
            let reporter = Reporter {
                controller: FIELD_MANAGER.to_string(),
                instance: Some(args.identity()),
            };
            let mut manager = CertificateManager::new(client.clone(), config)
                .context("the webhook certificate settings")?
                .with_metrics(metrics)
                .with_events(reporter);
            if let Some(service) = &admission.webhook_service {
                manager = manager.owned_by_service(service);
            }
            BundleSource::Managed(Box::new(manager))
        }
        CertificateSource::File => {
            BundleSource::File(admission.ca_bundle_file.clone().unwrap_or_default())
        }
        CertificateSource::Secret => BundleSource::Secret {
            api: Box::new(Api::namespaced(client.clone(), &args.lease_namespace)),
            name: admission.ca_bundle_secret.clone().unwrap_or_default(),
        },
    };
    Ok(Some(Registrar {
        client: client.clone(),
        registration,
        probe_via,
        owner: admission.webhook_configuration_owner.clone(),
        source,
        interval: admission.registration_interval,
        status: Arc::new(RegistrationStatus::new()),
        policy_selector: args.policy_selector.clone(),
    }))
}

/// What readiness knows of the watch caches.
#[derive(Clone)]
struct CacheReadiness {
    /// Every cache has listed once.
    synced: Arc<AtomicBool>,
    /// Since when each has been out of sync.
    freshness: Arc<CacheFreshness>,
    /// `--cache-stale-after`.
    stale_after: Duration,
}

/// The admin port (/healthz, /readyz, /metrics): ready once every watch cache has synced and,
/// when the operator registers admission, once the webhook configuration is in place (so that
/// `helm install --wait` returns only when applies are judged); not ready while a cache has been
/// out of sync for longer than `--cache-stale-after`. With leader election a standby replica is
/// ready too: its caches are warm and it can take over at once.
fn admin_server(
    metrics: Arc<Metrics>,
    caches: CacheReadiness,
    admission: Option<Arc<RegistrationStatus>>,
) -> AdminServer {
    AdminServer::new(
        move || readiness(&caches, admission.as_deref()),
        move || metrics.encode(),
    )
}

/// What `/readyz` answers (see [`admin_server`]).
fn readiness(caches: &CacheReadiness, admission: Option<&RegistrationStatus>) -> Readiness {
    if !caches.synced.load(Ordering::Acquire) {
        return Err("watch caches not synced yet".to_owned());
    }
    caches
        .freshness
        .readiness(caches.stale_after, Instant::now())?;
    admission.map_or(Ok(()), |status| status.readiness())
}

/// `ready` and `caches_synced` for the alerts (docs/alerts.md): what `/readyz` answers and
/// whether every watch cache has listed once, both asked at each scrape.
fn export_readiness(
    metrics: &mut Metrics,
    caches: &CacheReadiness,
    admission: Option<Arc<RegistrationStatus>>,
) {
    let synced = Arc::clone(&caches.synced);
    metrics.export_condition(
        "caches_synced",
        "1 once every watch cache has listed its resources",
        move || synced.load(Ordering::Acquire),
    );
    let caches = caches.clone();
    metrics.export_condition(
        "ready",
        "1 while /readyz answers ready (caches synced and fresh, admission registered when the operator registers it)",
        move || readiness(&caches, admission.as_deref()).is_ok(),
    );
}

async fn export_leadership(mut leader: watch::Receiver<bool>, metrics: Arc<Metrics>) {
    loop {
        metrics.set_leader(*leader.borrow_and_update());
        if leader.changed().await.is_err() {
            metrics.set_leader(*leader.borrow());
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use http::{Method, StatusCode};

    #[test]
    fn readiness_follows_the_caches_and_metrics_carry_the_operator_series() {
        let synced = Arc::new(AtomicBool::new(false));
        let freshness = Arc::new(CacheFreshness::new());
        let caches = CacheReadiness {
            synced: Arc::clone(&synced),
            freshness: Arc::clone(&freshness),
            stale_after: Duration::from_secs(60),
        };
        let mut metrics = Metrics::new();
        export_readiness(&mut metrics, &caches, None);
        let admin = admin_server(Arc::new(metrics), caches, None);
        let scrape = || {
            let metrics = admin.respond(&Method::GET, "/metrics");
            assert_eq!(metrics.status(), StatusCode::OK);
            String::from_utf8(metrics.body().to_vec()).unwrap()
        };
        let ready = admin.respond(&Method::GET, "/readyz");
        assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(&ready.body()[..], b"watch caches not synced yet\n");
        let text = scrape();
        assert!(text.contains("\nhipaaguard_operator_ready 0\n"), "{text}");
        assert!(
            text.contains("\nhipaaguard_operator_caches_synced 0\n"),
            "{text}"
        );
        synced.store(true, Ordering::Release);
        assert_eq!(
            admin.respond(&Method::GET, "/readyz").status(),
            StatusCode::OK
        );
        let text = scrape();
        assert!(text.contains("\nhipaaguard_operator_ready 1\n"), "{text}");
        assert!(
            text.contains("\nhipaaguard_operator_caches_synced 1\n"),
            "{text}"
        );
        assert!(text.contains("hipaaguard_operator_leader"), "{text}");
        assert!(text.contains("hipaaguard_operator_build_info"), "{text}");
    }
}
