//! The local demo (`make demo`) end to end, as CI runs it (`DEMO_NONINTERACTIVE=1`): it must print
//! each policy's compliance as the operator audited it (Kubernetes and AWS), show a non-compliant
//! Deployment denied with its controls and 45 CFR sections, tell the user what to try next, and
//! leave nothing running.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod demo_support;

use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use demo_support::{address_after, assert_story, repo_root};
use hipaa_testkit::{CmdOutput, cargo_bin, run_with_timeout};

fn run_demo() -> CmdOutput {
    let root = repo_root();
    let operator = cargo_bin("hipaa-operator");
    cargo_bin("hipaa-webhook");
    cargo_bin("hipaa-localcluster");
    let bins = hipaa_testkit::bin_dir().unwrap();
    let mut demo = Command::new("bash");
    demo.arg(root.join("scripts/demo.sh"))
        .current_dir(&root)
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
    assert_story(stdout);

    // Nothing answers any more where the control plane and moto were.
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
