//! The run directory: one temporary directory per test process holding every server's data,
//! certificates and logs, and the janitor process that removes it once the test process and
//! every process it started are gone.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};

use anyhow::{Context, anyhow};

/// Every process this crate starts carries `HIPAA_TESTKIT_RUN=<run dir>` in its environment, so
/// the processes of one run can be found in `/proc/*/environ` (see [`processes_of_run`]).
pub const RUN_MARKER_ENV: &str = "HIPAA_TESTKIT_RUN";

/// Set `HIPAA_TESTKIT_KEEP=1` to keep the run directory (data and logs) after the test process
/// ends; its path is printed to stderr. Processes are still killed.
pub const KEEP_ENV: &str = "HIPAA_TESTKIT_KEEP";

/// Removes the run directory once its stdin reaches end-of-file (the test process is gone) and no
/// process carrying the run marker is left (their supervisors kill them on the same signal). It
/// ignores the signals a terminal or a job runner sends to the whole process group (and runs in a
/// session of its own where `setsid` exists), so that killing the group does not leave the
/// directory behind.
const JANITOR_SCRIPT: &str = r#"
trap '' HUP INT TERM
dir="$1"; marker="$2"
read -r _ || true
n=0
while [ "$n" -lt 300 ] && grep -qsF -- "$marker" /proc/[0-9]*/environ; do
  sleep 0.1; n=$((n + 1))
done
rm -rf -- "$dir"
"#;

struct RunDir {
    path: PathBuf,
    /// The write end of the janitor's stdin: it closes when this process ends, however it ends.
    _janitor: Option<(Child, ChildStdin)>,
}

static RUN_DIR: OnceLock<Result<RunDir, String>> = OnceLock::new();

/// This test process's run directory, created on first use (`$TMPDIR/hipaa-testkit-<pid>-XXXXXX`).
pub fn run_dir() -> anyhow::Result<&'static Path> {
    RUN_DIR
        .get_or_init(|| create().map_err(|e| format!("{e:#}")))
        .as_ref()
        .map(|dir| dir.path.as_path())
        .map_err(|e| anyhow!("cannot create the test run directory: {e}"))
}

fn create() -> anyhow::Result<RunDir> {
    let path = tempfile::Builder::new()
        .prefix(&format!("hipaa-testkit-{}-", std::process::id()))
        .tempdir()
        .context("creating a temporary directory")?
        .keep();
    if std::env::var_os(KEEP_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
        eprintln!(
            "hipaa-testkit: {KEEP_ENV} is set; keeping {}",
            path.display()
        );
        return Ok(RunDir {
            path,
            _janitor: None,
        });
    }
    let mut janitor = janitor_command()
        .arg("-c")
        .arg(JANITOR_SCRIPT)
        .arg("hipaa-testkit-janitor")
        .arg(&path)
        .arg(marker_entry(&path))
        .env_remove(RUN_MARKER_ENV)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("spawning the run directory's janitor (sh)")?;
    let lifeline = janitor
        .stdin
        .take()
        .context("the janitor has no stdin pipe")?;
    Ok(RunDir {
        path,
        _janitor: Some((janitor, lifeline)),
    })
}

/// `setsid sh` where util-linux's `setsid` exists (a new session: signals to the test's process
/// group do not reach it), plain `sh` otherwise.
fn janitor_command() -> Command {
    let setsid = ["/usr/bin/setsid", "/bin/setsid"]
        .into_iter()
        .find(|path| Path::new(path).is_file());
    match setsid {
        Some(setsid) => {
            let mut cmd = Command::new(setsid);
            cmd.arg("sh");
            cmd
        }
        None => Command::new("sh"),
    }
}

/// The `NAME=VALUE` entry that marks a process of the run in `/proc/<pid>/environ`.
pub(crate) fn marker_entry(dir: &Path) -> String {
    format!("{RUN_MARKER_ENV}={}", dir.display())
}

/// A fresh path `<run dir>/<sub>` that does not exist yet and that no other caller in this
/// process was given (a numeric suffix is added if needed), with its parent created.
///
/// Existence alone is not enough: the tests of one binary run in parallel, and two of them that
/// ask at once would both see the same name free before either creates it (two private control
/// planes then shared one etcd data directory, and one etcd failed to start). The run directory
/// belongs to this process, so remembering the names handed out here closes that race.
pub(crate) fn unique_path(sub: &str, extension: &str) -> anyhow::Result<PathBuf> {
    static CLAIMED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
    let dir = run_dir()?;
    let mut claimed = CLAIMED.lock().unwrap_or_else(PoisonError::into_inner);
    for n in 1..10_000 {
        let name = if n == 1 {
            format!("{sub}{extension}")
        } else {
            format!("{sub}-{n}{extension}")
        };
        let path = dir.join(name);
        if !path.exists() && claimed.insert(path.clone()) {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            return Ok(path);
        }
    }
    Err(anyhow!("no free name for {sub} under {}", dir.display()))
}

/// The processes (pid, command line) that belong to the run whose directory is `dir`: those whose
/// environment carries the run marker or whose command line names the directory. Empty once the
/// run is over; the smoke tests and the README's leak check use it.
pub fn processes_of_run(dir: &Path) -> Vec<(u32, String)> {
    let marker = marker_entry(dir);
    let dir_text = dir.display().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline)
            .replace('\0', " ")
            .trim()
            .to_string();
        let marked = environ
            .split(|b| *b == 0)
            .any(|var| var == marker.as_bytes());
        if marked || cmdline.contains(&dir_text) {
            found.push((pid, cmdline));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::unique_path;
    use std::collections::BTreeSet;

    /// Tests ask for paths from many threads at once; none may be handed out twice, even before
    /// the first caller has created it.
    #[test]
    fn paths_asked_for_at_once_are_all_distinct() {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| {
                    (0..25)
                        .map(|_| unique_path("claimed-at-once", "").unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let paths: Vec<_> = threads
            .into_iter()
            .flat_map(|thread| thread.join().unwrap())
            .collect();
        let distinct: BTreeSet<_> = paths.iter().collect();
        assert_eq!(distinct.len(), paths.len(), "a path was handed out twice");
    }
}
