//! Runs every fixture under tests/fixtures/k8s/<CONTROL-ID>/ and checks its control's verdict by the
//! file name's prefix (see tests/fixtures/k8s/README.md); and checks that every Kubernetes control
//! judged on one object has at least one passing and one failing fixture.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;

use hipaa_controls::{EffectivePolicy, Outcome, Scope, catalog, control};

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Expect {
    Pass,
    Fail,
    Error,
    NotApplicable,
}

fn expectation(file_name: &str) -> Expect {
    for (prefix, expect) in [
        ("pass-", Expect::Pass),
        ("fail-", Expect::Fail),
        ("error-", Expect::Error),
        ("na-", Expect::NotApplicable),
    ] {
        if file_name.starts_with(prefix) {
            return expect;
        }
    }
    panic!("fixture {file_name} does not start with pass-, fail-, error- or na-");
}

#[test]
fn every_fixture_gives_its_expected_verdict() {
    let policy = common::every_control();
    let mut seen: BTreeMap<String, Vec<Expect>> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(common::fixtures_dir().join("k8s"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let id = dir.file_name().unwrap().to_str().unwrap().to_string();
        let control =
            control(&id).unwrap_or_else(|| panic!("fixture directory {id} names no control"));
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for path in files {
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            let expect = expectation(&name);
            seen.entry(id.clone()).or_default().push(expect);
            let fixture = common::load_fixture(&path);
            let eval = fixture.audit(&policy);
            let finding = eval.findings.iter().find(|f| f.control.id == control.id);
            let checked = eval.checked.iter().any(|c| c.id == control.id);
            let got = match (finding.map(|f| f.outcome), checked) {
                (Some(Outcome::Fail), _) => Expect::Fail,
                (Some(Outcome::Error), _) => Expect::Error,
                (Some(Outcome::Excepted), _) => {
                    panic!("{name}: no exception in the default policy")
                }
                (None, true) => Expect::Pass,
                (None, false) => Expect::NotApplicable,
            };
            if got != expect {
                failures.push(format!(
                    "{id}/{name}: expected {expect:?}, got {got:?} ({:?})",
                    finding.map(|f| &f.message)
                ));
                continue;
            }
            if let Some(f) = finding {
                assert!(
                    checked,
                    "{name}: a control with a finding is listed as checked"
                );
                assert!(
                    f.message.contains(fixture.object.name()),
                    "{name}: message names the object: {}",
                    f.message
                );
            }
            for line in fixture.text.lines() {
                if let Some(want) = line.strip_prefix("# expect-message: ") {
                    let message = finding.map(|f| f.message.as_str()).unwrap_or("");
                    if !message.contains(want) {
                        failures.push(format!("{id}/{name}: message {message:?} lacks {want:?}"));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "fixture mismatches:\n{}",
        failures.join("\n")
    );

    // Admission-only controls judge a change, which no single-object fixture holds
    // (tests/namespace_change.rs); their directory only shows that the audit does not apply them.
    let one_object = |c: &&hipaa_controls::Control| {
        c.scope != Scope::Aws && c.scope != Scope::KubernetesAdmission
    };
    for control in catalog().iter().filter(one_object) {
        let expects = seen.get(control.id).cloned().unwrap_or_default();
        assert!(
            expects.contains(&Expect::Pass),
            "{} has no passing fixture",
            control.id
        );
        assert!(
            expects.contains(&Expect::Fail),
            "{} has no failing fixture",
            control.id
        );
    }
}

#[test]
fn no_message_quotes_an_environment_value() {
    let policy = EffectivePolicy::defaults();
    for name in [
        "fail-literal-password-cronjob.yaml",
        "fail-init-container-token.yaml",
    ] {
        let path = common::fixtures_dir()
            .join("k8s")
            .join("HIPAA-K8S-SECRETS-IN-ENV")
            .join(name);
        let fixture = common::load_fixture(&path);
        let eval = fixture.audit(&policy);
        assert!(!eval.findings.is_empty());
        for finding in &eval.findings {
            let line = finding.denial_line();
            for secret in ["hunter2", "ghp_example", "wJalrXUtnFEMI"] {
                assert!(!line.contains(secret), "{name}: {line}");
            }
        }
    }
}
