//! `hipaa-webhook`: parses the flags, starts the log, and runs the webhook (`app`) until SIGTERM.
//! The binary's edge: errors become anyhow reports here, and nowhere in the library.

use anyhow::Context as _;
use clap::Parser;
use hipaa_webhook::app;
use hipaa_webhook::config::Args;

/// The review path parses every object and allocates many small, short-lived values; mimalloc
/// serves them faster than the system allocator (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Held until main returns: dropping it writes the log lines still buffered.
    let _log = hipaa_runtime::log::init(&args.log).context("setting up the log")?;
    // kube's client and our server both use ring; make it the process default explicitly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    app::run(args).await?;
    Ok(())
}
