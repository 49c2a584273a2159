//! The admin port: `/metrics` (Prometheus text), `/healthz` (the process serves) and `/readyz`
//! (every watch cache has synced; with leader election a standby replica is ready too, because
//! its caches are warm and it can take over at once).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::TcpListener;
use warp::Filter;
use warp::http::{Response, StatusCode};

use crate::metrics::Metrics;

const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// What the admin endpoints report on.
#[derive(Clone)]
pub struct AdminState {
    pub metrics: Arc<Metrics>,
    /// True once every watch cache has synced.
    pub caches_synced: Arc<AtomicBool>,
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<String> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    if let Ok(value) = warp::http::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(warp::http::header::CONTENT_TYPE, value);
    }
    response
}

/// The response of one admin path.
pub fn admin_response(state: &AdminState, path: &str) -> Response<String> {
    match path {
        "metrics" => match state.metrics.encode() {
            Ok(text) => respond(StatusCode::OK, METRICS_CONTENT_TYPE, text),
            Err(error) => respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                TEXT,
                format!("encoding metrics failed: {error}\n"),
            ),
        },
        "healthz" => respond(StatusCode::OK, TEXT, "ok\n".to_string()),
        "readyz" if state.caches_synced.load(Ordering::Acquire) => {
            respond(StatusCode::OK, TEXT, "ready\n".to_string())
        }
        "readyz" => respond(
            StatusCode::SERVICE_UNAVAILABLE,
            TEXT,
            "watch caches not synced yet\n".to_string(),
        ),
        _ => respond(StatusCode::NOT_FOUND, TEXT, "not found\n".to_string()),
    }
}

/// Serves the admin endpoints on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AdminState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let routes = warp::get()
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .map(move |path: String| admin_response(&state, &path));
    warp::serve(routes)
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn readiness_follows_the_caches_and_metrics_are_exposed() {
        let state = AdminState {
            metrics: Arc::new(Metrics::new()),
            caches_synced: Arc::new(AtomicBool::new(false)),
        };
        assert_eq!(admin_response(&state, "healthz").status(), StatusCode::OK);
        assert_eq!(
            admin_response(&state, "readyz").status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        state.caches_synced.store(true, Ordering::Release);
        assert_eq!(admin_response(&state, "readyz").status(), StatusCode::OK);
        let metrics = admin_response(&state, "metrics");
        assert_eq!(metrics.status(), StatusCode::OK);
        assert!(
            metrics.body().contains("hipaaguard_operator_leader"),
            "{}",
            metrics.body()
        );
        assert_eq!(
            admin_response(&state, "nope").status(),
            StatusCode::NOT_FOUND
        );
    }
}
