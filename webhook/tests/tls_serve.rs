//! The server on real loopback sockets: certificate rotation without restart (and keeping the
//! last good pair on a bad file), TLS 1.2 and 1.3, keep-alive, the request timeout, and a
//! graceful shutdown that finishes in-flight reviews.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::ca::{TestCa, connect, post_review};
use common::{fixture, harness_with, metric};
use hipaa_runtime::serve::{ServeOptions, serve};
use hipaa_webhook::tls::{Reload, ReloadingCertResolver, server_config};
use hipaa_webhook::{Limits, Metrics, Snapshot, router};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.done)
            .await
            .unwrap()
            .unwrap();
    }
}

async fn start(tls: Option<TlsAcceptor>, limits: Limits) -> (Server, common::Harness) {
    let harness = harness_with(Snapshot::from_state(&common::cluster_state()), limits);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let service = warp::service(router(harness.webhook.clone(), || Ok(())));
    let done = tokio::spawn(serve(
        listener,
        tls,
        service,
        ServeOptions::default(),
        async {
            let _ = stopped.await;
        },
    ));
    (
        Server {
            addr,
            stop: Some(stop),
            done,
        },
        harness,
    )
}

fn compliant() -> Bytes {
    Bytes::from(fixture("reviews/deployment-compliant.json"))
}

#[tokio::test]
async fn certificate_files_are_reloaded_when_they_change_and_kept_when_broken() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let ca = TestCa::new();
    let first = ca.leaf("first");
    first.write(&cert, &key);
    let resolver = ReloadingCertResolver::load(&cert, &key).unwrap();
    let metrics = Arc::new(Metrics::new());
    let watcher =
        tokio::spawn(Arc::clone(&resolver).watch(Duration::from_millis(100), Arc::clone(&metrics)));
    let acceptor = TlsAcceptor::from(server_config(Arc::clone(&resolver)).unwrap());
    let (server, _harness) = start(Some(acceptor), Limits::default()).await;
    let connector = ca.connector();

    let mut kept_alive = connect(&connector, server.addr).await.unwrap();
    assert_eq!(kept_alive.peer_certificate, first.der);
    let (status, _) = post_review(&mut kept_alive.sender, "/validate", compliant())
        .await
        .unwrap();
    assert_eq!(status, 200);

    // Rotation: new files, same paths; new connections get the new certificate.
    let second = ca.leaf("second");
    second.write(&cert, &key);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let fresh = connect(&connector, server.addr).await.unwrap();
        if fresh.peer_certificate == second.der {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate was not served within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The connection opened before the rotation keeps working.
    let (status, _) = post_review(&mut kept_alive.sender, "/validate", compliant())
        .await
        .unwrap();
    assert_eq!(status, 200);

    // A half-written rotation (garbage certificate) is refused; the last good pair stays.
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
    let reloads_failed = "hipaaguard_webhook_tls_reloads_total{result=\"failed\"}";
    let deadline = Instant::now() + Duration::from_secs(5);
    while metric(&metrics, reloads_failed) < 1.0 {
        assert!(
            Instant::now() < deadline,
            "the bad certificate was not noticed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut after_bad = connect(&connector, server.addr).await.unwrap();
    assert_eq!(after_bad.peer_certificate, second.der);
    let (status, _) = post_review(&mut after_bad.sender, "/validate", compliant())
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(
        metric(
            &metrics,
            "hipaaguard_webhook_tls_reloads_total{result=\"reloaded\"}"
        ) >= 1.0
    );

    watcher.abort();
    server.shutdown().await;
}

#[test]
fn a_key_that_does_not_fit_the_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let ca = TestCa::new();
    let (one, two) = (ca.leaf("one"), ca.leaf("two"));
    one.write(&cert, &key);
    let resolver = ReloadingCertResolver::load(&cert, &key).unwrap();
    assert_eq!(resolver.reload_if_changed(), Reload::Unchanged);
    std::fs::write(&key, &two.key_pem).unwrap();
    let Reload::Failed(reason) = resolver.reload_if_changed() else {
        panic!("a mismatched key was accepted")
    };
    assert!(reason.contains("does not load or does not fit"), "{reason}");
    assert_eq!(resolver.current().cert[0], one.der);
    // Completing the rotation (the certificate follows) is accepted.
    std::fs::write(&cert, &two.cert_pem).unwrap();
    assert_eq!(resolver.reload_if_changed(), Reload::Reloaded);
    assert_eq!(resolver.current().cert[0], two.der);
    // Files that do not exist at start are an error, not a panic.
    assert!(ReloadingCertResolver::load(&dir.path().join("missing.crt"), &key).is_err());
}

#[tokio::test]
async fn tls_1_2_and_1_3_are_served_over_keep_alive() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let ca = TestCa::new();
    ca.leaf("server").write(&cert, &key);
    let resolver = ReloadingCertResolver::load(&cert, &key).unwrap();
    let acceptor = TlsAcceptor::from(server_config(resolver).unwrap());
    let (server, harness) = start(Some(acceptor), Limits::default()).await;
    for (versions, expected) in [
        (
            &[&rustls::version::TLS12][..],
            rustls::ProtocolVersion::TLSv1_2,
        ),
        (
            &[&rustls::version::TLS13][..],
            rustls::ProtocolVersion::TLSv1_3,
        ),
    ] {
        let mut connection = connect(&ca.connector_with(versions), server.addr)
            .await
            .unwrap();
        assert_eq!(connection.protocol, expected);
        for _ in 0..3 {
            let (status, body) = post_review(&mut connection.sender, "/validate", compliant())
                .await
                .unwrap();
            assert_eq!(status, 200, "{body:?}");
        }
    }
    let series = "hipaaguard_webhook_reviews_total{kind=\"Deployment\",operation=\"CREATE\",decision=\"allowed\",dry_run=\"false\"}";
    assert_eq!(metric(&harness.metrics, series), 6.0);
    server.shutdown().await;
}

#[tokio::test]
async fn a_body_that_stalls_gets_408_at_the_body_timeout_holding_no_slot() {
    let limits = Limits {
        request_timeout: Duration::from_secs(5),
        body_timeout: Duration::from_millis(300),
        max_concurrency: 1,
        ..Limits::default()
    };
    let (server, harness) = start(None, limits).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = "POST /validate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"apiVersion\":";
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut response = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut response))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&response[..read]).to_string();
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("did not arrive within 300ms"), "{text}");
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(
        metric(
            &harness.metrics,
            "hipaaguard_webhook_bad_requests_total{reason=\"body_timeout\"}"
        ),
        1.0
    );
    // The abandoned review no longer counts as in flight.
    assert_eq!(
        metric(&harness.metrics, "hipaaguard_webhook_in_flight_reviews"),
        0.0
    );
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_accepting_and_finishes_in_flight_reviews() {
    // A review for a namespace the caches do not know waits up to half the timeout: in flight.
    let limits = Limits {
        request_timeout: Duration::from_secs(2),
        ..Limits::default()
    };
    let (server, _harness) = start(None, limits).await;
    let addr = server.addr;
    let in_flight = tokio::spawn(async move {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let body = Bytes::from(fixture("reviews/deployment-unknown-namespace.json"));
        post_review(&mut sender, "/validate", body).await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    server.shutdown().await;
    let (status, body) = in_flight.await.unwrap().unwrap();
    assert_eq!(status, 200, "the in-flight review was answered");
    assert!(String::from_utf8_lossy(&body).contains("has not seen namespace"));
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "shutdown waited for the review"
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
}
