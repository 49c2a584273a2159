//! The fix engine's property over every failing fixture (tests/fixtures/k8s/*/fail-*): applying
//! the proposed fixes (the JSON patch, with an independent RFC 6902 applier, and the objects to
//! create) and judging again passes every control whose fix says it is complete; and the fixtures
//! of the fixable controls that get no complete fix are exactly those listed here, with why.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeSet;

use hipaa_controls::fix::{FIXABLE_CONTROLS, FixOptions, propose};
use hipaa_controls::{Object, Outcome};

/// Failing fixtures of fixable controls whose finding has no complete automatic fix, and why.
const NOT_FULLY_FIXABLE: &[(&str, &str)] = &[
    // The autoscaler owns the replica count: its minReplicas is another object's to change.
    (
        "HIPAA-K8S-HA/fail-autoscaler-floor-too-low.yaml",
        "autoscaler",
    ),
    // Namespaces that have NetworkPolicies keep their own design (no default-deny added there).
    (
        "HIPAA-K8S-NETPOL/fail-allow-all-ingress.yaml",
        "has policies",
    ),
    ("HIPAA-K8S-NETPOL/fail-egress-only.yaml", "has policies"),
    ("HIPAA-K8S-NETPOL/fail-every-namespace.yaml", "has policies"),
    (
        "HIPAA-K8S-NETPOL/fail-internet-with-except.yaml",
        "has policies",
    ),
    (
        "HIPAA-K8S-NETPOL/fail-match-expressions-exclude.yaml",
        "has policies",
    ),
    (
        "HIPAA-K8S-NETPOL/fail-selects-other-pods.yaml",
        "has policies",
    ),
    // `runAsUser: 0` is an explicit choice of user; which other user is not ours to guess.
    ("HIPAA-K8S-PRIVILEGED/fail-runs-as-root.yaml", "user 0"),
    // The pod template opts out of Istio explicitly: a choice the fix does not overrule.
    (
        "HIPAA-K8S-TLS-WORKLOAD/fail-opts-out-of-istio.yaml",
        "opted out",
    ),
];

#[test]
fn fixing_every_failing_fixture_passes_its_fixable_controls() {
    let policy = common::every_control();
    let options = FixOptions::default();
    let mut fully_fixed: BTreeSet<&str> = BTreeSet::new();
    let mut not_fixed: BTreeSet<String> = BTreeSet::new();
    let mut failures = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(common::fixtures_dir().join("k8s"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut fixtures = 0;
    for dir in dirs {
        let id = dir.file_name().unwrap().to_str().unwrap().to_string();
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("fail"))
            .collect();
        files.sort();
        for path in files {
            fixtures += 1;
            let name = format!("{id}/{}", path.file_name().unwrap().to_str().unwrap());
            let mut fixture = common::load_fixture(&path);
            let before = fixture.audit(&policy);
            let fixes: Vec<_> = before
                .findings
                .iter()
                .filter_map(|f| propose(&fixture.object, f, &fixture.ctx, &policy, &options))
                .collect();
            let mut json = common::documents(&fixture.text).remove(0);
            for fix in &fixes {
                let patch: json_patch::Patch =
                    serde_json::from_value(serde_json::to_value(&fix.patch).unwrap()).unwrap();
                if let Err(err) = json_patch::patch(&mut json, &patch.0) {
                    failures.push(format!(
                        "{name}: the {} patch does not apply: {err}",
                        fix.control
                    ));
                }
                // A Secret is no context of any control; the NetworkPolicy is.
                for created in fix.create.iter().filter(|c| c["kind"] != "Secret") {
                    common::add_to_context(&mut fixture.ctx, created);
                }
                for created in fix.create.iter().filter(|c| c["kind"] == "Secret") {
                    for value in created["stringData"].as_object().unwrap().values() {
                        assert_eq!(
                            value, "REPLACE_ME",
                            "{name}: the skeleton holds a placeholder"
                        );
                    }
                }
            }
            fixture.object = Object::from_value(json, Some("default")).unwrap();
            let after = fixture.audit(&policy);
            let failing: BTreeSet<&str> = after
                .findings
                .iter()
                .filter(|f| f.outcome == Outcome::Fail)
                .map(|f| f.control.id)
                .collect();
            for fix in fixes.iter().filter(|f| f.is_complete()) {
                if failing.contains(fix.control) {
                    failures.push(format!(
                        "{name}: {} still fails after its complete fix ({})",
                        fix.control, fix.description
                    ));
                }
            }
            if FIXABLE_CONTROLS.contains(&id.as_str()) {
                if failing.contains(id.as_str()) {
                    not_fixed.insert(name);
                } else {
                    fully_fixed.insert(FIXABLE_CONTROLS.iter().find(|c| **c == id).unwrap());
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let expected: BTreeSet<String> = NOT_FULLY_FIXABLE
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    assert_eq!(
        not_fixed, expected,
        "fixtures of fixable controls left failing"
    );
    let all: BTreeSet<&str> = FIXABLE_CONTROLS.iter().copied().collect();
    assert_eq!(
        fully_fixed, all,
        "every fixable control has a fixture its fix passes"
    );
    assert!(fixtures > 50, "{fixtures} failing fixtures");
}
