//! Which Events a change of access warrants, decided without a client: between two audits of a
//! policy, every (namespace, subject, access) that appeared or disappeared in the namespaces it
//! governed at both audits, from the access models of both audits ([`AccessModel::accesses_in`]:
//! by subject and access, one path each).
//!
//! - AccessGranted: Warning when the subject is outside the allowedSubjects of the control that
//!   judges the access (HIPAA-K8S-ACCESS-SECRETS for read-secrets, HIPAA-K8S-ACCESS-EXEC for
//!   exec, attach, port-forward and debug), Normal otherwise (an allowed subject, a control the
//!   policy disables, or write-workloads, which no control judges).
//! - AccessRevoked: Normal.
//! - At most [`MAX_ACCESS_EVENTS`] per audit; the rest coalesce into one AccessChanged summary.
//! - The first audit with a readable model after the operator starts (or a new leader takes
//!   over) sets the baseline and reports nothing, so a restart causes no storm; changes made
//!   while no operator led are not reported as Events (the controls' results still show them).
//!   An audit whose RBAC cannot be read keeps the baseline it had.
//! - A namespace entering or leaving the scope brings no Events: that is a change of scope, not of
//!   access (the access controls judge the newcomer's grants).

use std::collections::BTreeSet;
use std::sync::Arc;

use hipaa_controls::access::allow::is_allowed;
use hipaa_controls::access::{Access, AccessEvidence, AccessModel, Subject};
use hipaa_controls::catalog::ids;
use hipaa_controls::policy::EffectivePolicy;

use super::events::PlannedEvent;

/// A subject's access was granted.
pub const REASON_ACCESS_GRANTED: &str = "AccessGranted";
/// A subject's access was revoked.
pub const REASON_ACCESS_REVOKED: &str = "AccessRevoked";
/// The access changes beyond [`MAX_ACCESS_EVENTS`] of one audit, counted in one Event.
pub const REASON_ACCESS_CHANGED: &str = "AccessChanged";
/// Access Events of one audit before the rest are summarized.
pub const MAX_ACCESS_EVENTS: usize = 10;

/// What a policy's last audit saw of access: the RBAC version, the scope and the model (shared
/// with the caches, so a baseline costs no copy of the grants; at most the current and the
/// previous model are alive once every policy has been audited since a change).
#[derive(Clone, Debug)]
struct Seen {
    version: u64,
    scope: BTreeSet<String>,
    model: Arc<AccessModel>,
}

/// What a policy's audits last saw of access: nothing until the first readable model.
#[derive(Clone, Debug, Default)]
pub struct AccessBaseline {
    last: Option<Seen>,
}

impl AccessBaseline {
    /// The Events for what changed since the last audit, and the new baseline. `evidence` and
    /// `version` are the audit's ([`crate::observe::Inventory`]); `policy` says who is allowed.
    pub fn advance(
        &mut self,
        evidence: &AccessEvidence,
        version: u64,
        scope: &BTreeSet<String>,
        policy: &EffectivePolicy,
    ) -> Vec<PlannedEvent> {
        let AccessEvidence::Known(model) = evidence else {
            return Vec::new();
        };
        let events = match &self.last {
            Some(last) if last.version == version && &last.scope == scope => return Vec::new(),
            Some(last) if last.version == version => Vec::new(),
            Some(last) => changes(&last.model, model, last.scope.intersection(scope), policy),
            None => Vec::new(),
        };
        self.last = Some(Seen {
            version,
            scope: scope.clone(),
            model: Arc::clone(model),
        });
        events
    }
}

/// One Event per access that appeared or disappeared between `before` and `after` in
/// `namespaces`, up to [`MAX_ACCESS_EVENTS`], then one summary; grants first, as they are what a
/// reviewer acts on.
pub fn changes<'a>(
    before: &AccessModel,
    after: &AccessModel,
    namespaces: impl Iterator<Item = &'a String>,
    policy: &EffectivePolicy,
) -> Vec<PlannedEvent> {
    let mut granted: Vec<(&str, Subject, Access, String)> = Vec::new();
    let mut revoked: Vec<(&str, Subject, Access, String)> = Vec::new();
    for namespace in namespaces {
        let old = before.accesses_in(namespace);
        let new = after.accesses_in(namespace);
        for ((subject, access), path) in &new {
            if !old.contains_key(&(subject.clone(), *access)) {
                granted.push((namespace, subject.clone(), *access, path.clone()));
            }
        }
        for ((subject, access), path) in old {
            if !new.contains_key(&(subject.clone(), access)) {
                revoked.push((namespace, subject, access, path));
            }
        }
    }
    let mut events: Vec<PlannedEvent> = Vec::new();
    let mut rest = (0_usize, 0_usize);
    for (namespace, subject, access, path) in &granted {
        if events.len() == MAX_ACCESS_EVENTS {
            rest.0 += 1;
            continue;
        }
        let disallowed = !allowed(policy, subject, *access);
        events.push(PlannedEvent {
            warning: disallowed,
            reason: REASON_ACCESS_GRANTED,
            note: format!(
                "{subject} can now {} in namespace {namespace} through {path}{}",
                access.as_str(),
                if disallowed {
                    " (not in allowedSubjects)"
                } else {
                    ""
                }
            ),
        });
    }
    for (namespace, subject, access, path) in &revoked {
        if events.len() == MAX_ACCESS_EVENTS {
            rest.1 += 1;
            continue;
        }
        events.push(PlannedEvent {
            warning: false,
            reason: REASON_ACCESS_REVOKED,
            note: format!(
                "{subject} can no longer {} in namespace {namespace} (was granted through {path})",
                access.as_str()
            ),
        });
    }
    if rest != (0, 0) {
        events.push(PlannedEvent {
            warning: rest.0 > 0,
            reason: REASON_ACCESS_CHANGED,
            note: format!(
                "{} more accesses granted and {} revoked in the policy's namespaces; `kubectl hipaa access` lists who can do what",
                rest.0, rest.1
            ),
        });
    }
    events
}

/// Whether `subject` may hold `access` under the policy: the allowedSubjects of the control that
/// judges it; an access no applied control judges is allowed.
fn allowed(policy: &EffectivePolicy, subject: &Subject, access: Access) -> bool {
    let control = match access {
        Access::ReadSecrets => ids::K8S_ACCESS_SECRETS,
        Access::Exec | Access::Attach | Access::PortForward | Access::Debug => ids::K8S_ACCESS_EXEC,
        Access::WriteWorkloads => return true,
    };
    policy
        .setting(control)
        .is_none_or(|setting| is_allowed(&setting.parameters, subject))
}

#[cfg(test)]
#[path = "access_events_tests.rs"]
mod tests;
