//! The images the node runs, all built from this repository by `make images`
//! (`scripts/build-images.sh`) into OCI archives, and imported into the node's containerd: no
//! registry is ever contacted.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// Overrides where the image archives are read from (default: `<workspace>/target/images`).
pub const IMAGES_DIR_ENV: &str = "HIPAA_GUARD_IMAGES";

/// The directory of the archives `make images` writes.
pub fn dir() -> PathBuf {
    match std::env::var_os(IMAGES_DIR_ENV).filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/images"),
    }
}

/// `<images dir>/<name>.tar`, or an error that says how to build it.
pub fn archive(name: &str) -> anyhow::Result<PathBuf> {
    let path = dir().join(format!("{name}.tar"));
    if !path.is_file() {
        bail!(
            "{} is missing: build the images first with `make images` (scripts/build-images.sh), \
             or point {IMAGES_DIR_ENV} at their directory",
            path.display()
        );
    }
    Ok(path)
}

/// The reference an archive names: the first `RepoTags` entry of its `manifest.json` (the
/// docker-archive layout `scripts/oci_image.py` writes, which containerd's importer normalises).
pub fn reference(archive: &Path) -> anyhow::Result<String> {
    let out = Command::new("tar")
        .arg("-xOf")
        .arg(archive)
        .arg("manifest.json")
        .stderr(Stdio::null())
        .output()
        .with_context(|| format!("reading {} with tar", archive.display()))?;
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    match manifest
        .pointer("/0/RepoTags/0")
        .and_then(|tag| tag.as_str())
    {
        Some(tag) if out.status.success() => Ok(tag.to_string()),
        _ => bail!(
            "{} names no image (no RepoTags in manifest.json)",
            archive.display()
        ),
    }
}

/// `ctr` against the node's containerd, in the namespace the kubelet uses.
pub fn ctr(socket: &Path) -> Command {
    let mut cmd = Command::new("ctr");
    cmd.arg("--address")
        .arg(socket)
        .arg("--namespace")
        .arg("k8s.io");
    cmd.stdin(Stdio::null());
    cmd
}

/// Runs `ctr <args>` against the node's containerd; its stdout, or an error with its stderr.
pub fn run_ctr<I, S>(socket: &Path, args: I) -> anyhow::Result<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = ctr(socket);
    cmd.args(args);
    let shown = format!("{cmd:?}");
    let output = cmd.output().with_context(|| format!("running {shown}"))?;
    if !output.status.success() {
        bail!(
            "{shown} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Imports an archive into the node's containerd (about 0.1 s) and returns the name it has there.
pub fn import(socket: &Path, archive: &Path) -> anyhow::Result<String> {
    let args = ["images", "import", "--no-unpack"].map(OsStr::new);
    run_ctr(socket, args.into_iter().chain([archive.as_os_str()]))?;
    reference(archive)
}
