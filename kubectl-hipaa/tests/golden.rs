//! Golden outputs of `kubectl hipaa scan` on the fixture manifests, one per format. Set
//! UPDATE_GOLDEN=1 to rewrite them after an intended change, then
//! review the diff.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;

use clap::Parser;
use kubectl_hipaa::cli::Cli;
use kubectl_hipaa::{Exit, run};

/// Runs the CLI in-process (paths are relative to the crate, as cargo runs tests there).
fn run_cli(args: &[&str]) -> (Exit, String) {
    let mut argv = vec!["kubectl-hipaa"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv).unwrap();
    let mut out = Vec::new();
    let mut stdin: &[u8] = &[];
    let exit = run(&cli, &mut stdin, &mut out).unwrap();
    (exit, String::from_utf8(out).unwrap())
}

fn check_golden(name: &str, actual: &str) {
    let path = Path::new("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    similar_asserts::assert_eq!(
        expected,
        actual,
        "{} differs (UPDATE_GOLDEN=1 rewrites it)",
        path.display()
    );
}

const MANIFESTS: &str = "tests/fixtures/manifests";
const POLICY: &str = "tests/fixtures/policy.yaml";

#[test]
fn scan_text() {
    let (exit, out) = run_cli(&[
        "scan", "-f", MANIFESTS, "--policy", POLICY, "--color", "never", "--width", "100",
    ]);
    assert_eq!(exit, Exit::Failed);
    check_golden("scan.text.txt", &out);
}

#[test]
fn scan_text_of_an_application_without_its_namespace() {
    let (exit, out) = run_cli(&[
        "scan",
        "-f",
        "tests/fixtures/guestbook",
        "--color",
        "never",
        "--width",
        "80",
    ]);
    assert_eq!(exit, Exit::Failed);
    check_golden("scan-guestbook.text.txt", &out);
}

#[test]
fn scan_table() {
    let (exit, out) = run_cli(&[
        "scan", "-f", MANIFESTS, "--policy", POLICY, "--color", "never", "-o", "table",
    ]);
    assert_eq!(exit, Exit::Failed);
    check_golden("scan.table.txt", &out);
}

#[test]
fn scan_json() {
    let (exit, out) = run_cli(&["scan", "-f", MANIFESTS, "--policy", POLICY, "-o", "json"]);
    assert_eq!(exit, Exit::Failed);
    check_golden("scan.json", &out);
}

#[test]
fn scan_sarif() {
    let (exit, out) = run_cli(&["scan", "-f", MANIFESTS, "--policy", POLICY, "-o", "sarif"]);
    assert_eq!(exit, Exit::Failed);
    check_golden("scan.sarif", &out);
}

#[test]
fn scan_junit() {
    let (exit, out) = run_cli(&["scan", "-f", MANIFESTS, "--policy", POLICY, "-o", "junit"]);
    assert_eq!(exit, Exit::Failed);
    check_golden("scan.junit.xml", &out);
}

#[test]
fn scan_with_the_catalog_defaults_json() {
    let (exit, out) = run_cli(&["scan", "-f", MANIFESTS, "-o", "json"]);
    assert_eq!(exit, Exit::Failed);
    check_golden("scan-defaults.json", &out);
}
