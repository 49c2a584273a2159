//! Child processes that cannot outlive the test process. Each runs under a small `sh` supervisor
//! whose stdin is a pipe from the test process: when that pipe closes (the guard is dropped, the
//! test panics, the process exits or is SIGKILLed) the supervisor kills the child. No `unsafe`,
//! no `pre_exec`: the kernel closing the pipe is the signal.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::run_dir::{RUN_MARKER_ENV, run_dir, unique_path};

/// Runs `"$@"` with stdin from /dev/null, exits with its status when it exits, and kills it when
/// its own stdin reaches end-of-file: SIGTERM, then SIGKILL after `$1` seconds (0: SIGKILL at
/// once). The watcher reads the lifeline through fd 3 because POSIX gives background jobs
/// /dev/null as stdin.
const SUPERVISOR_SCRIPT: &str = r#"
grace="$1"; shift
exec 3<&0 0</dev/null
"$@" 3<&- &
child=$!
(
  read -r _ <&3 || true
  if [ "$grace" -gt 0 ]; then
    kill -TERM "$child" 2>/dev/null
    n=0
    while kill -0 "$child" 2>/dev/null && [ "$n" -lt $((grace * 10)) ]; do
      sleep 0.1; n=$((n + 1))
    done
  fi
  kill -KILL "$child" 2>/dev/null
) &
watcher=$!
exec 3<&-
wait "$child"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
"#;

/// Seconds between SIGTERM and SIGKILL for processes started with [`spawn_guarded`].
const GRACE_SECONDS: u32 = 5;

/// A process started by this crate. Dropping the guard stops the process (SIGTERM, then SIGKILL
/// after a grace period) and waits for it; if the test process dies first, the process dies too.
/// Its stdout and stderr go to [`ChildGuard::log_path`] inside the run directory.
#[derive(Debug)]
pub struct ChildGuard {
    name: String,
    supervisor: Child,
    lifeline: Option<ChildStdin>,
    log_path: PathBuf,
    exit: Option<ExitStatus>,
}

/// Starts `cmd` (program, arguments, environment changes and working directory are kept) under a
/// supervisor, with stdout and stderr appended to `<run dir>/logs/<log_name>.log`.
pub fn spawn_guarded(cmd: Command, log_name: &str) -> anyhow::Result<ChildGuard> {
    spawn_supervised(&cmd, log_name, GRACE_SECONDS)
}

/// [`spawn_guarded`] with an explicit grace period; 0 makes [`ChildGuard::kill`] (and the drop)
/// a SIGKILL at once: a crash, for the fault tests, or servers whose state is thrown away anyway.
pub fn spawn_guarded_with_grace(
    cmd: Command,
    log_name: &str,
    grace_seconds: u32,
) -> anyhow::Result<ChildGuard> {
    spawn_supervised(&cmd, log_name, grace_seconds)
}

/// [`spawn_guarded_with_grace`] for a borrowed command.
pub(crate) fn spawn_supervised(
    cmd: &Command,
    log_name: &str,
    grace_seconds: u32,
) -> anyhow::Result<ChildGuard> {
    let program = cmd.get_program().to_owned();
    let log_path = unique_path(&format!("logs/{log_name}"), ".log")?;
    let log =
        File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let log_err = log.try_clone().context("duplicating the log file handle")?;

    let mut supervised = Command::new("sh");
    supervised
        .arg("-c")
        .arg(SUPERVISOR_SCRIPT)
        .arg(format!("hipaa-testkit-supervisor[{log_name}]"))
        .arg(grace_seconds.to_string())
        .arg(&program)
        .args(cmd.get_args())
        .env(RUN_MARKER_ENV, run_dir()?)
        .stdin(Stdio::piped())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err));
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => supervised.env(key, value),
            None => supervised.env_remove(key),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        supervised.current_dir(dir);
    }
    let mut supervisor = supervised
        .spawn()
        .with_context(|| format!("spawning {} under sh", program.to_string_lossy()))?;
    let lifeline = supervisor.stdin.take();
    Ok(ChildGuard {
        name: log_name.to_string(),
        supervisor,
        lifeline,
        log_path,
        exit: None,
    })
}

impl ChildGuard {
    /// The name given at spawn time.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the process's stdout and stderr go.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Everything the process has written so far (lossy UTF-8; empty if the log is unreadable).
    pub fn log_contents(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// The last `lines` lines of the log, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log_contents();
        let all: Vec<&str> = log.lines().collect();
        all.get(all.len().saturating_sub(lines)..)
            .unwrap_or_default()
            .join("\n")
    }

    /// The exit status if the process has ended (on its own or killed), without waiting.
    pub fn try_exit_status(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.supervisor.try_wait().ok().flatten();
        }
        self.exit
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.try_exit_status().is_none()
    }

    /// Waits up to `timeout` for a line containing `needle` in the log; returns the log so far.
    pub async fn wait_for_log(
        &mut self,
        needle: &str,
        timeout: Duration,
    ) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.log_contents();
            if log.contains(needle) {
                return Ok(log);
            }
            if let Some(status) = self.try_exit_status() {
                anyhow::bail!(
                    "{} exited ({status}) before logging {needle:?}; log {}:\n{}",
                    self.name,
                    self.log_path.display(),
                    self.log_tail(40)
                );
            }
            if Instant::now() >= deadline {
                anyhow::bail!(
                    "{} did not log {needle:?} within {timeout:?}; log {}:\n{}",
                    self.name,
                    self.log_path.display(),
                    self.log_tail(40)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the process (closing the lifeline makes the supervisor send SIGTERM, then SIGKILL
    /// after the grace period) and waits for it. Returns the supervised process's exit status.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        drop(self.lifeline.take());
        if self.exit.is_none() {
            self.exit = self.supervisor.wait().ok();
        }
        self.exit
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}
