//! The reconcile, scenario by scenario, against a mocked API server (see [`super::fixtures`]):
//! what it sends, what it answers the controller, what it counts. The end-to-end tests on a real
//! API server (tests/tests/operator_e2e.rs) cover the same paths with the whole process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use http::Method;
use kube::runtime::controller::Action;

use super::fixtures::{Harness, Seen, StatusReply, offending_deployment};
use super::{ReconcileError, backoff, error_policy, random_unit, retry_delay};

type Violation = (String, String, String);

/// The requests, one line each, for failure messages.
fn lines(seen: &[Seen]) -> Vec<String> {
    seen.iter().map(Seen::line).collect()
}

fn status_writes(seen: &[Seen]) -> Vec<&Seen> {
    seen.iter().filter(|s| s.is_status_write()).collect()
}

fn events(seen: &[Seen]) -> Vec<&Seen> {
    seen.iter().filter(|s| s.is_event()).collect()
}

/// The violation Events sent, in order.
fn violation_events(seen: &[Seen]) -> Vec<Violation> {
    seen.iter().filter_map(Seen::violation).collect()
}

/// The violations a status lists, as violation Events name them.
fn listed(write: &Seen) -> BTreeSet<Violation> {
    let status = write.status();
    assert!(
        !status.truncated,
        "the fixture stays under the list's bound"
    );
    status
        .violations
        .iter()
        .map(|v| (v.kind.clone(), v.name.clone(), v.control.clone()))
        .collect()
}

#[tokio::test]
async fn an_unchanged_status_sends_no_patch() {
    let mut h = Harness::start();
    let policy = h.policy("production-phi");
    h.reconcile(&policy).await.unwrap();
    let first = h.api.take();
    let writes = status_writes(&first);
    assert_eq!(
        writes.len(),
        1,
        "the first audit writes: {:#?}",
        lines(&first)
    );
    let write = writes[0];
    assert_eq!(write.method, Method::PATCH);
    assert_eq!(
        write.path,
        "/apis/hipaaguard.io/v1alpha1/hipaapolicies/production-phi/status"
    );
    assert!(
        write.query.contains("fieldManager=hipaa-operator") && write.query.contains("force=true"),
        "server-side apply under the operator's field manager: {}",
        write.query
    );

    // A debounced change re-audits before the cache has the status just written: the memory
    // of the write stands in for it, and nothing is sent.
    h.reconcile(&policy).await.unwrap();
    let again = h.api.take();
    assert!(status_writes(&again).is_empty(), "{:#?}", lines(&again));
    assert!(events(&again).is_empty(), "{:#?}", lines(&again));

    // A new leader remembers nothing; the status in its cache (as it came back from the API
    // server, through JSON) is enough, and the violations it lists were reported already.
    let mut cached = policy.clone();
    cached.status = Some(write.status());
    h.cache_policy(&cached);
    h.new_term();
    let action = h.reconcile(&cached).await.unwrap();
    let after_restart = h.api.take();
    assert!(after_restart.is_empty(), "{:#?}", lines(&after_restart));
    assert_ne!(
        action,
        Action::await_change(),
        "the periodic audit stays scheduled"
    );
}

#[tokio::test]
async fn a_policy_deleted_during_its_audit_waits_for_a_change() {
    let mut h = Harness::start();
    let policy = h.policy("short-lived");
    h.api.reply_to_status_writes(StatusReply::NotFound);

    let action = h
        .reconcile(&policy)
        .await
        .expect("a policy deleted meanwhile is not an error to retry");
    assert_eq!(
        action,
        Action::await_change(),
        "no requeue of a deleted policy"
    );
    let seen = h.api.take();
    assert_eq!(status_writes(&seen).len(), 1);
    assert!(
        events(&seen).is_empty(),
        "no Events about a policy that is gone: {:#?}",
        lines(&seen)
    );
    assert_eq!(h.ctx.failures("short-lived"), 0, "not counted as a failure");
    assert_eq!(h.counted_errors("short-lived", "status_write"), 0);
}

#[tokio::test]
async fn an_api_error_backs_off_with_jitter_and_is_counted() {
    let mut h = Harness::start();
    let (a, b) = (h.policy("policy-a"), h.policy("policy-b"));
    h.api.reply_to_status_writes(StatusReply::ServerError);

    // Both fail on the same outage.
    let mut retries = Vec::new();
    for policy in [&a, &b] {
        let error = h.reconcile(policy).await.unwrap_err();
        match &error {
            ReconcileError::StatusWrite {
                source: kube::Error::Api(status),
                ..
            } => assert_eq!(status.code, 500),
            other => panic!("expected a refused status write, got {other:?}"),
        }
        retries.push(error_policy(
            Arc::new(policy.clone()),
            &error,
            h.ctx.clone(),
        ));
    }
    assert!(
        retries.iter().all(|r| *r != Action::await_change()),
        "retried"
    );
    assert_ne!(
        retries[0], retries[1],
        "jitter: policies failing together do not retry in lockstep"
    );
    assert_eq!(h.counted_errors("policy-a", "status_write"), 1);
    assert_eq!(h.counted_errors("policy-b", "status_write"), 1);
    let seen = h.api.take();
    assert_eq!(status_writes(&seen).len(), 2);
    assert!(
        events(&seen).is_empty(),
        "nothing published before the status is written: {:#?}",
        lines(&seen)
    );

    // Consecutive failures back off further; a success starts over.
    let error = h.reconcile(&a).await.unwrap_err();
    assert_eq!(h.ctx.failures("policy-a"), 2);
    error_policy(Arc::new(a.clone()), &error, h.ctx.clone());
    assert_eq!(h.counted_errors("policy-a", "status_write"), 2);
    h.api.reply_to_status_writes(StatusReply::Apply);
    h.reconcile(&a).await.unwrap();
    assert_eq!(h.ctx.failures("policy-a"), 0);
    assert_eq!(
        h.counted_errors("policy-a", "status_write"),
        2,
        "a success counts no error"
    );
}

#[tokio::test]
async fn events_are_published_once_per_new_violation() {
    let mut h = Harness::start();
    let policy = h.policy("production-phi");
    h.reconcile(&policy).await.unwrap();
    let first = h.api.take();
    let expected = listed(status_writes(&first)[0]);
    assert!(!expected.is_empty(), "the fixture has violations");
    let published = violation_events(&first);
    assert_eq!(
        published.len(),
        expected.len(),
        "one Event per violation: {published:#?}"
    );
    assert_eq!(published.into_iter().collect::<BTreeSet<_>>(), expected);
    assert!(
        events(&first).iter().all(|e| e.method == Method::POST),
        "each a new Event"
    );
    let on_policy: Vec<_> = events(&first)
        .into_iter()
        .filter(|e| e.body["regarding"]["kind"] == "HipaaPolicy")
        .map(|e| e.body["reason"].clone())
        .collect();
    assert_eq!(on_policy, ["NonCompliant"], "and one on the policy");

    // Nothing new: nothing published, not even a repeat of an old one.
    h.reconcile(&policy).await.unwrap();
    let again = h.api.take();
    assert!(events(&again).is_empty(), "{:#?}", lines(&again));

    // A new offending Deployment: its violations, and only those.
    h.cluster.apply(offending_deployment("worker-2"));
    h.reconcile(&policy).await.unwrap();
    let third = h.api.take();
    let new: BTreeSet<Violation> = listed(status_writes(&third)[0])
        .difference(&expected)
        .cloned()
        .collect();
    assert!(!new.is_empty());
    assert!(
        new.iter().all(|(_, name, _)| name == "worker-2"),
        "{new:#?}"
    );
    let published = violation_events(&third);
    assert_eq!(published.len(), new.len(), "{published:#?}");
    assert_eq!(published.into_iter().collect::<BTreeSet<_>>(), new);
    assert_eq!(
        events(&third).len(),
        new.len(),
        "still non-compliant: no Event on the policy"
    );
}

#[test]
fn retry_delays_double_up_to_five_minutes_less_a_random_quarter() {
    assert_eq!(backoff(1), Duration::from_secs(1));
    assert_eq!(backoff(2), Duration::from_secs(2));
    assert_eq!(backoff(5), Duration::from_secs(16));
    assert_eq!(backoff(30), Duration::from_secs(300));
    assert_eq!(retry_delay(1, 0.0), Duration::from_secs(1));
    assert_eq!(retry_delay(1, 1.0), Duration::from_millis(750));
    assert_eq!(retry_delay(2, 0.5), Duration::from_millis(1750));
    assert_eq!(retry_delay(30, 1.0), Duration::from_secs(225));
    let draws: Vec<f64> = (0..64).map(|_| random_unit()).collect();
    assert!(draws.iter().all(|d| (0.0..1.0).contains(d)), "{draws:?}");
    let distinct: BTreeSet<u64> = draws.iter().map(|d| d.to_bits()).collect();
    assert!(distinct.len() > 60, "{draws:?}");
}
