//! `hipaa-operator`: parses flags, sets up logging, and runs the operator until SIGTERM.

use clap::Parser;
use hipaa_operator::app;
use hipaa_operator::cli::{Args, LogFormat};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The workspace may enable both of rustls's crypto providers (kube uses ring, the AWS SDK
    // aws-lc-rs), and then rustls cannot pick one by itself.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    match args.log_format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init(),
    }
    app::run(args).await
}
