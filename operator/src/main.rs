//! `hipaa-operator`: parses the flags, starts the log, and runs the operator (`app`) until
//! SIGTERM. The binary's edge: errors become anyhow reports here.

use anyhow::Context as _;
use clap::Parser;
use hipaa_operator::app;
use hipaa_operator::cli::Args;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Held until main returns: dropping it writes the log lines still buffered.
    let _log = hipaa_runtime::log::init(&args.log).context("setting up the log")?;
    // ring is the build's one crypto provider (kube's client and the AWS SDK's HTTPS client);
    // made the process default explicitly, so that a dependency enabling a second provider
    // could not leave rustls unable to pick one by itself.
    let _ = rustls::crypto::ring::default_provider().install_default();
    app::run(args).await
}
