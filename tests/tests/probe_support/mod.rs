//! Starting `hipaa-testkit-probe` (a process that holds a control plane, moto or a node and
//! waits to be killed) for the tests that prove nothing of a run survives its test process.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub const PROBE: &str = env!("CARGO_BIN_EXE_hipaa-testkit-probe");

/// Starts the probe (its own control plane and moto) and returns it with its run directory. Its
/// stderr goes to a file, shown if it fails (the `panic` mode's panic message is expected).
pub fn start_probe(mode: &str) -> (Child, PathBuf) {
    let stderr = tempfile::tempfile().unwrap();
    let mut probe = Command::new(PROBE)
        .arg(mode)
        // Its own process group, as a test binary run from a shell or a CI job has.
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(stderr.try_clone().unwrap())
        .spawn()
        .unwrap();
    let stdout = probe.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let dir = line.trim().strip_prefix("run-dir ").map(PathBuf::from);
    let Some(dir) = dir else {
        let status = probe.wait().unwrap();
        let mut log = String::new();
        let mut stderr = stderr;
        stderr.seek(SeekFrom::Start(0)).unwrap();
        stderr.read_to_string(&mut log).unwrap();
        panic!("the probe printed {line:?} and exited with {status}; its stderr:\n{log}");
    };
    (probe, dir)
}
