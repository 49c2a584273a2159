//! A process holding the node, with a running pod, is SIGKILLed together with its whole process
//! group (what a job runner or a terminal does): the node's janitor must still tear everything
//! down and restore the host, sysctls included. Its own binary: the node is one per machine, and
//! this test needs the node of another process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod probe_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use hipaa_testkit::processes_of_run;
use probe_support::start_probe;

/// The sysctls the kubelet and the CNI bridge change (host.sh records and restores them).
const SYSCTLS: [&str; 4] = [
    "vm.overcommit_memory",
    "kernel.panic",
    "kernel.panic_on_oops",
    "net.ipv4.ip_forward",
];

fn sysctls() -> Vec<String> {
    SYSCTLS
        .iter()
        .map(|key| {
            let path = format!("/proc/sys/{}", key.replace('.', "/"));
            std::fs::read_to_string(&path)
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .collect()
}

fn host_check() -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("controlplane/node/host.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg("check")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_sigkilled_process_group_holding_a_node_leaves_the_host_as_it_was() {
    let before = sysctls();
    let (mut probe, dir) = start_probe("node");
    let (clean, left) = host_check();
    assert!(!clean, "the node and its pod should be on the host now");
    assert!(
        left.contains("kubepods") && left.contains("hgbr0"),
        "{left}"
    );

    let group = format!("-{}", probe.id());
    let status = Command::new("kill")
        .args(["-KILL", "--", &group])
        .status()
        .unwrap();
    assert!(status.success(), "kill -KILL -- {group} failed");
    probe.wait().unwrap();

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (clean, left) = host_check();
        let processes = processes_of_run(&dir);
        if clean && processes.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "60 s after the probe died: host check says {left:?}; processes {processes:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(sysctls(), before, "sysctls {SYSCTLS:?} were not restored");
}
