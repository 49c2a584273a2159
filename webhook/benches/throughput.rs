//! Throughput benchmark (not a test): the webhook's HTTPS server in a child process on loopback,
//! driven by a closed-loop load generator (N keep-alive connections) on the same machine with a
//! ~5 KB Deployment AdmissionReview. Prints reviews/s and p50/p99 latency for the real
//! `/validate` (a compliant and a denied Deployment) and for an allow-all handler on the same
//! server in the same run, and the server's peak RSS.
//!
//! `cargo bench -p hipaa-webhook --bench throughput [-- --connections 8 --rounds 6 --seconds 1]`
//!
//! `-- --log pipe` writes the server's log as the binary does (`hipaa_runtime::log`) to its
//! stdout, a pipe that `cat` reads, as a container runtime reads a pod's; `--log pipe-direct`
//! writes it with fmt's stdout writer, as the webhook did until 2026-12-05; the default `sink`
//! formats every line and discards it. Only denials (and warnings, audits) log at info.
//!
//! `-- --calibrate <µs>` adds a phase that answers allow-all after that many microseconds of busy
//! work per review: what a fixed amount of added CPU costs in this harness, next to the real
//! judged path (see docs/benchmarks.md).
//!
//! Phases are interleaved (round-robin, one second each) so that other load on a shared machine
//! affects them alike; CPU time per review (from /proc) is reported for both processes and the log
//! reader, and so are the server threads' sleeps per review (voluntary context switches: waiting
//! for a lock, a full pipe or work).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "throughput/server.rs"]
mod server;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::ca::{TestCa, connect, post_review};
use server::{LogTo, Server};

/// The same allocator as the `hipaa-webhook` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Options {
    connections: usize,
    /// Seconds per phase per round.
    seconds: u64,
    rounds: u64,
    /// Run only the phases whose name contains this text (profiling).
    only: Option<String>,
    /// Microseconds of busy work for the calibration phase; None leaves the phase out.
    calibrate: Option<u64>,
    log: LogTo,
}

fn options(args: &[String]) -> Options {
    let value = |flag: &str, default: u64| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .map_or(default, |v| v.parse().unwrap())
    };
    let text = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    Options {
        connections: value("--connections", 8) as usize,
        seconds: value("--seconds", 1),
        rounds: value("--rounds", 6),
        only: text("--only"),
        calibrate: args
            .iter()
            .any(|a| a == "--calibrate")
            .then(|| value("--calibrate", 3)),
        log: text("--log").map_or(LogTo::Sink, |log| LogTo::parse(&log)),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve-child") {
        return server::serve_child(Path::new(&args[i + 1]), LogTo::parse(&args[i + 2]));
    }
    let options = options(&args);
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new();
    ca.leaf("bench")
        .write(&dir.path().join("tls.crt"), &dir.path().join("tls.key"));

    let server = Server::start(dir.path(), options.log);
    let (addr, pid, reader_pid) = (server.addr, server.child.id(), server.reader.id());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let compliant = compact("reviews/deployment-compliant.json");
    let denied = compact("reviews/deployment-dry-run.json");
    let unselected = in_namespace(&compliant, "marketing");
    let calibration = options
        .calibrate
        .map(|micros| (format!("allow-all + {micros} µs of work"), micros));
    let calibration_path: &'static str = match options.calibrate {
        Some(micros) => format!("/allow-all-after/{micros}").leak(),
        None => "",
    };
    let phases = [
        ("allow-all handler", "/allow-all", &compliant),
        ("decode + allow-all", "/decode-allow-all", &compliant),
        (
            calibration.as_ref().map_or("", |(name, _)| name.as_str()),
            calibration_path,
            &compliant,
        ),
        ("POST /validate, compliant", "/validate", &compliant),
        ("POST /validate, denied", "/validate", &denied),
        (
            "POST /validate, unselected namespace",
            "/validate",
            &unselected,
        ),
    ];
    let phases: Vec<_> = phases
        .into_iter()
        .filter(|(name, _, _)| {
            !name.is_empty()
                && options
                    .only
                    .as_deref()
                    .is_none_or(|only| name.contains(only))
        })
        .collect();
    println!(
        "webhook throughput: {} keep-alive HTTPS connections; {} rounds of {} s per phase, phases \
         interleaved; ~5 KB Deployment review ({} bytes); log: {}",
        options.connections,
        options.rounds,
        options.seconds,
        compliant.len(),
        options.log.as_str()
    );
    // Warm-up: connections, TLS, caches, allocator.
    runtime.block_on(drive(
        &ca,
        addr,
        "/validate",
        &compliant,
        options.connections,
        1,
    ));
    let mut totals: Vec<Totals> = phases.iter().map(|_| Totals::default()).collect();
    for _ in 0..options.rounds {
        for ((_, path, body), total) in phases.iter().zip(totals.iter_mut()) {
            let cpu_before = (
                cpu_seconds(pid),
                cpu_seconds(std::process::id()),
                cpu_seconds(reader_pid),
            );
            let waits_before = waits(pid);
            let (latencies, elapsed) = runtime.block_on(drive(
                &ca,
                addr,
                path,
                body,
                options.connections,
                options.seconds,
            ));
            total.server_cpu += cpu_seconds(pid) - cpu_before.0;
            total.client_cpu += cpu_seconds(std::process::id()) - cpu_before.1;
            total.reader_cpu += cpu_seconds(reader_pid) - cpu_before.2;
            total.server_waits += waits(pid) - waits_before;
            total.elapsed += elapsed;
            total.latencies.extend(latencies);
        }
    }
    let mut rates = Vec::new();
    for ((name, _, _), total) in phases.iter().zip(totals.iter_mut()) {
        let count = total.latencies.len() as f64;
        total.latencies.sort_unstable();
        let percentile = |p: f64| {
            let index = ((count * p) as usize).min(total.latencies.len() - 1);
            f64::from(total.latencies[index]) / 1000.0
        };
        let rate = count / total.elapsed;
        println!(
            "{name:<38} {rate:>7.0} reviews/s  p50 {:>5.3} ms  p99 {:>5.3} ms  CPU per review: server {:>3.0} µs, load generator {:>3.0} µs, log reader {:>4.1} µs; server sleeps per review {:>4.2}",
            percentile(0.50),
            percentile(0.99),
            total.server_cpu / count * 1e6,
            total.client_cpu / count * 1e6,
            total.reader_cpu / count * 1e6,
            total.server_waits as f64 / count,
        );
        rates.push((*name, rate));
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .map_or("?".into(), |l| {
                l.split_whitespace().skip(1).collect::<Vec<_>>().join(" ")
            })
    };
    println!(
        "server RSS: peak {}, now {}",
        field("VmHWM:"),
        field("VmRSS:")
    );
    let rate = |name: &str| rates.iter().find(|(n, _)| *n == name).map(|(_, r)| *r);
    if let (Some(validate), Some(allow), Some(decode)) = (
        rate("POST /validate, compliant"),
        rate("allow-all handler"),
        rate("decode + allow-all"),
    ) {
        println!(
            "POST /validate (compliant) vs allow-all: {:.2}x; vs decode + allow-all: {:.2}x",
            validate / allow,
            validate / decode
        );
    }
    if let (Some(denied), Some(allowed)) = (
        rate("POST /validate, denied"),
        rate("POST /validate, compliant"),
    ) {
        println!(
            "POST /validate denied vs compliant: {:.2}x",
            denied / allowed
        );
    }
    if let (Some((name, _)), Some(allow)) = (&calibration, rate("allow-all handler"))
        && let Some(calibrated) = rate(name)
    {
        println!("{name} vs allow-all: {:.2}x", calibrated / allow);
    }
    server.stop();
}

#[derive(Default)]
struct Totals {
    latencies: Vec<u32>,
    elapsed: f64,
    server_cpu: f64,
    client_cpu: f64,
    reader_cpu: f64,
    server_waits: u64,
}

/// User + system CPU time of a process so far, in seconds (from /proc/<pid>/stat).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at state (field 3).
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

/// Times the server's threads went to sleep waiting (a lock, a full pipe, no work): the sum of
/// `voluntary_ctxt_switches` over /proc/<pid>/task/*/status.
fn waits(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("status")).ok())
        .filter_map(|status| {
            let line = status
                .lines()
                .find(|l| l.starts_with("voluntary_ctxt_switches:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .sum()
}

/// The fixture as compact JSON, its keys in the fixture's order: the API server's order, where
/// `namespace` and `operation` come before `object` (serde_json's `Value` would sort them).
fn compact(fixture: &str) -> Bytes {
    let text = common::fixture(fixture);
    serde_json::from_slice::<serde::de::IgnoredAny>(&text).unwrap();
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

/// The same review, for a namespace no HipaaPolicy selects (the pipeline without the engine).
fn in_namespace(review: &Bytes, namespace: &str) -> Bytes {
    let text = std::str::from_utf8(review).unwrap();
    let moved = text.replace(
        "\"namespace\":\"billing\"",
        &format!("\"namespace\":\"{namespace}\""),
    );
    assert_eq!(
        moved.matches(namespace).count(),
        2,
        "request and object namespace"
    );
    Bytes::from(moved)
}

async fn drive(
    ca: &TestCa,
    addr: SocketAddr,
    path: &'static str,
    body: &Bytes,
    connections: usize,
    seconds: u64,
) -> (Vec<u32>, f64) {
    let connector = ca.connector();
    let mut senders = Vec::new();
    for _ in 0..connections {
        senders.push(connect(&connector, addr).await.unwrap().sender);
    }
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|mut sender| {
            let body = body.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(100_000);
                while Instant::now() < until {
                    let sent = Instant::now();
                    let (status, _) = post_review(&mut sender, path, body.clone()).await.unwrap();
                    assert_eq!(status, 200);
                    latencies.push(sent.elapsed().as_micros() as u32);
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    (latencies, started.elapsed().as_secs_f64())
}
