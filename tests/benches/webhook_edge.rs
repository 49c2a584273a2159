//! The webhook's edge, measured: review and liveness-probe latency (p50, p99, max) with no
//! flood, then during each flood from `conn-flood` in its own process (10,000 idle TLS
//! connections on the review port, 10,000 idle TCP connections on the admin port, 200 slow-header
//! plus 200 slow-body clients), and the webhook's peak RSS during 200 concurrent 3.7 MB reviews
//! and 10 s after. Targets: p99 ≤ 100 ms under every flood; peak RSS under the chart's 256 MiB.
//!
//! `cargo build --workspace --bins`, then
//! `cargo bench -p hipaa-testkit --bench webhook_edge --profile dev`: `conn-flood` and the
//! webhook are taken next to the bench's own binary; `HIPAA_EDGE_WEBHOOK_BIN` runs another
//! webhook build (`target/release/hipaa-webhook`); `EDGE_ROUNDS` sets the rounds per phase (300).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::print_stdout
)]

#[path = "../tests/webhook_edge/flood.rs"]
mod flood;
#[path = "../tests/webhook_e2e/support.rs"]
mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use flood::{
    Flood, burst, connector, deployment_review, healthz, post, review, review_answer, rss, summary,
    webhook_pid,
};
use rustls::pki_types::ServerName;
use support::{ENFORCE, PHI, kubectl, webhook};

async fn governed(port: u16, tls: &tokio_rustls::TlsConnector) -> Bytes {
    let manifest = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: edge-bench\n  labels: {{{}: \"{}\", {}: {}}}\n",
        PHI.0, PHI.1, ENFORCE.0, ENFORCE.1
    );
    assert!(
        kubectl(&["apply", "-f", "-"], Some(&manifest))
            .await
            .success()
    );
    let body = deployment_review("edge-bench", 0);
    for _ in 0..60 {
        let (status, answer) = review_answer(port, tls, &body).await;
        if status == 200 && !answer.contains("has not seen namespace") {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("the webhook never saw namespace edge-bench");
}

/// Reviews on new connections, reviews on one keep-alive connection, and /healthz probes.
async fn phase(name: &str, port: u16, admin: u16, tls: &tokio_rustls::TlsConnector, body: &Bytes) {
    let rounds: usize = std::env::var("EDGE_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(300);
    let (mut fresh, mut kept, mut probes, mut failed) = (Vec::new(), Vec::new(), Vec::new(), 0);
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    let name_ip = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    let mut keep_alive = tls.connect(name_ip, tcp).await.unwrap();
    for _ in 0..rounds {
        let (status, took) = review(port, tls, body).await;
        failed += usize::from(status != 200);
        fresh.push(took);
        let started = Instant::now();
        let (status, _) = post(&mut keep_alive, body).await;
        failed += usize::from(status != 200);
        kept.push(started.elapsed());
        let (status, took) = tokio::task::spawn_blocking(move || healthz(admin))
            .await
            .unwrap();
        failed += usize::from(status != 200);
        probes.push(took);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!("{name}");
    println!("  reviews, new connection   {}", summary(&fresh));
    println!("  reviews, keep-alive       {}", summary(&kept));
    println!("  /healthz, new connection  {}", summary(&probes));
    println!("  failed                    {failed}");
    let pid = webhook_pid(port);
    println!(
        "  webhook RSS at the end    {:.0} MiB",
        rss(pid) as f64 / 1048576.0
    );
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let hook = webhook().await;
    let tls = connector(&hook.ca.pem());
    let body = governed(hook.port, &tls).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, hook.ca.pem()).unwrap();
    let (port, admin) = (hook.port, hook.admin_port);

    phase("no flood", port, admin, &tls, &body).await;
    {
        let flood = Flood::start(port, "idle", 10_000, Some(&ca));
        phase(
            &format!("review port, 10,000 idle TLS ({})", flood.ready),
            port,
            admin,
            &tls,
            &body,
        )
        .await;
    }
    {
        let flood = Flood::start(admin, "idle", 10_000, None);
        phase(
            &format!("admin port, 10,000 idle TCP ({})", flood.ready),
            port,
            admin,
            &tls,
            &body,
        )
        .await;
    }
    {
        let headers = Flood::start(port, "slow-header", 200, Some(&ca));
        let bodies = Flood::start(port, "slow-body", 200, Some(&ca));
        let name = format!(
            "200 slow-header ({}) + 200 slow-body ({})",
            headers.ready, bodies.ready
        );
        phase(&name, port, admin, &tls, &body).await;
    }

    let pid = webhook_pid(port);
    let before = rss(pid);
    let large = deployment_review("edge-bench", 3_700_000);
    let (statuses, peak, took) = burst(port, &tls, &large, 200, pid).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after = rss(pid);
    let mib = |b: u64| b as f64 / 1048576.0;
    let answered = statuses.iter().filter(|s| **s == 200).count();
    println!("200 concurrent reviews of {} bytes", large.len());
    println!("  answered 200              {answered} of 200 in {took:.2?}");
    println!(
        "  RSS before {:.0} MiB, peak {:.0} MiB, 10 s after {:.0} MiB",
        mib(before),
        mib(peak),
        mib(after)
    );
}
