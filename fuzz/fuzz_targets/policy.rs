//! Fuzz target: a HipaaPolicy (JSON, or YAML documents: one policy each) through validation and
//! the effective policy: `validate_policy`, `validate_policy_change` (new, and unchanged),
//! `EffectivePolicy::from_policy` / `of_policy`, selection and the merge of every policy selecting
//! a namespace (`for_namespace`). Seeds: deploy/samples/policies, the fixture clusters' policies.
#![no_main]

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use hipaa_controls::policy::EffectivePolicy;
use hipaa_controls::{validate_policy, validate_policy_change};
use hipaa_crds::HipaaPolicy;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kubectl_hipaa::input::{InputError, InputPath, read_objects};

/// At most this many policies per input, whatever the number of documents.
const MAX_POLICIES: usize = 16;

/// The policies of the input as the product reads them: JSON as the API server sends it, YAML as
/// `kubectl hipaa scan --policy` reads it (kubectl-hipaa's reader: each document to a JSON value,
/// then the policy). Never typed straight from yaml_serde's multi-document iterator: that panics
/// on an undefined alias (fuzz/regressions/policy/, docs/reliability.md (Fuzzing)).
fn policies(data: &[u8]) -> Vec<HipaaPolicy> {
    if data.trim_ascii_start().starts_with(b"{") {
        return serde_json::from_slice(data).into_iter().collect();
    }
    let mut values = Vec::new();
    let mut input = data;
    let _ = read_objects::<InputError>(&[InputPath::Stdin], &mut input, |object| {
        values.push(object.value);
        Ok(())
    });
    values
        .into_iter()
        .take(MAX_POLICIES)
        .filter_map(|value| serde_json::from_value(value).ok())
        .collect()
}

fn namespace(labels: BTreeMap<String, String>) -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some("fuzzed".to_owned()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let policies = policies(data);
    let now = Utc
        .with_ymd_and_hms(2026, 12, 5, 12, 0, 0)
        .single()
        .unwrap_or_default();
    let mut every_label = BTreeMap::new();
    let mut namespaces = Vec::new();
    for policy in &policies {
        let valid = validate_policy(&policy.spec);
        for problem in valid.as_ref().err().into_iter().flatten() {
            assert!(!problem.to_string().is_empty());
        }
        let from_policy = EffectivePolicy::from_policy(policy);
        assert_eq!(
            valid.is_ok(),
            from_policy.is_ok(),
            "from_policy disagrees with validate_policy"
        );
        let _ = validate_policy_change(None, &policy.spec, now);
        let _ = validate_policy_change(Some(&policy.spec), &policy.spec, now);
        let alone = EffectivePolicy::of_policy(policy);
        if let Ok(effective) = &from_policy {
            assert_eq!(
                effective, &alone,
                "a valid policy applies differently when merged"
            );
        }
        let labels = policy
            .spec
            .namespace_selector
            .match_labels
            .clone()
            .unwrap_or_default();
        every_label.extend(labels.clone());
        let selected = namespace(labels);
        if EffectivePolicy::selects(policy, &selected) {
            let merged = EffectivePolicy::for_namespace([policy], &selected);
            assert_eq!(
                merged.as_ref(),
                Some(&alone),
                "one policy merged with nothing changed"
            );
        }
        namespaces.push(selected);
    }
    namespaces.push(namespace(every_label));
    for ns in &namespaces {
        if let Some(merged) = EffectivePolicy::for_namespace(&policies, ns) {
            assert!(!merged.policies.is_empty(), "a merge of no policy");
        }
    }
});
