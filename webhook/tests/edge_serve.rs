//! The server's edge on real loopback sockets, with small limits so that each case takes
//! milliseconds: idle connections shed at the cap while new ones are served, a connection that
//! sends nothing or stalls in its headers closed at the header timeout, a keep-alive connection
//! closed at the idle timeout (and not at the header timeout), slow bodies holding no review
//! slot, answers asking clients to close once the port gives notice, and HTTP/2 clients refused;
//! the port's connection counters (the `connections_*` metrics) agree with each. The hostile client in its own process, at 10,000
//! connections, is tests/tests/webhook_edge_e2e.rs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::ca::TestCa;
use common::{fixture, harness_with};
use hipaa_runtime::serve::{ConnectionStats, Lifecycle, ServeOptions, serve, serve_with};
use hipaa_webhook::tls::{ReloadingCertResolver, server_config};
use hipaa_webhook::{Limits, Snapshot, router};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Serves the fixture webhook on 127.0.0.1 until the test ends; the port's address and the
/// counters of its connections.
async fn start(options: ServeOptions, limits: Limits) -> (SocketAddr, Arc<ConnectionStats>) {
    start_with_notice(options, limits, std::future::pending()).await
}

/// As [`start`], giving notice when `notice` resolves.
async fn start_with_notice(
    options: ServeOptions,
    limits: Limits,
    notice: impl Future<Output = ()> + Send + 'static,
) -> (SocketAddr, Arc<ConnectionStats>) {
    let harness = harness_with(Snapshot::from_state(&common::cluster_state()), limits);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = warp::service(router(harness.webhook.clone(), || Ok(())));
    let stats = Arc::new(ConnectionStats::default());
    let lifecycle = Lifecycle {
        notice,
        shutdown: std::future::pending(),
        stats: Arc::clone(&stats),
    };
    tokio::spawn(serve_with(listener, None, service, options, lifecycle));
    (addr, stats)
}

/// How many connections the port closed itself for `reason`.
fn closed_for(stats: &ConnectionStats, reason: &str) -> u64 {
    stats
        .closed_by_port()
        .into_iter()
        .find(|(label, _)| *label == reason)
        .map_or(0, |(_, count)| count)
}

fn quick() -> ServeOptions {
    ServeOptions {
        header_read_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(900),
        ..ServeOptions::default()
    }
}

/// A compliant review as raw HTTP/1.1 bytes.
fn review_request() -> Vec<u8> {
    let body = fixture("reviews/deployment-compliant.json");
    let mut request = format!(
        "POST /validate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    request
}

/// Sends a review on `stream` and reads the status line of the answer.
async fn review_on(stream: &mut TcpStream) -> String {
    let answer = answer_on(stream).await;
    answer.lines().next().unwrap_or_default().to_owned()
}

/// Sends a review on `stream` and reads the answer's head.
async fn answer_on(stream: &mut TcpStream) -> String {
    stream.write_all(&review_request()).await.unwrap();
    let mut answer = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    while !answer.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .expect("no answer within 5 s")
            .unwrap();
        assert!(read > 0, "closed before answering");
        answer.extend_from_slice(&chunk[..read]);
    }
    let head_end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(0);
    String::from_utf8_lossy(&answer[..head_end]).into_owned()
}

/// Whether an answer's head asks the client to close the connection.
fn says_close(head: &str) -> bool {
    head.lines()
        .any(|line| line.eq_ignore_ascii_case("connection: close"))
}

/// How long until the server closes `stream` (reads until EOF), at most `within`.
async fn closed_after(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut sink = [0u8; 4096];
    let waited = tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    });
    waited.await.ok().map(|()| started.elapsed())
}

#[tokio::test]
async fn at_the_cap_the_longest_idle_connections_make_room_for_new_ones() {
    let options = ServeOptions {
        max_connections: 8,
        ..ServeOptions::default()
    };
    let (addr, stats) = start(options, Limits::default()).await;
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(TcpStream::connect(addr).await.unwrap());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    let mut fresh = TcpStream::connect(addr).await.unwrap();
    assert_eq!(review_on(&mut fresh).await, "HTTP/1.1 200 OK");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let mut shed = 0;
    for stream in &mut idle {
        if closed_after(stream, Duration::from_millis(200))
            .await
            .is_some()
        {
            shed += 1;
        }
    }
    assert!(
        shed >= 12,
        "only {shed} of 20 idle connections were shed at a cap of 8"
    );
    assert_eq!(
        closed_for(&stats, "shed"),
        shed,
        "the metric counts each one"
    );
    assert_eq!(stats.accepted(), 21);
    // A connection leaves the table just after its socket closes: wait for the last one.
    let deadline = Instant::now() + Duration::from_secs(2);
    while stats.open() != 21 - shed && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(stats.open(), 21 - shed);
    // The oldest went first: the last one opened is still there.
    let mut newest = idle.pop().unwrap();
    assert!(
        closed_after(&mut newest, Duration::from_millis(100))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn after_notice_every_answer_asks_its_client_to_close_and_new_clients_are_served() {
    let (notice, noticed) = tokio::sync::oneshot::channel::<()>();
    let (addr, _) = start_with_notice(ServeOptions::default(), Limits::default(), async {
        let _ = noticed.await;
    })
    .await;
    let mut pooled = TcpStream::connect(addr).await.unwrap();
    let before = answer_on(&mut pooled).await;
    assert!(before.starts_with("HTTP/1.1 200 OK"), "{before}");
    assert!(!says_close(&before), "{before}");
    let mut idle = TcpStream::connect(addr).await.unwrap();
    assert_eq!(review_on(&mut idle).await, "HTTP/1.1 200 OK");

    notice.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // A kept-alive connection is still served, once, and told to go.
    let after = answer_on(&mut pooled).await;
    assert!(after.starts_with("HTTP/1.1 200 OK"), "{after}");
    assert!(says_close(&after), "{after}");
    assert!(
        closed_after(&mut pooled, Duration::from_secs(1))
            .await
            .is_some(),
        "the server closes the connection after an answer that says so"
    );
    // An idle connection is left for its client to use or close: the port closes none itself
    // before it stops.
    assert!(
        closed_after(&mut idle, Duration::from_millis(200))
            .await
            .is_none()
    );
    // New connections are still accepted (the endpoints may not have moved yet).
    let mut late = TcpStream::connect(addr).await.unwrap();
    let late_answer = answer_on(&mut late).await;
    assert!(late_answer.starts_with("HTTP/1.1 200 OK"), "{late_answer}");
    assert!(says_close(&late_answer), "{late_answer}");
}

#[tokio::test]
async fn silent_and_stalled_clients_are_closed_at_the_header_timeout() {
    let (addr, stats) = start(quick(), Limits::default()).await;
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(b"POST /validate HTTP/1.1\r\nhost:")
        .await
        .unwrap();
    for stream in [&mut silent, &mut stalled] {
        let after = closed_after(stream, Duration::from_secs(5)).await;
        let after = after.expect("not closed within 5 s");
        assert!(after >= Duration::from_millis(250), "{after:?}");
    }
    assert_eq!(closed_for(&stats, "header_timeout"), 2);
    assert_eq!(closed_for(&stats, "idle_timeout"), 0);
}

#[tokio::test]
async fn keep_alive_waits_for_the_idle_timeout_not_the_header_timeout() {
    let (addr, stats) = start(quick(), Limits::default()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    assert_eq!(review_on(&mut stream).await, "HTTP/1.1 200 OK");
    // Longer than the 300 ms header limit: still open, and serves the next review.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(review_on(&mut stream).await, "HTTP/1.1 200 OK");
    let after = closed_after(&mut stream, Duration::from_secs(5)).await;
    let after = after.expect("not closed at the idle timeout");
    assert!(after >= Duration::from_millis(800), "{after:?}");
    assert_eq!(closed_for(&stats, "idle_timeout"), 1);
    assert_eq!(closed_for(&stats, "header_timeout"), 0);
}

#[tokio::test]
async fn slow_bodies_hold_no_review_slot() {
    let limits = Limits {
        max_concurrency: 1,
        body_timeout: Duration::from_secs(2),
        ..Limits::default()
    };
    let (addr, _) = start(ServeOptions::default(), limits).await;
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let head = "POST /validate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{";
        stream.write_all(head.as_bytes()).await.unwrap();
        slow.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut fast = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    assert_eq!(review_on(&mut fast).await, "HTTP/1.1 200 OK");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // The slow ones get their 408 at the body timeout.
    let mut answer = [0u8; 256];
    let read = slow[0].read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..read]).starts_with("HTTP/1.1 408"));
}

#[tokio::test]
async fn http2_clients_are_refused_with_and_without_tls() {
    let (addr, _) = start(ServeOptions::default(), Limits::default()).await;
    // Prior knowledge over plain TCP: the HTTP/2 preface is not HTTP/1.1.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    let mut answer = vec![0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .unwrap()
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&answer[..read]).into_owned();
    assert!(read == 0 || text.starts_with("HTTP/1.1 505"), "{text}");

    // Over TLS, a client that offers only h2 by ALPN fails the handshake.
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    ca.leaf("127.0.0.1").write(&cert, &key);
    let resolver = ReloadingCertResolver::load(&cert, &key).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(server_config(resolver).unwrap());
    let harness = harness_with(
        Snapshot::from_state(&common::cluster_state()),
        Limits::default(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tls_addr = listener.local_addr().unwrap();
    let service = warp::service(router(harness.webhook.clone(), || Ok(())));
    tokio::spawn(serve(
        listener,
        Some(acceptor),
        service,
        ServeOptions::default(),
        std::future::pending(),
    ));
    let connector = ca.connector();
    let mut config = rustls::ClientConfig::clone(connector.config());
    config.alpn_protocols = vec![b"h2".to_vec()];
    let h2_only = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(tls_addr).await.unwrap();
    let name = rustls::pki_types::ServerName::IpAddress(tls_addr.ip().into());
    let refused = h2_only.connect(name, tcp).await;
    let Err(error) = refused else {
        panic!("an h2-only client completed the handshake");
    };
    assert!(
        error.to_string().contains("NoApplicationProtocol"),
        "{error}"
    );
}
