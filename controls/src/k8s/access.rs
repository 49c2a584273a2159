//! HIPAA-K8S-ACCESS-SECRETS, HIPAA-K8S-ACCESS-EXEC and HIPAA-K8S-CLUSTER-ADMIN: who outside
//! `allowedSubjects` can reach a PHI namespace, from the access model. Judged per namespace in
//! audits ([`check`]) and, at admission, on an RBAC change as what it adds ([`change`]).

use std::collections::BTreeMap;

use crate::access::allow::is_allowed;
use crate::access::{Access, AccessEvidence, AccessModel, Subject as RbacSubject};
use crate::catalog::ids;
use crate::check::{Check, Subject, Verdict};
use crate::k8s::{brief_list, verdict_from};
use crate::object::Object;
use crate::policy::Parameters;

/// One subject's disallowed access in a namespace, and the first path that grants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Offence {
    pub subject: RbacSubject,
    /// `read-secrets`, `exec`, ... or `administer` (HIPAA-K8S-CLUSTER-ADMIN).
    pub access: &'static str,
    pub path: String,
}

impl Offence {
    fn line(&self) -> String {
        let can = match self.access {
            "administer" => "is an administrator".to_owned(),
            access => format!("can {access}"),
        };
        format!("{} {can} through {}", self.subject, self.path)
    }
}

/// The accesses a control judges; None for a control that is not an access control.
fn accesses_of(id: &str) -> Option<&'static [Access]> {
    match id {
        ids::K8S_ACCESS_SECRETS => Some(&[Access::ReadSecrets]),
        ids::K8S_ACCESS_EXEC => Some(&[
            Access::Exec,
            Access::Attach,
            Access::PortForward,
            Access::Debug,
        ]),
        ids::K8S_CLUSTER_ADMIN => Some(&[]),
        _ => None,
    }
}

/// Every disallowed access control `id` finds in `namespace`, one per subject and access (the
/// first path by sort order), sorted.
pub(crate) fn offences(
    id: &str,
    model: &AccessModel,
    namespace: &str,
    parameters: &Parameters,
    only: Option<&[RbacSubject]>,
) -> Vec<Offence> {
    // `only`: the subjects a change can affect; the others' grants are not even resolved.
    let allowed = |subject: &RbacSubject| {
        is_allowed(parameters, subject) || only.is_some_and(|only| !only.contains(subject))
    };
    let mut found: BTreeMap<(RbacSubject, &'static str), String> = BTreeMap::new();
    if id == ids::K8S_CLUSTER_ADMIN {
        for superuser in model.superusers_in(namespace) {
            if !allowed(&superuser.subject) {
                found
                    .entry((superuser.subject, "administer"))
                    .or_insert(superuser.path);
            }
        }
    } else if let Some(accesses) = accesses_of(id) {
        for ((subject, access), path) in model.first_paths(namespace, accesses, |s| !allowed(s)) {
            found.entry((subject, access.as_str())).or_insert(path);
        }
    }
    found
        .into_iter()
        .map(|((subject, access), path)| Offence {
            subject,
            access,
            path,
        })
        .collect()
}

/// The audit of one governed Namespace.
pub(crate) fn check(id: &str, check: &Check<'_>) -> Verdict {
    let Object::Namespace(_) = check.object else {
        return Verdict::NotApplicable;
    };
    let subject = check.subject;
    let model = match check.ctx.access() {
        // Nobody looked at RBAC (an offline scan of an application's manifests): the cluster's
        // access is outside what was asked, so the control is not judged, and not counted.
        AccessEvidence::NotObserved => return Verdict::NotApplicable,
        AccessEvidence::Unreadable(reason) => {
            return Verdict::Error(format!("cannot evaluate {subject}: {reason}"));
        }
        AccessEvidence::Known(model) => model,
    };
    let found = offences(id, model, subject.name, check.parameters, None);
    if !found.is_empty() {
        return verdict_from(subject, found.iter().map(Offence::line).collect());
    }
    match model.problems_in(subject.name).first() {
        Some(problem) => Verdict::Error(format!(
            "cannot evaluate {subject}: {} grants here but {} (its access is unknown)",
            problem.binding, problem.message
        )),
        None => Verdict::Pass,
    }
}

/// The verdict of control `id` on an RBAC change (the object `changed`) for `namespace`: a
/// failure naming every disallowed access the change adds there (present with the change
/// applied, `after`, and absent before it); Pass when it adds none. `only`, when given, holds
/// every subject whose access the change can alter (a binding's subjects); the others are not
/// looked at, which keeps a cluster-wide change cheap in a large cluster.
pub(crate) fn change(
    id: &str,
    models: (&AccessModel, &AccessModel),
    namespace: &str,
    changed: Subject<'_>,
    parameters: &Parameters,
    only: Option<&[RbacSubject]>,
) -> Verdict {
    if accesses_of(id).is_none() {
        return Verdict::NotApplicable;
    }
    let (before, after) = models;
    let existing = offences(id, before, namespace, parameters, only);
    let added: Vec<String> = offences(id, after, namespace, parameters, only)
        .into_iter()
        .filter(|offence| {
            !existing
                .iter()
                .any(|old| old.subject == offence.subject && old.access == offence.access)
        })
        .map(|offence| format!("{} in namespace {namespace}", offence.line()))
        .collect();
    if added.is_empty() {
        return Verdict::Pass;
    }
    Verdict::Fail(format!(
        "{changed} would grant access outside allowedSubjects: {}",
        brief_list(&added)
    ))
}
