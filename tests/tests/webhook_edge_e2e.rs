//! The webhook's edge against a hostile client in another process (`conn-flood`), on the real
//! control plane: 10,000 idle TLS connections on the review port, 10,000 idle plain-TCP
//! connections on the admin port, and 200 slow-header plus 200 slow-body clients do not keep
//! reviews (nor the API server's own calls) or liveness probes waiting; 200 concurrent 3.7 MB
//! reviews stay within the chart's 256 MiB memory limit and the memory comes back after. Loose
//! bounds (1 s); the figures are `benches/webhook_edge.rs`'s. One case at a time: they share the
//! webhook process and the machine's open-files limit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod webhook_e2e {
    pub mod support;
}
mod webhook_edge {
    pub mod flood;
}

use std::time::Duration;

use bytes::Bytes;
use hipaa_testkit::expect_allowed;
use tokio::sync::Mutex;
use webhook_e2e::support::{ENFORCE, PHI, kubectl, webhook};
use webhook_edge::flood::{
    Flood, burst, connector, deployment_review, healthz, review, review_answer, rss, summary,
    webhook_pid,
};

/// One flood at a time.
static SERIAL: Mutex<()> = Mutex::const_new(());

/// The loose bound of the tests (the benchmark's target is 100 ms at p99).
const BOUND: Duration = Duration::from_secs(1);
const FLOOD: usize = 10_000;
/// The chart's webhook memory limit.
const MEMORY_LIMIT: u64 = 256 * 1024 * 1024;

/// A namespace an Enforce policy governs, known to the webhook's caches: reviews in it are parsed
/// and judged in full.
async fn governed_namespace() -> &'static str {
    const NAME: &str = "edge-governed";
    let manifest = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NAME}\n  labels: {{{}: \"{}\", {}: {}}}\n",
        PHI.0, PHI.1, ENFORCE.0, ENFORCE.1
    );
    let applied = kubectl(&["apply", "-f", "-"], Some(&manifest)).await;
    assert!(applied.success(), "{applied}");
    let hook = webhook().await;
    let tls = connector(&hook.ca.pem());
    let body = deployment_review(NAME, 0);
    for _ in 0..60 {
        let (status, answer) = review_answer(hook.port, &tls, &body).await;
        if status == 200 && !answer.contains("has not seen namespace") {
            return NAME;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("the webhook never saw namespace {NAME}");
}

/// Times `rounds` reviews (each on a new TLS connection) and as many /healthz probes, asserting
/// each is answered 200 within the bound; returns the summaries.
async fn reviews_and_probes_keep_answering(rounds: usize) -> (String, String) {
    let hook = webhook().await;
    let tls = connector(&hook.ca.pem());
    let body = deployment_review(governed_namespace().await, 0);
    let (mut reviews, mut probes) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (status, took) = review(hook.port, &tls, &body).await;
        assert_eq!(status, 200, "a review failed during the flood");
        reviews.push(took);
        let port = hook.admin_port;
        let (status, took) = tokio::task::spawn_blocking(move || healthz(port))
            .await
            .unwrap();
        assert_eq!(status, 200, "a liveness probe failed during the flood");
        probes.push(took);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let slowest = |times: &[Duration]| times.iter().max().copied().unwrap_or_default();
    assert!(slowest(&reviews) < BOUND, "reviews: {}", summary(&reviews));
    assert!(slowest(&probes) < BOUND, "probes: {}", summary(&probes));
    (summary(&reviews), summary(&probes))
}

/// The API server's own call through the flooded port: a server-side dry run of a Pod.
async fn the_api_server_gets_through() {
    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: edge-probe}\nspec:\n  containers: [{name: probe, image: probe}]\n";
    let started = std::time::Instant::now();
    let out = kubectl(
        &["apply", "-n", "default", "--dry-run=server", "-f", "-"],
        Some(POD),
    )
    .await;
    expect_allowed(&out);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

fn ca_file(dir: &tempfile::TempDir, pem: &str) -> std::path::PathBuf {
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, pem).unwrap();
    path
}

#[tokio::test]
async fn ten_thousand_idle_tls_connections_on_the_review_port_keep_no_one_waiting() {
    let _one = SERIAL.lock().await;
    let hook = webhook().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = ca_file(&dir, &hook.ca.pem());
    let flood = Flood::start(hook.port, "idle", FLOOD, Some(&ca));
    eprintln!("review port, idle TLS: {}", flood.ready);
    let (reviews, probes) = reviews_and_probes_keep_answering(50).await;
    eprintln!("reviews {reviews}; probes {probes}");
    the_api_server_gets_through().await;
}

#[tokio::test]
async fn ten_thousand_idle_connections_on_the_admin_port_keep_liveness_answering() {
    let _one = SERIAL.lock().await;
    let hook = webhook().await;
    let flood = Flood::start(hook.admin_port, "idle", FLOOD, None);
    eprintln!("admin port, idle TCP: {}", flood.ready);
    let (reviews, probes) = reviews_and_probes_keep_answering(50).await;
    eprintln!("reviews {reviews}; probes {probes}");
}

#[tokio::test]
async fn slow_header_and_slow_body_clients_keep_no_one_waiting() {
    let _one = SERIAL.lock().await;
    let hook = webhook().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = ca_file(&dir, &hook.ca.pem());
    let headers = Flood::start(hook.port, "slow-header", 200, Some(&ca));
    let bodies = Flood::start(hook.port, "slow-body", 200, Some(&ca));
    eprintln!(
        "slow headers: {}; slow bodies: {}",
        headers.ready, bodies.ready
    );
    let (reviews, probes) = reviews_and_probes_keep_answering(50).await;
    eprintln!("reviews {reviews}; probes {probes}");
    the_api_server_gets_through().await;
}

#[tokio::test]
async fn concurrent_large_reviews_stay_within_the_memory_limit_and_memory_comes_back() {
    let _one = SERIAL.lock().await;
    let hook = webhook().await;
    let tls = connector(&hook.ca.pem());
    let namespace = governed_namespace().await;
    let pid = webhook_pid(hook.port);
    let before = rss(pid);
    let body: Bytes = deployment_review(namespace, 3_700_000);
    let (statuses, peak, took) = burst(hook.port, &tls, &body, 200, pid).await;
    let answered = statuses.iter().filter(|s| **s == 200).count();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after = rss(pid);
    let mib = |b: u64| b as f64 / 1048576.0;
    eprintln!(
        "200 x {} bytes in {took:?}: {answered} answered 200; RSS before {:.0} MiB, peak {:.0} MiB, 10 s after {:.0} MiB",
        body.len(),
        mib(before),
        mib(peak),
        mib(after)
    );
    // A debug build on a shared machine judges a few of these a second: those left waiting for
    // the byte budget past the request timeout get a 503 to retry, never a reset or another error.
    assert!(answered > 0, "statuses: {statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "statuses: {statuses:?}"
    );
    assert!(peak < MEMORY_LIMIT, "peak RSS {:.0} MiB", mib(peak));
    // Most of what the burst took is given back: within 64 MiB of where it started.
    assert!(
        after < before + 64 * 1024 * 1024,
        "RSS 10 s after {:.0} MiB, before {:.0} MiB",
        mib(after),
        mib(before)
    );
    // And an ordinary review is answered at once again.
    let (status, took) = review(hook.port, &tls, &deployment_review(namespace, 0)).await;
    assert_eq!(status, 200);
    assert!(took < BOUND, "{took:?}");
}
