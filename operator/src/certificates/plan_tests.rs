//! The plan at fixed times, on real certificates read back through the same facts a pass uses:
//! creation from nothing, steady state, renewal by age, and a forced rotation step by step.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use chrono::TimeDelta;

use super::*;
use crate::certificates::facts::observe;
use crate::certificates::issue::issue_ca;
use crate::certificates::plan_fixtures::*;

#[test]
fn from_nothing_both_are_made_at_once_with_the_default_lifetimes() {
    let now = t0();
    let plan = plan(&observe(None, None), None, &config(), now);
    assert_eq!(plan.ca, CaStep::Rotate(CaReason::Missing));
    assert_eq!(plan.serving, ServingStep::Issue(ServingReason::Missing));
    assert_eq!(plan.previous, PreviousAfter::None);
    assert_eq!(plan.ca_not_after, now + days(365));
    assert_eq!(plan.serving_not_after, now + days(90));
    assert_eq!(
        plan.new_serving.unwrap().not_before,
        now - TimeDelta::minutes(5)
    );
    assert_eq!(plan.next_check, MAX_CHECK_INTERVAL);
    assert!(!plan.clear_rotate_annotation);
}

#[test]
fn a_current_pair_is_kept_until_a_third_of_its_lifetime_is_left() {
    let ca = ca_made_at(t0());
    let serving = serving_made_at(&ca, t0(), &config().dns_names);
    let (ca_secret, serving_secret) = secrets(&ca, None, &serving, false);
    let registered = registered(&[&ca], t0());

    let steady = plan_at(
        &ca_secret,
        &serving_secret,
        Some(&registered),
        t0() + days(59),
    );
    assert_eq!(
        (steady.ca, steady.serving),
        (CaStep::Keep, ServingStep::Keep)
    );
    assert_eq!(steady.next_check, MAX_CHECK_INTERVAL);
    // 90 days, renewed with 30 days left; the check just before wakes at that moment.
    let renew_at = t0() + days(60);
    let before = plan_at(
        &ca_secret,
        &serving_secret,
        Some(&registered),
        renew_at - TimeDelta::seconds(10),
    );
    assert_eq!(before.serving, ServingStep::Keep);
    assert_eq!(before.next_check, std::time::Duration::from_secs(10));
    let due = plan_at(&ca_secret, &serving_secret, Some(&registered), renew_at);
    assert_eq!(due.serving, ServingStep::Issue(ServingReason::Expiring));
    assert_eq!(due.ca, CaStep::Keep);
    assert_eq!(due.serving_not_after, renew_at + days(90));
}

#[test]
fn a_renewal_under_the_same_ca_waits_until_the_registered_bundle_carries_it() {
    let ca = ca_made_at(t0());
    let serving = serving_made_at(&ca, t0(), &["old.name".to_owned()]);
    let (ca_secret, serving_secret) = secrets(&ca, None, &serving, false);
    let now = t0() + days(1);
    let other = ca_made_at(t0());
    let unregistered = registered(&[&other], t0());
    let waits = plan_at(&ca_secret, &serving_secret, Some(&unregistered), now);
    assert_eq!(
        waits.serving,
        ServingStep::Wait(ServingReason::NamesChanged)
    );
    assert_eq!(waits.next_check, config().propagation_delay);
    let carried = registered(&[&ca], t0());
    let issues = plan_at(&ca_secret, &serving_secret, Some(&carried), now);
    assert_eq!(
        issues.serving,
        ServingStep::Issue(ServingReason::NamesChanged)
    );
    let unregistered_yet = plan_at(&ca_secret, &serving_secret, None, now);
    assert_eq!(
        unregistered_yet.serving,
        ServingStep::Issue(ServingReason::NamesChanged)
    );
}

#[test]
fn a_forced_rotation_puts_the_new_ca_in_the_bundle_first_and_moves_the_serving_certificate_after_propagation()
 {
    let old_ca = ca_made_at(t0());
    let old_serving = serving_made_at(&old_ca, t0(), &config().dns_names);
    let registered_old = registered(&[&old_ca], t0());
    let now = t0() + days(10);

    // 1. The request: a new CA, the old one retired beside it, the annotation cleared; the
    //    serving certificate stays on the old CA.
    let (ca_secret, serving_secret) = secrets(&old_ca, None, &old_serving, true);
    let first = plan_at(&ca_secret, &serving_secret, Some(&registered_old), now);
    assert_eq!(first.ca, CaStep::Rotate(CaReason::Forced));
    assert_eq!(first.previous, PreviousAfter::Retired);
    assert_eq!(first.serving, ServingStep::Wait(ServingReason::NewCa));
    assert!(first.clear_rotate_annotation);
    assert_eq!(first.serving_not_after, t0() + days(90));

    // 2. The new CA stored; the webhook configuration does not carry it yet.
    let new_ca = ca_made_at(now);
    let (ca_secret, serving_secret) = secrets(&new_ca, Some(&old_ca), &old_serving, false);
    let second = plan_at(&ca_secret, &serving_secret, Some(&registered_old), now);
    assert_eq!(
        (second.ca.clone(), second.previous),
        (CaStep::Keep, PreviousAfter::Kept)
    );
    assert_eq!(second.serving, ServingStep::Wait(ServingReason::NewCa));
    assert_eq!(second.next_check, config().propagation_delay);

    // 3. Registered 2 s ago: 3 s more.
    let registered_both = registered(&[&new_ca, &old_ca], now);
    let later = now + TimeDelta::seconds(2);
    let third = plan_at(&ca_secret, &serving_secret, Some(&registered_both), later);
    assert_eq!(third.serving, ServingStep::Wait(ServingReason::NewCa));
    assert_eq!(third.next_check, std::time::Duration::from_secs(3));

    // 4. After the propagation delay: the serving certificate moves to the new CA.
    let settled = now + TimeDelta::seconds(5);
    let fourth = plan_at(&ca_secret, &serving_secret, Some(&registered_both), settled);
    assert_eq!(fourth.serving, ServingStep::Issue(ServingReason::NewCa));
    assert_eq!(fourth.previous, PreviousAfter::Kept);

    // 5. Done: both stay, the old CA in the bundle until it expires.
    let new_serving = serving_made_at(&new_ca, settled, &config().dns_names);
    let (ca_secret, serving_secret) = secrets(&new_ca, Some(&old_ca), &new_serving, false);
    let fifth = plan_at(&ca_secret, &serving_secret, Some(&registered_both), settled);
    assert_eq!((fifth.ca, fifth.serving), (CaStep::Keep, ServingStep::Keep));
    assert_eq!(fifth.previous, PreviousAfter::Kept);
    // The next rotation by age (two thirds into the new CA's year) comes before the old CA's
    // expiry: the new CA is retired beside the next one, and the old one leaves.
    let next = plan_at(
        &ca_secret,
        &serving_secret,
        Some(&registered_both),
        now + days(365) - days(365) / 3,
    );
    assert_eq!(next.ca, CaStep::Rotate(CaReason::Expiring));
    assert_eq!(next.previous, PreviousAfter::Retired);
}

#[test]
fn the_previous_ca_leaves_the_bundle_when_it_expires() {
    let old_ca = issue_ca(
        "short CA",
        Validity {
            not_before: t0(),
            not_after: t0() + days(20),
        },
    )
    .unwrap();
    let new_ca = ca_made_at(t0() + days(5));
    let serving = serving_made_at(&new_ca, t0() + days(5), &config().dns_names);
    let (ca_secret, serving_secret) = secrets(&new_ca, Some(&old_ca), &serving, false);
    let registered_both = registered(&[&new_ca, &old_ca], t0() + days(5));
    let before = plan_at(
        &ca_secret,
        &serving_secret,
        Some(&registered_both),
        t0() + days(19),
    );
    assert_eq!(before.previous, PreviousAfter::Kept);
    assert_eq!(before.next_check, MAX_CHECK_INTERVAL);
    let last_hour = t0() + days(20) - TimeDelta::minutes(10);
    let wakes = plan_at(
        &ca_secret,
        &serving_secret,
        Some(&registered_both),
        last_hour,
    );
    assert_eq!(wakes.next_check, std::time::Duration::from_secs(600));
    let after = plan_at(
        &ca_secret,
        &serving_secret,
        Some(&registered_both),
        t0() + days(20),
    );
    assert_eq!(after.previous, PreviousAfter::None);
    assert_eq!((after.ca, after.serving), (CaStep::Keep, ServingStep::Keep));
}

#[test]
fn a_rotation_waits_while_the_last_one_has_not_settled() {
    let old_ca = ca_made_at(t0());
    let new_ca = ca_made_at(t0() + days(1));
    let now = t0() + days(2);
    let on_old = serving_made_at(&old_ca, t0(), &config().dns_names);
    let (ca_secret, serving_secret) = secrets(&new_ca, Some(&old_ca), &on_old, true);
    let registered_both = registered(&[&new_ca, &old_ca], now);
    let deferred = plan_at(&ca_secret, &serving_secret, Some(&registered_both), now);
    assert_eq!(deferred.ca, CaStep::Keep);
    assert!(deferred.rotation_deferred && !deferred.clear_rotate_annotation);
    assert_eq!(deferred.previous, PreviousAfter::Kept);

    // A serving certificate on the new CA, issued 2 s ago: the rotation still waits 3 s.
    let fresh = serving_made_at(&new_ca, now - TimeDelta::seconds(2), &config().dns_names);
    let (ca_secret, serving_secret) = secrets(&new_ca, Some(&old_ca), &fresh, true);
    let still = plan_at(&ca_secret, &serving_secret, Some(&registered_both), now);
    assert!(still.rotation_deferred);
    assert_eq!(still.next_check, std::time::Duration::from_secs(3));
    let goes = plan_at(
        &ca_secret,
        &serving_secret,
        Some(&registered_both),
        now + TimeDelta::seconds(3),
    );
    assert_eq!(goes.ca, CaStep::Rotate(CaReason::Forced));
    assert_eq!(
        goes.previous,
        PreviousAfter::Retired,
        "the oldest CA leaves"
    );
}

#[test]
fn the_ca_is_renewed_with_a_third_of_its_life_left_and_the_serving_certificate_follows_it() {
    let ca = ca_made_at(t0());
    let renew_at = t0() + days(365) - days(365) / 3;
    let serving = serving_made_at(&ca, renew_at - days(10), &config().dns_names);
    let (ca_secret, serving_secret) = secrets(&ca, None, &serving, false);
    let registered = registered(&[&ca], t0());
    let before = plan_at(
        &ca_secret,
        &serving_secret,
        Some(&registered),
        renew_at - TimeDelta::seconds(1),
    );
    assert_eq!(before.ca, CaStep::Keep);
    let due = plan_at(&ca_secret, &serving_secret, Some(&registered), renew_at);
    assert_eq!(due.ca, CaStep::Rotate(CaReason::Expiring));
    assert_eq!(due.serving, ServingStep::Wait(ServingReason::NewCa));
}
