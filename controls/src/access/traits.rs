//! What a role's effective rules grant beyond the PHI accesses: whether it is a superuser role
//! (HIPAA-K8S-CLUSTER-ADMIN) and whether it can change the cluster at all (HIPAA-K8S-SA-TOKEN),
//! with the rule that makes it so.

use k8s_openapi::api::rbac::v1::PolicyRule;

use super::aggregate::SourcedRule;
use super::grant::{RoleTraits, RuleRef};

/// The ClusterRole every cluster has for its superusers; a binding to it is an administrator's
/// whatever its stored rules say (an edited copy is still what people mean by it).
pub const CLUSTER_ADMIN: &str = "cluster-admin";

/// The verbs that change objects (or, for escalate, bind and impersonate, rights).
const WRITE_VERBS: &[&str] = &[
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "escalate",
    "bind",
    "impersonate",
    "*",
];

/// The traits of a role named `cluster_role` (None for a namespaced Role) with `rules`.
pub fn traits_of(cluster_role: Option<&str>, rules: &[SourcedRule<'_>]) -> RoleTraits {
    let rule_ref = |sourced: &SourcedRule<'_>| RuleRef {
        rule: sourced.index,
        aggregated_from: sourced.aggregated_from.map(str::to_owned),
    };
    let superuser_rule = rules.iter().find(|sourced| grants_everything(sourced.rule));
    let superuser = match superuser_rule {
        Some(sourced) => Some(Some(rule_ref(sourced))),
        None if cluster_role == Some(CLUSTER_ADMIN) => Some(None),
        None => None,
    };
    RoleTraits {
        superuser,
        writes: rules
            .iter()
            .find(|sourced| writes(sourced.rule))
            .map(rule_ref),
    }
}

/// `*` verbs on `*` resources of `*` API groups.
fn grants_everything(rule: &PolicyRule) -> bool {
    let has_star = |list: Option<&Vec<String>>| list.is_some_and(|l| l.iter().any(|v| v == "*"));
    rule.verbs.iter().any(|v| v == "*")
        && has_star(rule.resources.as_ref())
        && has_star(rule.api_groups.as_ref())
}

/// The review resources: a `create` asks a question and stores nothing. Every authenticated
/// identity may create the self-reviews (the bootstrap ClusterRole `system:basic-user`), so
/// counting them as writes would make every ServiceAccount a writer.
const REVIEWS: &[&str] = &[
    "selfsubjectaccessreviews",
    "selfsubjectrulesreviews",
    "selfsubjectreviews",
    "subjectaccessreviews",
    "localsubjectaccessreviews",
    "tokenreviews",
];

/// A write verb on at least one resource that is not a review (nonResourceURLs change no
/// object).
fn writes(rule: &PolicyRule) -> bool {
    rule.resources.as_ref().is_some_and(|r| {
        r.iter()
            .any(|resource| !REVIEWS.contains(&resource.as_str()))
    }) && rule
        .verbs
        .iter()
        .any(|verb| WRITE_VERBS.contains(&verb.as_str()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> PolicyRule {
        let owned = |items: &[&str]| Some(items.iter().map(|i| (*i).to_owned()).collect());
        PolicyRule {
            verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
            api_groups: owned(groups),
            resources: owned(resources),
            ..PolicyRule::default()
        }
    }

    fn sourced(rules: &[PolicyRule]) -> Vec<SourcedRule<'_>> {
        crate::access::model::own_rules(Some(rules))
    }

    #[test]
    fn star_on_star_is_a_superuser_and_names_its_rule() {
        let rules = [
            rule(&["get"], &[""], &["pods"]),
            rule(&["*"], &["*"], &["*"]),
        ];
        let traits = traits_of(Some("ops"), &sourced(&rules));
        assert_eq!(traits.superuser.unwrap().unwrap().rule, 1);
        assert_eq!(traits.writes.unwrap().rule, 1);
    }

    #[test]
    fn cluster_admin_is_a_superuser_by_name_and_a_narrower_star_is_not() {
        let none: [PolicyRule; 0] = [];
        assert_eq!(
            traits_of(Some(CLUSTER_ADMIN), &sourced(&none)).superuser,
            Some(None)
        );
        let narrower = [
            rule(&["*"], &["apps"], &["*"]),
            rule(&["*"], &["*"], &["pods"]),
        ];
        let traits = traits_of(Some("apps-admin"), &sourced(&narrower));
        assert!(traits.superuser.is_none());
        assert_eq!(traits.writes.unwrap().rule, 0);
        assert!(traits_of(None, &sourced(&narrower)).superuser.is_none());
    }

    #[test]
    fn read_only_roles_do_not_write() {
        let rules = [
            rule(&["get", "list", "watch"], &["*"], &["*"]),
            PolicyRule {
                verbs: vec!["*".into()],
                non_resource_urls: Some(vec!["/metrics".into()]),
                ..PolicyRule::default()
            },
        ];
        let traits = traits_of(None, &sourced(&rules));
        assert!(traits.writes.is_none() && traits.superuser.is_none());
    }

    /// `system:basic-user`, bound to every authenticated identity: asking what one may do
    /// changes nothing.
    #[test]
    fn creating_reviews_is_not_a_write_but_a_star_resource_is() {
        let basic_user = [
            rule(
                &["create"],
                &["authorization.k8s.io"],
                &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
            ),
            rule(
                &["create"],
                &["authentication.k8s.io"],
                &["selfsubjectreviews"],
            ),
        ];
        assert!(traits_of(None, &sourced(&basic_user)).writes.is_none());
        let star = [rule(&["create"], &["authorization.k8s.io"], &["*"])];
        assert_eq!(traits_of(None, &sourced(&star)).writes.unwrap().rule, 0);
    }
}
