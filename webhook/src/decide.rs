//! The admission decision for one review: a plain function of the request, the snapshot, the
//! exempt namespaces and the time. No I/O, no clock, no client. Namespaces (`crate::namespaces`),
//! HipaaPolicies (`crate::policies`) and RBAC objects (`rbac`) have decisions of their own;
//! `crate::judge` picks one.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use hipaa_controls::model::{Finding, Outcome};
use hipaa_controls::policy::EffectivePolicy;
use hipaa_crds::Enforcement;
use serde_json::value::RawValue;

use crate::envelope::Payload;
use hipaa_controls::object::{ObjectKind, Operation};

use crate::kinds::Judged;
use crate::review::Answer;
use crate::snapshot::{Scope, Snapshot};
use changes::SCALE;

mod changes;
mod fixes;
pub mod rbac;

/// The message every review in scope gets until the watch caches have synced.
pub const STARTING_MESSAGE: &str = "HIPAA Guard is starting and has not loaded the cluster state yet \
(HipaaPolicies, Namespaces, NetworkPolicies, StorageClasses, PVCs, HorizontalPodAutoscalers, \
Roles, ClusterRoles, their bindings, ServiceAccounts, workloads per namespace); retry in a few seconds";

/// One review, as the decision needs it.
#[derive(Debug)]
pub struct Review<'r> {
    pub kind: Option<Judged>,
    pub operation: Operation,
    pub namespace: &'r str,
    pub name: &'r str,
    /// The subresource written (`status`, `ephemeralcontainers`, ...); empty for the object.
    pub sub_resource: &'r str,
    /// The new object (parsed while the review was read, or raw).
    pub object: Option<&'r Payload<'r>>,
    /// The old object, raw; read for a NetworkPolicy UPDATE or DELETE, a Namespace or HipaaPolicy
    /// UPDATE, an RBAC object's DELETE.
    pub old_object: Option<&'r RawValue>,
}

/// What the webhook did, as logged and counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Judged; nothing failed.
    Allowed,
    /// Judged; an Enforce control failed.
    Denied,
    /// Judged; only Warn (and maybe Audit) controls failed.
    Warned,
    /// Judged; only Audit controls failed.
    Audited,
    /// No HipaaPolicy selects the namespace.
    Unselected,
    /// The namespace is on the exempt list.
    Exempt,
    /// Not something the webhook judges (another kind, another subresource, a DELETE of a kind
    /// judged on writes only, CONNECT).
    Skipped,
    /// The caches have not synced, or do not know the namespace yet: retryable denial.
    NotReady,
    /// The object does not parse as its kind, or is missing.
    Invalid,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allowed => "allowed",
            Decision::Denied => "denied",
            Decision::Warned => "warned",
            Decision::Audited => "audited",
            Decision::Unselected => "unselected",
            Decision::Exempt => "exempt",
            Decision::Skipped => "skipped",
            Decision::NotReady => "not_ready",
            Decision::Invalid => "invalid",
        }
    }
}

/// The decision, the answer for the API server, and the findings behind them.
#[derive(Debug)]
pub struct Judgement {
    pub decision: Decision,
    pub answer: Answer,
    pub findings: Vec<Finding>,
}

impl Judgement {
    pub(crate) fn plain(decision: Decision, answer: Answer) -> Self {
        Judgement {
            decision,
            answer,
            findings: Vec::new(),
        }
    }
}

/// Namespaces that are never judged.
#[derive(Clone, Debug, Default)]
pub struct Exemptions {
    namespaces: HashSet<String>,
}

impl Exemptions {
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(namespaces: I) -> Self {
        let namespaces = namespaces
            .into_iter()
            .map(Into::into)
            .filter(|ns: &String| !ns.is_empty())
            .collect();
        Exemptions { namespaces }
    }

    pub fn contains(&self, namespace: &str) -> bool {
        self.namespaces.contains(namespace)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.namespaces.iter().map(String::as_str)
    }
}

/// Judges one review of an object in a namespace (every judged kind but Namespace and
/// HipaaPolicy).
pub fn judge(
    review: &Review<'_>,
    snapshot: &Snapshot,
    exemptions: &Exemptions,
    now: DateTime<Utc>,
) -> Judgement {
    let Some(judged) = review.kind else {
        return Judgement::plain(Decision::Skipped, Answer::allow());
    };
    if !judged
        .info()
        .admission
        .judges(review.operation, review.sub_resource)
    {
        return Judgement::plain(Decision::Skipped, Answer::allow());
    }
    // Namespaces, HipaaPolicies and RBAC objects have decisions of their own (`crate::judge`
    // routes them there).
    let kind = match judged {
        Judged::Object(ObjectKind::Namespace) | Judged::Policy | Judged::Rbac(_) => {
            return Judgement::plain(Decision::Skipped, Answer::allow());
        }
        Judged::Object(kind) => kind,
    };
    if exemptions.contains(review.namespace) {
        return Judgement::plain(Decision::Exempt, Answer::allow());
    }
    if !snapshot.synced {
        return Judgement::plain(
            Decision::NotReady,
            Answer::deny(503, STARTING_MESSAGE.to_owned()),
        );
    }
    let policy = match snapshot.scope(review.namespace) {
        Scope::Selected(policy) => policy,
        Scope::Unselected => return Judgement::plain(Decision::Unselected, Answer::allow()),
        Scope::Unknown => {
            let message = format!(
                "HIPAA Guard has not seen namespace {:?} yet, so it cannot tell whether a HipaaPolicy \
                 governs it; retry in a few seconds",
                review.namespace
            );
            return Judgement::plain(Decision::NotReady, Answer::deny(503, message));
        }
    };
    // A deletion is judged on what it removes (the old object), anything else on the new object.
    // Only NetworkPolicies are judged on deletion (`deletions_judged_are_network_policies`).
    // The object judged is kept for the fix a denial carries.
    let mut judged_object = None;
    let evaluation = if review.sub_resource == SCALE {
        changes::judge_scale(kind, review, snapshot, policy, now)
    } else if kind == ObjectKind::NetworkPolicy {
        changes::judge_network_policy_change(review, snapshot, policy, now)
    } else {
        changes::new_object(kind, review).map(|object| {
            let evaluation = hipaa_controls::evaluate(
                &object,
                &snapshot.context,
                policy,
                hipaa_controls::Mode::Admission,
                now,
            );
            judged_object = Some(object);
            evaluation
        })
    };
    let evaluation = match evaluation {
        Ok(evaluation) => evaluation,
        Err(refused) => return refused,
    };
    verdict(evaluation.findings, |lines, findings| {
        let mut message = denial_message(kind, review, policy, lines, findings);
        let fix = judged_object
            .as_deref()
            .and_then(|object| fixes::section(object, findings, &snapshot.context, policy));
        if let Some(fix) = fix {
            message.push('\n');
            message.push_str(&fix);
        }
        message
    })
}

/// Turns findings into the answer: Enforce failures deny, with the message `denial` writes from
/// their lines; Warn failures warn, Audit failures are only recorded. A control that could not be
/// evaluated counts as failed (never as passed).
pub(crate) fn verdict(
    findings: Vec<Finding>,
    denial: impl FnOnce(&[String], &[Finding]) -> String,
) -> Judgement {
    let mut denials = Vec::new();
    let mut warnings = Vec::new();
    let mut audited = false;
    for finding in findings.iter().filter(|f| f.outcome != Outcome::Excepted) {
        match finding.enforcement {
            Enforcement::Enforce => denials.push(finding.denial_line()),
            Enforcement::Warn => warnings.push(finding.denial_line()),
            Enforcement::Audit => audited = true,
        }
    }
    if !denials.is_empty() {
        let message = denial(&denials, &findings);
        let mut answer = Answer::deny(403, message);
        answer.warnings = warnings;
        return Judgement {
            decision: Decision::Denied,
            answer,
            findings,
        };
    }
    if !warnings.is_empty() {
        return Judgement {
            decision: Decision::Warned,
            answer: Answer::allow_with_warnings(warnings),
            findings,
        };
    }
    let decision = if audited {
        Decision::Audited
    } else {
        Decision::Allowed
    };
    Judgement {
        decision,
        answer: Answer::allow(),
        findings,
    }
}

/// `HIPAA Guard denied <Kind> <ns>/<name>:` then one line per failed control, then how to ask
/// for an exception.
fn denial_message(
    kind: ObjectKind,
    review: &Review<'_>,
    policy: &EffectivePolicy,
    lines: &[String],
    findings: &[Finding],
) -> String {
    let action = match (review.operation, review.sub_resource) {
        (Operation::Delete, _) => "the deletion of",
        (_, SCALE) => "the scale of",
        (_, "ephemeralcontainers") => "the ephemeral containers of",
        _ => "",
    };
    let ids = denied_controls(findings);
    let policies = if policy.policies.is_empty() {
        "<policy>".to_owned()
    } else {
        policy.policies.join(", ")
    };
    let mut message = String::with_capacity(256 + lines.iter().map(|l| l.len() + 1).sum::<usize>());
    message.push_str("HIPAA Guard denied ");
    if !action.is_empty() {
        message.push_str(action);
        message.push(' ');
    }
    message.push_str(&format!(
        "{} {}/{}:\n",
        kind.as_str(),
        review.namespace,
        review.name
    ));
    for line in lines {
        message.push_str(line);
        message.push('\n');
    }
    message.push_str(&format!(
        "To request an exception, add to spec.exceptions of HipaaPolicy {policies}: controls [{}], \
         match {{namespaces: [{}], kinds: [{}], names: [{}]}}, justification, approvedBy and expires.",
        ids.join(", "),
        review.namespace,
        kind.as_str(),
        review.name,
    ));
    message
}

/// The IDs of the controls that deny (failed under Enforce, not excepted), sorted, once each.
pub(crate) fn denied_controls<'f>(
    findings: impl IntoIterator<Item = &'f Finding>,
) -> Vec<&'static str> {
    let mut ids: Vec<&str> = findings
        .into_iter()
        .filter(|f| f.outcome != Outcome::Excepted && f.enforcement == Enforcement::Enforce)
        .map(|f| f.control.id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use hipaa_controls::object::{KINDS, ObjectKind, Operation};

    /// `judge` reads a deletion's old object as a NetworkPolicy: a row of the kind table that
    /// asks for the deletions of another kind needs its own evaluation here first.
    #[test]
    fn deletions_judged_are_network_policies() {
        let deleted: Vec<_> = KINDS
            .iter()
            .filter(|row| row.admission.judges(Operation::Delete, ""))
            .map(|row| row.object)
            .collect();
        assert_eq!(deleted, [Some(ObjectKind::NetworkPolicy)]);
    }
}
