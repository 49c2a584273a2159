//! HIPAA-SM-KMS, HIPAA-SM-ROTATION and HIPAA-KMS-ROTATION over snapshot fixtures, with the
//! policy's exceptions (active, expired, expiring, and one written for namespaces).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::aws::{Seen, evaluate, fixture_policy, seen, snapshot};
use hipaa_controls::aws::{
    AwsSnapshot, KeyState, LookupError, SecretsManagerSecret, kms_key_references,
};
use hipaa_controls::catalog::ids;
use hipaa_controls::policy::EffectivePolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

const LEGACY_KEY: &str = "9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff";
const PROD_KEY: &str = "5e6f7a8b-1111-2222-3333-444455556666";

fn secret_mut<'a>(snapshot: &'a mut AwsSnapshot, name: &str) -> &'a mut SecretsManagerSecret {
    snapshot
        .secrets
        .iter_mut()
        .find(|s| s.requested == name)
        .unwrap()
        .result
        .as_mut()
        .unwrap()
}

#[test]
fn a_secret_on_a_customer_key_rotated_recently_passes() {
    let results = evaluate(&snapshot("secrets-kms"), &EffectivePolicy::defaults());
    assert_eq!(seen(&results, "prod/db", ids::SM_KMS), Seen::Pass);
    assert_eq!(seen(&results, "prod/db", ids::SM_ROTATION), Seen::Pass);
    assert_eq!(seen(&results, PROD_KEY, ids::KMS_ROTATION), Seen::Pass);
}

#[test]
fn no_kms_key_id_means_the_aws_managed_default_and_fails() {
    let results = evaluate(&snapshot("secrets-kms"), &EffectivePolicy::defaults());
    let verdict = seen(&results, "prod/api-key", ids::SM_KMS);
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains("alias/aws/secretsmanager")),
        "{verdict:?}"
    );
}

#[test]
fn a_reserved_aws_alias_fails_without_asking_kms() {
    let mut snapshot = snapshot("secrets-kms");
    secret_mut(&mut snapshot, "prod/db").kms_key_id =
        Some("arn:aws:kms:us-east-1:111122223333:alias/aws/secretsmanager".into());
    let verdict = seen(
        &evaluate(&snapshot, &EffectivePolicy::defaults()),
        "prod/db",
        ids::SM_KMS,
    );
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains("AWS-managed")),
        "{verdict:?}"
    );
}

#[test]
fn a_key_kms_reports_as_aws_managed_fails_and_an_unknown_key_is_an_error() {
    let mut snapshot = snapshot("secrets-kms");
    snapshot.kms_keys[0].result.as_mut().unwrap().key_manager =
        Some(hipaa_controls::aws::KeyManager::Aws);
    let verdict = seen(
        &evaluate(&snapshot, &EffectivePolicy::defaults()),
        "prod/db",
        ids::SM_KMS,
    );
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains("AWS-managed KMS key alias/prod-secrets")),
        "{verdict:?}"
    );
    snapshot.kms_keys.clear();
    let verdict = seen(
        &evaluate(&snapshot, &EffectivePolicy::defaults()),
        "prod/db",
        ids::SM_KMS,
    );
    assert!(
        matches!(&verdict, Seen::Error(m) if m.contains("not looked up")),
        "{verdict:?}"
    );
}

#[test]
fn rotation_off_fails() {
    let results = evaluate(&snapshot("secrets-kms"), &EffectivePolicy::defaults());
    let verdict = seen(&results, "prod/api-key", ids::SM_ROTATION);
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains("rotation off")),
        "{verdict:?}"
    );
}

#[test]
fn rotated_200_days_ago_with_max_age_90_fails() {
    let results = evaluate(&snapshot("secrets-kms"), &EffectivePolicy::defaults());
    let verdict = seen(&results, "prod/legacy", ids::SM_ROTATION);
    assert!(
        matches!(&verdict, Seen::Fail(m) if m.contains("last rotated 200 days ago") && m.contains("maxAgeDays 90")),
        "{verdict:?}"
    );
    // A policy that tolerates 365 days passes the same secret.
    let lenient = common::defaults_with(ids::SM_ROTATION, |p| p.max_age_days = 365);
    assert_eq!(
        seen(
            &evaluate(&snapshot("secrets-kms"), &lenient),
            "prod/legacy",
            ids::SM_ROTATION
        ),
        Seen::Pass
    );
}

#[test]
fn a_failed_describe_secret_is_an_error_naming_the_action() {
    let results = evaluate(&snapshot("secrets-kms"), &EffectivePolicy::defaults());
    let name = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/missing";
    for control in [ids::SM_KMS, ids::SM_ROTATION] {
        let verdict = seen(&results, name, control);
        assert!(
            matches!(&verdict, Seen::Error(m) if m.contains("missing IAM permission secretsmanager:DescribeSecret")),
            "{verdict:?}"
        );
    }
}

#[test]
fn a_key_pending_deletion_with_rotation_off_fails() {
    let results = evaluate(&snapshot("secrets-kms"), &EffectivePolicy::defaults());
    let verdict = seen(&results, LEGACY_KEY, ids::KMS_ROTATION);
    let Seen::Fail(message) = &verdict else {
        panic!("{verdict:?}")
    };
    assert!(
        message.contains("scheduled for deletion on 2026-12-05"),
        "{message}"
    );
    assert!(message.contains("automatic rotation off"), "{message}");
    assert!(message.contains("alias/legacy"), "{message}");
}

#[test]
fn a_disabled_key_or_a_pending_replica_deletion_fails() {
    for state in [KeyState::Disabled, KeyState::PendingReplicaDeletion] {
        let mut snapshot = snapshot("secrets-kms");
        let key = snapshot.kms_keys[0].result.as_mut().unwrap();
        key.key_state = state.clone();
        key.enabled = false;
        let verdict = seen(
            &evaluate(&snapshot, &EffectivePolicy::defaults()),
            PROD_KEY,
            ids::KMS_ROTATION,
        );
        assert!(matches!(&verdict, Seen::Fail(_)), "{state}: {verdict:?}");
    }
}

#[test]
fn rotation_status_that_could_not_be_read_is_an_error() {
    let mut snapshot = snapshot("secrets-kms");
    snapshot.kms_keys[0]
        .result
        .as_mut()
        .unwrap()
        .rotation_enabled =
        Err(LookupError::new("AccessDeniedException", "denied")
            .with_action("kms:GetKeyRotationStatus"));
    let verdict = seen(
        &evaluate(&snapshot, &EffectivePolicy::defaults()),
        PROD_KEY,
        ids::KMS_ROTATION,
    );
    assert!(
        matches!(&verdict, Seen::Error(m) if m.contains("kms:GetKeyRotationStatus")),
        "{verdict:?}"
    );
}

#[test]
fn one_key_looked_up_under_two_names_is_judged_once() {
    let mut snapshot = snapshot("secrets-kms");
    let mut again = snapshot.kms_keys[0].clone();
    again.requested = format!("arn:aws:kms:us-east-1:111122223333:key/{PROD_KEY}");
    snapshot.kms_keys.push(again);
    let results = evaluate(&snapshot, &EffectivePolicy::defaults());
    assert_eq!(
        results
            .iter()
            .filter(|r| r.resource.name == PROD_KEY)
            .count(),
        1
    );
}

#[test]
fn expired_exceptions_and_exceptions_for_namespaces_do_not_waive() {
    let results = evaluate(&snapshot("secrets-kms"), &fixture_policy());
    // Exception 1 names the key by alias but expired on 2026-06-30.
    assert!(matches!(
        seen(&results, LEGACY_KEY, ids::KMS_ROTATION),
        Seen::Fail(_)
    ));
    // Exception 2 lists namespaces; AWS resources have none.
    assert!(matches!(
        seen(&results, "prod/api-key", ids::SM_KMS),
        Seen::Fail(_)
    ));
    // Exception 3 is active until 2026-12-05.
    assert!(matches!(
        seen(&results, "prod/legacy", ids::SM_ROTATION),
        Seen::Excepted(_)
    ));
}

#[test]
fn an_active_exception_can_name_a_key_by_its_alias() {
    let mut policy = fixture_policy();
    policy.exceptions[1].exception.expires = Time(Timestamp::from_second(1_830_297_600).unwrap()); // 2028-01-01
    let results = evaluate(&snapshot("secrets-kms"), &policy);
    assert!(matches!(
        seen(&results, LEGACY_KEY, ids::KMS_ROTATION),
        Seen::Excepted(_)
    ));
}

#[test]
fn the_keys_to_look_up_are_those_the_resources_use() {
    let mut snapshot = snapshot("secrets-kms");
    snapshot.kms_keys.clear();
    let eks = common::aws::snapshot("eks");
    snapshot.eks = eks.eks;
    let references = kms_key_references(&snapshot);
    let identifiers: Vec<&str> = references.iter().map(|r| r.identifier.as_str()).collect();
    assert_eq!(
        identifiers,
        [
            "arn:aws:kms:us-east-1:111122223333:key/0a1b2c3d-1111-2222-3333-444455556666",
            "alias/prod-secrets",
            "arn:aws:kms:us-east-1:111122223333:key/9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff",
        ]
    );
    assert_eq!(references[0].used_by[0].to_string(), "EKSCluster prod");
    assert_eq!(
        references[1].used_by[0].to_string(),
        "SecretsManagerSecret prod/db"
    );
}
