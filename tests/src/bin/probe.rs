//! A process that starts a control plane and moto, prints `run-dir <path>`, and then waits to be
//! killed (`hold`) or panics (`panic`). The smoke tests use it to prove that nothing of a run
//! survives its test process.

use std::io::Write;

use anyhow::bail;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    if mode != "hold" && mode != "panic" {
        bail!("usage: hipaa-testkit-probe hold|panic");
    }
    hipaa_testkit::control_plane().await?;
    hipaa_testkit::moto().await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "run-dir {}", hipaa_testkit::run_dir()?.display())?;
    stdout.flush()?;
    if mode == "panic" {
        // Give the parent time to see the servers before this process dies.
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        panic!("hipaa-testkit-probe panics on purpose");
    }
    std::future::pending::<()>().await;
    Ok(())
}
