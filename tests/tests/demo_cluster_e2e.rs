//! The in-cluster demo (`make demo-cluster`) end to end, as CI would run it
//! (`DEMO_NONINTERACTIVE=1 DEMO_SKIP_BUILD=1`): on a real node, with the chart's pods from the
//! images of `make images`, it must tell the same story as `make demo` (demo_support), show the
//! webhook and operator pods Running on the node, and leave nothing behind: no process of its run,
//! and the host as `host.sh check` expects it. Needs root; its own test binary, because the node
//! is one per machine (the node's lock serialises it with cluster_e2e).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod demo_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use demo_support::{assert_story, repo_root, row, section, value_after};
use hipaa_testkit::{
    CmdOutput, IMAGES_DIR_ENV, NODE_NAME, cargo_bin, processes_of_run, run, run_with_timeout,
};

/// The machine's node lock (tests/src/node/host.rs): whoever holds it owns the host's node state.
const NODE_LOCK: &str = "/var/lib/hipaa-guard-node.lock";
/// A node start may first wait up to 15 minutes for another node (an in-cluster test) to end.
const DEMO_TIMEOUT: Duration = Duration::from_secs(1500);

/// Fails, saying what to run, when something the demo needs is missing: it must never pass by
/// skipping. Returns the control-plane and node binaries' directory.
fn preconditions(root: &Path) -> &'static Path {
    let uid = run(Command::new("id").arg("-u"), None).unwrap();
    assert_eq!(
        uid.stdout.trim(),
        "0",
        "make demo-cluster runs a real node and needs root: run this test as root"
    );
    let images = std::env::var_os(IMAGES_DIR_ENV)
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/images"));
    for name in ["hipaa-webhook", "hipaa-operator", "pause"] {
        let archive = images.join(format!("{name}.tar"));
        assert!(
            archive.is_file(),
            "{} is missing: run `make images` (scripts/build-images.sh) first",
            archive.display()
        );
    }
    cargo_bin("hipaa-localcluster");
    let bins = hipaa_testkit::bin_dir().unwrap();
    for binary in [
        "kubelet",
        "kube-proxy",
        "kube-controller-manager",
        "kube-scheduler",
    ] {
        assert!(
            bins.join(binary).is_file(),
            "{} lacks {binary}: run `bash tests/controlplane/build.sh` first",
            bins.display()
        );
    }
    bins
}

fn run_demo(root: &Path, bins: &Path) -> CmdOutput {
    let localcluster = cargo_bin("hipaa-localcluster");
    let mut demo = Command::new("bash");
    demo.arg(root.join("scripts/demo-cluster.sh"))
        .current_dir(root)
        .env("DEMO_NONINTERACTIVE", "1")
        .env("DEMO_SKIP_BUILD", "1")
        .env("DEMO_TARGET_DIR", localcluster.parent().unwrap())
        .env("HIPAA_GUARD_K8S_BIN", bins)
        .env_remove("KUBECONFIG")
        .env_remove("DEMO_KEEP");
    run_with_timeout(&mut demo, None, DEMO_TIMEOUT).unwrap()
}

/// Waits up to 30 s for `host.sh check` to pass, run under the node lock so that a node another
/// test binary starts right after ours (it waited for the lock) is never taken for a leftover.
fn assert_host_restored(root: &Path) {
    let script = root.join("tests/controlplane/node/host.sh");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut check = Command::new("flock");
        check
            .args(["-n", "-E", "75", NODE_LOCK, "bash"])
            .arg(&script)
            .arg("check");
        let out = run(&mut check, None).unwrap();
        match out.status {
            0 => return,
            // Our node's janitor is gone (no process of the run is left), so the lock is another
            // node's: the host is in its hands now, not ours to check.
            75 if Instant::now() >= deadline => {
                eprintln!("another node holds {NODE_LOCK}: host check left to its own teardown");
                return;
            }
            _ if Instant::now() >= deadline => {
                panic!("the host was not restored within 30 s after the demo:\n{out}")
            }
            _ => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

#[test]
fn demo_cluster_runs_the_story_in_pods_then_restores_the_host() {
    let root = repo_root();
    let bins = preconditions(&root);
    let began = Instant::now();
    let out = run_demo(&root, bins);
    eprintln!("make demo-cluster took {:.1?}", began.elapsed());
    assert!(out.success(), "the demo failed:\n{out}");
    let stdout = out.stdout.as_str();
    assert_story(stdout);

    // The product really runs as pods on the node.
    let pods = section(stdout, "kubectl get pods -n hipaa-guard -o wide");
    for component in ["webhook", "operator"] {
        let prefix = format!("hipaa-guard-{component}-");
        let names: Vec<&str> = pods
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .filter(|name| name.starts_with(&prefix))
            .collect();
        assert!(!names.is_empty(), "no {component} pod in:\n{pods}");
        for name in names {
            let columns = row(pods, name);
            assert_eq!(&columns[1..3], ["1/1", "Running"], "{name}:\n{pods}");
            assert!(columns.contains(&NODE_NAME), "{name}:\n{pods}");
        }
    }

    // Nothing of the run is left (its servers, the node's janitor), and the host is as it was.
    let logs = PathBuf::from(value_after(stdout, "the node's:"));
    let run_dir = logs.parent().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = processes_of_run(run_dir);
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "processes of the demo's run {} are left: {left:#?}",
            run_dir.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_host_restored(&root);
}
