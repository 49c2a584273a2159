//! Kubernetes label selectors: matching labels, checking operators, and proving that one selector
//! selects everything another one does (for NetworkPolicy updates and deletions).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

/// Whether `selector` selects an object with `labels`. An empty selector selects everything, as
/// in a NetworkPolicy's podSelector. A requirement with an unknown operator matches nothing (fail
/// closed; validate_policy reports it).
pub fn selector_matches(
    selector: &LabelSelector,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    let value_of = |key: &str| labels.and_then(|l| l.get(key)).map(String::as_str);
    let labels_match = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(key, want)| value_of(key) == Some(want.as_str()));
    labels_match
        && selector
            .match_expressions
            .iter()
            .flatten()
            .all(|req| requirement_matches(req, value_of(&req.key)))
}

fn requirement_matches(req: &LabelSelectorRequirement, value: Option<&str>) -> bool {
    let values = req.values.as_deref().unwrap_or(&[]);
    let listed = |v: &str| values.iter().any(|x| x == v);
    match req.operator.as_str() {
        "In" => value.is_some_and(listed),
        "NotIn" => !value.is_some_and(listed),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        _ => false,
    }
}

/// Why a selector is malformed, if it is: unknown operators, In/NotIn without values,
/// Exists/DoesNotExist with values.
pub fn selector_problem(selector: &LabelSelector) -> Option<String> {
    selector.match_expressions.iter().flatten().find_map(|req| {
        let has_values = req.values.as_ref().is_some_and(|v| !v.is_empty());
        match req.operator.as_str() {
            "In" | "NotIn" if !has_values => Some(format!(
                "{} on {} needs at least one value",
                req.operator, req.key
            )),
            "Exists" | "DoesNotExist" if has_values => {
                Some(format!("{} on {} takes no values", req.operator, req.key))
            }
            "In" | "NotIn" | "Exists" | "DoesNotExist" => None,
            other => Some(format!(
                "unknown operator {other} on {} (use In, NotIn, Exists or DoesNotExist)",
                req.key
            )),
        }
    })
}

/// Whether `wider` provably selects every object that `narrower` selects. Sound but not complete:
/// when in doubt it answers false. Each requirement of `wider` must follow from `narrower`'s
/// matchLabels or appear verbatim among its matchExpressions.
pub fn selector_covers(wider: &LabelSelector, narrower: &LabelSelector) -> bool {
    let known = |key: &str| {
        narrower
            .match_labels
            .as_ref()
            .and_then(|l| l.get(key))
            .map(String::as_str)
    };
    let narrower_reqs = narrower.match_expressions.as_deref().unwrap_or(&[]);
    let implied_by_expression = |req: &LabelSelectorRequirement| {
        narrower_reqs.iter().any(|n| same_requirement(n, req))
            || (req.operator == "Exists"
                && narrower_reqs
                    .iter()
                    .any(|n| n.key == req.key && matches!(n.operator.as_str(), "In" | "Exists")))
    };
    let labels_ok = wider
        .match_labels
        .iter()
        .flatten()
        .all(|(key, want)| known(key) == Some(want.as_str()));
    labels_ok
        && wider.match_expressions.iter().flatten().all(|req| {
            let values = req.values.as_deref().unwrap_or(&[]);
            let from_labels = match (req.operator.as_str(), known(&req.key)) {
                ("In", Some(v)) => values.iter().any(|x| x == v),
                ("NotIn", Some(v)) => !values.iter().any(|x| x == v),
                ("Exists", Some(_)) => true,
                _ => false,
            };
            from_labels || implied_by_expression(req)
        })
}

fn same_requirement(a: &LabelSelectorRequirement, b: &LabelSelectorRequirement) -> bool {
    if a.key != b.key || a.operator != b.operator {
        return false;
    }
    let mut left: Vec<&String> = a.values.iter().flatten().collect();
    let mut right: Vec<&String> = b.values.iter().flatten().collect();
    left.sort();
    right.sort();
    left.dedup();
    right.dedup();
    left == right
}
