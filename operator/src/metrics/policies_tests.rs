//! The policy-cache series: exception expiries and compliance per 45 CFR section, exported only
//! while this replica leads, and `ready`/`caches_synced` as conditions asked at each scrape.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use hipaa_crds::{ControlResult, ControlStatus};
use kube::runtime::reflector::{self, store::Writer};
use kube::runtime::watcher::Event;

use super::policies::section_compliance;
use super::*;

fn control(id: &str, sections: &[&str], severity: &str, result: ControlResult) -> ControlStatus {
    ControlStatus {
        id: id.to_string(),
        sections: sections.iter().map(|s| s.to_string()).collect(),
        severity: severity.to_string(),
        result,
        violations: 0,
        message: None,
    }
}

/// A policy with two exceptions and a status of three controls over two sections.
fn policy_with_exceptions(name: &str) -> HipaaPolicy {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "hipaaguard.io/v1alpha1",
        "kind": "HipaaPolicy",
        "metadata": {"name": name},
        "spec": {
            "namespaceSelector": {"matchLabels": {"phi": "true"}},
            "exceptions": [
                {"controls": ["HIPAA-K8S-NETPOL"], "match": {"namespaces": ["billing"]},
                 "justification": "migration", "approvedBy": "ciso", "expires": "2027-01-01T00:00:00Z"},
                {"controls": ["HIPAA-K8S-PRIVILEGED"], "match": {"namespaces": ["ops"]},
                 "justification": "agent", "approvedBy": "ciso", "expires": "2026-12-20T12:00:00.500Z"},
            ],
        },
        "status": {"controls": [
            {"id": "A", "sections": ["164.312(a)(1)"], "severity": "HIGH", "result": "Pass"},
            {"id": "B", "sections": ["164.312(a)(1)", "164.312(e)(1)"], "severity": "CRITICAL", "result": "Fail"},
            {"id": "C", "sections": ["164.312(e)(1)"], "severity": "LOW", "result": "NotEvaluated"},
        ]},
    }))
    .unwrap()
}

#[test]
fn section_compliance_weighs_controls_as_the_score_does() {
    let controls = [
        control("A", &["s1"], "HIGH", ControlResult::Pass),
        control("B", &["s1", "s2"], "CRITICAL", ControlResult::Fail),
        control("C", &["s2"], "LOW", ControlResult::Excepted),
        control("D", &["s3"], "MEDIUM", ControlResult::Disabled),
        control("E", &["s4"], "MEDIUM", ControlResult::NotEvaluated),
        control("F", &["s5"], "LOW", ControlResult::Error),
    ];
    let ratios = section_compliance(&controls);
    // s1: HIGH (4) passes of HIGH + CRITICAL (4 + 8); s2: LOW (1) of CRITICAL + LOW (8 + 1).
    assert_eq!(ratios["s1"], 4.0 / 12.0);
    assert_eq!(ratios["s2"], 1.0 / 9.0);
    // Nothing evaluated: no ratio, never a claimed 1.
    assert!(
        !ratios.contains_key("s3") && !ratios.contains_key("s4"),
        "{ratios:?}"
    );
    // An error does not pass.
    assert_eq!(ratios["s5"], 0.0);
}

#[test]
fn an_unknown_severity_weighs_as_critical() {
    let controls = [
        control("A", &["s"], "LOW", ControlResult::Pass),
        control("B", &["s"], "bogus", ControlResult::Fail),
    ];
    assert_eq!(section_compliance(&controls)["s"], 1.0 / 9.0);
}

#[test]
fn the_leader_exports_exception_expiries_and_section_compliance_from_its_cache() {
    let metrics = Metrics::new();
    let (store, mut writer): (_, Writer<HipaaPolicy>) = reflector::store();
    metrics.track_policies(store);
    writer.apply_watcher_event(&Event::Init);
    writer.apply_watcher_event(&Event::InitApply(policy_with_exceptions("prod")));
    writer.apply_watcher_event(&Event::InitDone);

    // A standby exports none: its cache may be a past term's.
    let text = metrics.encode().unwrap();
    assert!(text.contains("# TYPE hipaaguard_operator_exception_expiry_timestamp_seconds gauge"));
    assert!(text.contains("# TYPE hipaaguard_operator_section_compliance_ratio gauge"));
    assert!(
        !text.contains("exception_expiry_timestamp_seconds{"),
        "{text}"
    );
    assert!(!text.contains("section_compliance_ratio{"), "{text}");

    metrics.set_leader(true);
    let text = metrics.encode().unwrap();
    for series in [
        r#"hipaaguard_operator_exception_expiry_timestamp_seconds{policy="prod",exception="0"} 1798761600.0"#,
        r#"hipaaguard_operator_exception_expiry_timestamp_seconds{policy="prod",exception="1"} 1797768000.5"#,
        r#"hipaaguard_operator_section_compliance_ratio{policy="prod",section="164.312(a)(1)"} 0.3333333333333333"#,
        r#"hipaaguard_operator_section_compliance_ratio{policy="prod",section="164.312(e)(1)"} 0.0"#,
    ] {
        assert!(text.contains(series), "{series}\n{text}");
    }

    // A deleted policy's series go with it at the next scrape.
    writer.apply_watcher_event(&Event::Delete(policy_with_exceptions("prod")));
    let text = metrics.encode().unwrap();
    assert!(!text.contains("policy=\"prod\""), "{text}");
}

#[test]
fn conditions_are_asked_at_each_scrape() {
    let synced = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut metrics = Metrics::new();
    let flag = Arc::clone(&synced);
    metrics.export_condition("caches_synced", "synced", move || {
        flag.load(std::sync::atomic::Ordering::Relaxed)
    });
    let text = metrics.encode().unwrap();
    assert!(
        text.contains("\nhipaaguard_operator_caches_synced 0\n"),
        "{text}"
    );
    synced.store(true, std::sync::atomic::Ordering::Relaxed);
    let text = metrics.encode().unwrap();
    assert!(
        text.contains("\nhipaaguard_operator_caches_synced 1\n"),
        "{text}"
    );
}
