//! Which reports are written and deleted, what a new leader reads back, and report names.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;

#[test]
fn only_changed_reports_are_written_and_those_of_departed_namespaces_deleted() {
    let evaluations = audit();
    let api = ReportApi::PolicyReport;
    let parts = partition(OWNER, &evaluations, &scope(&["billing", "claims", "quiet"]));
    let mut memory = ReportMemory::default();
    let first = plan(api, &memory, &parts);
    assert_eq!(first.apply.len(), 4);
    assert!(first.delete.is_empty());
    for (key, part) in &parts {
        memory.written.insert((api, key.clone()), part.hash);
    }
    assert!(plan(api, &memory, &parts).is_empty());
    // The other API has its own memory.
    assert_eq!(plan(ReportApi::OpenReports, &memory, &parts).apply.len(), 4);
    // quiet leaves the scope; billing changes.
    let mut changed = evaluations.clone();
    changed.remove(1);
    let parts = partition(OWNER, &changed, &scope(&["billing", "claims"]));
    assert_eq!(
        plan(api, &memory, &parts),
        ReportPlan {
            apply: vec![namespace("billing")],
            delete: vec![namespace("quiet")]
        }
    );
}

#[test]
fn seeding_replaces_what_is_known_of_one_api() {
    let mut memory = ReportMemory::default();
    memory
        .written
        .insert((ReportApi::PolicyReport, namespace("old")), 1);
    memory
        .written
        .insert((ReportApi::OpenReports, namespace("old")), 1);
    assert!(memory.needs_seed(ReportApi::PolicyReport, 1));
    memory.seed(ReportApi::PolicyReport, 1, vec![(namespace("billing"), 7)]);
    assert!(!memory.needs_seed(ReportApi::PolicyReport, 1));
    assert!(memory.needs_seed(ReportApi::PolicyReport, 2));
    assert_eq!(
        memory
            .written
            .get(&(ReportApi::PolicyReport, namespace("billing"))),
        Some(&7)
    );
    assert_eq!(
        memory
            .written
            .get(&(ReportApi::PolicyReport, namespace("old"))),
        None
    );
    assert_eq!(
        memory
            .written
            .get(&(ReportApi::OpenReports, namespace("old"))),
        Some(&1)
    );
}

#[test]
fn long_policy_names_give_valid_report_names_and_labels() {
    assert_eq!(report_name("phi"), "hipaa-guard-phi");
    assert_eq!(policy_label_value("phi"), "phi");
    let long = "a".repeat(253);
    assert!(report_name(&long).len() <= 253);
    let label = policy_label_value(&long);
    assert!(label.len() <= 63, "{label}");
    assert_ne!(
        policy_label_value(&"a".repeat(70)),
        policy_label_value(&"a".repeat(71))
    );
    // A trailing dash is not a valid label value's end.
    assert!(!policy_label_value("phi-").ends_with('-'));
}
