//! Benchmark of `kubectl hipaa scan`: generates a corpus of mixed objects, one file per object,
//! in a temporary directory, scans it through the same code path as the binary (`-o json` into
//! a sink), and prints objects per second and the process's peak RSS (VmHWM).
//!
//! Run on one core: `taskset -c 0 cargo bench -p kubectl-hipaa --bench scan_corpus`.
//! Optional arguments: `--objects N` (default 10000), `--runs N` (default 5), `--corpus-dir DIR`
//! (write the corpus there and keep it, to time the built binary on it).
//! Targets (docs/benchmarks.md): at least 20,000 objects/s, peak RSS at most 100 MiB.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::{Duration, Instant};

use clap::Parser;
use kubectl_hipaa::cli::Cli;
use kubectl_hipaa::{Exit, run};

/// The binary's allocator, so that the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TARGET_OBJECTS_PER_SECOND: f64 = 20_000.0;
const TARGET_PEAK_RSS_MIB: f64 = 100.0;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let number = |flag: &str, default: usize| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let objects = number("--objects", 10_000);
    let runs = number("--runs", 5).max(1);

    // `--corpus-dir DIR` keeps the corpus there, e.g. to time the built binary on it.
    let kept = args
        .iter()
        .position(|a| a == "--corpus-dir")
        .and_then(|i| args.get(i + 1));
    let temporary = tempfile::tempdir().unwrap();
    let dir_path = kept.map_or_else(|| temporary.path().to_path_buf(), std::path::PathBuf::from);
    std::fs::create_dir_all(&dir_path).unwrap();
    let started = Instant::now();
    common::generate(&dir_path, objects);
    println!(
        "generated {objects} objects, one file each, in {:.2?}",
        started.elapsed()
    );

    let cli = Cli::parse_from([
        "kubectl-hipaa",
        "scan",
        "-f",
        dir_path.to_str().unwrap(),
        "-o",
        "json",
    ]);
    let mut times = Vec::with_capacity(runs);
    let mut cpu_times = Vec::with_capacity(runs);
    for run_index in 0..runs {
        let mut sink = std::io::sink();
        let mut stdin: &[u8] = &[];
        let cpu_before = cpu_time();
        let started = Instant::now();
        let exit = run(&cli, &mut stdin, &mut sink).unwrap();
        let elapsed = started.elapsed();
        let cpu = cpu_time().saturating_sub(cpu_before);
        assert_eq!(
            exit,
            Exit::Failed,
            "the corpus holds violations, so the scan must fail"
        );
        println!(
            "run {}: {objects} objects in {:.3?} wall ({:.0} objects/s), {:.3?} on CPU ({:.0} objects/s)",
            run_index + 1,
            elapsed,
            rate(objects, elapsed),
            cpu,
            rate(objects, cpu)
        );
        times.push(elapsed);
        cpu_times.push(cpu);
    }
    times.sort();
    cpu_times.sort();
    let median = times[times.len() / 2];
    let median_cpu = cpu_times[cpu_times.len() / 2];
    let peak_mib = peak_rss_kib() as f64 / 1024.0;
    // The scan runs on one thread: its CPU time is the time one core needs, whatever else the
    // machine runs; wall time also counts waiting for a core shared with other work.
    let median_rate = rate(objects, median_cpu);
    println!("scan_corpus: objects={objects} runs={runs}");
    println!(
        "scan_corpus: median {:.0} objects/s per core (CPU time), {:.0} objects/s wall clock",
        median_rate,
        rate(objects, median)
    );
    println!("scan_corpus: peak RSS (VmHWM) {peak_mib:.1} MiB");
    println!(
        "scan_corpus: target >= {TARGET_OBJECTS_PER_SECOND:.0} objects/s: {}; peak RSS <= {TARGET_PEAK_RSS_MIB:.0} MiB: {}",
        verdict(median_rate >= TARGET_OBJECTS_PER_SECOND),
        verdict(peak_mib <= TARGET_PEAK_RSS_MIB)
    );
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

fn rate(objects: usize, elapsed: Duration) -> f64 {
    objects as f64 / elapsed.as_secs_f64()
}

/// CPU time of this (single-threaded) scan so far: /proc/self/schedstat's time on CPU.
fn cpu_time() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let nanos = text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(nanos)
}

/// VmHWM of this process, in KiB (0 where /proc is absent).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}
