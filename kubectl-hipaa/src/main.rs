//! The `kubectl-hipaa` binary: parse the command line, run, map the outcome to the exit status
//! (0 ok, 1 scan findings at or above --fail-on, 2 bad usage, or unreadable, invalid, empty or
//! over-limit input).

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use clap::Parser;
use kubectl_hipaa::cli::Cli;
use kubectl_hipaa::{Exit, run};

/// mimalloc: parsing YAML allocates and frees many small blocks per object, where glibc's
/// allocator spends about a tenth of a scan (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KUBECTL_HIPAA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let exit = match run(&cli, &mut std::io::stdin().lock(), &mut out) {
        Ok(exit) => exit,
        Err(err) if is_broken_pipe(&err) => return ExitCode::from(Exit::Error as u8),
        Err(err) => {
            let _ = out.flush();
            eprintln!("error: {err:#}");
            Exit::Error
        }
    };
    if out.flush().is_err() {
        return ExitCode::from(Exit::Error as u8);
    }
    ExitCode::from(exit as u8)
}

/// The reader of our output went away (`kubectl hipaa scan ... | head`): nothing to report.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
