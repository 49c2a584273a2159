//! Polling for a condition with a deadline.

use std::time::{Duration, Instant};

/// How often [`wait_for`] polls.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Calls `check` until it returns `Ok(Some(value))` and returns that value, or fails after
/// `timeout`. `Ok(None)` means "not yet"; errors are retried too, and the last one is part of the
/// timeout message (so a condition that keeps failing says why).
pub async fn wait_for<F, Fut, T>(what: &str, timeout: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_error: Option<anyhow::Error> = None;
    loop {
        match check().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(error) => last_error = Some(error),
        }
        if Instant::now() >= deadline {
            return Err(match last_error {
                Some(error) => {
                    error.context(format!("timed out after {timeout:?} waiting for {what}"))
                }
                None => anyhow::anyhow!("timed out after {timeout:?} waiting for {what}"),
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[tokio::test]
    async fn returns_the_value_once_the_condition_holds() {
        let mut calls = 0;
        let value = wait_for("three calls", Duration::from_secs(5), || {
            calls += 1;
            let ready = calls >= 3;
            async move { Ok(ready.then_some(calls)) }
        })
        .await
        .unwrap();
        assert_eq!(value, 3);
    }

    #[tokio::test]
    async fn times_out_with_the_last_error() {
        let err = wait_for::<_, _, ()>("never", Duration::from_millis(300), || async {
            Err(anyhow::anyhow!("still broken"))
        })
        .await
        .unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("waiting for never"), "{text}");
        assert!(text.contains("still broken"), "{text}");
    }
}
