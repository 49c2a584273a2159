//! The operator's metrics: names, the compliance ratio, fixed violations and deleted policies
//! leaving no series behind, and the standard series after the operator's own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use kube::runtime::reflector::{self, store::Writer};
use kube::runtime::watcher::Event;

use super::*;

fn counts(entries: &[(&str, &str, &str, u32)]) -> BTreeMap<(String, String, String), u32> {
    entries
        .iter()
        .map(|(c, s, n, v)| ((c.to_string(), s.to_string(), n.to_string()), *v))
        .collect()
}

fn policy(name: &str) -> HipaaPolicy {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "hipaaguard.io/v1alpha1",
        "kind": "HipaaPolicy",
        "metadata": {"name": name},
        "spec": {"namespaceSelector": {"matchLabels": {"phi": "true"}}},
    }))
    .unwrap()
}

/// Every series of `name`: audited, reconciled, failed once, its status written.
fn exercise(metrics: &Metrics, name: &str) {
    metrics.reconcile_started(name);
    metrics.reconcile_failed(name, "status_write");
    metrics.status_written(name);
    metrics.set_audit(
        name,
        Some(50),
        3,
        &counts(&[("HIPAA-K8S-NETPOL", "HIGH", "billing", 1)]),
    );
}

fn series_of(text: &str, name: &str) -> Vec<String> {
    let label = format!("policy=\"{name}\"");
    text.lines()
        .filter(|line| line.contains(&label))
        .map(str::to_string)
        .collect()
}

#[test]
fn audit_figures_are_exported_and_fixed_violations_disappear() {
    let metrics = Metrics::new();
    metrics.set_audit(
        "prod",
        Some(93),
        42,
        &counts(&[
            ("HIPAA-K8S-NETPOL", "HIGH", "billing", 2),
            ("HIPAA-K8S-PRIVILEGED", "CRITICAL", "api", 1),
        ]),
    );
    let text = metrics.encode().unwrap();
    assert!(text.contains(
        r#"hipaaguard_operator_violations{policy="prod",control="HIPAA-K8S-NETPOL",severity="HIGH",namespace="billing"} 2"#
    ), "{text}");
    assert!(
        text.contains(r#"hipaaguard_operator_compliance_ratio{policy="prod"} 0.93"#),
        "{text}"
    );
    assert!(
        text.contains(r#"hipaaguard_operator_resources_evaluated{policy="prod"} 42"#),
        "{text}"
    );

    metrics.set_audit(
        "prod",
        Some(100),
        42,
        &counts(&[("HIPAA-K8S-NETPOL", "HIGH", "billing", 1)]),
    );
    let text = metrics.encode().unwrap();
    assert!(!text.contains("HIPAA-K8S-PRIVILEGED"), "{text}");
    assert!(
        text.contains(r#"hipaaguard_operator_compliance_ratio{policy="prod"} 1.0"#),
        "{text}"
    );
    // An invalid spec has no score: no ratio rather than a stale one.
    metrics.set_audit("prod", None, 0, &BTreeMap::new());
    let text = metrics.encode().unwrap();
    assert!(!text.contains("compliance_ratio{"), "{text}");
    assert!(!text.contains("hipaaguard_operator_violations{"), "{text}");
}

#[test]
fn reconciles_are_counted_per_policy() {
    let metrics = Metrics::new();
    metrics.reconcile_started("a");
    metrics.reconcile_started("a");
    metrics.reconcile_failed("a", "status_write");
    let text = metrics.encode().unwrap();
    assert!(
        text.contains(r#"hipaaguard_operator_reconciles_total{policy="a"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"hipaaguard_operator_reconcile_errors_total{policy="a",error="status_write"} 1"#
        ),
        "{text}"
    );
}

#[test]
fn a_deleted_policy_leaves_no_series_counters_included() {
    let metrics = Metrics::new();
    exercise(&metrics, "gone");
    exercise(&metrics, "kept");
    let text = metrics.encode().unwrap();
    // Reconciles, errors, status writes, ratio, resources and one violation.
    assert_eq!(series_of(&text, "gone").len(), 6, "{text}");

    metrics.retain_policies(&HashSet::from(["kept".to_string()]));
    let text = metrics.encode().unwrap();
    assert_eq!(series_of(&text, "gone"), Vec::<String>::new());
    assert_eq!(series_of(&text, "kept").len(), 6, "{text}");
}

#[test]
fn a_scrape_drops_the_policies_the_listed_cache_no_longer_holds() {
    let metrics = Metrics::new();
    exercise(&metrics, "gone");
    exercise(&metrics, "kept");
    let (store, mut writer): (_, Writer<HipaaPolicy>) = reflector::store();
    metrics.track_policies(store);
    // Not listed yet: an empty cache says nothing about what exists.
    let text = metrics.encode().unwrap();
    assert_eq!(series_of(&text, "gone").len(), 6, "{text}");

    writer.apply_watcher_event(&Event::Init);
    writer.apply_watcher_event(&Event::InitApply(policy("gone")));
    writer.apply_watcher_event(&Event::InitApply(policy("kept")));
    writer.apply_watcher_event(&Event::InitDone);
    let text = metrics.encode().unwrap();
    assert_eq!(series_of(&text, "gone").len(), 6, "{text}");

    // The last reconcile was before the deletion; the scrape alone removes its series.
    writer.apply_watcher_event(&Event::Delete(policy("gone")));
    let text = metrics.encode().unwrap();
    assert_eq!(series_of(&text, "gone"), Vec::<String>::new(), "{text}");
    assert_eq!(series_of(&text, "kept").len(), 6, "{text}");
    // Deleting the last one leaves an empty, listed cache: its series go too.
    writer.apply_watcher_event(&Event::Delete(policy("kept")));
    let text = metrics.encode().unwrap();
    assert!(!text.contains("policy=\""), "{text}");
}

#[test]
fn build_info_and_process_metrics_follow_the_operator_series() {
    let text = Metrics::new().encode().unwrap();
    let leader = text.find("hipaaguard_operator_leader 0").expect(&text);
    let build = text
        .find(&format!(
            "hipaaguard_operator_build_info{{version=\"{}\",",
            env!("CARGO_PKG_VERSION")
        ))
        .expect(&text);
    assert!(leader < build, "{text}");
    if cfg!(target_os = "linux") {
        assert!(text.contains("\nprocess_open_fds "), "{text}");
        assert!(text.contains("\nprocess_start_time_seconds "), "{text}");
    }
    assert!(text.ends_with("# EOF\n"), "{text}");
}
