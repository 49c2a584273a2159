//! Secrets Manager and KMS: DescribeSecret mapped and judged on its key and rotation, and the
//! keys the secrets use judged on rotation and deletion.

use chrono::{Duration, Utc};
use hipaa_crds::ControlResult;
use hipaa_testkit::moto;

use crate::aws_support::*;

#[tokio::test]
async fn a_secret_on_the_default_key_without_rotation_fails_both_secret_controls() {
    let moto = moto().await.unwrap();
    let seed = Seed::new(moto).await;
    let name = unique("sm-plain");
    seed.secret(&name, None).await;
    let collector = collector(moto.endpoint()).await;
    let policy = policy(&format!("{{region: {REGION}, secrets: [{name}]}}"), "");
    let audit = collect_and_audit(&collector, &policy, &observation(vec![]), Utc::now()).await;
    assert_eq!(
        failures(&audit, "HIPAA-SM-KMS"),
        [format!(
            "Secrets Manager secret {name} is encrypted with the AWS-managed default key alias/aws/secretsmanager, not a customer-managed key"
        )]
    );
    assert_eq!(
        failures(&audit, "HIPAA-SM-ROTATION"),
        [format!("Secrets Manager secret {name} has rotation off")]
    );
    // No key is linked: KMS rotation has nothing to judge.
    assert_eq!(
        result(&audit, "HIPAA-KMS-ROTATION"),
        ControlResult::NotEvaluated
    );
}

#[tokio::test]
async fn a_rotated_secret_on_a_customer_key_passes_and_its_rotation_age_is_judged() {
    let moto = moto().await.unwrap();
    let seed = Seed::new(moto).await;
    let (_, key_arn) = seed.key(true).await;
    let name = unique("sm-rotated");
    seed.secret(&name, Some(&key_arn)).await;
    seed.rotate(&name, 30).await;
    let collector = collector(moto.endpoint()).await;
    let policy = policy(
        &format!("{{region: {REGION}, secrets: [{name}]}}"),
        "[{id: HIPAA-SM-ROTATION, parameters: {maxAgeDays: 90}}]",
    );
    let observation = observation(vec![]);
    let now = Utc::now();
    let snapshot = snapshot(&collector, &policy, &observation, now).await;

    // The collector's mapping of DescribeSecret.
    let secret = snapshot.secrets[0].result.as_ref().unwrap();
    assert_eq!(secret.kms_key_id.as_deref(), Some(key_arn.as_str()));
    assert!(secret.rotation_enabled);
    assert_eq!(secret.rotation_days, Some(30));
    let rotated = secret
        .last_rotated
        .expect("RotateSecret sets LastRotatedDate");
    assert!(
        (now - rotated).num_minutes().abs() < 5,
        "{rotated} vs {now}"
    );

    let audit = audited(&policy, &observation, &snapshot, now);
    for id in ["HIPAA-SM-KMS", "HIPAA-SM-ROTATION", "HIPAA-KMS-ROTATION"] {
        assert_eq!(
            result(&audit, id),
            ControlResult::Pass,
            "{id}: {:?}",
            findings(&audit, id)
        );
    }

    // Moto cannot backdate a rotation: the same secret, last rotated 200 days ago.
    let mut old = (*snapshot).clone();
    if let Ok(secret) = &mut old.secrets[0].result {
        secret.last_rotated = Some(now - Duration::days(200));
    }
    let audit = audited(&policy, &observation, &old, now);
    assert_eq!(
        failures(&audit, "HIPAA-SM-ROTATION"),
        [format!(
            "Secrets Manager secret {name} was last rotated 200 days ago, more than maxAgeDays 90"
        )]
    );
}

#[tokio::test]
async fn keys_without_rotation_or_pending_deletion_fail_kms_rotation() {
    let moto = moto().await.unwrap();
    let seed = Seed::new(moto).await;
    let (static_id, static_arn) = seed.key(false).await;
    let (doomed_id, doomed_arn) = seed.key(true).await;
    let static_secret = unique("sm-static-key");
    let doomed_secret = unique("sm-doomed-key");
    seed.secret(&static_secret, Some(&static_arn)).await;
    seed.secret(&doomed_secret, Some(&doomed_arn)).await;
    seed.schedule_deletion(&doomed_id).await;
    let collector = collector(moto.endpoint()).await;
    let policy = policy(
        &format!("{{region: {REGION}, secrets: [{static_secret}, {doomed_secret}]}}"),
        "",
    );
    let audit = collect_and_audit(&collector, &policy, &observation(vec![]), Utc::now()).await;
    let mut messages = failures(&audit, "HIPAA-KMS-ROTATION");
    messages.sort();
    let deletion = (Utc::now() + Duration::days(7)).format("%Y-%m-%d");
    let mut expected = [
        format!("KMS key {static_id} has automatic rotation off"),
        format!("KMS key {doomed_id} is scheduled for deletion on {deletion} (PendingDeletion)"),
    ];
    expected.sort();
    assert_eq!(messages, expected);
    assert_eq!(result(&audit, "HIPAA-SM-KMS"), ControlResult::Pass);
}
