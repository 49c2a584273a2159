//! Which Events an audit warrants, decided from the previous and the new status (so that a
//! restart or a new leader does not repeat them) and from the violations already reported.

use std::collections::{HashMap, HashSet};

use chrono::TimeDelta;
use hipaa_controls::model::{Finding, ResourceRef};
use hipaa_controls::tally::expires_in;
use hipaa_crds::{CONDITION_COMPLIANT, ExceptionState, HipaaPolicyStatus, PolicyException};

use super::conditions::status_of;
use crate::time::from_timestamp;

/// Compliant=True again.
pub const REASON_BECAME_COMPLIANT: &str = "Compliant";
/// Compliant=False.
pub const REASON_BECAME_NON_COMPLIANT: &str = "NonCompliant";
/// Compliant=Unknown (errors, or an invalid spec).
pub const REASON_COMPLIANCE_UNKNOWN: &str = "ComplianceUnknown";
/// An exception is past its `expires`.
pub const REASON_EXCEPTION_EXPIRED: &str = "ExceptionExpired";
/// An exception expires within 14 days.
pub const REASON_EXCEPTION_EXPIRING: &str = "ExceptionExpiringSoon";

/// An Event to publish on the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedEvent {
    pub warning: bool,
    pub reason: &'static str,
    pub note: String,
}

/// Events on the policy: its compliance changed; an exception expired or started expiring soon.
pub fn policy_events(
    previous: Option<&HipaaPolicyStatus>,
    desired: &HipaaPolicyStatus,
    exceptions: &[PolicyException],
) -> Vec<PlannedEvent> {
    let mut events = Vec::new();
    let before = previous.and_then(|p| status_of(&p.conditions, CONDITION_COMPLIANT));
    let after = status_of(&desired.conditions, CONDITION_COMPLIANT);
    if before != after {
        let message = desired
            .conditions
            .iter()
            .find(|c| c.type_ == CONDITION_COMPLIANT)
            .map(|c| c.message.clone())
            .unwrap_or_default();
        let (warning, reason, what) = match after {
            Some("True") => (false, REASON_BECAME_COMPLIANT, "compliant"),
            Some("False") => (true, REASON_BECAME_NON_COMPLIANT, "not compliant"),
            _ => (true, REASON_COMPLIANCE_UNKNOWN, "of unknown compliance"),
        };
        events.push(PlannedEvent {
            warning,
            reason,
            note: format!("the policy is now {what}: {message}"),
        });
    }
    let previous_states: HashMap<u32, ExceptionState> = previous
        .map(|p| p.exceptions.iter().map(|e| (e.index, e.state)).collect())
        .unwrap_or_default();
    for exception in &desired.exceptions {
        if previous_states.get(&exception.index) == Some(&exception.state) {
            continue;
        }
        let spec = usize::try_from(exception.index)
            .ok()
            .and_then(|i| exceptions.get(i));
        let controls = spec.map(|s| s.controls.join(", ")).unwrap_or_default();
        let expires = spec.map(|s| s.expires.0.to_string()).unwrap_or_default();
        match exception.state {
            ExceptionState::Expired => events.push(PlannedEvent {
                warning: true,
                reason: REASON_EXCEPTION_EXPIRED,
                note: format!(
                    "exception {} ({controls}) expired at {expires}; the failures it waived count as violations",
                    exception.index
                ),
            }),
            ExceptionState::ExpiringSoon => {
                // The time left as of the audit: the status keeps only the timestamp. Its
                // `lastAuditTime` is cut to the second, so the audit ran up to a second later and
                // less than `expiresAt - lastAuditTime` was left: a hair after the cut says that
                // (a week minus a moment is `6d`, not `7d`).
                let left = match (&exception.expires_at, &desired.last_audit_time) {
                    (Some(at), Some(audited)) => {
                        let audited = from_timestamp(audited.0) + TimeDelta::nanoseconds(1);
                        expires_in(Some(from_timestamp(at.0)), audited)
                    }
                    _ => None,
                };
                events.push(PlannedEvent {
                    warning: true,
                    reason: REASON_EXCEPTION_EXPIRING,
                    note: format!(
                        "exception {} ({controls}) expires in {} (at {expires}); renew or remediate",
                        exception.index,
                        left.as_deref().unwrap_or("less than a day")
                    ),
                });
            }
            ExceptionState::Active => {}
        }
    }
    events
}

/// A violation as Events know it: one control on one object.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ViolationKey {
    pub control: String,
    pub resource: ResourceRef,
}

impl ViolationKey {
    pub fn of(finding: &Finding) -> Self {
        ViolationKey {
            control: finding.control.id.to_string(),
            resource: finding.resource.clone(),
        }
    }
}

/// The violations of one policy already reported with an Event.
#[derive(Clone, Debug, Default)]
pub struct ReportedViolations {
    reported: HashSet<ViolationKey>,
    seeded: bool,
}

impl ReportedViolations {
    /// The violations among `current` that have no Event yet. Fixed violations are forgotten, so
    /// that one that comes back is reported again. The first time (after a start or a change of
    /// leader) the violations the status already lists count as reported — and all of them when
    /// the list was truncated — so that a restart does not repeat every Event.
    pub fn unreported<'a>(
        &mut self,
        current: impl IntoIterator<Item = &'a Finding>,
        previous: Option<&HipaaPolicyStatus>,
    ) -> Vec<&'a Finding> {
        let current: Vec<&Finding> = current.into_iter().filter(|f| f.is_violation()).collect();
        let keys: HashSet<ViolationKey> = current.iter().map(|f| ViolationKey::of(f)).collect();
        if !self.seeded {
            self.seeded = true;
            if let Some(previous) = previous {
                if previous.truncated {
                    self.reported.extend(keys.iter().cloned());
                } else {
                    self.reported
                        .extend(previous.violations.iter().map(|v| ViolationKey {
                            control: v.control.clone(),
                            resource: ResourceRef::new(
                                v.kind.clone(),
                                v.namespace.as_deref(),
                                v.name.clone(),
                            ),
                        }));
                }
            }
        }
        self.reported.retain(|key| keys.contains(key));
        let mut seen = HashSet::new();
        current
            .into_iter()
            .filter(|f| {
                let key = ViolationKey::of(f);
                !self.reported.contains(&key) && seen.insert(key)
            })
            .collect()
    }

    /// Records that `key` was reported.
    pub fn mark_reported(&mut self, key: ViolationKey) {
        self.reported.insert(key);
    }
}
