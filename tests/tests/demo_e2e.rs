//! The local demo (`make demo`) end to end, as CI runs it (`DEMO_NONINTERACTIVE=1`): it must print
//! each policy's compliance as the operator audited it (Kubernetes and AWS), show a non-compliant
//! Deployment denied with its controls and 45 CFR sections, tell the user what to try next, and
//! leave nothing running.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use hipaa_testkit::{CmdOutput, cargo_bin, run_with_timeout};

/// The lines printed after the step header `==> <title>` up to the next step.
fn section<'a>(stdout: &'a str, title: &str) -> &'a str {
    let header = format!("==> {title}");
    let Some(start) = stdout.find(&header) else {
        panic!("the demo printed no step {header:?}:\n{stdout}")
    };
    let body = &stdout[start + header.len()..];
    &body[..body.find("\n==> ").unwrap_or(body.len())]
}

/// The row of `kubectl get hipaapolicies` for `policy`, split into columns.
fn policy_row<'a>(table: &'a str, policy: &str) -> Vec<&'a str> {
    table
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|columns| columns.first() == Some(&policy))
        .unwrap_or_else(|| panic!("no row for {policy} in:\n{table}"))
}

/// The `127.0.0.1:<port>` that follows `label` in the demo's output.
fn address_after(stdout: &str, label: &str) -> String {
    let start = stdout
        .find(label)
        .map(|i| i + label.len())
        .unwrap_or_else(|| panic!("no {label:?}"));
    stdout[start..]
        .trim_start()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
        .collect()
}

fn run_demo() -> CmdOutput {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .canonicalize()
        .unwrap();
    let root = root.parent().unwrap();
    let operator = cargo_bin("hipaa-operator");
    cargo_bin("hipaa-webhook");
    cargo_bin("hipaa-localcluster");
    let bins = hipaa_testkit::bin_dir().unwrap();
    let mut demo = Command::new("bash");
    demo.arg(root.join("scripts/demo.sh"))
        .current_dir(root)
        .env("DEMO_NONINTERACTIVE", "1")
        .env("DEMO_SKIP_BUILD", "1")
        .env("DEMO_TARGET_DIR", operator.parent().unwrap())
        .env("HIPAA_GUARD_K8S_BIN", bins)
        .env_remove("KUBECONFIG")
        .env_remove("DEMO_KEEP");
    run_with_timeout(&mut demo, None, Duration::from_secs(600)).unwrap()
}

#[test]
fn demo_shows_compliance_and_a_denial_then_tears_down() {
    let out = run_demo();
    assert!(out.success(), "the demo failed:\n{out}");
    let stdout = out.stdout.as_str();

    // The operator's audit, as `kubectl get hipaapolicies` shows it.
    let table = section(stdout, "kubectl get hipaapolicies");
    let header: Vec<&str> = table
        .lines()
        .find(|l| l.starts_with("NAME"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(header, hipaa_testkit::HIPAA_POLICY_COLUMNS);
    let production = policy_row(table, "phi-production");
    assert_eq!(
        &production[1..3],
        ["Enforce", "True"],
        "the compliant billing namespace:\n{table}"
    );
    assert_eq!(production[4], "0", "no violations in billing:\n{table}");
    let onboarding = policy_row(table, "phi-onboarding");
    assert_eq!(
        &onboarding[1..3],
        ["Audit", "False"],
        "the legacy claims namespace:\n{table}"
    );
    assert!(onboarding[4].parse::<u32>().unwrap() > 0, "{table}");
    let development = policy_row(table, "no-phi-in-development");
    assert_eq!(
        &development[1..3],
        ["Warn", "False"],
        "PHI in the sandbox:\n{table}"
    );

    // What the audit found behind the legacy workload, in Kubernetes and in AWS.
    let findings = section(stdout, "what the audit found for phi-onboarding");
    for control in [
        "HIPAA-K8S-SECRETS-IN-ENV",
        "HIPAA-ECR-SCAN",
        "HIPAA-ECR-IMMUTABLE-TAGS",
        "HIPAA-SM-ROTATION",
    ] {
        assert!(
            findings.contains(control),
            "expected {control} among:\n{findings}"
        );
    }

    // The denial, one line per failed control with its section.
    let denial = section(
        stdout,
        "kubectl apply -f deploy/samples/workloads/billing-non-compliant.yaml",
    );
    assert!(denial.contains("denied the request"), "{denial}");
    for needle in [
        "[HIPAA-K8S-PRIVILEGED] 164.312(a)(1)",
        "[HIPAA-K8S-SECRETS-IN-ENV]",
        "[HIPAA-K8S-IMAGE-REGISTRY]",
        "Deployment billing/billing-debug",
    ] {
        assert!(
            denial.contains(needle),
            "expected {needle:?} in the denial:\n{denial}"
        );
    }

    // What to try next, then a complete teardown.
    let next = section(stdout, "try it yourself");
    assert!(next.contains("export KUBECONFIG="), "{next}");
    assert!(stdout.contains("==> tearing down"), "{stdout}");
    for label in ["API server", "AWS endpoint"] {
        let address = address_after(stdout, label);
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(&address).is_ok() {
            assert!(
                Instant::now() < deadline,
                "{label} {address} still answers after the demo ended"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
