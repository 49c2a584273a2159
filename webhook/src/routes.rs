//! The warp routers: `POST /validate` on the TLS port, and `/healthz`, `/readyz`, `/metrics` on
//! the plain-HTTP admin port. Tests drive both without sockets through `warp::test`.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, header};
use warp::Filter;

use crate::handler::Webhook;
use crate::metrics::Metrics;
use crate::snapshot::SnapshotCell;
use crate::sync::SyncState;
use crate::wire::{HttpAnswer, plain};

/// The review port's router. Every request gets an answer; nothing is left to warp's rejections.
pub fn router(
    webhook: Arc<Webhook>,
) -> impl Filter<Extract = (HttpAnswer,), Error = Infallible> + Clone + Send + Sync + 'static {
    let validate = warp::path("validate")
        .and(warp::path::end())
        .and(warp::method())
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .then(move |method: Method, headers: HeaderMap, body| {
            let webhook = Arc::clone(&webhook);
            async move {
                if method != Method::POST {
                    webhook.metrics.bad_request("method");
                    return method_not_allowed("POST");
                }
                webhook.handle(&headers, body).await
            }
        });
    validate.or(not_found("POST /validate")).unify()
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
    warp::get()
        .and(routes)
        .or(not_found("GET /healthz, /readyz or /metrics"))
        .unify()
}

fn not_found(
    what: &'static str,
) -> impl Filter<Extract = (HttpAnswer,), Error = Infallible> + Clone {
    warp::any().map(move || {
        plain(
            StatusCode::NOT_FOUND,
            &format!("not found; this port serves {what}"),
        )
    })
}

fn method_not_allowed(allowed: &'static str) -> HttpAnswer {
    let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, &format!("use {allowed}"));
    response
        .headers_mut()
        .insert(header::ALLOW, http::HeaderValue::from_static(allowed));
    response
}
