//! Running commands (kubectl, helm, the project's binaries) and judging their output: captured
//! output, admission verdicts, where cargo put a binary, free loopback ports.

use std::fmt;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// How long [`run`] lets a command take.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// A finished command: its exit code (-1 when killed by a signal) and its output (lossy UTF-8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CmdOutput {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl CmdOutput {
    /// Whether the command exited with 0.
    pub fn success(&self) -> bool {
        self.status == 0
    }
}

impl fmt::Display for CmdOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` to completion (at most 120 s), feeding it `stdin` if given, and captures its output.
/// A non-zero exit is not an error here: judge it with [`expect_allowed`] / [`expect_denied`].
pub fn run(cmd: &mut Command, stdin: Option<&str>) -> anyhow::Result<CmdOutput> {
    run_with_timeout(cmd, stdin, DEFAULT_TIMEOUT)
}

/// [`run`] with an explicit timeout; the command is killed when it is exceeded.
pub fn run_with_timeout(
    cmd: &mut Command,
    stdin: Option<&str>,
    timeout: Duration,
) -> anyhow::Result<CmdOutput> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("spawning {shown}"))?;
    let feeder = match (stdin, child.stdin.take()) {
        (Some(text), Some(mut pipe)) => {
            let text = text.to_string();
            Some(std::thread::spawn(move || pipe.write_all(text.as_bytes())))
        }
        _ => None,
    };
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .with_context(|| format!("waiting for {shown}"))?
        {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("{shown} did not finish within {timeout:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if let Some(feeder) = feeder {
        // A command may exit without reading its stdin (a broken pipe is then expected).
        let _ = feeder.join();
    }
    let collect = |reader: Option<std::thread::JoinHandle<Vec<u8>>>| {
        reader
            .and_then(|handle| handle.join().ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    };
    Ok(CmdOutput {
        status: status.code().unwrap_or(-1),
        stdout: collect(stdout),
        stderr: collect(stderr),
    })
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// The phrase the API server puts in front of a validating webhook's denial message.
const DENIED: &str = "denied the request";

/// Asserts that the command failed because admission denied it: a non-zero exit, and stderr
/// containing "denied the request" and every needle.
#[track_caller]
pub fn expect_denied(out: &CmdOutput, needles: &[&str]) {
    assert!(
        out.status != 0,
        "expected the request to be denied, but it succeeded:\n{out}"
    );
    assert!(
        out.stderr.contains(DENIED),
        "expected {DENIED:?} in stderr:\n{out}"
    );
    for needle in needles {
        assert!(
            out.stderr.contains(needle),
            "expected {needle:?} in stderr:\n{out}"
        );
    }
}

/// Asserts that the command succeeded (admission allowed it; warnings are fine).
#[track_caller]
pub fn expect_allowed(out: &CmdOutput) {
    assert!(
        out.status == 0,
        "expected the request to be allowed:\n{out}"
    );
    assert!(
        !out.stderr.contains(DENIED),
        "allowed, yet stderr mentions a denial:\n{out}"
    );
}

/// The path of a binary of this workspace, `target/<profile>/<name>`, found next to the running
/// test executable (so a custom `CARGO_TARGET_DIR` works). Panics if it has not been built.
#[track_caller]
pub fn cargo_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // Test executables live in target/<profile>/deps/; binaries one level up.
    let profile_dir = exe
        .parent()
        .map(|dir| {
            if dir.ends_with("deps") {
                dir.parent().unwrap_or(dir)
            } else {
                dir
            }
        })
        .map(PathBuf::from)
        .unwrap_or_default();
    let path = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} does not exist: run cargo build --workspace --bins first",
        path.display()
    );
    path
}

/// A TCP port that was free on 127.0.0.1 a moment ago (the kernel picks it). Another process may
/// still take it before it is used; the control plane and moto retry on a clash.
#[track_caller]
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0));
    let port = listener
        .and_then(|l| l.local_addr())
        .map(|addr| addr.port());
    match port {
        Ok(port) => port,
        Err(error) => panic!("cannot bind 127.0.0.1:0 to find a free port: {error}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn output(status: i32, stderr: &str) -> CmdOutput {
        CmdOutput {
            status,
            stdout: String::new(),
            stderr: stderr.to_string(),
        }
    }

    const WEBHOOK_DENIAL: &str = "Error from server (Forbidden): error when creating \"STDIN\": \
        admission webhook \"validate.hipaaguard.io\" denied the request: HIPAA-K8S-NETPOL failed";

    #[test]
    fn a_webhook_denial_is_recognised() {
        expect_denied(&output(1, WEBHOOK_DENIAL), &["HIPAA-K8S-NETPOL"]);
    }

    #[test]
    #[should_panic(expected = "expected the request to be denied")]
    fn success_is_not_a_denial() {
        expect_denied(&output(0, ""), &[]);
    }

    #[test]
    #[should_panic(expected = "expected \"denied the request\"")]
    fn other_failures_are_not_denials() {
        expect_denied(&output(1, "The connection to the server was refused"), &[]);
    }

    #[test]
    #[should_panic(expected = "HIPAA-K8S-ENCRYPTION")]
    fn a_missing_needle_fails() {
        expect_denied(&output(1, WEBHOOK_DENIAL), &["HIPAA-K8S-ENCRYPTION"]);
    }

    #[test]
    #[should_panic(expected = "expected the request to be allowed")]
    fn a_denial_is_not_allowed() {
        expect_allowed(&output(1, WEBHOOK_DENIAL));
    }

    #[test]
    fn run_captures_exit_code_output_and_stdin() {
        let out = run(
            Command::new("sh").args(["-c", "cat; echo oops >&2; exit 3"]),
            Some("hello"),
        )
        .unwrap();
        assert_eq!(
            out,
            CmdOutput {
                status: 3,
                stdout: "hello".into(),
                stderr: "oops\n".into()
            }
        );
    }

    #[test]
    fn run_kills_a_command_that_overruns() {
        let err = run_with_timeout(
            Command::new("sleep").arg("30"),
            None,
            Duration::from_millis(200),
        )
        .unwrap_err();
        assert!(err.to_string().contains("did not finish"), "{err}");
    }

    #[test]
    fn free_ports_are_bindable_on_loopback() {
        let port = free_port();
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    }
}
