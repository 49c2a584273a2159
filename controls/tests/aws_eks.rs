//! The EKS controls over snapshot fixtures: HIPAA-EKS-SECRETS-KMS, -AUDIT-LOGGING, -ENDPOINT and
//! -VERSION, with the AWS-owned default key, AWS-managed keys and failed lookups.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::aws::{Seen, evaluate, fixture_policy, seen, snapshot};
use hipaa_controls::aws::{KeyManager, LookupError, evaluate_aws};
use hipaa_controls::catalog::ids;
use hipaa_controls::policy::EffectivePolicy;

fn cluster_mut(
    snapshot: &mut hipaa_controls::aws::AwsSnapshot,
) -> &mut hipaa_controls::aws::EksCluster {
    snapshot.eks.as_mut().unwrap().result.as_mut().unwrap()
}

#[test]
fn a_compliant_cluster_passes_every_eks_control() {
    let results = evaluate(&snapshot("eks"), &EffectivePolicy::defaults());
    for control in [
        ids::EKS_SECRETS_KMS,
        ids::EKS_AUDIT_LOGGING,
        ids::EKS_ENDPOINT,
        ids::EKS_VERSION,
    ] {
        assert_eq!(seen(&results, "prod", control), Seen::Pass, "{control}");
    }
    assert_eq!(
        seen(
            &results,
            "0a1b2c3d-1111-2222-3333-444455556666",
            ids::KMS_ROTATION
        ),
        Seen::Pass
    );
}

#[test]
fn secrets_on_the_aws_owned_default_key_fail() {
    let results = evaluate(
        &snapshot("eks-default-encryption"),
        &EffectivePolicy::defaults(),
    );
    let verdict = seen(&results, "legacy", ids::EKS_SECRETS_KMS);
    assert!(matches!(verdict, Seen::Fail(_)), "{verdict:?}");
    assert!(
        verdict.message().contains("AWS-owned default key"),
        "{verdict:?}"
    );
}

#[test]
fn a_secrets_key_that_kms_reports_as_aws_managed_fails() {
    let mut snapshot = snapshot("eks");
    snapshot.kms_keys[0].result.as_mut().unwrap().key_manager = Some(KeyManager::Aws);
    let verdict = seen(
        &evaluate(&snapshot, &EffectivePolicy::defaults()),
        "prod",
        ids::EKS_SECRETS_KMS,
    );
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains("AWS-managed KMS key")),
        "{verdict:?}"
    );
}

#[test]
fn a_secrets_key_that_was_not_looked_up_or_failed_is_an_error() {
    let mut missing = snapshot("eks");
    missing.kms_keys.clear();
    let verdict = seen(
        &evaluate(&missing, &EffectivePolicy::defaults()),
        "prod",
        ids::EKS_SECRETS_KMS,
    );
    assert!(
        matches!(&verdict, Seen::Error(m) if m.contains("was not looked up")),
        "{verdict:?}"
    );

    let mut denied = snapshot("eks");
    denied.kms_keys[0].result =
        Err(LookupError::new("AccessDeniedException", "not authorized")
            .with_action("kms:DescribeKey"));
    let results = evaluate(&denied, &EffectivePolicy::defaults());
    let verdict = seen(&results, "prod", ids::EKS_SECRETS_KMS);
    assert!(
        matches!(&verdict, Seen::Error(m) if m.contains("AccessDeniedException") && m.contains("kms:DescribeKey")),
        "{verdict:?}"
    );
    // The key itself is reported under the identifier it was requested by.
    let key = seen(&results, &denied.kms_keys[0].requested, ids::KMS_ROTATION);
    assert!(
        matches!(&key, Seen::Error(m) if m.contains("missing IAM permission kms:DescribeKey")),
        "{key:?}"
    );
}

#[test]
fn missing_log_types_fail_and_are_named() {
    let results = evaluate(
        &snapshot("eks-default-encryption"),
        &EffectivePolicy::defaults(),
    );
    let verdict = seen(&results, "legacy", ids::EKS_AUDIT_LOGGING);
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains("audit, authenticator") && !m.contains("api,")),
        "{verdict:?}"
    );
}

#[test]
fn a_public_endpoint_open_to_the_internet_fails() {
    let results = evaluate(
        &snapshot("eks-default-encryption"),
        &EffectivePolicy::defaults(),
    );
    let verdict = seen(&results, "legacy", ids::EKS_ENDPOINT);
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains("0.0.0.0/0") && m.contains("private endpoint access is off")),
        "{verdict:?}"
    );

    // Private on and public off passes; public on with no CIDR list means open to all.
    let mut private_only = snapshot("eks");
    cluster_mut(&mut private_only).endpoint_public_access = false;
    assert_eq!(
        seen(
            &evaluate(&private_only, &EffectivePolicy::defaults()),
            "prod",
            ids::EKS_ENDPOINT
        ),
        Seen::Pass
    );
    let mut no_cidrs = snapshot("eks");
    cluster_mut(&mut no_cidrs).public_access_cidrs.clear();
    assert!(matches!(
        seen(
            &evaluate(&no_cidrs, &EffectivePolicy::defaults()),
            "prod",
            ids::EKS_ENDPOINT
        ),
        Seen::Fail(_)
    ));
    let mut ipv6_open = snapshot("eks");
    cluster_mut(&mut ipv6_open)
        .public_access_cidrs
        .push("::/0".into());
    assert!(
        matches!(seen(&evaluate(&ipv6_open, &EffectivePolicy::defaults()), "prod", ids::EKS_ENDPOINT), Seen::Fail(m) if m.contains("::/0"))
    );
}

#[test]
fn an_old_version_fails_against_min_version() {
    let results = evaluate(
        &snapshot("eks-default-encryption"),
        &EffectivePolicy::defaults(),
    );
    let verdict = seen(&results, "legacy", ids::EKS_VERSION);
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains("1.29") && m.contains("1.32")),
        "{verdict:?}"
    );

    let mut unknown = snapshot("eks");
    cluster_mut(&mut unknown).version = None;
    assert!(matches!(
        seen(
            &evaluate(&unknown, &EffectivePolicy::defaults()),
            "prod",
            ids::EKS_VERSION
        ),
        Seen::Error(_)
    ));
}

#[test]
fn min_version_comes_from_the_policy_parameters() {
    let policy = common::defaults_with(ids::EKS_VERSION, |p| p.min_version = (1, 34));
    let verdict = seen(
        &evaluate(&snapshot("eks"), &policy),
        "prod",
        ids::EKS_VERSION,
    );
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains("minVersion 1.34")),
        "{verdict:?}"
    );
}

#[test]
fn access_denied_on_describe_cluster_is_an_error_naming_the_action() {
    let results = evaluate(&snapshot("eks-access-denied"), &EffectivePolicy::defaults());
    for control in [
        ids::EKS_SECRETS_KMS,
        ids::EKS_AUDIT_LOGGING,
        ids::EKS_ENDPOINT,
        ids::EKS_VERSION,
    ] {
        let verdict = seen(&results, "prod", control);
        assert!(
            matches!(&verdict, Seen::Error(m) if m.contains("AccessDeniedException") && m.contains("missing IAM permission eks:DescribeCluster")),
            "{control}: {verdict:?}"
        );
    }
}

#[test]
fn a_disabled_control_is_not_checked() {
    let results = evaluate(&snapshot("eks-default-encryption"), &fixture_policy());
    assert_eq!(seen(&results, "legacy", ids::EKS_VERSION), Seen::NotChecked);
    assert!(matches!(
        seen(&results, "legacy", ids::EKS_ENDPOINT),
        Seen::Fail(_)
    ));
}

#[test]
fn no_linked_cluster_checks_nothing() {
    let mut snapshot = snapshot("eks");
    snapshot.eks = None;
    snapshot.kms_keys.clear();
    let evaluation = evaluate_aws(&snapshot, &EffectivePolicy::defaults(), common::aws::now());
    assert!(evaluation.findings.is_empty() && evaluation.checked.is_empty());
}

#[test]
fn findings_carry_the_policy_enforcement_and_render_a_denial_line() {
    let evaluation = evaluate_aws(
        &snapshot("eks-default-encryption"),
        &fixture_policy(),
        common::aws::now(),
    );
    let finding = evaluation
        .findings
        .iter()
        .find(|f| f.control.id == ids::EKS_SECRETS_KMS)
        .unwrap();
    assert_eq!(finding.enforcement, hipaa_crds::Enforcement::Enforce);
    assert_eq!(finding.resource.to_string(), "EKSCluster legacy");
    assert!(
        finding
            .denial_line()
            .starts_with("[HIPAA-EKS-SECRETS-KMS] 164.312(a)(2)(iv): EKS cluster legacy")
    );
}
