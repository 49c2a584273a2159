//! The signal both binaries stop on: SIGTERM from the kubelet, or SIGINT at a terminal.

/// Resolves on SIGTERM (what the kubelet sends a pod's containers) or SIGINT (Ctrl-C at a
/// terminal), logging which. Without a SIGTERM handler (the runtime could not install one) only
/// SIGINT stops the process, and the log says so.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = match signal(SignalKind::terminate()) {
        Ok(terminate) => terminate,
        Err(error) => {
            tracing::error!(%error, "cannot listen for SIGTERM; only SIGINT stops the process");
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!(signal = "SIGINT", "shutting down");
            return;
        }
    };
    let name = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = tokio::signal::ctrl_c() => "SIGINT",
    };
    tracing::info!(signal = name, "shutting down");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use std::time::Duration;
    use tokio::signal::unix::{SignalKind, signal};

    #[tokio::test]
    async fn sigterm_resolves_the_shutdown_signal() {
        // Registered before anything sends SIGTERM, so that the test process cannot die of it.
        let _registered = signal(SignalKind::terminate()).unwrap();
        let stopped = tokio::spawn(shutdown_signal());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!stopped.is_finished(), "resolved before any signal");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        tokio::time::timeout(Duration::from_secs(5), stopped)
            .await
            .expect("SIGTERM did not resolve shutdown_signal")
            .unwrap();
    }
}
