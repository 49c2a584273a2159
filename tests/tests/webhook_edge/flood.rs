//! What the edge test and the edge benchmark share: `conn-flood` in its own process, reviews
//! and health probes timed from this one (each on a new connection, as a client after a flood
//! would open one), a burst of large reviews, and the webhook's resident memory read from /proc.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    dead_code
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hipaa_testkit::cargo_bin;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// A running `conn-flood`, killed when dropped.
pub struct Flood {
    child: Child,
    pub ready: String,
}

impl Flood {
    /// Starts `conn-flood` and waits (at most 5 minutes) until every connection was tried.
    pub fn start(port: u16, mode: &str, count: usize, ca: Option<&Path>) -> Flood {
        let mut command = Command::new(cargo_bin("conn-flood"));
        command
            .arg(format!("--addr=127.0.0.1:{port}"))
            .arg(format!("--mode={mode}"))
            .arg(format!("--count={count}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(ca) = ca {
            command.arg("--ca").arg(ca);
        }
        // Owned by the Flood at once, so that a panic below still kills it.
        let mut flood = Flood {
            child: command.spawn().unwrap(),
            ready: String::new(),
        };
        let stdout = flood.child.stdout.take().unwrap();
        let (lines, received) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    return;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = received
                .recv_timeout(left)
                .expect("conn-flood never got ready");
            if line.starts_with("ready") {
                // Keep draining its status lines so that it never blocks on a full pipe.
                std::thread::spawn(move || while received.recv().is_ok() {});
                flood.ready = line;
                return flood;
            }
        }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TLS client trusting the PEM CA at `ca`.
pub fn connector(ca_pem: &str) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile_certs(ca_pem) {
        roots.add(cert).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsConnector::from(Arc::new(config))
}

fn rustls_pemfile_certs(pem: &str) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(Result::unwrap)
        .collect()
}

/// POSTs `body` to /validate on a new TLS connection: the status and the time from connect to
/// the last byte of the answer.
pub async fn review(port: u16, tls: &TlsConnector, body: &Bytes) -> (u16, Duration) {
    let started = Instant::now();
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let name = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    let mut stream = tls.connect(name, tcp).await.unwrap();
    let (status, _) = post(&mut stream, body).await;
    (status, started.elapsed())
}

/// POSTs `body` to /validate on a new TLS connection: the status and the answer's body.
pub async fn review_answer(port: u16, tls: &TlsConnector, body: &Bytes) -> (u16, String) {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let name = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    let mut stream = tls.connect(name, tcp).await.unwrap();
    post(&mut stream, body).await
}

/// One POST /validate on `stream`; the status and body once the whole answer has arrived
/// (status 0 if the connection closed first).
pub async fn post<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    body: &Bytes,
) -> (u16, String) {
    let head = format!(
        "POST /validate HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    if stream.write_all(head.as_bytes()).await.is_err() || stream.write_all(body).await.is_err() {
        return (0, String::new());
    }
    let mut answer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let read = stream.read(&mut chunk).await.unwrap_or(0);
        if read == 0 {
            return (0, String::from_utf8_lossy(&answer).into_owned());
        }
        answer.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, rest)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            if rest.len() >= length {
                let status = head
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                return (status, rest.to_owned());
            }
        }
    }
}

/// GET /healthz on the admin port on a new connection: the status and how long it took.
pub fn healthz(port: u16) -> (u16, Duration) {
    let started = Instant::now();
    let answer = (|| -> std::io::Result<u16> {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
        )?;
        let mut text = String::new();
        stream.read_to_string(&mut text)?;
        Ok(text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    })();
    (answer.unwrap_or(0), started.elapsed())
}

/// The `p`-th percentile (0..=100) of `times`.
pub fn percentile(times: &[Duration], p: usize) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let at = (sorted.len().saturating_sub(1) * p).div_ceil(100);
    sorted.get(at).copied().unwrap_or_default()
}

/// "p50 … p99 … max …" of `times`, in milliseconds.
pub fn summary(times: &[Duration]) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "n={} p50={:.1}ms p99={:.1}ms max={:.1}ms",
        times.len(),
        ms(percentile(times, 50)),
        ms(percentile(times, 99)),
        ms(percentile(times, 100))
    )
}

/// The pid of the `hipaa-webhook` process listening on `--listen=127.0.0.1:<port>`.
pub fn webhook_pid(port: u16) -> u32 {
    let wanted = format!("--listen=127.0.0.1:{port}");
    for entry in std::fs::read_dir("/proc").unwrap().map_while(Result::ok) {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let is_webhook = args.first().is_some_and(|a| a.ends_with("hipaa-webhook"));
        if is_webhook && args.contains(&wanted) {
            return pid;
        }
    }
    panic!("no hipaa-webhook process listens on {port}");
}

/// Resident memory of `pid`, in bytes.
pub fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap()
        * 1024
}

/// `concurrency` POSTs of `body` at once, each on its own connection, while the webhook's RSS is
/// sampled every 10 ms: the statuses and the peak RSS.
pub async fn burst(
    port: u16,
    tls: &TlsConnector,
    body: &Bytes,
    concurrency: usize,
    pid: u32,
) -> (Vec<u16>, u64, Duration) {
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = Arc::clone(&sampling);
        tokio::task::spawn_blocking(move || {
            let mut peak = 0;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss(pid));
                std::thread::sleep(Duration::from_millis(10));
            }
            peak.max(rss(pid))
        })
    };
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (tls, body) = (tls.clone(), body.clone());
        tasks.spawn(async move { review(port, &tls, &body).await.0 });
    }
    let mut statuses = Vec::new();
    while let Some(status) = tasks.join_next().await {
        statuses.push(status.unwrap());
    }
    let took = started.elapsed();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    (statuses, sampler.await.unwrap(), took)
}

/// The compliant Deployment review of the webhook's fixtures, in `namespace`, with `padding`
/// bytes of annotation (a large but valid object).
pub fn deployment_review(namespace: &str, padding: usize) -> Bytes {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../webhook/tests/fixtures/reviews/deployment-compliant.json");
    let mut review: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    review["request"]["namespace"] = namespace.into();
    review["request"]["object"]["metadata"]["namespace"] = namespace.into();
    if padding > 0 {
        review["request"]["object"]["metadata"]["annotations"]["e2e/padding"] =
            "x".repeat(padding).into();
    }
    Bytes::from(serde_json::to_vec(&review).unwrap())
}
