//! The soak's figures: a row per interval (reviews, rate, latency percentiles, failures, the
//! server's RSS, the rotation), the totals against the targets, and the same as JSON.

use std::time::Duration;

use serde_json::{Value, json};

use crate::load::{Bucket, Outcome};
use crate::rotate::Rotation;

/// The targets of issue 16.
pub const TARGET_P99_MS: f64 = 2.0;
pub const TARGET_RSS_DRIFT: f64 = 0.10;

/// What the run was asked to do.
pub struct Setup {
    pub rate: f64,
    pub connections: usize,
    pub seconds: u64,
    pub interval: Duration,
    pub body_bytes: usize,
}

/// The `q` quantile (0..=1) of sorted µs samples, in ms.
fn quantile_ms(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted
        .get(rank.min(sorted.len() - 1))
        .map_or(f64::NAN, |&us| f64::from(us) / 1000.0)
}

fn sorted(mut samples: Vec<u32>) -> Vec<u32> {
    samples.sort_unstable();
    samples
}

/// Prints the table and the verdicts; returns the JSON of it all.
pub fn report(setup: &Setup, outcome: &Outcome, rss_mib: &[f64], rotations: &[Rotation]) -> Value {
    let seconds = setup.interval.as_secs_f64();
    println!(
        "\nwebhook soak: {:.0} reviews/s offered (open loop) over {} keep-alive HTTPS connections, \
         {} s measured, ~5 KB compliant Deployment review ({} bytes), certificate rotated every {:.0} s",
        setup.rate, setup.connections, setup.seconds, setup.body_bytes, seconds
    );
    println!(
        "{:>8} | {:>9} | {:>8} | {:>7} | {:>7} | {:>7} | {:>7} | {:>8} | {:>8} | {:>9} | rotation",
        "interval",
        "reviews",
        "per s",
        "p50 ms",
        "p99 ms",
        "p99.9",
        "max ms",
        "svc p99",
        "failures",
        "RSS MiB"
    );
    let mut rows = Vec::new();
    let mut all = Vec::new();
    let mut all_service = Vec::new();
    let empty = Bucket::default();
    let intervals = rss_mib.len().saturating_sub(1).max(outcome.buckets.len());
    for index in 0..intervals {
        let bucket = outcome.buckets.get(index).unwrap_or(&empty);
        let latencies = sorted(bucket.latencies.clone());
        let service = sorted(bucket.service.clone());
        let rss = rss_mib.get(index + 1).copied().unwrap_or(f64::NAN);
        let rotation = rotations.get(index).map_or("-".to_owned(), describe);
        println!(
            "{:>7}. | {:>9} | {:>8.0} | {:>7.3} | {:>7.3} | {:>7.3} | {:>7.2} | {:>8.3} | {:>8} | {:>9.1} | {rotation}",
            index + 1,
            latencies.len(),
            latencies.len() as f64 / seconds,
            quantile_ms(&latencies, 0.5),
            quantile_ms(&latencies, 0.99),
            quantile_ms(&latencies, 0.999),
            quantile_ms(&latencies, 1.0),
            quantile_ms(&service, 0.99),
            bucket.failures,
            rss,
        );
        rows.push(json!({
            "interval": index + 1, "reviews": latencies.len(), "failures": bucket.failures,
            "p50_ms": quantile_ms(&latencies, 0.5), "p99_ms": quantile_ms(&latencies, 0.99),
            "p999_ms": quantile_ms(&latencies, 0.999), "max_ms": quantile_ms(&latencies, 1.0),
            "service_p99_ms": quantile_ms(&service, 0.99), "rss_mib_at_end": rss,
        }));
        all.extend_from_slice(&latencies);
        all_service.extend_from_slice(&service);
    }
    let all = sorted(all);
    let all_service = sorted(all_service);
    let failures: u64 = outcome.buckets.iter().map(|b| b.failures).sum::<u64>()
        + rotations.iter().filter(|r| !r.review_ok).count() as u64;
    let answered = all.len() as f64 / outcome.elapsed.max(f64::MIN_POSITIVE);
    let p99 = quantile_ms(&all, 0.99);
    let start = rss_mib.first().copied().unwrap_or(f64::NAN);
    let end = rss_mib.last().copied().unwrap_or(f64::NAN);
    let max = rss_mib.iter().copied().fold(f64::NAN, f64::max);
    let min = rss_mib.iter().copied().fold(f64::NAN, f64::min);
    let drift = ((max - start).abs().max((min - start).abs())) / start;
    let served: Vec<f64> = rotations
        .iter()
        .filter_map(|r| r.served_after.map(|d| d.as_secs_f64()))
        .collect();
    let all_served = served.len() == rotations.len();
    let slowest_rotation = served.iter().copied().fold(0.0, f64::max);
    println!(
        "total: {} reviews answered ({answered:.0}/s of {:.0}/s offered), {failures} failed \
         ({} in warm-up); p50 {:.3} ms, p99 {p99:.3} ms, p99.9 {:.3} ms, max {:.2} ms; \
         sent → answered p99 {:.3} ms",
        all.len(),
        setup.rate,
        outcome.warmup_failures,
        quantile_ms(&all, 0.5),
        quantile_ms(&all, 0.999),
        quantile_ms(&all, 1.0),
        quantile_ms(&all_service, 0.99),
    );
    println!(
        "server RSS: start {start:.1} MiB, end {end:.1} MiB, min {min:.1}, max {max:.1} \
         (largest drift from start {:.1}%)",
        drift * 100.0
    );
    println!(
        "rotations: {}, every one served to a new connection: {}, slowest {slowest_rotation:.2} s",
        rotations.len(),
        if all_served { "yes" } else { "NO" }
    );
    for sample in &outcome.failure_samples {
        println!("failure: {sample}");
    }
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    let rate_met = answered >= setup.rate * 0.99;
    println!(
        "targets: rate {:.0}/s sustained: {}; zero failed reviews: {}; p99 ≤ {TARGET_P99_MS} ms: {}; \
         RSS within {:.0}%: {}",
        setup.rate,
        verdict(rate_met),
        verdict(failures == 0 && outcome.warmup_failures == 0),
        verdict(p99 <= TARGET_P99_MS),
        TARGET_RSS_DRIFT * 100.0,
        verdict(drift <= TARGET_RSS_DRIFT),
    );
    json!({
        "bench": "webhook-soak", "offered_per_s": setup.rate, "answered_per_s": answered,
        "connections": setup.connections, "seconds": setup.seconds, "interval_s": seconds,
        "reviews": all.len(), "failures": failures, "warmup_failures": outcome.warmup_failures,
        "p50_ms": quantile_ms(&all, 0.5), "p99_ms": p99, "p999_ms": quantile_ms(&all, 0.999),
        "max_ms": quantile_ms(&all, 1.0), "service_p99_ms": quantile_ms(&all_service, 0.99),
        "rss_mib": rss_mib, "rss_drift": drift, "rotations": rotations.len(),
        "rotations_served": served.len(), "slowest_rotation_s": slowest_rotation,
        "intervals": rows,
        "met": {"rate": rate_met, "zero_failures": failures == 0 && outcome.warmup_failures == 0,
                "p99": p99 <= TARGET_P99_MS, "rss": drift <= TARGET_RSS_DRIFT},
    })
}

fn describe(rotation: &Rotation) -> String {
    let ca = if rotation.from_new_ca {
        "other CA"
    } else {
        "same CA"
    };
    match rotation.served_after {
        Some(after) => format!(
            "{ca}, served after {:.2} s{}{}",
            after.as_secs_f64(),
            if rotation.review_ok {
                ""
            } else {
                ", review FAILED"
            },
            if rotation.failed_connects > 0 {
                format!(", {} failed connects", rotation.failed_connects)
            } else {
                String::new()
            }
        ),
        None => format!("{ca}, NOT served within 15 s"),
    }
}
