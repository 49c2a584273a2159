//! The images the node runs, all built from this repository by `make images`
//! (`scripts/build-images.sh`) into OCI archives, and imported into the node's containerd: no
//! registry is ever contacted.

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

/// The reference an archive names (`org.opencontainers.image.ref.name` or
/// `io.containerd.image.name` in its index, else the first `RepoTags` of a docker manifest).
pub fn reference(archive: &Path) -> anyhow::Result<String> {
    let read = |member: &str| -> Option<serde_json::Value> {
        let out = Command::new("tar")
            .arg("-xOf")
            .arg(archive)
            .arg(member)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).ok())
            .flatten()
    };
    if let Some(index) = read("index.json") {
        let annotations = index["manifests"][0]["annotations"].clone();
        for key in [
            "io.containerd.image.name",
            "org.opencontainers.image.ref.name",
        ] {
            if let Some(name) = annotations[key].as_str().filter(|n| n.contains(':')) {
                return Ok(name.to_string());
            }
        }
    }
    if let Some(manifest) = read("manifest.json")
        && let Some(tag) = manifest[0]["RepoTags"][0].as_str()
    {
        return Ok(tag.to_string());
    }
    bail!("{} names no image reference", archive.display())
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

/// Imports an archive into the node's containerd (about 0.1 s) and returns the name it has there.
pub fn import(socket: &Path, archive: &Path) -> anyhow::Result<String> {
    let output = ctr(socket)
        .args(["images", "import", "--no-unpack"])
        .arg(archive)
        .output()
        .with_context(|| format!("running ctr images import {}", archive.display()))?;
    if !output.status.success() {
        bail!(
            "ctr images import {} failed: {}",
            archive.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    reference(archive)
}
