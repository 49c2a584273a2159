//! The built `kubectl-hipaa scan` under hostile and empty input: a YAML alias bomb, a 100 MB
//! document (file and standard input), 10,000- and 100,000-deep nesting, a node bomb, empty and
//! comment-only input, broken and looping symbolic links. Each exits 2 with a message naming the
//! input and the limit, prints nothing on standard output in any format, and stays within loose
//! bounds of memory (peak RSS 200 MiB, sampled from /proc while it runs) and time (20 s); the
//! exact figures are the `scan_limits` bench's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

mod common;

const MAX_PEAK_RSS_KIB: u64 = 200 * 1024;
const MAX_SECONDS: u64 = 20;
const FORMATS: [&str; 4] = ["table", "json", "sarif", "junit"];

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    peak_kib: u64,
    elapsed: Duration,
}

/// Runs the binary, feeding `stdin` from another thread (the scan may stop reading at its cap),
/// sampling its VmHWM every 2 ms until it exits.
fn scan(args: &[&str], stdin: Option<Vec<u8>>) -> Run {
    let started = Instant::now();
    let mut all = vec!["scan"];
    all.extend_from_slice(args);
    let mut command = common::command(&all);
    if stdin.is_some() {
        command.stdin(Stdio::piped());
    }
    let mut child = command.spawn().unwrap();
    let writer = stdin.map(|bytes| {
        let mut pipe = child.stdin.take().unwrap();
        std::thread::spawn(move || drop(pipe.write_all(&bytes)))
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || std::io::read_to_string(&mut stdout).unwrap());
    let err = std::thread::spawn(move || std::io::read_to_string(&mut stderr).unwrap());
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    let status = loop {
        if let Some(kib) = std::fs::read_to_string(&status_path).ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|r| r.split_whitespace().next()?.parse::<u64>().ok())
        }) {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    if let Some(writer) = writer {
        writer.join().unwrap();
    }
    Run {
        code: status.code().unwrap(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        peak_kib,
        elapsed: started.elapsed(),
    }
}

/// Exit 2, the message, nothing on standard output, within the loose bounds.
fn assert_refused(run: &Run, message: &str) {
    assert_eq!(run.code, 2, "stderr: {}", run.stderr);
    assert!(
        run.stderr.contains(message),
        "expected {message:?} in {}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "partial output: {}", run.stdout);
    // A refusal that ends before the first 2 ms sample (or between spawn and the first read, a
    // zombie has no VmHWM) leaves none; so short a run cannot have touched anywhere near the
    // bound, and any run long enough to matter is sampled.
    assert!(
        run.peak_kib > 0 || run.elapsed < Duration::from_millis(50),
        "no RSS sample in {:?}",
        run.elapsed
    );
    assert!(
        run.peak_kib <= MAX_PEAK_RSS_KIB,
        "peak RSS {} KiB: {}",
        run.peak_kib,
        run.stderr
    );
    assert!(
        run.elapsed <= Duration::from_secs(MAX_SECONDS),
        "{:?}",
        run.elapsed
    );
}

/// Writes `text` to `name` in `dir` and scans it in every format, each refused with `message`.
fn assert_file_refused(dir: &Path, name: &str, text: &[u8], message: &str) {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let path_text = path.to_str().unwrap();
    for format in FORMATS {
        let run = scan(&["-f", path_text, "-o", format], None);
        assert_refused(&run, &format!("{path_text}:"));
        assert_refused(&run, message);
    }
}

fn config_map(data: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: hostile}}\ndata:\n{data}")
}

#[test]
fn an_alias_bomb_is_refused() {
    let mut data = String::from("  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..9u8 {
        let (name, previous) = ((b'a' + level) as char, (b'a' + level - 1) as char);
        let refs = vec![format!("*{previous}"); 9].join(", ");
        data.push_str(&format!("  {name}: &{name} [{refs}]\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    assert_file_refused(
        dir.path(),
        "bomb.yaml",
        config_map(&data).as_bytes(),
        "YAML aliases expand to more nodes than the reader's limit allows",
    );
}

#[test]
fn deep_nesting_is_refused_before_it_costs_quadratic_time() {
    let dir = tempfile::tempdir().unwrap();
    for depth in [10_000, 100_000] {
        let flow = config_map(&format!(
            "  x: {}{}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        ));
        let json = format!(
            "{{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"data\": {}{}}}\n",
            "{\"a\": ".repeat(depth),
            "}".repeat(depth)
        );
        let block = config_map(&format!("  x:\n  {}x\n", "- ".repeat(depth)));
        for (name, text) in [
            ("flow.yaml", flow),
            ("deep.json", json),
            ("block.yaml", block),
        ] {
            assert_file_refused(
                dir.path(),
                name,
                text.as_bytes(),
                "nesting deeper than 128 levels (the limit)",
            );
        }
    }
    // On standard input too, naming it.
    let deep = format!("a: {}{}\n", "{a: ".repeat(100_000), "}".repeat(100_000));
    let run = scan(&["-f", "-", "-o", "sarif"], Some(deep.into_bytes()));
    assert_refused(&run, "<stdin>:1: nesting deeper than 128 levels");
}

#[test]
fn a_100_mb_document_is_refused_at_the_size_limit() {
    let mut text = config_map("");
    while text.len() < 100_000_000 {
        text.push_str(&format!("  key-{}: a configuration value\n", text.len()));
    }
    let limit = "larger than the input size limit of 32 MiB (raise it with --max-input-size";
    let run = scan(&["-f", "-", "-o", "junit"], Some(text.clone().into_bytes()));
    assert_refused(&run, &format!("<stdin>: {limit}"));
    let dir = tempfile::tempdir().unwrap();
    assert_file_refused(dir.path(), "big.yaml", text.as_bytes(), limit);
    // The flag and its environment variable move the limit.
    let small = config_map("  a: b\n");
    let run = scan(
        &["-f", "-", "--max-input-size", "64"],
        Some(small.clone().into_bytes()),
    );
    assert_refused(
        &run,
        "<stdin>: larger than the input size limit of 64 bytes",
    );
    let run = scan(
        &["-f", "-", "--max-input-size", "1KiB"],
        Some(small.into_bytes()),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_node_bomb_is_refused_before_parsing() {
    let mut data = String::from("  x: [");
    while data.len() < 16 << 20 {
        data.push_str("{},");
    }
    data.push_str("{}]\n");
    let dir = tempfile::tempdir().unwrap();
    assert_file_refused(
        dir.path(),
        "nodes.yaml",
        config_map(&data).as_bytes(),
        "more than 250,000 YAML nodes in one document (the limit)",
    );
}

#[test]
fn input_without_any_object_is_an_error_unless_allowed() {
    for format in FORMATS {
        let run = scan(&["-f", "-", "-o", format], Some(Vec::new()));
        assert_refused(&run, "no Kubernetes object in <stdin>: nothing to scan");
    }
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.yaml");
    let comments = dir.path().join("comments.yaml");
    std::fs::write(&empty, "").unwrap();
    std::fs::write(
        &comments,
        "# rendered nothing\n---\n# Source: chart/templates/x.yaml\n---\n",
    )
    .unwrap();
    let run = scan(
        &[
            "-f",
            empty.to_str().unwrap(),
            "-f",
            comments.to_str().unwrap(),
        ],
        None,
    );
    assert_refused(&run, "no Kubernetes object in");
    assert!(
        run.stderr.contains("empty.yaml, ") && run.stderr.contains("comments.yaml"),
        "{}",
        run.stderr
    );
    let run = scan(&["-f", dir.path().to_str().unwrap(), "--allow-empty"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("0 objects read"), "{}", run.stdout);
    // A ConfigMap alone is an object (skipped, not judged): not empty.
    let run = scan(&["-f", "-"], Some(config_map("  a: b\n").into_bytes()));
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn broken_and_looping_symlinks_are_errors_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("app.yaml"), config_map("  a: b\n")).unwrap();
    std::os::unix::fs::symlink(root.join("missing.yaml"), root.join("broken.yaml")).unwrap();
    let root_text = root.to_str().unwrap();
    for format in FORMATS {
        let run = scan(&["-f", root_text, "-o", format], None);
        assert_refused(
            &run,
            &format!("{root_text}/broken.yaml: broken symbolic link to"),
        );
    }
    let run = scan(&["-f", &format!("{root_text}/broken.yaml")], None);
    assert_refused(&run, "broken.yaml: broken symbolic link to");
    std::fs::remove_file(root.join("broken.yaml")).unwrap();
    std::os::unix::fs::symlink(root.join("loop.yaml"), root.join("loop.yaml")).unwrap();
    let run = scan(&["-f", root_text], None);
    assert_refused(
        &run,
        &format!("{root_text}/loop.yaml: symbolic link that cannot be followed"),
    );
}
