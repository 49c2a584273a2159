//! Re-queue requests coalesced per object: the first request for a policy schedules it one
//! window later, and requests arriving meanwhile join that one. kube-runtime's own debounce
//! restarts the wait at every request (trailing edge), so a steady churn in a policy's scope,
//! one change per window or faster, would postpone its reconcile for as long as the churn lasts
//! and its status would never move; here a change waits at most one window.

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use tokio::time::Instant;

/// The requests waiting for their window to end, in the order they are due.
#[derive(Debug)]
pub struct Coalescer<T> {
    window: Duration,
    due: VecDeque<(Instant, T)>,
    waiting: HashSet<T>,
}

impl<T: Eq + Hash + Clone> Coalescer<T> {
    pub fn new(window: Duration) -> Self {
        Coalescer {
            window,
            due: VecDeque::new(),
            waiting: HashSet::new(),
        }
    }

    /// A request at `now`: scheduled one window later unless it already waits (then it joins
    /// the waiting one). True when newly scheduled.
    pub fn request(&mut self, item: T, now: Instant) -> bool {
        if !self.waiting.insert(item.clone()) {
            return false;
        }
        // Every wait is one window long, so the queue stays in order of due time.
        self.due.push_back((now + self.window, item));
        true
    }

    /// When the next request is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.due.front().map(|(at, _)| *at)
    }

    /// The next request due by `now`, if any.
    pub fn pop_due(&mut self, now: Instant) -> Option<T> {
        if self.next_due()? > now {
            return None;
        }
        let (_, item) = self.due.pop_front()?;
        self.waiting.remove(&item);
        Some(item)
    }

    pub fn is_empty(&self) -> bool {
        self.due.is_empty()
    }
}

/// `requests`, each held for at most `window` and merged with the same ones arriving meanwhile;
/// unchanged when the window is zero. What is waiting when `requests` ends is still emitted.
pub fn coalesce<T, S>(requests: S, window: Duration) -> BoxStream<'static, T>
where
    T: Eq + Hash + Clone + Send + 'static,
    S: Stream<Item = T> + Send + 'static,
{
    if window.is_zero() {
        return requests.boxed();
    }
    let state = (requests.boxed(), Coalescer::new(window), false);
    futures::stream::unfold(state, |(mut requests, mut waiting, mut ended)| async move {
        loop {
            if let Some(item) = waiting.pop_due(Instant::now()) {
                return Some((item, (requests, waiting, ended)));
            }
            if ended && waiting.is_empty() {
                return None;
            }
            let next_due = waiting.next_due();
            tokio::select! {
                request = requests.next(), if !ended => match request {
                    Some(item) => {
                        waiting.request(item, Instant::now());
                    }
                    None => ended = true,
                },
                () = sleep_until(next_due) => {}
            }
        }
    })
    .boxed()
}

/// Sleeps until `at`, or forever when nothing waits.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => futures::future::pending().await,
    }
}

#[cfg(test)]
#[path = "requeue_tests.rs"]
mod tests;
