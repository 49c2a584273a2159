//! Fixture loading and verdict lookups shared by the AWS tests (their fixtures live under
//! `tests/fixtures/aws`); the lints allowed for `common` hold here too.

use chrono::{DateTime, TimeZone, Utc};
use hipaa_controls::aws::{AwsSnapshot, evaluate_aws_resources};
use hipaa_controls::model::Outcome;
use hipaa_controls::policy::EffectivePolicy;
use hipaa_controls::tally::ResourceEvaluation;
use hipaa_crds::HipaaPolicy;

/// The fixed "now" of every AWS fixture.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
        .single()
        .unwrap()
}

fn fixture(name: &str) -> String {
    let path = super::fixtures_dir().join("aws").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `tests/fixtures/aws/<name>.json` as a snapshot.
pub fn snapshot(name: &str) -> AwsSnapshot {
    serde_json::from_str(&fixture(&format!("{name}.json")))
        .unwrap_or_else(|e| panic!("{name}.json: {e}"))
}

/// `tests/fixtures/aws/policy.yaml` as an effective policy.
pub fn fixture_policy() -> EffectivePolicy {
    let policy: HipaaPolicy = yaml_serde::from_str(&fixture("policy.yaml")).unwrap();
    EffectivePolicy::from_policy(&policy).unwrap()
}

/// What one control concluded about one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    Pass,
    Fail(String),
    Excepted(String),
    Error(String),
    /// The control was not checked on the resource (disabled, or not its kind).
    NotChecked,
}

impl Seen {
    pub fn message(&self) -> &str {
        match self {
            Seen::Fail(m) | Seen::Excepted(m) | Seen::Error(m) => m,
            Seen::Pass | Seen::NotChecked => "",
        }
    }
}

pub fn evaluate(snapshot: &AwsSnapshot, policy: &EffectivePolicy) -> Vec<ResourceEvaluation> {
    evaluate_aws_resources(snapshot, policy, now())
}

/// The verdict of `control` on the resource named `name`; panics when no such resource.
pub fn seen(results: &[ResourceEvaluation], name: &str, control: &str) -> Seen {
    let resource = results
        .iter()
        .find(|r| r.resource.name == name)
        .unwrap_or_else(|| {
            panic!(
                "no resource {name} in {:?}",
                results.iter().map(|r| &r.resource).collect::<Vec<_>>()
            )
        });
    let findings: Vec<_> = resource
        .evaluation
        .findings
        .iter()
        .filter(|f| f.control.id == control)
        .collect();
    assert!(
        findings.len() <= 1,
        "{control} reported {} times on {name}",
        findings.len()
    );
    let checked = resource.evaluation.checked.iter().any(|c| c.id == control);
    match findings.first() {
        None if checked => Seen::Pass,
        None => Seen::NotChecked,
        Some(f) => {
            assert!(
                checked,
                "{control} has a finding on {name} but is not listed as checked"
            );
            match f.outcome {
                Outcome::Fail => Seen::Fail(f.message.clone()),
                Outcome::Excepted => Seen::Excepted(f.message.clone()),
                Outcome::Error => Seen::Error(f.message.clone()),
            }
        }
    }
}

/// Asserts a failure whose message holds every word.
pub fn fails_with(verdict: &Seen, words: &[&str]) {
    assert!(matches!(verdict, Seen::Fail(_)), "{verdict:?}");
    for word in words {
        assert!(verdict.message().contains(word), "{word}: {verdict:?}");
    }
}

/// Asserts an Error whose message holds `word`.
pub fn errs_with(verdict: &Seen, word: &str) {
    assert!(
        matches!(verdict, Seen::Error(m) if m.contains(word)),
        "{word}: {verdict:?}"
    );
}
