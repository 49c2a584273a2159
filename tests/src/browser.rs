//! A real browser for the HTML reports: Debian's `chromium-headless-shell` loads a local file
//! with every host name unresolvable (nothing leaves the machine, and an external asset fails
//! loudly), and gives back what the page wrote to its console and a screenshot.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context;

use crate::command::run_with_timeout;

/// Overrides the browser binary (default: `chromium-headless-shell`, else `chromium`, on PATH).
pub const CHROMIUM_ENV: &str = "HIPAA_GUARD_CHROMIUM";

/// What a page did when loaded.
#[derive(Debug)]
pub struct PageLoad {
    /// Console messages (errors, warnings, logs, CSP refusals), as Chromium logs them.
    pub console: Vec<String>,
    /// The screenshot Chromium wrote.
    pub screenshot: PathBuf,
}

/// The browser binary, or an error saying how to install it.
pub fn chromium() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(CHROMIUM_ENV) {
        return Ok(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium-headless-shell", "chromium"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    anyhow::bail!(
        "no headless Chromium: install Debian's chromium-headless-shell (tests/controlplane/node/packages.sh does, as root) or set {CHROMIUM_ENV}"
    )
}

/// Loads `page` (a local file) in headless Chromium at 1280 × `height` pixels and writes a
/// screenshot to `screenshot`.
pub fn load_page(page: &Path, screenshot: &Path, height: u32) -> anyhow::Result<PageLoad> {
    let browser = chromium()?;
    let profile = tempfile::tempdir().context("a profile directory for Chromium")?;
    if let Some(parent) = screenshot.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let page = page
        .canonicalize()
        .with_context(|| format!("reading {}", page.display()))?;
    let mut cmd = Command::new(&browser);
    cmd.args([
        "--headless",
        // Root in CI; the page is our own file, not the web.
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        // Every host name fails to resolve: an external asset becomes a console error and no
        // traffic leaves the machine.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .arg(format!("--window-size=1280,{height}"))
    .arg(format!("--screenshot={}", screenshot.display()))
    .arg(format!("file://{}", page.display()));
    let out = run_with_timeout(&mut cmd, None, Duration::from_secs(90))
        .with_context(|| format!("running {}", browser.display()))?;
    anyhow::ensure!(out.success(), "{} failed:\n{out}", browser.display());
    anyhow::ensure!(
        screenshot.is_file(),
        "{} wrote no screenshot:\n{out}",
        browser.display()
    );
    Ok(PageLoad {
        console: console_lines(&out.stderr),
        screenshot: screenshot.to_path_buf(),
    })
}

/// The console messages in Chromium's log (`...:CONSOLE(line)] "message", source: ...`), and
/// the refusals its Content-Security-Policy logs.
pub fn console_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter(|line| line.contains(":CONSOLE") || line.contains("Content Security Policy"))
        .map(str::to_owned)
        .collect()
}

/// Where a test keeps what it wants a person to look at afterwards (screenshots):
/// `test-artifacts/` in the cargo target directory.
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("test-artifacts")
}
