//! The node's host changes, through `tests/controlplane/node/host.sh`: `up` before the node
//! starts (clearing what an interrupted run left, then recording the host's state), and `down`
//! from a janitor process once this test process is gone, however it ends.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use anyhow::{Context, bail};

use crate::run_dir::RUN_MARKER_ENV;

/// Every process of the node carries this variable, so that `host.sh down` finds the ones that
/// outlive their supervisors (containerd's shims are re-parented to init).
pub const NODE_PROCESS_ENV: &str = "HIPAA_GUARD_NODE_PROCESS";

/// Takes the machine's node lock (one node at a time: another test binary, or the in-cluster
/// demo, waits for it), says so, waits for end-of-file on stdin (the test process is gone: its
/// supervisors are killing the node's servers at the same moment), then restores the host and
/// releases the lock by exiting. Deaf to the signals a terminal or a job runner sends to the
/// whole process group, like the run directory's janitor.
const JANITOR_SCRIPT: &str = r#"
trap '' HUP INT TERM
exec 9>"$3"
flock -w 900 9 || { echo "timeout"; exit 1; }
echo locked
read -r _ || true
sleep 0.5
bash "$1" down >>"$2" 2>&1
"#;

/// The machine-wide lock of the node, held by the janitor from before `up` until after `down`.
const LOCK_FILE: &str = "/var/lib/hipaa-guard-node.lock";

pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("controlplane/node/host.sh")
}

/// The janitor's lifeline: dropping it (or this process ending) tears the node down.
pub struct Janitor {
    _child: Child,
    _lifeline: ChildStdin,
}

impl std::fmt::Debug for Janitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Janitor")
    }
}

/// Runs `host.sh up` and starts the janitor that runs `host.sh down` at the end. Needs root.
pub fn prepare(log: &Path) -> anyhow::Result<Janitor> {
    if !is_root() {
        bail!(
            "the node tests need root (containerd, runc, iptables, mounts); run them as root, \
             as CI does"
        );
    }
    let script = script();
    // The janitor first, so that a failure during `up` is undone as well.
    let mut child = Command::new("setsid")
        .arg("sh")
        .arg("-c")
        .arg(JANITOR_SCRIPT)
        .arg("hipaa-testkit-node-janitor")
        .arg(&script)
        .arg(log)
        .arg(LOCK_FILE)
        .env("HIPAA_GUARD_NODE_LOCKED", "1")
        .env_remove(RUN_MARKER_ENV)
        .env_remove(NODE_PROCESS_ENV)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("spawning the node's janitor (setsid sh)")?;
    let lifeline = child.stdin.take().context("the janitor has no stdin")?;
    let stdout = child.stdout.take().context("the janitor has no stdout")?;
    let mut answer = String::new();
    let locked = std::thread::spawn(move || {
        let _ = BufReader::new(stdout).read_line(&mut answer);
        answer
    });
    if !locked.is_finished() {
        std::thread::sleep(std::time::Duration::from_millis(200));
        if !locked.is_finished() {
            eprintln!("hipaa-testkit: waiting for {LOCK_FILE}: another node runs on this machine");
        }
    }
    let answer = locked.join().unwrap_or_default();
    if answer.trim() != "locked" {
        bail!("could not take {LOCK_FILE} within 15 minutes: another node runs on this machine");
    }
    let output = Command::new("bash")
        .arg(&script)
        .arg("up")
        // The janitor holds the node lock for this process.
        .env("HIPAA_GUARD_NODE_LOCKED", "1")
        .env_remove(NODE_PROCESS_ENV)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} up", script.display()))?;
    if !output.status.success() {
        bail!(
            "{} up failed ({}): {}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(Janitor {
        _child: child,
        _lifeline: lifeline,
    })
}

fn is_root() -> bool {
    // /proc/self/status: "Uid:\treal\teffective\t..."
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// The programs the node needs from the host's packages, with the Debian package of each.
pub const HOST_PROGRAMS: [(&str, &str); 6] = [
    ("containerd", "containerd"),
    ("ctr", "containerd"),
    ("runc", "runc"),
    ("iptables", "iptables"),
    ("/usr/lib/cni/bridge", "containernetworking-plugins"),
    ("setsid", "util-linux"),
];

/// Fails with the packages to install when a program the node needs is missing
/// (`tests/controlplane/node/packages.sh` installs them).
pub fn check_programs() -> anyhow::Result<()> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = |program: &str| {
        if program.starts_with('/') {
            return Path::new(program).is_file();
        }
        std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
            || ["/usr/sbin", "/sbin"]
                .iter()
                .any(|dir| Path::new(dir).join(program).is_file())
    };
    let missing: Vec<&str> = HOST_PROGRAMS
        .iter()
        .filter(|(program, _)| !found(program))
        .map(|(_, package)| *package)
        .collect();
    if !missing.is_empty() {
        bail!(
            "the node needs the Debian packages {}: run `bash tests/controlplane/node/packages.sh`",
            missing.join(", ")
        );
    }
    Ok(())
}
