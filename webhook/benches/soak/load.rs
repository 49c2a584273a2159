//! The soak's open-loop load generator: reviews are due at a fixed rate from a schedule kept by
//! a thread of its own, whatever the server does, and each review's latency is counted from the
//! time it was due, not from when a connection was free to send it — a slow answer delays the
//! reviews queued behind it, and that delay is counted (no coordinated omission). The reviews go
//! over a pool of keep-alive HTTPS connections, as the API server sends them; a connection that
//! fails is counted and replaced.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{Mutex, mpsc};
use tokio_rustls::TlsConnector;

use crate::common::ca::{connect, post_review};

/// What to send, how fast, for how long.
#[derive(Clone)]
pub struct Load {
    pub addr: SocketAddr,
    pub connector: TlsConnector,
    pub body: Bytes,
    /// Reviews per second.
    pub rate: f64,
    pub connections: usize,
    /// Reviews due before this instant are warm-up: sent, checked, not counted in the figures.
    pub measure_from: Instant,
    /// The length of one reporting interval (a row of the table).
    pub interval: Duration,
    /// No review is due at or after this instant.
    pub until: Instant,
}

/// One interval's reviews.
#[derive(Default, Clone)]
pub struct Bucket {
    /// Due → answered, in µs.
    pub latencies: Vec<u32>,
    /// Sent → answered, in µs (the server and the network alone, without waiting for a
    /// connection).
    pub service: Vec<u32>,
    pub failures: u64,
}

/// Everything the generator saw.
pub struct Outcome {
    pub buckets: Vec<Bucket>,
    pub warmup_failures: u64,
    /// The first few failures, as text.
    pub failure_samples: Vec<String>,
    /// Reviews due in the measured part, and the seconds it spanned.
    pub due: u64,
    pub elapsed: f64,
}

/// Runs the load until `until`, then waits for every review due to be answered.
pub async fn run(load: Load) -> Outcome {
    let (tx, rx) = mpsc::unbounded_channel::<Instant>();
    let rx = Arc::new(Mutex::new(rx));
    let stop = Arc::new(AtomicBool::new(false));
    let schedule = {
        let (rate, until, stop) = (load.rate, load.until, Arc::clone(&stop));
        // A thread, not a timer task: tokio's timers have a granularity of a millisecond, which
        // would show up as latency in every review due between two ticks.
        std::thread::spawn(move || pace(rate, until, &tx, &stop))
    };
    let workers: Vec<_> = (0..load.connections)
        .map(|_| tokio::spawn(worker(load.clone(), Arc::clone(&rx))))
        .collect();
    let mut outcome = Outcome {
        buckets: Vec::new(),
        warmup_failures: 0,
        failure_samples: Vec::new(),
        due: 0,
        elapsed: load
            .until
            .saturating_duration_since(load.measure_from)
            .as_secs_f64(),
    };
    for worker in workers {
        let Ok(part) = worker.await else {
            stop.store(true, Ordering::Relaxed);
            continue;
        };
        if outcome.buckets.len() < part.buckets.len() {
            outcome
                .buckets
                .resize(part.buckets.len(), Bucket::default());
        }
        for (into, from) in outcome.buckets.iter_mut().zip(part.buckets) {
            into.latencies.extend(from.latencies);
            into.service.extend(from.service);
            into.failures += from.failures;
        }
        outcome.warmup_failures += part.warmup_failures;
        outcome
            .failure_samples
            .extend(part.failure_samples.into_iter().take(5));
    }
    let _ = schedule.join();
    outcome.failure_samples.truncate(5);
    outcome.due = outcome
        .buckets
        .iter()
        .map(|b| b.latencies.len() as u64 + b.failures)
        .sum();
    outcome
}

/// Hands out the due time of review k, start + k / rate, as it comes.
fn pace(rate: f64, until: Instant, tx: &mpsc::UnboundedSender<Instant>, stop: &AtomicBool) {
    let start = Instant::now();
    let period = Duration::from_secs_f64(1.0 / rate);
    let mut k: u32 = 0;
    loop {
        let due = start + period * k;
        if due >= until || stop.load(Ordering::Relaxed) {
            return;
        }
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        if tx.send(due).is_err() {
            return;
        }
        k = k.saturating_add(1);
    }
}

struct Part {
    buckets: Vec<Bucket>,
    warmup_failures: u64,
    failure_samples: Vec<String>,
}

/// One keep-alive connection: takes the next due review, sends it, records it.
async fn worker(load: Load, rx: Arc<Mutex<mpsc::UnboundedReceiver<Instant>>>) -> Part {
    let mut part = Part {
        buckets: Vec::new(),
        warmup_failures: 0,
        failure_samples: Vec::new(),
    };
    let mut sender = None;
    loop {
        let Some(due) = rx.lock().await.recv().await else {
            return part;
        };
        let result = send_one(&load, &mut sender).await;
        let answered = Instant::now();
        if due < load.measure_from {
            if result.is_err() {
                part.warmup_failures += 1;
            }
            continue;
        }
        let index = (due.duration_since(load.measure_from).as_secs_f64()
            / load.interval.as_secs_f64()) as usize;
        if part.buckets.len() <= index {
            part.buckets.resize(index + 1, Bucket::default());
        }
        let Some(bucket) = part.buckets.get_mut(index) else {
            continue;
        };
        match result {
            Ok(sent) => {
                bucket.latencies.push(micros(answered - due));
                bucket.service.push(micros(answered - sent));
            }
            Err(error) => {
                bucket.failures += 1;
                if part.failure_samples.len() < 5 {
                    part.failure_samples.push(error);
                }
            }
        }
    }
}

type Sender = hyper::client::conn::http1::SendRequest<http_body_util::Full<Bytes>>;

/// Sends one review on the connection (opened first if there is none); returns when it was
/// sent, or what failed. A failed connection is dropped, so the next review opens a new one.
async fn send_one(load: &Load, sender: &mut Option<Sender>) -> Result<Instant, String> {
    if sender.is_none() {
        let connection = connect(&load.connector, load.addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        *sender = Some(connection.sender);
    }
    let Some(open) = sender.as_mut() else {
        return Err("no connection".to_owned());
    };
    let sent = Instant::now();
    match post_review(open, "/validate", load.body.clone()).await {
        Ok((200, body)) if allowed(&body) => Ok(sent),
        Ok((status, body)) => Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(body.get(..200.min(body.len())).unwrap_or_default())
        )),
        Err(error) => {
            *sender = None;
            Err(format!("request: {error}"))
        }
    }
}

/// The compliant review must come back allowed: anything else is a failed review.
fn allowed(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("response")?.get("allowed")?.as_bool())
        .unwrap_or(false)
}

fn micros(elapsed: Duration) -> u32 {
    u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX)
}
