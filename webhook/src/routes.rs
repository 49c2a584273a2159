//! The warp routers: `POST /validate` (and `GET /readyz`) on the TLS port, and the shared admin
//! server (`/healthz`, `/readyz`, `/metrics`) on the plain-HTTP admin port, ready when every watch
//! cache has synced and not any more once draining. Tests drive both without sockets (`warp::test`).

use std::convert::Infallible;
use std::sync::Arc;

use hipaa_runtime::AdminServer;
use hipaa_runtime::admin::{Answer, Readiness};
use http::{HeaderMap, Method};
use warp::Filter;

use crate::handler::Webhook;
use crate::metrics::Metrics;
use crate::refusal::Refusal;
use crate::snapshot::SnapshotCell;
use crate::sync::SyncState;
use crate::wire::{HttpAnswer, plain};

const REVIEW_PORT_SERVES: &str = "POST /validate and GET /readyz";

/// The review port's router. Every request gets an answer; nothing is left to warp's rejections.
/// `GET /readyz` answers as the admin port's does: the operator registers the webhook
/// configuration only once it gets a 200 here, over TLS with the CA bundle it is about to
/// register, which proves the whole path the API server will take (Service, certificate, caches).
pub fn router(
    webhook: Arc<Webhook>,
    ready: impl Fn() -> Readiness + Clone + Send + Sync + 'static,
) -> impl Filter<Extract = (HttpAnswer,), Error = Infallible> + Clone + Send + Sync + 'static {
    let metrics = Arc::clone(&webhook.metrics);
    let readyz = warp::path("readyz")
        .and(warp::path::end())
        .and(warp::get())
        .map(move || match ready() {
            Ok(()) => plain(http::StatusCode::OK, "ok"),
            Err(reason) => plain(http::StatusCode::SERVICE_UNAVAILABLE, &reason),
        });
    let validate = warp::path("validate")
        .and(warp::path::end())
        .and(warp::method())
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .then(move |method: Method, headers: HeaderMap, body| {
            let webhook = Arc::clone(&webhook);
            async move {
                if method != Method::POST {
                    let refusal = Refusal::MethodNotAllowed { allowed: "POST" };
                    return refusal.answer(&webhook.metrics);
                }
                webhook.handle(&headers, body).await
            }
        });
    // A 404 here is a webhook configuration with the wrong path: counted, so that it shows.
    let not_found = warp::any().map(move || {
        Refusal::NotFound {
            serves: REVIEW_PORT_SERVES,
        }
        .answer(&metrics)
    });
    readyz.or(validate).unify().or(not_found).unify()
}

/// The admin port's server: ready once every watch cache has synced, until draining starts.
pub fn admin_server(
    snapshots: Arc<SnapshotCell>,
    sync: Arc<SyncState>,
    metrics: Arc<Metrics>,
) -> AdminServer {
    AdminServer::new(
        move || readiness(&snapshots, &sync),
        move || Ok(metrics.encode()),
    )
}

/// The admin port's router (the [`admin_server`]'s routes).
pub fn admin_router(
    snapshots: Arc<SnapshotCell>,
    sync: Arc<SyncState>,
    metrics: Arc<Metrics>,
) -> impl Filter<Extract = (Answer,), Error = Infallible> + Clone + Send + Sync + 'static {
    admin_server(snapshots, sync, metrics).routes()
}

/// Not ready while draining after SIGTERM, nor before the serving certificate and the first
/// complete snapshot, nor while a cache has been out of sync for longer than
/// `--cache-stale-after` (a shorter outage is answered from the caches: not being ready removes
/// the endpoints, and with failurePolicy Fail that refuses every judged request).
pub fn readiness(snapshots: &SnapshotCell, sync: &SyncState) -> Readiness {
    if sync.is_draining() {
        return Err("not ready: shutting down".to_owned());
    }
    if sync.is_certificate_pending() {
        return Err("not ready: waiting for the serving certificate".to_owned());
    }
    if snapshots.load().synced {
        return sync.staleness();
    }
    let waiting = sync.unsynced().join(", ");
    Err(if waiting.is_empty() {
        "not ready: building the first cluster snapshot".to_owned()
    } else {
        format!("not ready: waiting for the watch caches of {waiting}")
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::decide::Exemptions;
    use crate::handler::Limits;
    use crate::snapshot::Snapshot;
    use http::StatusCode;

    fn bad_requests(metrics: &Metrics, reason: &str) -> bool {
        let series = format!("hipaaguard_webhook_bad_requests_total{{reason=\"{reason}\"}} 1");
        metrics.encode().contains(&series)
    }

    #[tokio::test]
    async fn a_404_on_the_review_port_counts_but_one_on_the_admin_port_does_not() {
        let snapshots = Arc::new(SnapshotCell::new(Snapshot::starting()));
        let metrics = Arc::new(Metrics::new());
        let webhook = Arc::new(Webhook::new(
            Arc::clone(&snapshots),
            Exemptions::default(),
            Arc::clone(&metrics),
            Limits::default(),
        ));
        let reviews = router(webhook, || Ok(()));
        let admin = admin_router(snapshots, Arc::new(SyncState::new()), Arc::clone(&metrics));

        let missed = warp::test::request().path("/mutate").reply(&admin).await;
        assert_eq!(missed.status(), StatusCode::NOT_FOUND);
        assert!(!bad_requests(&metrics, "not_found"), "admin 404 counted");

        let missed = warp::test::request()
            .method("POST")
            .path("/mutate")
            .reply(&reviews)
            .await;
        assert_eq!(missed.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            &missed.body()[..],
            b"not found; this port serves POST /validate and GET /readyz\n"
        );
        assert!(bad_requests(&metrics, "not_found"));
    }
}
