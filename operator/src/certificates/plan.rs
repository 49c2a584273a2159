//! The pure decision of a pass: from the Secrets' facts, what the webhook configuration last
//! carried and the time, whether to make a new CA, which CA stays trusted beside it, whether to
//! issue a serving certificate now or wait, and when to look again.
//!
//! The order that keeps every review working: a new CA first joins the bundle beside the old one;
//! the serving certificate moves to the new CA only once the registered bundle has held it for the
//! propagation delay; the old CA leaves after it expires or at the next CA rotation, which waits
//! until the serving certificate has been signed by the current CA for the propagation delay.
//! A certificate that is missing, broken or expired is replaced at once: nothing trusts it anyway.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

use super::facts::{CaObserved, CertFacts, Observed, ServingObserved, Signer, bundle_contains};
use super::{CertificateConfig, RegisteredBundle};

/// New certificates start this long before they are made, for clocks a little behind.
pub const BACKDATE: Duration = Duration::from_secs(5 * 60);
/// The longest time between two passes, so that a deleted or edited Secret is repaired soon.
pub const MAX_CHECK_INTERVAL: Duration = Duration::from_secs(3600);
const MIN_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Why a new CA is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaReason {
    Missing,
    Unusable(String),
    Expired,
    Expiring,
    Forced,
}

/// Why a new serving certificate is needed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServingReason {
    Missing,
    Unusable(String),
    Expired,
    /// Signed by no CA of the bundle.
    UntrustedSigner,
    /// Signed by a CA that is no longer the current one.
    NewCa,
    NamesChanged,
    Expiring,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaStep {
    Keep,
    Rotate(CaReason),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServingStep {
    Keep,
    Issue(ServingReason),
    /// Needed, but the API servers may not trust the signing CA yet.
    Wait(ServingReason),
}

/// Which certificate is the previous CA after the pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreviousAfter {
    None,
    /// The previous CA the Secret already holds.
    Kept,
    /// The CA replaced in this pass.
    Retired,
    /// The salvaged certificate ([`Observed::salvaged`]).
    Salvaged,
}

/// Validity of a certificate to issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

/// What a pass does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub ca: CaStep,
    /// The new CA's validity, when `ca` rotates.
    pub new_ca: Option<Validity>,
    pub previous: PreviousAfter,
    pub serving: ServingStep,
    /// The new serving certificate's validity, when `serving` issues.
    pub new_serving: Option<Validity>,
    /// A rotation is due (forced or by age) but waits for the last one to settle.
    pub rotation_deferred: bool,
    pub clear_rotate_annotation: bool,
    /// The CA's expiry after the pass.
    pub ca_not_after: DateTime<Utc>,
    /// The serving certificate's expiry after the pass.
    pub serving_not_after: DateTime<Utc>,
    pub next_check: Duration,
}

/// Decides a pass.
pub fn plan(
    observed: &Observed,
    registered: Option<&RegisteredBundle>,
    config: &CertificateConfig,
    now: DateTime<Utc>,
) -> Plan {
    let delay = delta(config.propagation_delay);
    let serving_usable = match &observed.serving {
        ServingObserved::Usable { cert, signer, .. } => Some((cert, *signer)),
        _ => None,
    };
    // A rotation by age or on request waits while the serving certificate has not been signed by
    // the current CA for the propagation delay: dropping the CA before it would break reviews.
    let settled = serving_usable
        .is_none_or(|(cert, signer)| signer == Signer::Current && issued_at(cert) + delay <= now);
    let (ca, previous, rotation_deferred) = match &observed.ca {
        CaObserved::Missing => (
            CaStep::Rotate(CaReason::Missing),
            salvaged(observed, now),
            false,
        ),
        CaObserved::Unusable { reason } => (
            CaStep::Rotate(CaReason::Unusable(reason.clone())),
            salvaged(observed, now),
            false,
        ),
        CaObserved::Usable(current) if current.is_expired(now) => (
            CaStep::Rotate(CaReason::Expired),
            PreviousAfter::None,
            false,
        ),
        CaObserved::Usable(current) => {
            let due = if observed.rotate_requested {
                Some(CaReason::Forced)
            } else if now >= renew_at(current, config.ca_lifetime) {
                Some(CaReason::Expiring)
            } else {
                None
            };
            let kept = match &observed.previous {
                Some(previous) if !previous.is_expired(now) => PreviousAfter::Kept,
                _ => PreviousAfter::None,
            };
            match due {
                Some(reason) if settled => (CaStep::Rotate(reason), PreviousAfter::Retired, false),
                Some(_) => (CaStep::Keep, kept, true),
                None => (CaStep::Keep, kept, false),
            }
        }
    };
    // Certificates hold whole seconds: the dates planned are the dates issued and read back.
    let issued = now.trunc_subsecs(0);
    let new_ca = matches!(ca, CaStep::Rotate(_)).then(|| Validity {
        not_before: issued - delta(BACKDATE),
        not_after: issued + delta(config.ca_lifetime),
    });
    let ca_not_after = match (&new_ca, &observed.ca) {
        (Some(validity), _) => validity.not_after,
        (None, CaObserved::Usable(current)) => current.not_after,
        (None, _) => now,
    };
    let current_der = match (&ca, &observed.ca) {
        (CaStep::Keep, CaObserved::Usable(current)) => Some(current.der.as_slice()),
        _ => None,
    };
    let may_issue = registered.is_none_or(|registered| {
        current_der.is_some_and(|der| bundle_contains(&registered.pem, der))
            && registered.since + delay <= now
    });
    let need = serving_need(observed, &ca, previous, config, now);
    let serving = match need {
        None => ServingStep::Keep,
        Some((reason, true)) => ServingStep::Issue(reason),
        Some((reason, false)) if may_issue => ServingStep::Issue(reason),
        Some((reason, false)) => ServingStep::Wait(reason),
    };
    let new_serving = matches!(serving, ServingStep::Issue(_)).then(|| Validity {
        not_before: issued - delta(BACKDATE),
        not_after: (issued + delta(config.serving_lifetime)).min(ca_not_after),
    });
    let serving_not_after = match (&new_serving, serving_usable) {
        (Some(validity), _) => validity.not_after,
        (None, Some((cert, _))) => cert.not_after,
        (None, None) => now,
    };

    let mut wake = vec![];
    match (&observed.ca, &new_ca) {
        (_, Some(validity)) => wake.push(renew_at_validity(validity, config.ca_lifetime)),
        (CaObserved::Usable(current), None) => wake.push(renew_at(current, config.ca_lifetime)),
        _ => {}
    }
    match (&new_serving, serving_usable) {
        (Some(validity), _) => wake.push(renew_at_validity(validity, config.serving_lifetime)),
        (None, Some((cert, _))) => wake.push(renew_at(cert, config.serving_lifetime)),
        (None, None) => {}
    }
    if previous == PreviousAfter::Kept
        && let Some(previous) = &observed.previous
    {
        wake.push(previous.not_after);
    }
    if matches!(serving, ServingStep::Wait(_)) {
        let registered_since = registered
            .filter(|registered| {
                current_der.is_some_and(|der| bundle_contains(&registered.pem, der))
            })
            .map(|registered| registered.since);
        wake.push(registered_since.unwrap_or(now) + delay);
    }
    if rotation_deferred && let Some((cert, signer)) = serving_usable {
        wake.push(if signer == Signer::Current {
            issued_at(cert) + delay
        } else {
            now + delay
        });
    }
    let next = wake.into_iter().min().unwrap_or(now) - now;
    let next_check = next
        .to_std()
        .unwrap_or(MIN_CHECK_INTERVAL)
        .clamp(MIN_CHECK_INTERVAL, MAX_CHECK_INTERVAL);

    Plan {
        clear_rotate_annotation: observed.rotate_requested && matches!(ca, CaStep::Rotate(_)),
        ca,
        new_ca,
        previous,
        serving,
        new_serving,
        rotation_deferred,
        ca_not_after,
        serving_not_after,
        next_check,
    }
}

/// Whether the serving certificate must be replaced, and whether at once (`true`: nothing trusts
/// the present one, so there is nothing to wait for).
fn serving_need(
    observed: &Observed,
    ca: &CaStep,
    previous: PreviousAfter,
    config: &CertificateConfig,
    now: DateTime<Utc>,
) -> Option<(ServingReason, bool)> {
    let (cert, signer) = match &observed.serving {
        ServingObserved::Missing => return Some((ServingReason::Missing, true)),
        ServingObserved::Unusable { reason } => {
            return Some((ServingReason::Unusable(reason.clone()), true));
        }
        ServingObserved::Usable { cert, signer, .. } => (cert, *signer),
    };
    if cert.is_expired(now) {
        return Some((ServingReason::Expired, true));
    }
    let rotated = matches!(ca, CaStep::Rotate(_));
    let trusted_after = match signer {
        Signer::Current => !rotated || previous == PreviousAfter::Retired,
        Signer::Previous => !rotated && previous == PreviousAfter::Kept,
        Signer::Salvaged => previous == PreviousAfter::Salvaged,
        Signer::Unknown => false,
    };
    if !trusted_after {
        return Some((ServingReason::UntrustedSigner, true));
    }
    if rotated || signer != Signer::Current {
        return Some((ServingReason::NewCa, false));
    }
    let wanted_dns: BTreeSet<&str> = config.dns_names.iter().map(String::as_str).collect();
    let dns: BTreeSet<&str> = cert.dns_names.iter().map(String::as_str).collect();
    let wanted_ips: BTreeSet<_> = config.ip_addresses.iter().copied().collect();
    if dns != wanted_dns || cert.ip_addresses != wanted_ips {
        return Some((ServingReason::NamesChanged, false));
    }
    if now >= renew_at(cert, config.serving_lifetime) {
        return Some((ServingReason::Expiring, false));
    }
    None
}

fn salvaged(observed: &Observed, now: DateTime<Utc>) -> PreviousAfter {
    match &observed.salvaged {
        Some(cert) if !cert.is_expired(now) => PreviousAfter::Salvaged,
        _ => PreviousAfter::None,
    }
}

/// When a certificate is renewed: a third of its lifetime before expiry, counting the shorter of
/// its own lifetime and the configured one (so that a shorter setting takes effect at once, and a
/// certificate cut short by its CA's expiry is not renewed in a loop).
fn renew_at(cert: &CertFacts, configured: Duration) -> DateTime<Utc> {
    renew_at_validity(
        &Validity {
            not_before: cert.not_before,
            not_after: cert.not_after,
        },
        configured,
    )
}

fn renew_at_validity(validity: &Validity, configured: Duration) -> DateTime<Utc> {
    let own = validity.not_after - validity.not_before;
    validity.not_after - own.min(delta(configured)) / 3
}

/// When a certificate of ours was made (its start is backdated).
fn issued_at(cert: &CertFacts) -> DateTime<Utc> {
    cert.not_before + delta(BACKDATE)
}

fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

impl fmt::Display for CaReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaReason::Missing => write!(f, "there was no CA"),
            CaReason::Unusable(why) => write!(f, "the CA Secret was unusable ({why})"),
            CaReason::Expired => write!(f, "the CA had expired"),
            CaReason::Expiring => write!(f, "less than a third of the CA's lifetime was left"),
            CaReason::Forced => write!(f, "a rotation was requested"),
        }
    }
}

impl fmt::Display for ServingReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServingReason::Missing => write!(f, "there was no serving certificate"),
            ServingReason::Unusable(why) => write!(f, "the serving Secret was unusable ({why})"),
            ServingReason::Expired => write!(f, "the serving certificate had expired"),
            ServingReason::UntrustedSigner => {
                write!(f, "the serving certificate was signed by no trusted CA")
            }
            ServingReason::NewCa => write!(f, "the serving certificate moves to the new CA"),
            ServingReason::NamesChanged => write!(f, "the webhook's names changed"),
            ServingReason::Expiring => {
                write!(
                    f,
                    "less than a third of the serving certificate's lifetime was left"
                )
            }
        }
    }
}

impl CaReason {
    /// The label of the rotations counter.
    pub fn label(&self) -> &'static str {
        match self {
            CaReason::Missing => "missing",
            CaReason::Unusable(_) => "unusable",
            CaReason::Expired => "expired",
            CaReason::Expiring => "expiring",
            CaReason::Forced => "forced",
        }
    }
}

impl ServingReason {
    /// The label of the rotations counter.
    pub fn label(&self) -> &'static str {
        match self {
            ServingReason::Missing => "missing",
            ServingReason::Unusable(_) => "unusable",
            ServingReason::Expired => "expired",
            ServingReason::UntrustedSigner => "untrusted_signer",
            ServingReason::NewCa => "new_ca",
            ServingReason::NamesChanged => "names_changed",
            ServingReason::Expiring => "expiring",
        }
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "plan_repair_tests.rs"]
mod repair_tests;
