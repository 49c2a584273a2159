//! The HipaaPolicy controller, run only while this replica leads: its own watch on policies
//! (spec changes only: status writes do not re-trigger it), re-queues from cluster changes
//! mapped to the policies they concern, coalesced per policy over `--debounce` (a change waits at
//! most that long, however busy the scope: [`crate::requeue`]), and a graceful stop when
//! leadership is lost or the process is asked to shut down. Watch errors never reach the
//! Controller (its trigger backoff would hold back every re-queue).

use std::sync::Arc;

use futures::{Stream, StreamExt, future, stream};
use hipaa_crds::HipaaPolicy;
use hipaa_runtime::watch::{CacheFreshness, watch_backoff, with_watch_backoff};
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, predicates, watcher};
use tokio::sync::{broadcast, watch};

use crate::context::Context;
use crate::observe::triggers::{Change, ScopeMemory, affected_policies};
use crate::reconcile::{error_policy, reconcile};
use crate::requeue::coalesce;

/// Runs the controller during each leadership term until `shutdown` turns true; its policy watch
/// records into `freshness`.
pub async fn run_while_leading(
    ctx: Context,
    mut leader: watch::Receiver<bool>,
    mut shutdown: watch::Receiver<bool>,
    freshness: Arc<CacheFreshness>,
) {
    loop {
        tokio::select! {
            biased;
            _ = shutdown.wait_for(|stop| *stop) => return,
            result = leader.wait_for(|leading| *leading) => {
                if result.is_err() {
                    return;
                }
            }
        }
        tracing::info!("starting the HipaaPolicy controller");
        let mut lost = leader.clone();
        let mut stop = shutdown.clone();
        let stopped = async move {
            tokio::select! {
                _ = lost.wait_for(|leading| !*leading) => {}
                _ = stop.wait_for(|stop| *stop) => {}
            }
        };
        run_term(&ctx, stopped, &freshness).await;
        tracing::info!("the HipaaPolicy controller stopped");
        if *shutdown.borrow() {
            return;
        }
    }
}

/// One leadership term: a fresh policy watch, fresh memories, until `stopped` resolves.
async fn run_term(
    ctx: &Context,
    stopped: impl std::future::Future<Output = ()> + Send + Sync + 'static,
    freshness: &CacheFreshness,
) {
    let api: Api<HipaaPolicy> = Api::all(ctx.client.clone());
    let mut config = watcher::Config::default().any_semantic();
    if let Some(selector) = &ctx.settings.policy_selector {
        config = config.labels(selector);
    }
    let (reader, writer) = reflector::store();
    // The Controller builds no watch of its own (for_stream, reconcile_on), but it backs off
    // its whole trigger stream after every error it sees, the re-queues from cluster changes
    // included, with kube-runtime's default (up to a minute). So the policy watch backs off
    // itself and its errors stop here; the Controller's trigger backoff is the shared one too.
    let fresh = freshness.watch("hipaapolicies");
    let policies = with_watch_backoff(watcher(api, config))
        .reflect(writer)
        .inspect(move |event| fresh.observe(event))
        .applied_objects()
        .predicate_filter(predicates::generation, Default::default())
        .filter_map(|policy| {
            future::ready(match policy {
                Ok(policy) => Some(Ok(policy)),
                Err(error) => {
                    tracing::warn!(error = %hipaa_controls::redact::Redacted(&error), "the policy watch failed; retrying with backoff");
                    None
                }
            })
        });
    let triggers = coalesce(
        policy_triggers(
            ctx.changes.subscribe(),
            reader.clone(),
            ctx.stores.namespaces.clone(),
            ctx.scopes.clone(),
        ),
        ctx.settings.debounce,
    );
    let term = Arc::new(ctx.for_term(reader.clone()));
    // No kube debounce: it restarts its wait at every request, so a scope that changes faster
    // than it would never be reconciled (found by the soak, docs/reliability.md).
    let config = ControllerConfig::default().concurrency(ctx.settings.concurrency);
    Controller::for_stream(policies, reader)
        .with_config(config)
        .trigger_backoff(watch_backoff())
        .reconcile_on(triggers)
        .graceful_shutdown_on(stopped)
        .run(reconcile, error_policy, term)
        .for_each(|result| {
            if let Err(error) = result {
                tracing::debug!(error = %hipaa_controls::redact::Redacted(&error), "controller");
            }
            future::ready(())
        })
        .await;
}

/// Cluster changes as re-queue requests for the policies they concern. A lagging receiver (a
/// burst larger than the channel) re-queues every policy rather than miss one.
fn policy_triggers(
    changes: broadcast::Receiver<Change>,
    policies: Store<HipaaPolicy>,
    namespaces: Store<Namespace>,
    scopes: Arc<ScopeMemory>,
) -> impl Stream<Item = ObjectRef<HipaaPolicy>> + Send + 'static {
    stream::unfold(changes, |mut changes| async move {
        match changes.recv().await {
            Ok(change) => Some((change, changes)),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::debug!(
                    missed,
                    "change notifications lagged; re-queueing every policy"
                );
                Some((Change::ClusterWide, changes))
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    })
    .flat_map(move |change| {
        let namespace = match &change {
            Change::Namespace(name) => namespaces.get(&ObjectRef::new(name)),
            Change::ClusterWide => None,
        };
        stream::iter(affected_policies(
            &change,
            &policies.state(),
            namespace.as_deref(),
            &scopes,
        ))
    })
}
