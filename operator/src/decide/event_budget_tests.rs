//! Tests of the Event budget: the operator-wide bucket, the per-repeat bucket a flapping object
//! meets, and the bound on what is remembered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;

fn limits() -> BudgetLimits {
    BudgetLimits {
        violation_burst: 25,
        violation_rate: 1.0,
        repeat_burst: 3,
        repeat_interval: Duration::from_secs(300),
    }
}

#[test]
fn the_bucket_allows_a_burst_then_refills_over_time() {
    let start = Instant::now();
    let mut bucket = TokenBucket::new(3, 2.0, start);
    assert!((0..3).all(|_| bucket.try_take(start)));
    assert!(!bucket.try_take(start));
    assert!(bucket.try_take(start + Duration::from_millis(500)));
    assert!(!bucket.try_take(start + Duration::from_millis(500)));
    let later = start + Duration::from_secs(60);
    assert_eq!(
        (0..10).filter(|_| bucket.try_take(later)).count(),
        3,
        "never more than the burst"
    );
    assert_eq!(refill_time(3, 2.0), Duration::from_millis(1500));
}

#[test]
fn an_object_flapping_fifty_times_gets_its_burst_then_one_per_interval() {
    let start = Instant::now();
    let mut budget = EventBudget::new(limits(), start);
    // 50 flaps, one every 2 s (100 s): the same violation comes back each time.
    let published = (0..50)
        .filter(|i| {
            budget
                .try_violation(
                    "Deployment/billing/api#PRIVILEGED",
                    start + Duration::from_secs(2 * i),
                )
                .is_ok()
        })
        .count();
    assert_eq!(published, 3, "the burst, and no refill within 100 s");
    // Over 10 minutes of flapping: the burst plus one per 5 minutes.
    let published_later = (50..300)
        .filter(|i| {
            budget
                .try_violation(
                    "Deployment/billing/api#PRIVILEGED",
                    start + Duration::from_secs(2 * i),
                )
                .is_ok()
        })
        .count();
    assert_eq!(published_later, 1, "one more by 600 s (a token per 300 s)");
}

#[test]
fn repeats_are_limited_per_object_and_topic_not_across_them() {
    let now = Instant::now();
    let mut budget = EventBudget::new(limits(), now);
    for _ in 0..3 {
        assert!(
            budget
                .try_violation("Deployment/a/x#PRIVILEGED", now)
                .is_ok()
        );
    }
    assert_eq!(
        budget.try_violation("Deployment/a/x#PRIVILEGED", now),
        Err(HeldBack::Repeat)
    );
    // Another control on the same object, and the same control on another object, still go.
    assert!(budget.try_violation("Deployment/a/x#NETPOL", now).is_ok());
    assert!(
        budget
            .try_violation("Deployment/a/y#PRIVILEGED", now)
            .is_ok()
    );
    // A policy's compliance flapping has its own bucket.
    let flips = (0..50)
        .filter(|_| budget.try_repeat("HipaaPolicy//p#compliance", now).is_ok())
        .count();
    assert_eq!(flips, 3);
}

#[test]
fn the_operator_wide_rate_holds_without_spending_the_repeat_token() {
    let now = Instant::now();
    let mut budget = EventBudget::new(
        BudgetLimits {
            violation_burst: 2,
            ..limits()
        },
        now,
    );
    assert!(budget.try_violation("a#C", now).is_ok());
    assert!(budget.try_violation("b#C", now).is_ok());
    assert_eq!(budget.try_violation("c#C", now), Err(HeldBack::Rate));
    // "c" kept its whole burst (3) for when the operator-wide bucket (2) refills.
    let later = now + Duration::from_secs(10);
    assert!((0..2).all(|_| budget.try_violation("c#C", later).is_ok()));
    assert_eq!(budget.try_violation("c#C", later), Err(HeldBack::Rate));
    let even_later = later + Duration::from_secs(10);
    assert!(budget.try_violation("c#C", even_later).is_ok());
    assert_eq!(
        budget.try_violation("c#C", even_later),
        Err(HeldBack::Repeat)
    );
}

#[test]
fn buckets_that_refilled_are_forgotten_so_memory_stays_bounded() {
    let start = Instant::now();
    let mut budget = EventBudget::new(limits(), start);
    for i in 0..PRUNE_AT {
        assert!(budget.try_repeat(&format!("obj-{i}#c"), start).is_ok());
    }
    assert_eq!(budget.tracked(), PRUNE_AT);
    // Fifteen minutes later each bucket is full again: the next new key drops them all.
    let later = start + Duration::from_secs(900);
    assert!(budget.try_repeat("fresh#c", later).is_ok());
    assert_eq!(budget.tracked(), 1);
    // An object still in its repeat window is kept, and still limited.
    for _ in 0..3 {
        assert!(budget.try_repeat("busy#c", later).is_ok());
    }
    assert_eq!(budget.try_repeat("busy#c", later), Err(HeldBack::Repeat));
}
