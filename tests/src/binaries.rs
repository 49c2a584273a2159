//! Where the control-plane binaries come from: `$HIPAA_GUARD_K8S_BIN`, or the cache directory that
//! `tests/controlplane/build.sh` fills (building what is missing) and prints; and the versions that
//! script pins.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{Context, anyhow, bail};

/// A directory holding `etcd`, `kube-apiserver`, `kubectl`, `helm` and `moto_server`; when unset,
/// `tests/controlplane/build.sh` is run to build or find them.
pub const BIN_DIR_ENV: &str = "HIPAA_GUARD_K8S_BIN";

/// The executables a bin directory must hold.
const REQUIRED: [&str; 5] = ["etcd", "kube-apiserver", "kubectl", "helm", "moto_server"];

fn build_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("controlplane/build.sh")
}

static BIN_DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// The directory of the control-plane binaries, resolved once per process. Running the build
/// script can take several minutes on a new machine (it prints progress to stderr); call this from
/// a blocking context (`tokio::task::spawn_blocking`) inside async code.
pub fn bin_dir() -> anyhow::Result<&'static Path> {
    BIN_DIR
        .get_or_init(|| resolve().map_err(|e| format!("{e:#}")))
        .as_ref()
        .map(PathBuf::as_path)
        .map_err(|e| anyhow!("{e}"))
}

fn resolve() -> anyhow::Result<PathBuf> {
    let dir = match std::env::var_os(BIN_DIR_ENV).filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => run_build_script()?,
    };
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|name| !dir.join(name).is_file())
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} lacks {}; run `bash {}` (or fix {BIN_DIR_ENV})",
            dir.display(),
            missing.join(", "),
            build_script().display()
        );
    }
    Ok(dir)
}

fn run_build_script() -> anyhow::Result<PathBuf> {
    let script = build_script();
    let output = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "{} failed ({}); its progress and error are on stderr above. Set {BIN_DIR_ENV} to a \
             directory with {} to skip it",
            script.display(),
            output.status,
            REQUIRED.join(", ")
        );
    }
    let last = stdout.lines().map(str::trim).rfind(|line| !line.is_empty());
    last.map(PathBuf::from)
        .with_context(|| format!("{} printed no directory on stdout", script.display()))
}

/// The versions `tests/controlplane/build.sh` pins, read from the script itself so that tests
/// compare against the single source of truth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinnedVersions {
    /// e.g. `v1.35.4`: what kube-apiserver's `/version` and `kubectl version` must report.
    pub kubernetes: String,
    /// e.g. `v3.19.5`.
    pub helm: String,
    /// e.g. `5.2.5`.
    pub moto: String,
}

/// Reads the `K8S_VERSION`, `HELM_VERSION` and `MOTO_VERSION` assignments of the build script.
pub fn pinned_versions() -> anyhow::Result<PinnedVersions> {
    let script = build_script();
    let text = std::fs::read_to_string(&script)
        .with_context(|| format!("reading {}", script.display()))?;
    let get = |name: &str| -> anyhow::Result<String> {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(&format!("{name}=")))
            .map(|value| value.trim_matches('"').to_string())
            .with_context(|| format!("{} has no {name}= line", script.display()))
    };
    Ok(PinnedVersions {
        kubernetes: get("K8S_VERSION")?,
        helm: get("HELM_VERSION")?,
        moto: get("MOTO_VERSION")?,
    })
}
