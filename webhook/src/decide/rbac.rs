//! The review of an RBAC change (a Role, ClusterRole, RoleBinding or ClusterRoleBinding written,
//! or deleted): the access it adds in each governed namespace it can reach, judged by the access
//! controls under that namespace's policy. A Role or RoleBinding reaches its own namespace; a
//! ClusterRole or ClusterRoleBinding every governed one. Before is the snapshot's access model;
//! after is the model of the snapshot's RBAC objects with the change applied, computed here (the
//! one review kind that builds a model: RBAC writes are rare, pod reviews never do).

use chrono::{DateTime, Utc};
use hipaa_controls::access::{RbacChange, RbacObject, RbacSet, Subject};
use hipaa_controls::catalog::ids;
use hipaa_controls::model::{Finding, Outcome};
use hipaa_controls::object::{KindInfo, Operation};
use hipaa_controls::policy::EffectivePolicy;
use hipaa_crds::Enforcement;

use super::{Decision, Exemptions, Judgement, Review, STARTING_MESSAGE, verdict};
use crate::envelope::Payload;
use crate::review::Answer;
use crate::snapshot::{Scope, Snapshot};

/// Judges one review of the RBAC kind of `row`.
pub fn judge(
    review: &Review<'_>,
    row: &'static KindInfo,
    snapshot: &Snapshot,
    exemptions: &Exemptions,
    now: DateTime<Utc>,
) -> Judgement {
    if row.namespaced && exemptions.contains(review.namespace) {
        return Judgement::plain(Decision::Exempt, Answer::allow());
    }
    if !snapshot.synced {
        return Judgement::plain(
            Decision::NotReady,
            Answer::deny(503, STARTING_MESSAGE.to_owned()),
        );
    }
    let reached = match reached(review, row, snapshot, exemptions) {
        Ok(reached) => reached,
        Err(judgement) => return judgement,
    };
    if reached.is_empty() {
        return Judgement::plain(Decision::Unselected, Answer::allow());
    }
    let change = match change(review, row) {
        Ok(change) => change,
        Err(judgement) => return judgement,
    };
    let access = snapshot.access();
    if let Some(missing) = unseen_role(&change, &access.objects) {
        // The caches lag the API server by a moment: a binding to a role created just before
        // would be judged as granting nothing. Where an access control is enforced, refused for
        // a retry (the handler waits for the next snapshots first), so that every binding
        // admitted there was judged with its role; where they only warn or audit, admitted as
        // those modes promise, with a warning under Warn, and left to the operator's audit.
        let unjudged = format!(
            "HIPAA Guard has not seen {missing}, which {} {} binds, so it cannot tell what access \
             the binding grants",
            row.kind, review.name
        );
        return match strictest_access_enforcement(&reached) {
            Some(Enforcement::Enforce) => Judgement::plain(
                Decision::NotReady,
                Answer::deny(
                    503,
                    format!("{unjudged}; create the role first, or retry in a few seconds"),
                ),
            ),
            Some(Enforcement::Warn) => Judgement::plain(
                Decision::Warned,
                Answer::allow_with_warnings(vec![format!(
                    "{unjudged}; the operator's audit will judge it"
                )]),
            ),
            _ => Judgement::plain(Decision::Audited, Answer::allow()),
        };
    }
    let after = access.objects.with_change(&change).model();
    let only = affected_subjects(&change, &access.objects);
    let object_namespace = row.namespaced.then_some(review.namespace);
    let mut findings = Vec::new();
    let mut denying_policies: Vec<&str> = Vec::new();
    for (namespace, policy) in reached {
        let evaluation = hipaa_controls::evaluate_rbac_change_of(
            row.kind,
            object_namespace,
            review.name,
            (&access.model, &after),
            only.as_deref(),
            namespace,
            policy,
            now,
        );
        if evaluation.findings.iter().any(denies) {
            denying_policies.extend(policy.policies.iter().map(String::as_str));
        }
        findings.extend(evaluation.findings);
    }
    denying_policies.sort_unstable();
    denying_policies.dedup();
    verdict(findings, |lines, findings| {
        denial_message(row, review, &denying_policies, lines, findings)
    })
}

/// The strictest enforcement of the three namespace access controls among the policies of the
/// namespaces a change reaches; None when none of them applies one.
fn strictest_access_enforcement(reached: &[(&str, &EffectivePolicy)]) -> Option<Enforcement> {
    reached
        .iter()
        .flat_map(|(_, policy)| {
            [
                ids::K8S_ACCESS_SECRETS,
                ids::K8S_ACCESS_EXEC,
                ids::K8S_CLUSTER_ADMIN,
            ]
            .into_iter()
            .filter_map(|id| policy.setting(id).map(|setting| setting.enforcement))
        })
        .reduce(Enforcement::strictest)
}

fn denies(finding: &Finding) -> bool {
    finding.outcome != Outcome::Excepted && finding.enforcement == Enforcement::Enforce
}

/// The governed namespaces the change can grant in, each with its effective policy; a
/// retryable denial when the namespace of a Role or RoleBinding is not known yet.
fn reached<'a>(
    review: &Review<'a>,
    row: &KindInfo,
    snapshot: &'a Snapshot,
    exemptions: &Exemptions,
) -> Result<Vec<(&'a str, &'a EffectivePolicy)>, Judgement> {
    if !row.namespaced {
        let mut governed = snapshot.governed();
        governed.retain(|(namespace, _)| !exemptions.contains(namespace));
        return Ok(governed);
    }
    match snapshot.scope(review.namespace) {
        Scope::Selected(policy) => Ok(vec![(review.namespace, policy)]),
        Scope::Unselected => Ok(Vec::new()),
        Scope::Unknown => {
            let message = format!(
                "HIPAA Guard has not seen namespace {:?} yet, so it cannot tell whether a HipaaPolicy \
                 governs it; retry in a few seconds",
                review.namespace
            );
            Err(Judgement::plain(
                Decision::NotReady,
                Answer::deny(503, message),
            ))
        }
    }
}

/// Every subject whose access `change` can alter, when that is known without resolving the
/// model: a binding's own subjects; for a Role, or a ClusterRole that neither aggregates nor
/// carries labels (through which an aggregated role could select it), the subjects of the
/// bindings that name it. None (judge every subject) otherwise. Judging only these keeps a
/// cluster-wide review in a large cluster to milliseconds (docs/benchmarks.md); the verdicts are
/// the same, as RBAC grants a subject only through bindings that name it.
fn affected_subjects(change: &RbacChange, objects: &RbacSet) -> Option<Vec<Subject>> {
    let RbacChange::Write(object) = change else {
        return None;
    };
    let mut found: Vec<Subject> = match object {
        RbacObject::RoleBinding(binding) => {
            subjects_of(&binding.subjects, binding.metadata.namespace.as_deref())
        }
        RbacObject::ClusterRoleBinding(binding) => subjects_of(&binding.subjects, None),
        RbacObject::Role(role) => {
            let namespace = role.metadata.namespace.as_deref();
            objects
                .role_bindings
                .iter()
                .filter(|b| {
                    b.role_ref.kind == "Role"
                        && b.metadata.namespace.as_deref() == namespace
                        && role.metadata.name.as_deref() == Some(b.role_ref.name.as_str())
                })
                .flat_map(|b| subjects_of(&b.subjects, b.metadata.namespace.as_deref()))
                .collect()
        }
        RbacObject::ClusterRole(role) => {
            let labelled = role.metadata.labels.as_ref().is_some_and(|l| !l.is_empty());
            if labelled || role.aggregation_rule.is_some() {
                return None;
            }
            let named = |kind: &str, name: &str| {
                kind == "ClusterRole" && role.metadata.name.as_deref() == Some(name)
            };
            let namespaced = objects
                .role_bindings
                .iter()
                .filter(|b| named(&b.role_ref.kind, &b.role_ref.name))
                .flat_map(|b| subjects_of(&b.subjects, b.metadata.namespace.as_deref()));
            let cluster_wide = objects
                .cluster_role_bindings
                .iter()
                .filter(|b| named(&b.role_ref.kind, &b.role_ref.name))
                .flat_map(|b| subjects_of(&b.subjects, None));
            namespaced.chain(cluster_wide).collect()
        }
    };
    found.sort_unstable();
    found.dedup();
    Some(found)
}

/// A binding's subjects as the model names them (those it cannot use grant nothing).
fn subjects_of(
    subjects: &Option<Vec<k8s_openapi::api::rbac::v1::Subject>>,
    namespace: Option<&str>,
) -> Vec<Subject> {
    subjects
        .iter()
        .flatten()
        .filter_map(|subject| Subject::from_binding(subject, namespace).ok())
        .collect()
}

/// The role a written binding refers to, when the snapshot does not hold it (`Role ns/name` or
/// `ClusterRole name`).
fn unseen_role(change: &RbacChange, objects: &RbacSet) -> Option<String> {
    let (role_ref, namespace) = match change {
        RbacChange::Write(RbacObject::RoleBinding(binding)) => {
            (&binding.role_ref, binding.metadata.namespace.as_deref())
        }
        RbacChange::Write(RbacObject::ClusterRoleBinding(binding)) => (&binding.role_ref, None),
        _ => return None,
    };
    let name = Some(role_ref.name.as_str());
    let seen = match (role_ref.kind.as_str(), namespace) {
        ("Role", Some(namespace)) => objects.roles.iter().any(|role| {
            role.metadata.namespace.as_deref() == Some(namespace)
                && role.metadata.name.as_deref() == name
        }),
        ("ClusterRole", _) => objects
            .cluster_roles
            .iter()
            .any(|role| role.metadata.name.as_deref() == name),
        // A reference the API server's validation refuses anyway: nothing to wait for.
        _ => true,
    };
    match (seen, namespace) {
        (true, _) => None,
        (false, Some(namespace)) if role_ref.kind == "Role" => {
            Some(format!("Role {namespace}/{}", role_ref.name))
        }
        (false, _) => Some(format!("{} {}", role_ref.kind, role_ref.name)),
    }
}

/// The change a review asks for: the new object written, or the old object deleted.
fn change(review: &Review<'_>, row: &'static KindInfo) -> Result<RbacChange, Judgement> {
    let raw = if review.operation == Operation::Delete {
        review.old_object
    } else {
        match review.object {
            Some(Payload::Raw(raw)) => Some(*raw),
            // Only the engine's kinds are parsed while the review is read.
            Some(Payload::Parsed(_)) | None => None,
        }
    };
    let Some(raw) = raw else {
        let what = if review.operation == Operation::Delete {
            "oldObject"
        } else {
            "object"
        };
        let message = format!("the AdmissionReview for {} has no {what}", row.kind);
        return Err(Judgement::plain(
            Decision::Invalid,
            Answer::deny(400, message),
        ));
    };
    let object = crate::kinds::parse_rbac(row, raw, review.namespace, review.name)
        .map_err(|err| Judgement::plain(Decision::Invalid, Answer::deny(400, err.to_string())))?;
    Ok(if review.operation == Operation::Delete {
        RbacChange::Delete(object)
    } else {
        RbacChange::Write(object)
    })
}

/// `HIPAA Guard denied <Kind> [<ns>/]<name>:`, one line per failed control (each names the
/// subject, the access, the path and the namespace), then how to ask for an exception.
fn denial_message(
    row: &KindInfo,
    review: &Review<'_>,
    policies: &[&str],
    lines: &[String],
    findings: &[Finding],
) -> String {
    let ids = super::denied_controls(findings);
    let policies = if policies.is_empty() {
        "<policy>".to_owned()
    } else {
        policies.join(", ")
    };
    let (object, namespaces) = if row.namespaced {
        (
            format!("{}/{}", review.namespace, review.name),
            format!("namespaces: [{}], ", review.namespace),
        )
    } else {
        (review.name.to_owned(), String::new())
    };
    let action = if review.operation == Operation::Delete {
        "the deletion of "
    } else {
        ""
    };
    let mut message = format!("HIPAA Guard denied {action}{} {object}:\n", row.kind);
    for line in lines {
        message.push_str(line);
        message.push('\n');
    }
    message.push_str(&format!(
        "To request an exception, add to spec.exceptions of HipaaPolicy {policies}: controls [{}], \
         match {{{namespaces}kinds: [{}], names: [{}]}}, justification, approvedBy and expires.",
        ids.join(", "),
        row.kind,
        review.name,
    ));
    message
}

#[cfg(test)]
#[path = "rbac_tests.rs"]
mod tests;
