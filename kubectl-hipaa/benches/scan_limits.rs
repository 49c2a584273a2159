//! Benchmark of the scan's memory and time at scale and under hostile input, measured on the
//! built binary as CI runs it: one child process per case, its wall time and its peak RSS
//! (VmHWM, sampled while it runs).
//!
//! Cases: the generated corpus of `--objects N` (default 100,000) mixed objects, one file each,
//! and the same objects as one stream on standard input; then hostile inputs, each refused with
//! exit status 2: a YAML alias bomb, a 100 MB document (as a file and on standard input),
//! 10,000- and 100,000-deep flow nesting (YAML and JSON), 10,000-deep block nesting, a 16 MiB
//! document of empty mappings (a node bomb) and empty standard input; and the two largest
//! documents the node limit lets through (parsed, exit 0), for what one document may cost.
//!
//! Run: `cargo bench -p kubectl-hipaa --bench scan_limits` (`-- --objects 10000` for a short run).
//! Targets (docs/reliability.md, kubectl hipaa scan): 100,000 objects with peak RSS at most
//! 300 MiB; every hostile input refused with peak RSS at most 200 MiB, within 20 s.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const SCALE_TARGET_MIB: f64 = 300.0;
const HOSTILE_TARGET_MIB: f64 = 200.0;
const HOSTILE_TARGET_SECONDS: f64 = 20.0;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let objects = args
        .iter()
        .position(|a| a == "--objects")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    let started = Instant::now();
    common::generate(&corpus, objects);
    println!(
        "generated {objects} objects, one file each, in {:.1?}",
        started.elapsed()
    );

    let mut all_met = true;
    let corpus_arg = corpus.to_str().unwrap();
    let (code, seconds, mib) = scan(&["-f", corpus_arg, "-o", "json"], None);
    all_met &= report(
        &format!("{objects} objects, one file each"),
        code,
        1,
        seconds,
        mib,
        SCALE_TARGET_MIB,
        f64::INFINITY,
    );

    let stream = concatenated(&corpus);
    let size = format!("{}", stream.len() + 1);
    let (code, seconds, mib) = scan(
        &["-f", "-", "-o", "json", "--max-input-size", &size],
        Some(stream),
    );
    all_met &= report(
        &format!("{objects} objects on standard input"),
        code,
        1,
        seconds,
        mib,
        SCALE_TARGET_MIB,
        f64::INFINITY,
    );

    for (name, file_name, text) in largest_accepted() {
        let path = dir.path().join(file_name);
        std::fs::write(&path, text).unwrap();
        let (code, seconds, mib) = scan(&["-f", path.to_str().unwrap(), "-o", "json"], None);
        std::fs::remove_file(&path).unwrap();
        all_met &= report(
            name,
            code,
            0,
            seconds,
            mib,
            HOSTILE_TARGET_MIB,
            HOSTILE_TARGET_SECONDS,
        );
    }

    for (name, file_name, text) in hostile_inputs() {
        let (code, seconds, mib) = if file_name == "-" {
            scan(&["-f", "-", "-o", "json"], Some(text))
        } else {
            let path = dir.path().join(file_name);
            std::fs::write(&path, text).unwrap();
            let result = scan(&["-f", path.to_str().unwrap(), "-o", "json"], None);
            std::fs::remove_file(&path).unwrap();
            result
        };
        all_met &= report(
            name,
            code,
            2,
            seconds,
            mib,
            HOSTILE_TARGET_MIB,
            HOSTILE_TARGET_SECONDS,
        );
    }
    println!(
        "scan_limits: every target {}",
        if all_met { "met" } else { "NOT met" }
    );
}

/// Runs the binary; returns its exit status, wall seconds and peak RSS in MiB.
fn scan(args: &[&str], stdin: Option<Vec<u8>>) -> (i32, f64, f64) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubectl-hipaa"))
        .arg("scan")
        .args(args)
        .env_remove("KUBECTL_HIPAA_MAX_INPUT_SIZE")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let writer = stdin.map(|bytes| {
        let mut pipe = child.stdin.take().unwrap();
        // The scan stops reading at its cap and exits: a broken pipe here is expected.
        std::thread::spawn(move || drop(pipe.write_all(&bytes)))
    });
    let (status, peak_kib) = common::wait_sampling_peak_rss(&mut child);
    if let Some(writer) = writer {
        writer.join().unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    (
        status.code().unwrap_or(-1),
        seconds,
        peak_kib as f64 / 1024.0,
    )
}

fn report(
    name: &str,
    code: i32,
    expected: i32,
    seconds: f64,
    mib: f64,
    max_mib: f64,
    max_seconds: f64,
) -> bool {
    let met = code == expected && mib <= max_mib && seconds <= max_seconds;
    println!(
        "scan_limits: {name}: exit {code} (expected {expected}), {seconds:.2} s, peak RSS {mib:.1} MiB (target <= {max_mib:.0} MiB): {}",
        if met { "met" } else { "NOT met" }
    );
    met
}

/// The corpus's files as one multi-document stream, in the order a directory scan reads them.
fn concatenated(dir: &Path) -> Vec<u8> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let mut stream = Vec::new();
    for path in paths {
        stream.extend_from_slice(b"---\n");
        stream.extend_from_slice(&std::fs::read(path).unwrap());
    }
    stream
}

/// Documents just within the node limit (240,000 nodes of 250,000), which are parsed: what the limit
/// lets one document cost. (case, file name, content).
fn largest_accepted() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let header = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: large}\ndata:\n";
    let mut lines = String::from(header);
    for index in 0..240_000 {
        lines.push_str(&format!("  key-{index}: value {index}\n"));
    }
    let mut items = format!("{header}  x: [");
    // Each item counts twice (its `{` and the `,` after it).
    for _ in 0..120_000 {
        items.push_str("{},");
    }
    items.push_str("{}]\n");
    vec![
        (
            "240,000 lines of key: value in one document (accepted)",
            "lines.yaml",
            lines.into_bytes(),
        ),
        (
            "120,000 empty mappings (240,000 nodes) in one document (accepted)",
            "items.yaml",
            items.into_bytes(),
        ),
    ]
}

/// (case, file name or `-` for standard input, content).
fn hostile_inputs() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let mut bomb = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for level in 1..9u8 {
        let (name, previous) = ((b'a' + level) as char, (b'a' + level - 1) as char);
        let refs = vec![format!("*{previous}"); 9].join(",");
        bomb.push_str(&format!("  {name}: &{name} [{refs}]\n"));
    }
    let big = |prefix: &str| {
        let mut text =
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big}}\ndata:\n{prefix}");
        while text.len() < 100_000_000 {
            text.push_str("  key-");
            text.push_str(&text.len().to_string());
            text.push_str(": some configuration value of a reasonable length\n");
        }
        text.into_bytes()
    };
    let flow = |depth: usize| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: deep}}\ndata:\n  x: {}{}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        )
        .into_bytes()
    };
    let json = |depth: usize| {
        format!(
            "{{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"data\": {}{}}}\n",
            "{\"a\": ".repeat(depth),
            "}".repeat(depth)
        )
        .into_bytes()
    };
    let block = format!(
        "apiVersion: v1\nkind: ConfigMap\ndata:\n  x:\n  {}x\n",
        "- ".repeat(10_000)
    )
    .into_bytes();
    let mut nodes = String::from("apiVersion: v1\nkind: ConfigMap\ndata:\n  x: [");
    while nodes.len() < 16 << 20 {
        nodes.push_str("{},");
    }
    nodes.push_str("{}]\n");
    vec![
        (
            "YAML alias bomb (9 levels of 9 aliases)",
            "bomb.yaml",
            bomb.into_bytes(),
        ),
        ("100 MB document (file)", "big.yaml", big("")),
        ("100 MB document (standard input)", "-", big("")),
        ("10,000-deep flow nesting", "flow-10k.yaml", flow(10_000)),
        ("100,000-deep flow nesting", "flow-100k.yaml", flow(100_000)),
        ("100,000-deep JSON nesting", "json-100k.json", json(100_000)),
        ("10,000-deep block nesting", "block-10k.yaml", block),
        (
            "16 MiB of empty mappings (node bomb)",
            "nodes.yaml",
            nodes.into_bytes(),
        ),
        ("empty standard input", "-", Vec::new()),
    ]
}
