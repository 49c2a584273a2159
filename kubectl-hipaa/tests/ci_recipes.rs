//! The CI recipes (.pre-commit-hooks.yaml, docs/ci/github-actions.yml, docs/ci/gitlab-ci.yml)
//! work as written: each file parses, the `kubectl-hipaa scan` line it runs parses with the real
//! CLI, and its scan step, run by bash against a compliant manifest, one with a finding and one
//! that is not valid YAML, exits 0, 1 and 2 and leaves the report its upload step expects (SARIF
//! with `runs`, JUnit with `testsuites`), under the name that step reads.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clap::Parser;
use kubectl_hipaa::cli::{Cli, Command as CliCommand, ScanFormat};
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn recipe(path: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join(path)).unwrap();
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
}

/// The three fixture cases and the exit status each must give.
const CASES: [(&str, i32); 3] = [("compliant", 0), ("findings", 1), ("bad", 2)];

/// A copy of the case's `k8s/` directory in a fresh working directory, as a checkout would be.
fn checkout(case: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let from = Path::new("tests/fixtures/ci").join(case).join("k8s");
    std::fs::create_dir(dir.path().join("k8s")).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join("k8s").join(entry.file_name())).unwrap();
    }
    dir
}

/// PATH with the built binary's directory first, as the recipes' install step leaves it.
fn path_with_the_binary() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_kubectl-hipaa"));
    let dir = bin.parent().unwrap().display().to_string();
    match std::env::var("PATH") {
        Ok(path) => format!("{dir}:{path}"),
        Err(_) => dir,
    }
}

fn bash(script: &str, cwd: &Path, env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new("bash");
    command
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(cwd)
        .env("PATH", path_with_the_binary())
        .env_remove("KUBECTL_HIPAA_OUTPUT")
        .env_remove("KUBECTL_HIPAA_FAIL_ON");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

/// Shell words of `line` up to the first redirection, pipe or list operator, and the file that
/// standard output is redirected to, if any. Quotes are honoured; nothing else is expanded.
fn shell_words(line: &str) -> (Vec<String>, Option<String>) {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut redirect = false;
    let mut target = None;
    let mut finish = |word: &mut String, redirect: &mut bool, words: &mut Vec<String>| {
        if word.is_empty() {
            return;
        }
        if *redirect {
            target = Some(std::mem::take(word));
            *redirect = false;
        } else if target.is_none() {
            words.push(std::mem::take(word));
        } else {
            word.clear();
        }
    };
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, c) if c.is_whitespace() => finish(&mut word, &mut redirect, &mut words),
            (None, '>') => {
                finish(&mut word, &mut redirect, &mut words);
                redirect = true;
            }
            (None, '|' | ';' | '&') => break,
            (None, c) => word.push(c),
        }
    }
    finish(&mut word, &mut redirect, &mut words);
    (words, target)
}

/// The scan command in `script` (exactly one line runs it), parsed by the real CLI, with the
/// file its output goes to.
fn scan_line(script: &str) -> (Cli, Option<String>) {
    let lines: Vec<&str> = script
        .lines()
        .filter(|l| l.trim_start().starts_with("kubectl-hipaa scan"))
        .collect();
    assert_eq!(lines.len(), 1, "one scan line in:\n{script}");
    let (words, target) = shell_words(lines[0]);
    let cli = Cli::try_parse_from(&words)
        .unwrap_or_else(|e| panic!("{:?} does not parse: {e}", lines[0]));
    (cli, target)
}

fn scan_format(cli: &Cli) -> ScanFormat {
    match &cli.command {
        CliCommand::Scan(args) => args.output,
        other => panic!("not a scan: {other:?}"),
    }
}

#[test]
fn the_pre_commit_hook_scans_the_files_it_is_given() {
    let hooks = recipe(".pre-commit-hooks.yaml");
    let hook = hooks
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == "kubectl-hipaa-scan")
        .expect("a kubectl-hipaa-scan hook");
    assert!(
        matches!(hook["language"].as_str(), Some("system" | "script")),
        "{hook}"
    );
    assert_eq!(hook["pass_filenames"], true);
    // pre-commit runs: entry, then args, then the staged file names.
    let mut command = hook["entry"].as_str().unwrap().to_string();
    for arg in hook["args"].as_array().into_iter().flatten() {
        command.push(' ');
        command.push_str(arg.as_str().unwrap());
    }
    command.push_str(" k8s/intake.yaml");
    let (cli, target) = scan_line(&command);
    assert_eq!(target, None);
    assert_eq!(scan_format(&cli), ScanFormat::Text);
    for (case, expected) in CASES {
        let dir = checkout(case);
        let out = bash(&command, dir.path(), &[]);
        assert_eq!(
            out.status.code(),
            Some(expected),
            "{case}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Whether a step's `if:` holds, for the one form the recipe uses:
/// `steps.scan.outputs.exit-code == 'N'` alternatives joined by `||`. A step without `if:` runs
/// when the previous ones succeeded; an `if:` without a status function also needs that.
fn step_runs(step: &Value, exit_code: &str) -> bool {
    let Some(condition) = step["if"].as_str() else {
        return true;
    };
    assert!(
        !condition.contains("always()") && !condition.contains("failure()"),
        "{condition}"
    );
    condition.split("||").any(|part| {
        let (left, right) = part.split_once("==").unwrap();
        assert_eq!(left.trim(), "steps.scan.outputs.exit-code", "{condition}");
        right.trim().trim_matches('\'') == exit_code
    })
}

#[test]
fn github_actions_uploads_the_sarif_then_fails_on_findings() {
    let workflow = recipe("docs/ci/github-actions.yml");
    let steps = workflow["jobs"]["scan"]["steps"].as_array().unwrap();
    let position = |pred: &dyn Fn(&Value) -> bool| steps.iter().position(pred).unwrap();
    let scan_at = position(&|s| s["id"] == "scan");
    let upload_at = position(&|s| {
        s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
    });
    let fail_at = position(&|s| s["name"] == "Fail on findings");
    assert!(scan_at < upload_at && upload_at < fail_at);
    let (scan, upload, fail) = (&steps[scan_at], &steps[upload_at], &steps[fail_at]);
    assert_eq!(workflow["permissions"]["security-events"], "write");

    let script = scan["run"].as_str().unwrap();
    let (cli, target) = scan_line(script);
    assert_eq!(scan_format(&cli), ScanFormat::Sarif);
    let sarif_file = upload["with"]["sarif_file"].as_str().unwrap();
    assert_eq!(target.as_deref(), Some(sarif_file));

    for (case, expected) in CASES {
        let dir = checkout(case);
        let outputs = dir.path().join("github-output");
        std::fs::write(&outputs, "").unwrap();
        let out = bash(script, dir.path(), &[("GITHUB_OUTPUT", &outputs)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let recorded = std::fs::read_to_string(&outputs).unwrap();
        assert_eq!(recorded.trim(), format!("exit-code={expected}"), "{case}");
        let job_fails = if expected >= 2 {
            // The step fails: the later steps are skipped and nothing is uploaded.
            assert_eq!(out.status.code(), Some(expected), "{case}: {stderr}");
            true
        } else {
            assert!(out.status.success(), "{case}: {stderr}");
            assert!(step_runs(upload, &expected.to_string()), "{case}");
            let sarif: Value =
                serde_json::from_slice(&std::fs::read(dir.path().join(sarif_file)).unwrap())
                    .unwrap_or_else(|e| panic!("{case}: the SARIF is not JSON: {e}"));
            assert_eq!(sarif["version"], "2.1.0");
            let results = sarif["runs"][0]["results"].as_array().unwrap();
            assert_eq!(results.is_empty(), expected == 0, "{case}: {results:?}");
            for result in results {
                let uri = &result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
                assert_eq!(uri, "k8s/intake.yaml", "{case}: {result}");
            }
            step_runs(fail, &expected.to_string())
        };
        assert_eq!(job_fails, expected != 0, "{case}");
        if step_runs(fail, &expected.to_string()) {
            assert_eq!(fail["run"], "exit 1");
        }
    }
}

#[test]
fn gitlab_ci_reports_junit_and_fails_on_findings() {
    let pipeline = recipe("docs/ci/gitlab-ci.yml");
    let job = &pipeline["hipaa-guard"];
    let script: Vec<&str> = job["script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let (cli, target) = scan_line(&script.join("\n"));
    assert_eq!(scan_format(&cli), ScanFormat::Junit);
    let report = job["artifacts"]["reports"]["junit"].as_str().unwrap();
    assert_eq!(target.as_deref(), Some(report));
    assert_eq!(job["artifacts"]["when"], "always");

    for (case, expected) in CASES {
        let dir = checkout(case);
        // GitLab runs the script's lines in order and stops at the first that fails.
        let status = script
            .iter()
            .map(|line| bash(line, dir.path(), &[]).status.code())
            .find(|code| *code != Some(0))
            .unwrap_or(Some(0));
        assert_eq!(status, Some(expected), "{case}");
        let xml = std::fs::read_to_string(dir.path().join(report)).unwrap();
        if expected >= 2 {
            assert!(xml.is_empty(), "{case}: nothing is written on bad input");
            continue;
        }
        let doc = roxmltree::Document::parse(&xml)
            .unwrap_or_else(|e| panic!("{case}: the JUnit report is not XML: {e}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        let failures: u32 = root.attribute("failures").unwrap().parse().unwrap();
        assert_eq!(failures == 0, expected == 0, "{case}: {xml}");
    }
}

#[test]
fn the_scan_line_is_read_as_a_shell_reads_it() {
    let (words, target) = shell_words("kubectl-hipaa scan -f 'my dir/' -o sarif > out.sarif");
    assert_eq!(
        words,
        ["kubectl-hipaa", "scan", "-f", "my dir/", "-o", "sarif"]
    );
    assert_eq!(target.as_deref(), Some("out.sarif"));
    let (words, target) = shell_words("kubectl-hipaa scan -f k8s/ | tee x");
    assert_eq!(words, ["kubectl-hipaa", "scan", "-f", "k8s/"]);
    assert_eq!(target, None);
}
