//! How many Events the operator may publish, decided without a client: an operator-wide token
//! bucket for violation Events (a cluster full of new violations cannot flood the API server),
//! and a bucket per repeated Event — one object and one topic (a control, or a policy's
//! compliance) — so that a flapping object or policy gets a few Events and then one every
//! `repeat_interval`, however often it flaps. kube-runtime's `Recorder` limits nothing (a repeat
//! within its cache window is a PATCH of the Event's series, still one request per repeat); the
//! per-repeat bucket follows client-go's spam filter, which keys by source and object.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A token bucket: `burst` tokens at once, then `per_second`.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    burst: f64,
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(burst: u32, per_second: f64, now: Instant) -> Self {
        TokenBucket {
            burst: f64::from(burst),
            per_second,
            tokens: f64::from(burst),
            last: now,
        }
    }

    /// Adds the tokens earned since the last look.
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
    }

    /// Whether a token is there now (without taking it).
    fn available(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= 1.0
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        if self.available(now) {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Full again: a bucket in this state is no different from a new one.
    fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.burst
    }
}

/// What the limits are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BudgetLimits {
    /// Violation Events at once, operator-wide, before `violation_rate` applies.
    pub violation_burst: u32,
    /// Violation Events per second, operator-wide, after a burst.
    pub violation_rate: f64,
    /// Events of one object and topic at once before `repeat_interval` applies.
    pub repeat_burst: u32,
    /// Then one Event of that object and topic per this interval.
    pub repeat_interval: Duration,
}

/// Repeat buckets kept before full ones (the same as new) are dropped.
const PRUNE_AT: usize = 4096;

/// The operator's Event budget.
#[derive(Debug)]
pub struct EventBudget {
    limits: BudgetLimits,
    violations: TokenBucket,
    repeats: HashMap<String, TokenBucket>,
    prune_at: usize,
}

/// Why an Event was held back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeldBack {
    /// The operator-wide violation bucket is empty.
    Rate,
    /// This object and topic had its share of Events lately.
    Repeat,
}

impl EventBudget {
    pub fn new(limits: BudgetLimits, now: Instant) -> Self {
        EventBudget {
            limits,
            violations: TokenBucket::new(limits.violation_burst, limits.violation_rate, now),
            repeats: HashMap::new(),
            prune_at: PRUNE_AT,
        }
    }

    /// A violation Event with this repeat key: needs a token from both buckets, and takes from
    /// neither unless both have one.
    pub fn try_violation(&mut self, repeat_key: &str, now: Instant) -> Result<(), HeldBack> {
        if !self.repeat_bucket(repeat_key, now).available(now) {
            return Err(HeldBack::Repeat);
        }
        if !self.violations.try_take(now) {
            return Err(HeldBack::Rate);
        }
        self.repeat_bucket(repeat_key, now).try_take(now);
        Ok(())
    }

    /// Any other Event (on a policy): only the repeat bucket of its key.
    pub fn try_repeat(&mut self, repeat_key: &str, now: Instant) -> Result<(), HeldBack> {
        if self.repeat_bucket(repeat_key, now).try_take(now) {
            Ok(())
        } else {
            Err(HeldBack::Repeat)
        }
    }

    /// How many repeat buckets are kept (bounded: full ones are dropped).
    pub fn tracked(&self) -> usize {
        self.repeats.len()
    }

    fn repeat_bucket(&mut self, key: &str, now: Instant) -> &mut TokenBucket {
        if self.repeats.len() >= self.prune_at {
            self.repeats.retain(|_, bucket| !bucket.is_full(now));
            // Everything kept is in use: look again only when the map has doubled.
            self.prune_at = PRUNE_AT.max(self.repeats.len() * 2);
        }
        let per_second = 1.0
            / self
                .limits
                .repeat_interval
                .as_secs_f64()
                .max(f64::MIN_POSITIVE);
        self.repeats
            .entry(key.to_owned())
            .or_insert_with(|| TokenBucket::new(self.limits.repeat_burst, per_second, now))
    }
}

/// How long a burst takes to refill, for documentation and tests.
pub fn refill_time(burst: u32, per_second: f64) -> Duration {
    Duration::from_secs_f64(f64::from(burst) / per_second.max(f64::MIN_POSITIVE))
}

#[cfg(test)]
#[path = "event_budget_tests.rs"]
mod tests;
