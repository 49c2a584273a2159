//! Soak benchmark (not a test): the webhook's HTTPS server (the throughput bench's server child:
//! the real router, TLS with file reloading, the real connection handling) at a steady rate of
//! reviews for a long time while its serving certificate is rotated every interval, on the same
//! machine as the load. Prints a row per interval (latency from the time each review was due,
//! failures, the server's RSS, the rotation) and the totals against the targets of issue 16:
//! zero failed reviews, p99 ≤ 2 ms, RSS within 10% of the start.
//!
//! `make soak-webhook` (`SOAK_SECONDS=60 make soak-webhook` for a short run), or
//! `cargo bench -p hipaa-webhook --bench soak -- --seconds 600 --rate 5000 --interval 60`;
//! every flag has an env fallback (`SOAK_SECONDS`, `SOAK_WEBHOOK_RATE`, ...); `--json FILE`
//! writes the figures as JSON too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "soak/load.rs"]
mod load;
#[path = "soak/report.rs"]
mod report;
#[path = "soak/rotate.rs"]
mod rotate;
#[path = "throughput/server.rs"]
mod server;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use common::ca::TestCa;
use server::{LogTo, Server};

/// The same allocator as the `hipaa-webhook` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Options {
    /// Measured seconds (after the warm-up).
    #[arg(long, env = "SOAK_SECONDS", default_value_t = 600)]
    seconds: u64,
    /// Reviews per second offered, open loop.
    #[arg(long, env = "SOAK_WEBHOOK_RATE", default_value_t = 5000.0)]
    rate: f64,
    /// Keep-alive HTTPS connections in the pool.
    #[arg(long, env = "SOAK_WEBHOOK_CONNECTIONS", default_value_t = 16)]
    connections: usize,
    /// Seconds between certificate rotations, RSS samples and rows of the table.
    #[arg(long, env = "SOAK_INTERVAL", default_value_t = 60)]
    interval: u64,
    /// Seconds of load before the measurement starts (connections, caches, allocator).
    #[arg(long, env = "SOAK_WARMUP", default_value_t = 10)]
    warmup: u64,
    /// Also write the figures as JSON to this file.
    #[arg(long, env = "SOAK_WEBHOOK_JSON")]
    json: Option<PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve-child") {
        return server::serve_child(Path::new(&args[i + 1]), LogTo::parse(&args[i + 2]));
    }
    let options = Options::parse();
    let interval = Duration::from_secs(options.interval.max(1));
    let rounds = options.seconds.div_ceil(interval.as_secs()).max(1);
    let seconds = rounds * interval.as_secs();

    let dir = tempfile::tempdir().unwrap();
    let cas = [TestCa::new(), TestCa::new()];
    let mut cert_dir = rotate::CertDir::create(dir.path(), &cas[0].leaf("soak-0")).unwrap();
    // Denials and warnings log at info; the compliant review logs nothing, as in production.
    let server = Server::start(dir.path(), LogTo::Pipe);
    let (addr, pid) = (server.addr, server.child.id());
    let connector = rotate::connector(&[&cas[0], &cas[1]]);
    let body = compact_review();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "webhook soak: {} s ({} intervals of {} s) at {:.0} reviews/s after {} s of warm-up; \
         server pid {pid}, RSS {:.1} MiB before load",
        seconds,
        rounds,
        interval.as_secs(),
        options.rate,
        options.warmup,
        rss_mib(pid)
    );
    let (outcome, rss, rotations) = runtime.block_on(async {
        let measure_from = Instant::now() + Duration::from_secs(options.warmup);
        let load = load::Load {
            addr,
            connector: connector.clone(),
            body: body.clone(),
            rate: options.rate,
            connections: options.connections,
            measure_from,
            interval,
            until: measure_from + interval * u32::try_from(rounds).unwrap(),
        };
        let running = tokio::spawn(load::run(load));
        let mut rss = Vec::new();
        let mut rotations = Vec::new();
        for round in 0..=rounds {
            tokio::time::sleep_until((measure_from + interval * round as u32).into()).await;
            rss.push(rss_mib(pid));
            if round == rounds {
                break;
            }
            let (ca, new_ca) = (ca_of(round + 1), ca_of(round + 1) != ca_of(round));
            let leaf = cas[ca].leaf(&format!("soak-{}", round + 1));
            let rotation =
                rotate::rotate_and_probe(&mut cert_dir, &leaf, new_ca, &connector, addr, &body)
                    .await
                    .unwrap();
            eprintln!(
                "interval {}: RSS {:.1} MiB; rotated ({}), served after {:?}",
                round + 1,
                rss.last().copied().unwrap_or(f64::NAN),
                if new_ca { "other CA" } else { "same CA" },
                rotation.served_after
            );
            rotations.push(rotation);
        }
        (running.await.unwrap(), rss, rotations)
    });
    let setup = report::Setup {
        rate: options.rate,
        connections: options.connections,
        seconds,
        interval,
        body_bytes: body.len(),
    };
    let json = report::report(&setup, &outcome, &rss, &rotations);
    if let Some(path) = options.json {
        std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
        println!("JSON: {}", path.display());
    }
    server.stop();
}

/// Which of the two CAs signs the leaf of rotation `round` (0 is the first certificate): the
/// same CA as before every other time, the other CA in between.
fn ca_of(round: u64) -> usize {
    usize::from(round.div_ceil(2) % 2 == 1)
}

/// VmRSS of a process, in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// The compliant ~5 KB Deployment review as compact JSON with its keys in the fixture's order:
/// the API server's order, where `namespace` comes before `object` (a `serde_json::Value` would
/// sort them).
fn compact_review() -> Bytes {
    let text = common::fixture("reviews/deployment-compliant.json");
    let (mut out, mut in_string, mut escaped) = (Vec::with_capacity(text.len()), false, false);
    for byte in text {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
        } else if byte.is_ascii_whitespace() {
            continue;
        } else {
            in_string = byte == b'"';
        }
        out.push(byte);
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(&out).unwrap();
    Bytes::from(out)
}
