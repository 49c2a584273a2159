//! The operator soak's figures: a row per interval (changes, change → status percentiles, the
//! operator's RSS, its requests to the API server, its Events) and the totals against the
//! targets of issue 16, printed as a table and returned as JSON.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::quantile;
use crate::observe::Observed;

pub const TARGET_P99_MS: f64 = 1000.0;
pub const TARGET_RSS_DRIFT: f64 = 0.10;

/// One sample taken at each interval's end (and at the start).
#[derive(Clone, Copy, Debug)]
pub struct Tick {
    pub rss_mib: f64,
    /// The operator's requests the API server dispatched so far.
    pub requests: f64,
    /// Events the operator published so far, and those a rate limit held back.
    pub events: f64,
    pub held_back: f64,
}

pub struct Setup {
    pub namespaces: usize,
    pub rate: f64,
    pub seconds: u64,
    pub interval: Duration,
    pub measure_from: Instant,
    pub changes_sent: u64,
    pub changes_failed: u64,
}

/// Event objects in the cluster about the soak's objects, and their occurrences (series counts).
#[derive(Clone, Copy, Debug, Default)]
pub struct EventCount {
    pub objects: usize,
    pub occurrences: u64,
}

fn ms(latencies: &mut [f64], q: f64) -> f64 {
    latencies.sort_by(f64::total_cmp);
    quantile(latencies, q)
}

pub fn report(setup: &Setup, observed: &Observed, ticks: &[Tick], events: EventCount) -> Value {
    let seconds = setup.interval.as_secs_f64();
    println!(
        "\noperator soak: {:.0} changes/s (open loop) across {} namespaces, {} s measured, rows of {:.0} s",
        setup.rate, setup.namespaces, setup.seconds, seconds
    );
    println!(
        "{:>8} | {:>7} | {:>7} | {:>7} | {:>7} | {:>9} | {:>8} | {:>10} | {:>8} | {:>8}",
        "interval",
        "changes",
        "p50 ms",
        "p99 ms",
        "max ms",
        "coalesced",
        "RSS MiB",
        "API req/s",
        "Events",
        "held"
    );
    let mut rows = Vec::new();
    let mut all: Vec<f64> = Vec::new();
    for (index, pair) in ticks.windows(2).enumerate() {
        let (Some(before), Some(after)) = (pair.first(), pair.get(1)) else {
            continue;
        };
        let in_row = |due: Instant| {
            due.checked_duration_since(setup.measure_from)
                .is_some_and(|d| (d.as_secs_f64() / seconds) as usize == index)
        };
        let mut latencies: Vec<f64> = observed
            .seen
            .iter()
            .filter(|s| in_row(s.due))
            .map(|s| s.latency.as_secs_f64() * 1e3)
            .collect();
        let coalesced = observed
            .seen
            .iter()
            .filter(|s| in_row(s.due) && s.coalesced)
            .count();
        all.extend_from_slice(&latencies);
        let requests = (after.requests - before.requests) / seconds;
        let events = after.events - before.events;
        let held = after.held_back - before.held_back;
        println!(
            "{:>7}. | {:>7} | {:>7.0} | {:>7.0} | {:>7.0} | {:>9} | {:>8.1} | {:>10.1} | {:>8.0} | {:>8.0}",
            index + 1,
            latencies.len(),
            ms(&mut latencies, 0.5),
            ms(&mut latencies, 0.99),
            ms(&mut latencies, 1.0),
            coalesced,
            after.rss_mib,
            requests,
            events,
            held
        );
        rows.push(
            json!({"interval": index + 1, "changes_seen": latencies.len(),
            "p50_ms": ms(&mut latencies, 0.5), "p99_ms": ms(&mut latencies, 0.99),
            "max_ms": ms(&mut latencies, 1.0), "coalesced": coalesced, "rss_mib": after.rss_mib,
            "api_requests_per_s": requests, "events": events, "events_held_back": held}),
        );
    }
    let p99 = ms(&mut all, 0.99);
    let first = ticks.first().copied();
    let last = ticks.last().copied();
    let start = first.map_or(f64::NAN, |t| t.rss_mib);
    let end = last.map_or(f64::NAN, |t| t.rss_mib);
    let max = ticks.iter().map(|t| t.rss_mib).fold(f64::NAN, f64::max);
    let min = ticks.iter().map(|t| t.rss_mib).fold(f64::NAN, f64::min);
    let drift = (max - start).abs().max((min - start).abs()) / start;
    let requests = match (first, last) {
        (Some(a), Some(b)) => b.requests - a.requests,
        _ => f64::NAN,
    };
    let published = match (first, last) {
        (Some(a), Some(b)) => b.events - a.events,
        _ => f64::NAN,
    };
    let held = match (first, last) {
        (Some(a), Some(b)) => b.held_back - a.held_back,
        _ => f64::NAN,
    };
    let measured = setup.seconds as f64;
    let coalesced = observed.seen.iter().filter(|s| s.coalesced).count();
    println!(
        "total: {} changes sent ({} failed), {} shown in the status ({coalesced} coalesced), {} never \
         shown; change → status p50 {:.0} ms, p90 {:.0} ms, p99 {p99:.0} ms, max {:.0} ms; {} status \
         updates ({} truncated)",
        setup.changes_sent,
        setup.changes_failed,
        all.len(),
        observed.pending,
        ms(&mut all, 0.5),
        ms(&mut all, 0.9),
        ms(&mut all, 1.0),
        observed.updates,
        observed.truncated
    );
    println!(
        "operator RSS: start {start:.1} MiB, end {end:.1} MiB, min {min:.1}, max {max:.1} (largest \
         drift from start {:.1}%)",
        drift * 100.0
    );
    println!(
        "operator → API server: {requests:.0} requests in {measured:.0} s = {:.1}/s ({:.2} per change)",
        requests / measured,
        requests / setup.changes_sent.max(1) as f64
    );
    println!(
        "Events: {published:.0} published by the operator, {held:.0} held back by its rate limits; \
         {} Event objects about the soak's objects ({} occurrences with series) for {} changes",
        events.objects, events.occurrences, setup.changes_sent
    );
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    let rate_limited = published <= 25.0 + measured * 1.0 + 10.0;
    println!(
        "targets: change → status p99 ≤ 1 s: {}; RSS within 10%: {}; Events rate-limited \
         (≤ burst + 1/s): {}",
        verdict(p99 <= TARGET_P99_MS),
        verdict(drift <= TARGET_RSS_DRIFT),
        verdict(rate_limited)
    );
    json!({"bench": "operator-soak", "namespaces": setup.namespaces, "changes_per_s": setup.rate,
        "seconds": setup.seconds, "changes_sent": setup.changes_sent,
        "changes_failed": setup.changes_failed, "changes_shown": all.len(), "coalesced": coalesced,
        "never_shown": observed.pending, "p50_ms": ms(&mut all, 0.5), "p99_ms": p99,
        "max_ms": ms(&mut all, 1.0), "status_updates": observed.updates,
        "rss_mib": ticks.iter().map(|t| t.rss_mib).collect::<Vec<_>>(), "rss_drift": drift,
        "api_requests": requests, "api_requests_per_s": requests / measured,
        "events_published": published, "events_held_back": held,
        "event_objects": events.objects, "event_occurrences": events.occurrences,
        "intervals": rows,
        "met": {"p99": p99 <= TARGET_P99_MS, "rss": drift <= TARGET_RSS_DRIFT,
            "events_rate_limited": rate_limited}})
}
