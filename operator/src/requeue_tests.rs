//! Tests of the re-queue coalescer: one wait per window however many requests arrive, no
//! postponement under a steady churn, and the stream around it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;

use super::*;

#[test]
fn a_request_waits_one_window_and_later_ones_join_it() {
    let start = Instant::now();
    let window = Duration::from_millis(300);
    let mut coalescer = Coalescer::new(window);
    assert!(coalescer.request("policy", start));
    assert!(!coalescer.request("policy", start + Duration::from_millis(100)));
    assert!(!coalescer.request("policy", start + Duration::from_millis(299)));
    assert_eq!(
        coalescer.next_due(),
        Some(start + window),
        "not pushed back"
    );
    assert_eq!(coalescer.pop_due(start + Duration::from_millis(299)), None);
    assert_eq!(coalescer.pop_due(start + window), Some("policy"));
    assert!(coalescer.is_empty());
    // After it was emitted, the next request starts a new wait.
    assert!(coalescer.request("policy", start + window));
}

#[test]
fn a_steady_churn_faster_than_the_window_still_gets_through_every_window() {
    let start = Instant::now();
    let window = Duration::from_millis(300);
    let mut coalescer = Coalescer::new(window);
    let mut emitted = Vec::new();
    // A change every 20 ms for 3 s: kube's trailing debounce would emit nothing until it stops.
    for step in 0..150u32 {
        let now = start + Duration::from_millis(20) * step;
        while let Some(item) = coalescer.pop_due(now) {
            emitted.push((now, item));
        }
        coalescer.request("policy", now);
    }
    assert!(
        emitted.len() >= 9,
        "about one per window: {}",
        emitted.len()
    );
    let gaps = emitted.windows(2).map(|w| w[1].0 - w[0].0);
    assert!(
        gaps.into_iter()
            .all(|gap| gap <= window + Duration::from_millis(20))
    );
}

#[test]
fn objects_wait_independently_in_order_of_their_first_request() {
    let start = Instant::now();
    let mut coalescer = Coalescer::new(Duration::from_millis(100));
    coalescer.request("a", start);
    coalescer.request("b", start + Duration::from_millis(50));
    coalescer.request("a", start + Duration::from_millis(60));
    let later = start + Duration::from_millis(200);
    assert_eq!(coalescer.pop_due(later), Some("a"));
    assert_eq!(coalescer.pop_due(later), Some("b"));
    assert_eq!(coalescer.pop_due(later), None);
}

#[tokio::test]
async fn the_stream_lets_requests_through_during_a_churn_and_flushes_at_the_end() {
    // A request every 5 ms for 400 ms, coalesced over 50 ms windows.
    let churn = futures::stream::unfold(0u32, |sent| async move {
        if sent >= 80 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        Some(("policy", sent + 1))
    });
    let started = Instant::now();
    let emitted: Vec<Duration> = coalesce(churn, Duration::from_millis(50))
        .map(|_| started.elapsed())
        .collect()
        .await;
    let during_churn = emitted
        .iter()
        .filter(|at| **at < Duration::from_millis(350))
        .count();
    // Loose: a loaded machine stretches the 5 ms sleeps, never the count below a few.
    assert!(during_churn >= 2, "emitted at {emitted:?}");
    assert!(emitted.len() < 80, "coalesced: {}", emitted.len());
}

#[tokio::test]
async fn a_zero_window_passes_every_request_through() {
    let requests = futures::stream::iter(["a", "a", "b"]);
    let emitted: Vec<&str> = coalesce(requests, Duration::ZERO).collect().await;
    assert_eq!(emitted, ["a", "a", "b"]);
}
