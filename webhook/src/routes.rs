//! The warp routers: `POST /validate` on the TLS port, and `/healthz`, `/readyz`, `/metrics` on
//! the plain-HTTP admin port. Tests drive both without sockets through `warp::test`.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, header};
use warp::Filter;

use crate::handler::Webhook;
use crate::metrics::Metrics;
use crate::refusal::Refusal;
use crate::snapshot::SnapshotCell;
use crate::sync::SyncState;
use crate::wire::{HttpAnswer, plain};

const REVIEW_PORT_SERVES: &str = "POST /validate";

/// The review port's router. Every request gets an answer; nothing is left to warp's rejections.
pub fn router(
    webhook: Arc<Webhook>,
) -> impl Filter<Extract = (HttpAnswer,), Error = Infallible> + Clone + Send + Sync + 'static {
    let metrics = Arc::clone(&webhook.metrics);
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
    validate.or(not_found).unify()
}

/// The admin port's router.
pub fn admin_router(
    snapshots: Arc<SnapshotCell>,
    sync: Arc<SyncState>,
    metrics: Arc<Metrics>,
) -> impl Filter<Extract = (HttpAnswer,), Error = Infallible> + Clone + Send + Sync + 'static {
    let healthz = warp::path("healthz")
        .and(warp::path::end())
        .map(|| plain(StatusCode::OK, "ok"));
    let readyz = warp::path("readyz").and(warp::path::end()).map(move || {
        let snapshot = snapshots.load();
        if sync.is_draining() {
            plain(StatusCode::SERVICE_UNAVAILABLE, "not ready: shutting down")
        } else if snapshot.synced {
            plain(StatusCode::OK, "ready")
        } else {
            let waiting = sync.unsynced().join(", ");
            let text = if waiting.is_empty() {
                "not ready: building the first cluster snapshot".to_owned()
            } else {
                format!("not ready: waiting for the watch caches of {waiting}")
            };
            plain(StatusCode::SERVICE_UNAVAILABLE, &text)
        }
    });
    let metrics = warp::path("metrics").and(warp::path::end()).map(move || {
        let mut response = http::Response::new(Bytes::from(metrics.encode()));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            http::HeaderValue::from_static(
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            ),
        );
        response
    });
    let routes = healthz.or(readyz).unify().or(metrics).unify();
    let not_found = warp::any().map(|| {
        Refusal::NotFound {
            serves: "GET /healthz, /readyz or /metrics",
        }
        .into_response()
    });
    warp::get().and(routes).or(not_found).unify()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::decide::Exemptions;
    use crate::handler::Limits;
    use crate::snapshot::Snapshot;

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
        let reviews = router(webhook);
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
            b"not found; this port serves POST /validate\n"
        );
        assert!(bad_requests(&metrics, "not_found"));
    }
}
