//! ClusterRole aggregation as kube-controller-manager fills it (its clusterrole-aggregation
//! controller): an aggregated ClusterRole's rules are the union of the rules of every other
//! ClusterRole its selectors match, whatever its own stored rules say. The model computes that
//! union itself, so it does not depend on whether the controller has caught up.

use std::collections::{BTreeSet, HashMap, VecDeque};

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};

use crate::selector::selector_matches;

/// A rule a role grants, and where it comes from.
#[derive(Clone, Copy, Debug)]
pub struct SourcedRule<'a> {
    pub rule: &'a PolicyRule,
    /// Its position in the rules of the role that holds it.
    pub index: usize,
    /// The ClusterRole that holds it, when the role is aggregated (None: the role's own rule).
    pub aggregated_from: Option<&'a str>,
}

/// The ClusterRoles by name.
pub struct ClusterRoles<'a> {
    by_name: HashMap<&'a str, &'a ClusterRole>,
}

impl<'a> ClusterRoles<'a> {
    pub fn new(roles: &[&'a ClusterRole]) -> Self {
        let by_name = roles
            .iter()
            .filter_map(|role| Some((role.metadata.name.as_deref()?, *role)))
            .collect();
        ClusterRoles { by_name }
    }

    pub fn get(&self, name: &str) -> Option<&'a ClusterRole> {
        self.by_name.get(name).copied()
    }

    /// The rules `role` grants: its own, or, when it is aggregated, those of every ClusterRole
    /// its selectors reach (through other aggregated ones too, as the controller converges).
    pub fn effective_rules(&self, role: &'a ClusterRole) -> Vec<SourcedRule<'a>> {
        if role.aggregation_rule.is_none() {
            return own_rules(role, None);
        }
        let mut rules = Vec::new();
        let start = role.metadata.name.as_deref().unwrap_or_default();
        let mut seen: BTreeSet<&str> = BTreeSet::from([start]);
        let mut queue = VecDeque::from([role]);
        while let Some(aggregated) = queue.pop_front() {
            for source in self.selected_by(aggregated) {
                let name = source.metadata.name.as_deref().unwrap_or_default();
                if !seen.insert(name) {
                    continue;
                }
                if source.aggregation_rule.is_some() {
                    // Its stored rules are, once converged, the union of what it selects.
                    queue.push_back(source);
                } else {
                    rules.extend(own_rules(source, Some(name)));
                }
            }
        }
        rules
    }

    /// The ClusterRoles an aggregated role's selectors match, by name (the controller's order).
    fn selected_by(&self, aggregated: &ClusterRole) -> Vec<&'a ClusterRole> {
        let selectors = aggregated
            .aggregation_rule
            .as_ref()
            .and_then(|rule| rule.cluster_role_selectors.as_deref())
            .unwrap_or_default();
        let mut selected: Vec<&'a ClusterRole> = self
            .by_name
            .values()
            .copied()
            .filter(|candidate| {
                let labels = candidate.metadata.labels.as_ref();
                selectors
                    .iter()
                    .any(|selector| selector_matches(selector, labels))
            })
            .collect();
        selected.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        selected
    }
}

fn own_rules<'a>(role: &'a ClusterRole, aggregated_from: Option<&'a str>) -> Vec<SourcedRule<'a>> {
    role.rules
        .iter()
        .flatten()
        .enumerate()
        .map(|(index, rule)| SourcedRule {
            rule,
            index,
            aggregated_from,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn roles(yaml: &str) -> Vec<ClusterRole> {
        yaml_serde::from_str::<Vec<ClusterRole>>(yaml).unwrap()
    }

    const ROLES: &str = r#"
- metadata: {name: phi-admin}
  aggregationRule:
    clusterRoleSelectors: [{matchLabels: {phi/aggregate-to-admin: "true"}}]
  rules: [{verbs: ["*"], apiGroups: ["*"], resources: ["*"]}]   # overwritten by the controller
- metadata: {name: phi-edit, labels: {phi/aggregate-to-admin: "true"}}
  aggregationRule:
    clusterRoleSelectors: [{matchLabels: {phi/aggregate-to-edit: "true"}}]
- metadata: {name: secrets-reader, labels: {phi/aggregate-to-edit: "true"}}
  rules: [{verbs: [get], apiGroups: [""], resources: [secrets]}]
- metadata: {name: exec, labels: {phi/aggregate-to-admin: "true"}}
  rules: [{verbs: [create], apiGroups: [""], resources: [pods/exec]}]
- metadata: {name: loop, labels: {phi/aggregate-to-edit: "true"}}
  aggregationRule:
    clusterRoleSelectors: [{matchLabels: {phi/aggregate-to-admin: "true"}}]
- metadata: {name: empty-selectors}
  aggregationRule: {clusterRoleSelectors: []}
  rules: [{verbs: [get], apiGroups: [""], resources: [secrets]}]
"#;

    #[test]
    fn aggregation_reaches_through_aggregated_roles_and_ignores_stored_rules() {
        let all = roles(ROLES);
        let refs: Vec<&ClusterRole> = all.iter().collect();
        let index = ClusterRoles::new(&refs);
        let admin = index.get("phi-admin").unwrap();
        let mut sources: Vec<(&str, usize)> = index
            .effective_rules(admin)
            .iter()
            .map(|r| (r.aggregated_from.unwrap(), r.index))
            .collect();
        sources.sort();
        // Through phi-edit (and the loop back to phi-admin's selection) to both plain roles; the
        // `*` rule phi-admin stores is what the controller overwrites.
        assert_eq!(sources, vec![("exec", 0), ("secrets-reader", 0)]);
    }

    #[test]
    fn no_selectors_aggregate_nothing_and_plain_roles_keep_their_rules() {
        let all = roles(ROLES);
        let refs: Vec<&ClusterRole> = all.iter().collect();
        let index = ClusterRoles::new(&refs);
        assert!(
            index
                .effective_rules(index.get("empty-selectors").unwrap())
                .is_empty()
        );
        let plain = index.effective_rules(index.get("exec").unwrap());
        assert_eq!(plain.len(), 1);
        assert!(plain.iter().all(|r| r.aggregated_from.is_none()));
    }
}
