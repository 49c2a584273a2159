//! Which HipaaPolicies the registered configuration follows, and what it needs of each: the
//! namespace selector (when the API server can evaluate it) and whether anything is enforced.

use hipaa_controls::selector::selector_problem;
use hipaa_crds::{Enforcement, HipaaPolicy};

use super::build::Governing;

/// A policy left out of the configuration, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub policy: String,
    pub reason: String,
}

/// The policies as registration needs them, sorted by name. A policy whose selector the API
/// server would refuse is left out (and reported): one bad selector must not keep every other
/// policy's entries from being registered. The operator's status already says it is invalid.
pub fn governing<'a>(
    policies: impl IntoIterator<Item = &'a HipaaPolicy>,
) -> (Vec<Governing>, Vec<Skipped>) {
    let mut kept = Vec::new();
    let mut skipped = Vec::new();
    for policy in policies {
        let name = policy.metadata.name.clone().unwrap_or_default();
        if name.is_empty() {
            continue;
        }
        let spec = &policy.spec;
        if let Some(reason) = selector_problem(&spec.namespace_selector) {
            skipped.push(Skipped {
                policy: name,
                reason,
            });
            continue;
        }
        let enforces = spec.enforcement == Enforcement::Enforce
            || spec
                .controls
                .iter()
                .any(|c| !c.disabled && c.enforcement == Some(Enforcement::Enforce));
        kept.push(Governing {
            name,
            selector: spec.namespace_selector.clone(),
            enforces,
        });
    }
    kept.sort_by(|a, b| a.name.cmp(&b.name));
    (kept, skipped)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn policy(yaml: &str) -> HipaaPolicy {
        yaml_serde::from_str(yaml).unwrap()
    }

    #[test]
    fn enforcement_decides_whether_an_outage_may_refuse() {
        let enforce = policy(
            "apiVersion: hipaaguard.io/v1alpha1\nkind: HipaaPolicy\nmetadata: {name: b}\n\
             spec: {namespaceSelector: {matchLabels: {phi: 'true'}}}\n",
        );
        let warn = policy(
            "apiVersion: hipaaguard.io/v1alpha1\nkind: HipaaPolicy\nmetadata: {name: a}\n\
             spec: {enforcement: Warn, namespaceSelector: {matchLabels: {team: x}}}\n",
        );
        let warn_one_enforced = policy(
            "apiVersion: hipaaguard.io/v1alpha1\nkind: HipaaPolicy\nmetadata: {name: c}\n\
             spec: {enforcement: Audit, namespaceSelector: {matchLabels: {team: y}},\n\
             controls: [{id: HIPAA-K8S-PRIVILEGED, enforcement: Enforce}]}\n",
        );
        let (kept, skipped) = governing([&enforce, &warn, &warn_one_enforced]);
        assert!(skipped.is_empty());
        let names: Vec<_> = kept.iter().map(|g| (g.name.as_str(), g.enforces)).collect();
        assert_eq!(names, [("a", false), ("b", true), ("c", true)]);
    }

    #[test]
    fn a_selector_the_api_server_would_refuse_is_left_out_with_its_reason() {
        let bad = policy(
            "apiVersion: hipaaguard.io/v1alpha1\nkind: HipaaPolicy\nmetadata: {name: bad}\n\
             spec: {namespaceSelector: {matchExpressions: [{key: phi, operator: In}]}}\n",
        );
        let (kept, skipped) = governing([&bad]);
        assert!(kept.is_empty());
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].policy, "bad");
        assert!(!skipped[0].reason.is_empty());
    }
}
