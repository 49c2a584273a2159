//! The S3 controls over the `stores` fixture: a compliant and a non-compliant bucket, a bucket
//! whose policy could not be read (only the controls that read it Error), allowSseS3, and an
//! exception that names a bucket by its ARN.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::aws::{Seen, errs_with, evaluate, fails_with, seen, snapshot};
use common::defaults_with;
use hipaa_controls::aws::AwsSnapshot;
use hipaa_controls::catalog::ids;
use hipaa_controls::policy::EffectivePolicy;

fn defaults() -> EffectivePolicy {
    EffectivePolicy::defaults()
}

const S3: [&str; 4] = [
    ids::S3_ENCRYPTION,
    ids::S3_TLS,
    ids::S3_PUBLIC,
    ids::S3_VERSIONING,
];

#[test]
fn a_compliant_bucket_passes_every_s3_control() {
    let results = evaluate(&snapshot("stores"), &defaults());
    for id in S3 {
        assert_eq!(seen(&results, "phi-records", id), Seen::Pass, "{id}");
    }
}

#[test]
fn a_non_compliant_bucket_fails_every_s3_control_and_says_why() {
    let results = evaluate(&snapshot("stores"), &defaults());
    let bucket = "phi-exports";
    fails_with(
        &seen(&results, bucket, ids::S3_ENCRYPTION),
        &["phi-exports", "SSE-S3", "allowSseS3"],
    );
    // The Deny covers the objects but not the bucket itself.
    fails_with(
        &seen(&results, bucket, ids::S3_TLS),
        &["does not deny requests without TLS", "aws:SecureTransport"],
    );
    fails_with(
        &seen(&results, bucket, ids::S3_PUBLIC),
        &[
            "no Block Public Access configuration",
            "AllUsers:READ",
            "statement PublicRead",
        ],
    );
    fails_with(
        &seen(&results, bucket, ids::S3_VERSIONING),
        &["versioning Suspended", "enable versioning"],
    );
}

#[test]
fn sse_s3_passes_only_with_allow_sse_s3() {
    let policy = defaults_with(ids::S3_ENCRYPTION, |p| p.allow_sse_s3 = true);
    let results = evaluate(&snapshot("stores"), &policy);
    assert_eq!(
        seen(&results, "phi-exports", ids::S3_ENCRYPTION),
        Seen::Pass
    );
    let mut no_rule = snapshot("stores");
    bucket_mut(&mut no_rule, "phi-exports").encryption = Ok(None);
    let verdict = seen(
        &evaluate(&no_rule, &policy),
        "phi-exports",
        ids::S3_ENCRYPTION,
    );
    fails_with(&verdict, &["no default encryption rule"]);
}

#[test]
fn a_bucket_without_policy_accepts_plain_transport() {
    let mut snapshot = snapshot("stores");
    bucket_mut(&mut snapshot, "phi-records").policy = Ok(None);
    let results = evaluate(&snapshot, &defaults());
    fails_with(
        &seen(&results, "phi-records", ids::S3_TLS),
        &["no bucket policy"],
    );
    assert_eq!(seen(&results, "phi-records", ids::S3_PUBLIC), Seen::Pass);
}

#[test]
fn an_unreadable_policy_errs_only_the_controls_that_read_it() {
    let results = evaluate(&snapshot("stores"), &defaults());
    let bucket = "phi-archive";
    errs_with(
        &seen(&results, bucket, ids::S3_TLS),
        "missing IAM permission s3:GetBucketPolicy",
    );
    errs_with(
        &seen(&results, bucket, ids::S3_PUBLIC),
        "s3:GetBucketPolicy",
    );
    assert_eq!(seen(&results, bucket, ids::S3_ENCRYPTION), Seen::Pass);
    // Versioning could not be read, but Object Lock keeps versions anyway.
    assert_eq!(seen(&results, bucket, ids::S3_VERSIONING), Seen::Pass);
}

#[test]
fn a_definite_public_grant_outranks_an_unreadable_setting() {
    let mut snapshot = snapshot("stores");
    let bucket = bucket_mut(&mut snapshot, "phi-archive");
    bucket.public_acl_grants = Ok(vec!["AuthenticatedUsers:WRITE".into()]);
    fails_with(
        &seen(
            &evaluate(&snapshot, &defaults()),
            "phi-archive",
            ids::S3_PUBLIC,
        ),
        &["AuthenticatedUsers:WRITE"],
    );
}

#[test]
fn a_bucket_that_could_not_be_looked_up_errs_every_s3_control() {
    let results = evaluate(&snapshot("stores"), &defaults());
    for id in S3 {
        errs_with(&seen(&results, "phi-gone", id), "NoSuchBucket");
    }
}

#[test]
fn an_exception_may_name_a_bucket_by_its_arn() {
    let policy = EffectivePolicy::from_policy(&common::policy(
        r#"
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: stores}
spec:
  namespaceSelector:
    matchLabels: {hipaaguard.io/phi: "true"}
  exceptions:
    - controls: [HIPAA-S3-VERSIONING]
      match: {kinds: [S3Bucket], names: ["arn:aws:s3:::phi-exports"]}
      justification: "Write-once exports; compensating control: replication"
      approvedBy: security@example.com
      expires: "2027-06-30T00:00:00Z"
"#,
    ))
    .unwrap();
    let results = evaluate(&snapshot("stores"), &policy);
    assert!(matches!(
        seen(&results, "phi-exports", ids::S3_VERSIONING),
        Seen::Excepted(_)
    ));
    assert!(matches!(
        seen(&results, "phi-exports", ids::S3_ENCRYPTION),
        Seen::Fail(_)
    ));
}

#[test]
fn a_disabled_control_is_not_checked_on_stores() {
    let mut policy = defaults();
    policy.controls.remove(ids::S3_PUBLIC);
    let results = evaluate(&snapshot("stores"), &policy);
    assert_eq!(
        seen(&results, "phi-exports", ids::S3_PUBLIC),
        Seen::NotChecked
    );
}

fn bucket_mut<'a>(
    snapshot: &'a mut AwsSnapshot,
    name: &str,
) -> &'a mut hipaa_controls::aws::S3Bucket {
    snapshot
        .s3_buckets
        .iter_mut()
        .find(|b| b.requested == name)
        .unwrap()
        .result
        .as_mut()
        .unwrap()
}
