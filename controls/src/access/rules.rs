//! RBAC's own rule matching (kubernetes pkg/apis/rbac/v1/evaluation_helpers.go, `RuleAllows`),
//! so that the model answers exactly what the API server's authorizer answers: `*` in verbs,
//! API groups and resources, `*/subresource`, and resourceNames. `pods/*` is not a wildcard in
//! RBAC, and is not one here.

use k8s_openapi::api::rbac::v1::PolicyRule;

use super::probes::Probe;

const ALL: &str = "*";

/// Which names of the resource a rule grants a request on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Names {
    /// Every object of the resource (the rule has no resourceNames).
    All,
    /// Only these objects: a request without a name (list, watch, create) is not granted.
    Only(Vec<String>),
}

impl Names {
    /// Whether a request for `name` ("" for none) is granted.
    pub fn allow(&self, name: &str) -> bool {
        match self {
            Names::All => true,
            Names::Only(names) => !name.is_empty() && names.iter().any(|n| n == name),
        }
    }
}

/// The names of `probe`'s resource that `rule` grants it on, or None when it does not match.
pub fn rule_grants(rule: &PolicyRule, probe: &Probe) -> Option<Names> {
    let matches = verb_matches(rule, probe.verb)
        && group_matches(rule, probe.group)
        && resource_matches(rule, probe.resource, probe.subresource);
    if !matches {
        return None;
    }
    Some(match rule.resource_names.as_deref() {
        None | Some([]) => Names::All,
        Some(names) => Names::Only(names.to_vec()),
    })
}

fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    rule.verbs.iter().any(|v| v == ALL || v == verb)
}

fn group_matches(rule: &PolicyRule, group: &str) -> bool {
    rule.api_groups
        .iter()
        .flatten()
        .any(|g| g == ALL || g == group)
}

fn resource_matches(rule: &PolicyRule, resource: &str, subresource: &str) -> bool {
    rule.resources.iter().flatten().any(|r| {
        if r == ALL {
            return true;
        }
        let exact = if subresource.is_empty() {
            r == resource
        } else {
            r.len() == resource.len() + 1 + subresource.len()
                && r.starts_with(resource)
                && r.as_bytes().get(resource.len()) == Some(&b'/')
                && r.ends_with(subresource)
        };
        // `*/exec`: that subresource of every resource.
        exact
            || (!subresource.is_empty()
                && r.len() == subresource.len() + 2
                && r.starts_with("*/")
                && r.ends_with(subresource))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::probes::Access;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
        let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        PolicyRule {
            verbs: strings(verbs),
            api_groups: Some(strings(groups)),
            resources: Some(strings(resources)),
            resource_names: (!names.is_empty()).then(|| strings(names)),
            non_resource_urls: None,
        }
    }

    fn probe(
        verb: &'static str,
        group: &'static str,
        resource: &'static str,
        sub: &'static str,
    ) -> Probe {
        Probe {
            access: Access::Exec,
            verb,
            group,
            resource,
            subresource: sub,
        }
    }

    #[test]
    fn wildcards_match_as_the_authorizer_does() {
        let exec = probe("create", "", "pods", "exec");
        let every = rule(&["*"], &["*"], &["*"], &[]);
        assert_eq!(rule_grants(&every, &exec), Some(Names::All));
        assert!(rule_grants(&rule(&["create"], &[""], &["*/exec"], &[]), &exec).is_some());
        assert!(rule_grants(&rule(&["create"], &[""], &["pods/exec"], &[]), &exec).is_some());
        // Not wildcards in RBAC.
        assert!(rule_grants(&rule(&["create"], &[""], &["pods/*"], &[]), &exec).is_none());
        assert!(rule_grants(&rule(&["create"], &[""], &["pods"], &[]), &exec).is_none());
        assert!(rule_grants(&rule(&["create"], &[""], &["*/attach"], &[]), &exec).is_none());
        assert!(rule_grants(&rule(&["get"], &[""], &["pods/exec"], &[]), &exec).is_none());
        assert!(rule_grants(&rule(&["create"], &["apps"], &["pods/exec"], &[]), &exec).is_none());
        // A subresource rule does not grant the resource itself.
        let pods = probe("create", "", "pods", "");
        assert!(rule_grants(&rule(&["create"], &[""], &["pods/exec"], &[]), &pods).is_none());
        assert!(rule_grants(&rule(&["create"], &[""], &["*/exec"], &[]), &pods).is_none());
        // Look-alikes.
        assert!(rule_grants(&rule(&["create"], &[""], &["podsxexec"], &[]), &exec).is_none());
        assert!(rule_grants(&rule(&["create"], &[""], &["*/execx"], &[]), &exec).is_none());
    }

    #[test]
    fn resource_names_narrow_the_grant_and_never_grant_unnamed_requests() {
        let get = probe("get", "", "secrets", "");
        let named = rule(&["get"], &[""], &["secrets"], &["db-password"]);
        let names = rule_grants(&named, &get);
        assert_eq!(names, Some(Names::Only(vec!["db-password".into()])));
        let names = names.unwrap_or(Names::All);
        assert!(names.allow("db-password"));
        assert!(!names.allow("other"));
        assert!(!names.allow(""));
        assert!(Names::All.allow(""));
    }

    #[test]
    fn a_rule_without_groups_or_resources_matches_nothing() {
        let empty = PolicyRule {
            verbs: vec!["*".into()],
            non_resource_urls: Some(vec!["*".into()]),
            ..PolicyRule::default()
        };
        assert!(rule_grants(&empty, &probe("get", "", "secrets", "")).is_none());
    }
}
