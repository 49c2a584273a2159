//! The stream wrapper that applies [`WatchBackoff`](super::WatchBackoff) to a kube-runtime
//! watcher: after an error it waits before polling the watcher again, except after the first
//! 410 Gone in a row (the watch's resourceVersion has expired: the watcher relists at once, as
//! client-go does; waiting would only leave the cache behind for longer). Any event resets it.

use futures::{Stream, StreamExt};
use kube::runtime::utils::Backoff;
use kube::runtime::watcher::{self, Event};

use super::WatchBackoff;

/// `stream` (a `watcher(..)`) with the shared watch backoff. Use it in place of
/// `.default_backoff()`.
pub fn with_watch_backoff<K, S>(stream: S) -> impl Stream<Item = watcher::Result<Event<K>>> + Send
where
    K: Send + 'static,
    S: Stream<Item = watcher::Result<Event<K>>> + Send + 'static,
{
    let start = Retry {
        stream: stream.boxed(),
        backoff: WatchBackoff::default(),
        expired_last: false,
        wait: None,
    };
    futures::stream::unfold(start, |mut retry| async move {
        if let Some(wait) = retry.wait.take() {
            tokio::time::sleep(wait).await;
        }
        let item = retry.stream.next().await?;
        retry.wait = retry.after(&item);
        Some((item, retry))
    })
}

struct Retry<K> {
    stream: futures::stream::BoxStream<'static, watcher::Result<Event<K>>>,
    backoff: WatchBackoff,
    /// The previous item was a 410 Gone.
    expired_last: bool,
    wait: Option<std::time::Duration>,
}

impl<K> Retry<K> {
    /// How long to wait before polling again after `item`.
    fn after(&mut self, item: &watcher::Result<Event<K>>) -> Option<std::time::Duration> {
        match item {
            Ok(_) => {
                self.backoff.reset();
                self.expired_last = false;
                None
            }
            Err(error) if is_expired(error) && !self.expired_last => {
                self.expired_last = true;
                None
            }
            Err(error) => {
                self.expired_last = is_expired(error);
                self.backoff.next()
            }
        }
    }
}

/// Whether the watcher failed because its resourceVersion expired (410 Gone).
pub fn is_expired(error: &watcher::Error) -> bool {
    match error {
        watcher::Error::WatchError(status) => status.code == 410,
        watcher::Error::WatchStartFailed(kube::Error::Api(status))
        | watcher::Error::InitialListFailed(kube::Error::Api(status))
        | watcher::Error::WatchFailed(kube::Error::Api(status)) => status.code == 410,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::core::Status;
    use std::time::Duration;

    fn gone() -> watcher::Error {
        watcher::Error::WatchError(Box::new(
            Status::failure("too old resource version", "Expired").with_code(410),
        ))
    }

    fn refused() -> watcher::Error {
        watcher::Error::NoResourceVersion
    }

    fn retry() -> Retry<ConfigMap> {
        Retry {
            stream: futures::stream::empty().boxed(),
            backoff: WatchBackoff::default(),
            expired_last: false,
            wait: None,
        }
    }

    #[test]
    fn a_first_410_relists_at_once_a_second_in_a_row_backs_off() {
        let mut retry = retry();
        assert_eq!(retry.after(&Err(gone())), None);
        assert!(retry.after(&Err(gone())).is_some());
        assert_eq!(retry.after(&Ok(Event::Init)), None);
        assert_eq!(retry.after(&Err(gone())), None, "reset by the event");
    }

    #[test]
    fn other_errors_back_off_and_grow_until_an_event_resets() {
        let mut retry = retry();
        let first = retry.after(&Err(refused())).unwrap();
        assert!(first <= Duration::from_millis(250), "{first:?}");
        for _ in 0..10 {
            retry.after(&Err(refused()));
        }
        let late = retry.after(&Err(refused())).unwrap();
        assert!(late >= Duration::from_millis(1500), "{late:?}");
        assert_eq!(retry.after(&Ok(Event::InitDone)), None);
        assert!(retry.after(&Err(refused())).unwrap() <= Duration::from_millis(250));
    }

    #[test]
    fn expiry_is_recognised_in_every_shape() {
        assert!(is_expired(&gone()));
        let api_gone =
            || kube::Error::Api(Box::new(Status::failure("gone", "Expired").with_code(410)));
        assert!(is_expired(&watcher::Error::WatchStartFailed(api_gone())));
        assert!(is_expired(&watcher::Error::InitialListFailed(api_gone())));
        assert!(!is_expired(&refused()));
    }

    #[tokio::test]
    async fn the_wrapper_waits_after_an_error_but_not_after_a_410() {
        let items: Vec<watcher::Result<Event<ConfigMap>>> = vec![
            Err(gone()),
            Ok(Event::Init),
            Err(refused()),
            Ok(Event::InitDone),
        ];
        let started = std::time::Instant::now();
        let mut stream = std::pin::pin!(with_watch_backoff(futures::stream::iter(items)));
        let mut at = Vec::new();
        while let Some(item) = stream.next().await {
            at.push((item.is_ok(), started.elapsed()));
        }
        assert_eq!(at.len(), 4);
        assert!(
            at[1].1 < Duration::from_millis(100),
            "relisted at once after 410: {at:?}"
        );
        let waited = at[3].1 - at[2].1;
        assert!(
            waited >= Duration::from_millis(125) && waited <= Duration::from_millis(400),
            "{waited:?}"
        );
    }
}
