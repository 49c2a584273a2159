//! The admin port both binaries serve over plain HTTP: `GET /healthz` (the process serves),
//! `GET /readyz` (the binary's own readiness probe says so) and `GET /metrics` (the binary's own
//! metrics encoder, in the OpenMetrics text format). Anything else is a 404 that says what the
//! port serves. The answer is a pure function of the request and the two callbacks, so tests
//! call [`AdminServer::respond`] or drive [`AdminServer::routes`] without a socket.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode, header};
use tokio::net::TcpListener;
use warp::Filter;
use warp::path::FullPath;

use crate::serve::{ServeOptions, serve};

/// The content type Prometheus asks for and the encoders write.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
pub const TEXT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";
/// What the 404 names.
const SERVES: &str = "GET /healthz, /readyz or /metrics";

/// An HTTP answer: status, content type and body.
pub type Answer = http::Response<Bytes>;

/// Whether the binary can do its work; if not, why (the body of the 503).
pub type Readiness = Result<(), String>;

type ReadinessProbe = Arc<dyn Fn() -> Readiness + Send + Sync>;
type MetricsEncoder = Arc<dyn Fn() -> Result<String, fmt::Error> + Send + Sync>;

/// The admin endpoints of one binary, parameterised by its readiness probe and metrics encoder.
/// Cheap to clone: both are shared.
#[derive(Clone)]
pub struct AdminServer {
    readiness: ReadinessProbe,
    metrics: MetricsEncoder,
}

impl fmt::Debug for AdminServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminServer").finish_non_exhaustive()
    }
}

impl AdminServer {
    /// `readiness` answers `/readyz`; `metrics` renders the whole `/metrics` exposition (the
    /// binary's series and [`crate::StandardMetrics`]). Both run on each request.
    pub fn new(
        readiness: impl Fn() -> Readiness + Send + Sync + 'static,
        metrics: impl Fn() -> Result<String, fmt::Error> + Send + Sync + 'static,
    ) -> Self {
        AdminServer {
            readiness: Arc::new(readiness),
            metrics: Arc::new(metrics),
        }
    }

    /// The answer to `method` on `path` (without the query).
    pub fn respond(&self, method: &Method, path: &str) -> Answer {
        if method != Method::GET {
            return not_found();
        }
        match path {
            "/healthz" => plain(StatusCode::OK, "ok"),
            "/readyz" => match (self.readiness)() {
                Ok(()) => plain(StatusCode::OK, "ready"),
                Err(reason) => plain(StatusCode::SERVICE_UNAVAILABLE, &reason),
            },
            "/metrics" => match (self.metrics)() {
                Ok(text) => {
                    with_content_type(http::Response::new(Bytes::from(text)), METRICS_CONTENT_TYPE)
                }
                Err(error) => {
                    tracing::error!(%error, "encoding the metrics failed");
                    let text = format!("encoding metrics failed: {error}");
                    plain(StatusCode::INTERNAL_SERVER_ERROR, &text)
                }
            },
            _ => not_found(),
        }
    }

    /// The endpoints as a warp filter that answers every request.
    pub fn routes(
        self,
    ) -> impl Filter<Extract = (Answer,), Error = Infallible> + Clone + Send + Sync + 'static {
        warp::method()
            .and(warp::path::full())
            .map(move |method: Method, path: FullPath| self.respond(&method, path.as_str()))
    }

    /// Serves the endpoints on `listener` until `shutdown` resolves, then drains the open
    /// requests (at most `options.shutdown_timeout`).
    pub async fn serve(
        self,
        listener: TcpListener,
        options: ServeOptions,
        shutdown: impl Future<Output = ()>,
    ) {
        serve(
            listener,
            None,
            warp::service(self.routes()),
            options,
            shutdown,
        )
        .await;
    }
}

/// A plain-text answer: `text` and a newline.
pub fn plain(status: StatusCode, text: &str) -> Answer {
    let mut body = String::with_capacity(text.len() + 1);
    body.push_str(text);
    body.push('\n');
    let mut response = http::Response::new(Bytes::from(body));
    *response.status_mut() = status;
    with_content_type(response, TEXT_CONTENT_TYPE)
}

fn with_content_type(mut response: Answer, content_type: &'static str) -> Answer {
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    response
}

fn not_found() -> Answer {
    plain(
        StatusCode::NOT_FOUND,
        &format!("not found; this port serves {SERVES}"),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use std::sync::Mutex;

    /// An admin server whose readiness the test sets, and whose metrics fail on demand.
    fn server(ready: Arc<Mutex<Readiness>>, metrics_fail: bool) -> AdminServer {
        AdminServer::new(
            move || ready.lock().unwrap().clone(),
            move || {
                if metrics_fail {
                    Err(fmt::Error)
                } else {
                    Ok("things_total 1\n# EOF\n".to_owned())
                }
            },
        )
    }

    fn text(answer: &Answer) -> &str {
        std::str::from_utf8(answer.body()).unwrap()
    }

    fn content_type(answer: &Answer) -> &str {
        answer.headers()[header::CONTENT_TYPE].to_str().unwrap()
    }

    #[test]
    fn health_readiness_and_metrics_with_their_statuses_and_content_types() {
        let ready = Arc::new(Mutex::new(Err("not ready: waiting".to_owned())));
        let admin = server(Arc::clone(&ready), false);
        let cases: [(&str, u16, &str, &str); 4] = [
            ("/healthz", 200, TEXT_CONTENT_TYPE, "ok\n"),
            ("/readyz", 503, TEXT_CONTENT_TYPE, "not ready: waiting\n"),
            (
                "/metrics",
                200,
                METRICS_CONTENT_TYPE,
                "things_total 1\n# EOF\n",
            ),
            ("/metrics/x", 404, TEXT_CONTENT_TYPE, ""),
        ];
        for (path, status, kind, body) in cases {
            let answer = admin.respond(&Method::GET, path);
            assert_eq!(answer.status().as_u16(), status, "{path}");
            assert_eq!(content_type(&answer), kind, "{path}");
            if status != 404 {
                assert_eq!(text(&answer), body, "{path}");
            }
        }
        *ready.lock().unwrap() = Ok(());
        let answer = admin.respond(&Method::GET, "/readyz");
        assert_eq!(
            (answer.status(), text(&answer)),
            (StatusCode::OK, "ready\n")
        );
    }

    #[test]
    fn other_paths_and_methods_are_404s_that_say_what_the_port_serves() {
        let admin = server(Arc::new(Mutex::new(Ok(()))), false);
        for (method, path) in [
            (Method::GET, "/"),
            (Method::GET, "/mutate"),
            (Method::POST, "/metrics"),
            (Method::HEAD, "/healthz"),
        ] {
            let answer = admin.respond(&method, path);
            assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{method} {path}");
            assert_eq!(
                text(&answer),
                "not found; this port serves GET /healthz, /readyz or /metrics\n"
            );
        }
    }

    #[test]
    fn a_metrics_encoding_failure_is_a_500() {
        let admin = server(Arc::new(Mutex::new(Ok(()))), true);
        let answer = admin.respond(&Method::GET, "/metrics");
        assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(text(&answer).starts_with("encoding metrics failed"));
    }

    #[tokio::test]
    async fn the_routes_answer_through_warp_with_the_query_ignored() {
        let routes = server(Arc::new(Mutex::new(Ok(()))), false).routes();
        for (method, path, status) in [("GET", "/readyz?verbose=1", 200), ("POST", "/healthz", 404)]
        {
            let answer = warp::test::request()
                .method(method)
                .path(path)
                .reply(&routes)
                .await;
            assert_eq!(answer.status().as_u16(), status, "{method} {path}");
        }
    }
}
