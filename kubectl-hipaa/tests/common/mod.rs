//! The built `kubectl-hipaa` binary as the integration tests run it: with every `KUBECTL_HIPAA_*`
//! variable removed (the flags' env fallbacks would otherwise let the developer's shell change a
//! test's defaults), standard input fed when given, output captured.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// The binary with `args` and none of the plugin's environment variables; standard input null,
/// output piped (callers change what they need).
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kubectl-hipaa"));
    command.args(args);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("KUBECTL_HIPAA_") {
            command.env_remove(name);
        }
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs the binary to its end, writing `stdin` (if any) first.
pub fn kubectl_hipaa(args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = command(args);
    if stdin.is_some() {
        command.stdin(Stdio::piped());
    }
    let mut child = command.spawn().unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            // A command refused before it reads standard input closes it first.
            .or_else(|err| match err.kind() {
                std::io::ErrorKind::BrokenPipe => Ok(()),
                _ => Err(err),
            })
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Output bytes as text (lossy: a test prints what it got).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
