//! The plan at fixed times when something is wrong: an expired CA, a certificate that would
//! outlive its CA, broken or half-written Secrets, a certificate from an unknown CA.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::certificates::CertificateConfig;
use crate::certificates::facts::single_certificate;
use crate::certificates::facts::{CaObserved, observe};
use crate::certificates::plan_fixtures::*;
use k8s_openapi::ByteString;

#[test]
fn an_expired_ca_and_its_certificate_are_replaced_at_once() {
    let ca = ca_made_at(t0());
    let serving = serving_made_at(&ca, t0(), &config().dns_names);
    let (ca_secret, serving_secret) = secrets(&ca, None, &serving, false);
    let registered = registered(&[&ca], t0());
    let late = t0() + days(400);
    let plan = plan_at(&ca_secret, &serving_secret, Some(&registered), late);
    assert_eq!(plan.ca, CaStep::Rotate(CaReason::Expired));
    assert_eq!(plan.previous, PreviousAfter::None);
    assert_eq!(plan.serving, ServingStep::Issue(ServingReason::Expired));
}

#[test]
fn a_new_serving_certificate_never_outlives_its_ca() {
    let long_serving = CertificateConfig {
        serving_lifetime: std::time::Duration::from_secs(365 * 86400),
        ..config()
    };
    let ca = ca_made_at(t0());
    let now = t0() + days(100);
    let serving = serving_made_at(&ca, now - days(1), &["old.name".to_owned()]);
    let (ca_secret, serving_secret) = secrets(&ca, None, &serving, false);
    let observed = observe(Some(&ca_secret), Some(&serving_secret));
    let plan = plan(&observed, None, &long_serving, now);
    assert_eq!(plan.ca, CaStep::Keep);
    assert_eq!(
        plan.serving,
        ServingStep::Issue(ServingReason::NamesChanged)
    );
    assert_eq!(plan.serving_not_after, t0() + days(365));
}

#[test]
fn a_broken_serving_secret_is_replaced_at_once() {
    let ca = ca_made_at(t0());
    let serving = serving_made_at(&ca, t0(), &config().dns_names);
    let (ca_secret, mut serving_secret) = secrets(&ca, None, &serving, false);
    let half = serving.cert_pem[..serving.cert_pem.len() / 2].to_owned();
    serving_secret
        .data
        .as_mut()
        .unwrap()
        .insert("tls.crt".to_owned(), ByteString(half.into_bytes()));
    let other = ca_made_at(t0());
    let plan = plan_at(
        &ca_secret,
        &serving_secret,
        Some(&registered(&[&other], t0())),
        t0() + days(1),
    );
    assert!(
        matches!(&plan.serving, ServingStep::Issue(ServingReason::Unusable(why)) if why.starts_with("tls.crt")),
        "{:?}",
        plan.serving
    );

    let foreign_key = serving_made_at(&ca, t0(), &config().dns_names).key_pem;
    let (_, mut mismatched) = secrets(&ca, None, &serving, false);
    mismatched
        .data
        .as_mut()
        .unwrap()
        .insert("tls.key".to_owned(), ByteString(foreign_key.into_bytes()));
    let plan = plan_at(&ca_secret, &mismatched, None, t0() + days(1));
    assert!(
        matches!(&plan.serving, ServingStep::Issue(ServingReason::Unusable(why)) if why.contains("does not fit")),
        "{:?}",
        plan.serving
    );
}

#[test]
fn a_ca_secret_without_its_key_keeps_the_old_ca_trusted_while_a_new_one_propagates() {
    let ca = ca_made_at(t0());
    let serving = serving_made_at(&ca, t0(), &config().dns_names);
    let (mut ca_secret, serving_secret) = secrets(&ca, None, &serving, false);
    ca_secret.data.as_mut().unwrap().remove("ca.key");
    let now = t0() + days(1);
    let observed = observe(Some(&ca_secret), Some(&serving_secret));
    let unusable = plan(&observed, Some(&registered(&[&ca], t0())), &config(), now);
    assert_eq!(
        unusable.ca,
        CaStep::Rotate(CaReason::Unusable("it has no ca.key".to_owned()))
    );
    assert_eq!(unusable.previous, PreviousAfter::Salvaged);
    assert_eq!(unusable.serving, ServingStep::Wait(ServingReason::NewCa));

    // The CA Secret deleted: the CA that signed tls.crt is found in the serving Secret's ca.crt.
    let observed = observe(None, Some(&serving_secret));
    assert_eq!(
        observed.salvaged.as_ref().map(|c| &c.der),
        Some(&single_certificate(&ca.cert_pem).unwrap().der)
    );
    let missing = plan(&observed, Some(&registered(&[&ca], t0())), &config(), now);
    assert_eq!(missing.ca, CaStep::Rotate(CaReason::Missing));
    assert_eq!(missing.previous, PreviousAfter::Salvaged);
    assert_eq!(missing.serving, ServingStep::Wait(ServingReason::NewCa));

    // Garbage in ca.crt: nothing to salvage from the CA Secret, the serving Secret still vouches.
    let (mut garbage, _) = secrets(&ca, None, &serving, false);
    garbage
        .data
        .as_mut()
        .unwrap()
        .insert("ca.crt".to_owned(), ByteString(b"-----BEGIN CERT".to_vec()));
    let observed = observe(Some(&garbage), Some(&serving_secret));
    assert!(matches!(observed.ca, CaObserved::Unusable { .. }));
    assert!(observed.salvaged.is_some());
}

#[test]
fn a_serving_certificate_from_an_unknown_ca_is_replaced_at_once() {
    let ca = ca_made_at(t0());
    let stranger = ca_made_at(t0());
    let foreign = serving_made_at(&stranger, t0(), &config().dns_names);
    let (ca_secret, serving_secret) = secrets(&ca, None, &foreign, false);
    let plan = plan_at(
        &ca_secret,
        &serving_secret,
        Some(&registered(&[&stranger], t0())),
        t0() + days(1),
    );
    assert_eq!(
        plan.serving,
        ServingStep::Issue(ServingReason::UntrustedSigner)
    );
}
