//! The election's decisions: create, renew, follow until expiry, take over.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
use super::*;

fn settings() -> LeaseSettings {
    LeaseSettings {
        name: "hipaa-operator".into(),
        namespace: "hipaa-guard".into(),
        identity: "me".into(),
        lease_duration: Duration::from_secs(15),
        renew_interval: Duration::from_secs(5),
        retry_interval: Duration::from_secs(2),
    }
}

fn held_by(holder: &str, renewed: DateTime<Utc>) -> LeaseSpec {
    LeaseSpec {
        holder_identity: Some(holder.into()),
        lease_duration_seconds: Some(15),
        renew_time: Some(to_micro_time(renewed)),
        ..LeaseSpec::default()
    }
}

#[test]
fn no_lease_is_created_and_our_own_is_renewed() {
    let now = Utc::now();
    assert_eq!(
        next_step(None, &settings(), Duration::ZERO, now),
        Step::Create
    );
    assert_eq!(
        next_step(Some(&held_by("me", now)), &settings(), Duration::ZERO, now),
        Step::Renew
    );
}

#[test]
fn a_fresh_lease_of_another_is_followed_until_it_would_expire() {
    let now = Utc::now();
    let spec = held_by("other", now - chrono::TimeDelta::seconds(14));
    match next_step(Some(&spec), &settings(), Duration::ZERO, now) {
        Step::Follow { holder, retry_in } => {
            assert_eq!(holder, "other");
            assert!(
                retry_in <= Duration::from_secs(1),
                "wakes at expiry, got {retry_in:?}"
            );
        }
        step => panic!("expected Follow, got {step:?}"),
    }
}

#[test]
fn an_expired_or_released_lease_is_taken_over() {
    let now = Utc::now();
    let stale = held_by("other", now - chrono::TimeDelta::seconds(16));
    assert_eq!(
        next_step(Some(&stale), &settings(), Duration::ZERO, now),
        Step::TakeOver
    );
    let released = LeaseSpec {
        holder_identity: None,
        ..held_by("x", now)
    };
    assert_eq!(
        next_step(Some(&released), &settings(), Duration::ZERO, now),
        Step::TakeOver
    );
}

#[test]
fn a_record_unchanged_for_a_whole_duration_expires_even_with_a_future_renew_time() {
    let now = Utc::now();
    let skewed = held_by("other", now + chrono::TimeDelta::seconds(60));
    assert!(matches!(
        next_step(Some(&skewed), &settings(), Duration::from_secs(5), now),
        Step::Follow { .. }
    ));
    assert_eq!(
        next_step(Some(&skewed), &settings(), Duration::from_secs(15), now),
        Step::TakeOver
    );
}
