//! Nothing of a run survives its test process: not when a guard is dropped, not when the process
//! panics, not when it is SIGKILLed.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use hipaa_testkit::{processes_of_run, run_dir, spawn_guarded};

use super::probe_support::start_probe;

/// The servers of a run, by the names in their command lines.
fn servers_of(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = processes_of_run(dir)
        .into_iter()
        .filter_map(|(_, cmdline)| {
            ["etcd", "kube-apiserver", "moto_server"]
                .into_iter()
                .find(|name| {
                    let program = cmdline
                        .split_whitespace()
                        .take(2)
                        .collect::<Vec<_>>()
                        .join(" ");
                    program.contains(&format!("/{name}"))
                })
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// Waits until no process of the run is left and its directory is gone.
fn assert_run_vanishes(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = processes_of_run(dir);
        if left.is_empty() && !dir.exists() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "20 s after its test process died, the run {} still has processes {left:?} (dir exists: {})",
            dir.display(),
            dir.exists()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_sigkilled_test_process_leaves_no_server_or_directory_behind() {
    let (mut probe, dir) = start_probe("hold");
    // The check below can fail: the servers are there while the probe lives.
    assert_eq!(servers_of(&dir), ["etcd", "kube-apiserver", "moto_server"]);
    assert!(dir.join("control-plane/kubeconfig").is_file());

    probe.kill().unwrap(); // SIGKILL: no destructor, no atexit, nothing runs in the probe
    probe.wait().unwrap();
    assert_run_vanishes(&dir);
}

#[test]
fn a_sigkilled_process_group_leaves_no_server_or_directory_behind() {
    // What a job runner or a terminal does: signal the test's whole process group at once, which
    // also hits the supervisors.
    let (mut probe, dir) = start_probe("hold");
    assert_eq!(servers_of(&dir), ["etcd", "kube-apiserver", "moto_server"]);
    let group = format!("-{}", probe.id());
    let status = Command::new("kill")
        .args(["-KILL", "--", &group])
        .status()
        .unwrap();
    assert!(status.success(), "kill -KILL -- {group} failed");
    probe.wait().unwrap();
    assert_run_vanishes(&dir);
}

#[test]
fn a_panicking_test_process_leaves_no_server_or_directory_behind() {
    let (mut probe, dir) = start_probe("panic");
    assert_eq!(servers_of(&dir), ["etcd", "kube-apiserver", "moto_server"]);
    let status = probe.wait().unwrap();
    assert_eq!(status.code(), Some(101), "the probe should have panicked");
    assert_run_vanishes(&dir);
}

#[test]
fn a_guarded_child_dies_with_its_guard() {
    let mut cmd = Command::new("sleep");
    cmd.arg("600").env("SMOKE_GUARD_PROBE", "1");
    let mut guard = spawn_guarded(cmd, "sleeper").unwrap();
    let dir = run_dir().unwrap();
    let sleepers = || {
        processes_of_run(dir)
            .into_iter()
            .filter(|(_, cmdline)| cmdline == "sleep 600")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while sleepers() == 0 {
        assert!(Instant::now() < deadline, "the guarded sleep never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(guard.is_running());
    assert!(guard.log_path().starts_with(dir));

    let status = guard.kill().unwrap();
    assert!(
        !status.success(),
        "sleep 600 cannot have finished by itself: {status}"
    );
    assert_eq!(sleepers(), 0);
}
