//! The ECR controls over snapshot fixtures: HIPAA-ECR-SCAN (scan on push, registry scanning
//! rules, findings of images in use), -IMMUTABLE-TAGS and -KMS, and failed lookups.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::aws::{Seen, evaluate, fixture_policy, seen, snapshot};
use hipaa_controls::aws::{
    AwsSnapshot, EcrRepository, ImageInUse, ScanFindings, ScanStatus, TagMutability,
};
use hipaa_controls::catalog::ids;
use hipaa_controls::model::{ResourceRef, Severity};
use hipaa_controls::policy::EffectivePolicy;

fn repository_mut<'a>(snapshot: &'a mut AwsSnapshot, name: &str) -> &'a mut EcrRepository {
    snapshot
        .ecr_repositories
        .iter_mut()
        .find(|r| r.requested == name)
        .unwrap()
        .result
        .as_mut()
        .unwrap()
}

fn with_fail_on(severity: Severity) -> EffectivePolicy {
    common::defaults_with(ids::ECR_SCAN, |p| p.fail_on = severity)
}

#[test]
fn a_compliant_repository_passes_every_ecr_control() {
    let results = evaluate(&snapshot("ecr"), &EffectivePolicy::defaults());
    for control in [ids::ECR_SCAN, ids::ECR_IMMUTABLE_TAGS, ids::ECR_KMS] {
        assert_eq!(
            seen(&results, "payments/api", control),
            Seen::Pass,
            "{control}"
        );
    }
}

#[test]
fn scan_on_push_off_and_critical_findings_in_use_fail_naming_image_and_count() {
    let results = evaluate(&snapshot("ecr"), &EffectivePolicy::defaults());
    let verdict = seen(&results, "legacy/web", ids::ECR_SCAN);
    let Seen::Fail(message) = &verdict else {
        panic!("{verdict:?}")
    };
    assert!(message.contains("scan on push is off"), "{message}");
    assert!(
        message.contains(
            "legacy/web@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"
        ),
        "{message}"
    );
    assert!(message.contains("3 CRITICAL findings"), "{message}");
    assert!(
        message.contains("run by Deployment billing/web and 1 more"),
        "{message}"
    );
}

#[test]
fn fail_on_lowers_the_threshold_and_counts_every_severity_at_or_above_it() {
    let results = evaluate(&snapshot("ecr"), &with_fail_on(Severity::High));
    let verdict = seen(&results, "payments/api", ids::ECR_SCAN);
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains("payments/api:v1.2") && m.contains("2 HIGH findings")),
        "{verdict:?}"
    );
    let verdict = seen(&results, "legacy/web", ids::ECR_SCAN);
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains("8 findings at or above HIGH (3 CRITICAL, 5 HIGH)")),
        "{verdict:?}"
    );
    // Severities below LOW (INFORMATIONAL, UNTRIAGED) never count.
    let results = evaluate(&snapshot("ecr"), &with_fail_on(Severity::Low));
    assert_eq!(seen(&results, "enhanced/svc", ids::ECR_SCAN), Seen::Pass);
}

#[test]
fn registry_scanning_rules_decide_under_enhanced_scanning() {
    let mut snapshot = snapshot("ecr");
    assert_eq!(
        seen(
            &evaluate(&snapshot, &EffectivePolicy::defaults()),
            "enhanced/svc",
            ids::ECR_SCAN
        ),
        Seen::Pass
    );
    let repository = repository_mut(&mut snapshot, "enhanced/svc");
    let Some(Ok(registry)) = repository.registry_scanning.as_mut() else {
        panic!()
    };
    registry.rules[0].repository_filters = vec!["other/*".into()];
    // The repository's own scanOnPush does not count under enhanced scanning.
    repository.scan_on_push = true;
    let verdict = seen(
        &evaluate(&snapshot, &EffectivePolicy::defaults()),
        "enhanced/svc",
        ids::ECR_SCAN,
    );
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains("enhanced scanning")),
        "{verdict:?}"
    );
}

#[test]
fn an_image_without_a_scan_is_an_error_not_a_pass() {
    let results = evaluate(&snapshot("ecr"), &EffectivePolicy::defaults());
    let verdict = seen(&results, "scratch/tool", ids::ECR_SCAN);
    assert!(
        matches!(&verdict, Seen::Error(m) if m.contains("ScanNotFoundException") && m.contains("scratch/tool:v1")),
        "{verdict:?}"
    );
}

#[test]
fn a_scan_in_progress_is_an_error() {
    let mut snapshot = snapshot("ecr");
    repository_mut(&mut snapshot, "payments/api").images[0].findings = Ok(ScanFindings {
        status: Some(ScanStatus::InProgress),
        ..Default::default()
    });
    let verdict = seen(
        &evaluate(&snapshot, &EffectivePolicy::defaults()),
        "payments/api",
        ids::ECR_SCAN,
    );
    assert!(
        matches!(&verdict, Seen::Error(m) if m.contains("IN_PROGRESS")),
        "{verdict:?}"
    );
}

#[test]
fn a_failed_repository_lookup_is_an_error_naming_the_action() {
    let results = evaluate(&snapshot("ecr"), &EffectivePolicy::defaults());
    for control in [ids::ECR_SCAN, ids::ECR_IMMUTABLE_TAGS, ids::ECR_KMS] {
        let verdict = seen(&results, "team/private", control);
        assert!(
            matches!(&verdict, Seen::Error(m) if m.contains("AccessDeniedException") && m.contains("ecr:DescribeRepositories")),
            "{control}: {verdict:?}"
        );
    }
}

#[test]
fn mutable_tags_fail() {
    let results = evaluate(&snapshot("ecr"), &EffectivePolicy::defaults());
    let verdict = seen(&results, "legacy/web", ids::ECR_IMMUTABLE_TAGS);
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains("mutable tags (MUTABLE)")),
        "{verdict:?}"
    );
}

#[test]
fn exclusion_filters_fail_only_when_an_image_in_use_is_tagged_by_them() {
    let mut snapshot = snapshot("ecr");
    assert_eq!(
        seen(
            &evaluate(&snapshot, &EffectivePolicy::defaults()),
            "enhanced/svc",
            ids::ECR_IMMUTABLE_TAGS
        ),
        Seen::Pass
    );
    repository_mut(&mut snapshot, "enhanced/svc")
        .images
        .push(ImageInUse {
            reference: "dev-latest".into(),
            used_by: vec![ResourceRef::new("Deployment", Some("claims"), "svc-canary")],
            findings: Ok(ScanFindings::default()),
        });
    let verdict = seen(
        &evaluate(&snapshot, &EffectivePolicy::defaults()),
        "enhanced/svc",
        ids::ECR_IMMUTABLE_TAGS,
    );
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains("enhanced/svc:dev-latest")),
        "{verdict:?}"
    );
    repository_mut(&mut snapshot, "enhanced/svc").tag_mutability =
        TagMutability::from_aws("SOMETIMES");
    let verdict = seen(
        &evaluate(&snapshot, &EffectivePolicy::defaults()),
        "enhanced/svc",
        ids::ECR_IMMUTABLE_TAGS,
    );
    assert!(
        matches!(&verdict, Seen::Error(m) if m.contains("SOMETIMES")),
        "{verdict:?}"
    );
}

#[test]
fn aes256_encryption_fails_and_kms_passes() {
    let results = evaluate(&snapshot("ecr"), &EffectivePolicy::defaults());
    assert!(
        matches!(seen(&results, "legacy/web", ids::ECR_KMS), Seen::Fail(m) if m.contains("AES256"))
    );
    assert_eq!(seen(&results, "enhanced/svc", ids::ECR_KMS), Seen::Pass);
}

#[test]
fn exceptions_waive_by_kind_and_name_glob_and_keep_the_message() {
    let results = evaluate(&snapshot("ecr"), &fixture_policy());
    let verdict = seen(&results, "legacy/web", ids::ECR_IMMUTABLE_TAGS);
    assert!(
        matches!(&verdict, Seen::Excepted(m) if m.contains("mutable tags")),
        "{verdict:?}"
    );
    assert!(matches!(
        seen(&results, "legacy/web", ids::ECR_KMS),
        Seen::Excepted(_)
    ));
    // The exception does not name HIPAA-ECR-SCAN, whose finding keeps the control's Warn.
    assert!(matches!(
        seen(&results, "legacy/web", ids::ECR_SCAN),
        Seen::Fail(_)
    ));
    let resource = results
        .iter()
        .find(|r| r.resource.name == "legacy/web")
        .unwrap();
    let scan = resource
        .evaluation
        .findings
        .iter()
        .find(|f| f.control.id == ids::ECR_SCAN)
        .unwrap();
    assert_eq!(scan.enforcement, hipaa_crds::Enforcement::Warn);
    let excepted = resource
        .evaluation
        .findings
        .iter()
        .find(|f| f.control.id == ids::ECR_KMS)
        .unwrap();
    let waiver = excepted.exception.as_ref().unwrap();
    assert_eq!(
        (waiver.policy.as_str(), waiver.index),
        ("production-phi", 0)
    );
}

#[test]
fn snapshots_round_trip_through_json() {
    let snapshot = snapshot("ecr");
    let text = serde_json::to_string(&snapshot).unwrap();
    let back: AwsSnapshot = serde_json::from_str(&text).unwrap();
    assert_eq!(back, snapshot);
}
