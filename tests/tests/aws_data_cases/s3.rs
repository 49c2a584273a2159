//! S3 buckets: a hardened bucket (SSE-KMS, a policy denying insecure transport, Block Public
//! Access, versioning and Object Lock) and an open one (no encryption rule, no policy, no block,
//! a public-read ACL, never versioned); the fetcher reads each setting as seeded, and "not
//! configured" as a value, not an error.

use aws_sdk_s3::types::{
    BucketCannedAcl, BucketVersioningStatus, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    VersioningConfiguration,
};
use hipaa_controls::aws::{BucketEncryption, PolicyDocument, PublicAccessBlock};
use hipaa_operator::aws::fetch::s3::{bucket, list_buckets};

use super::seed::{DataSeed, proxied};
use crate::aws_support::{REGION, unique};

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";

pub(super) fn deny_insecure(bucket: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"TlsOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::{bucket}","arn:aws:s3:::{bucket}/*"],"Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}}]}}"#
    )
}

/// SSE-KMS with `key`, a policy denying requests without TLS, Block Public Access, versioning
/// and Object Lock (shared with the linking scenario's story).
pub(super) async fn hardened(seed: &DataSeed, name: &str, key: &str) {
    let s3 = &seed.s3;
    s3.create_bucket()
        .bucket(name)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    encrypt(seed, name, key).await;
    s3.put_bucket_policy()
        .bucket(name)
        .policy(deny_insecure(name))
        .send()
        .await
        .unwrap();
    let block = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    s3.put_public_access_block()
        .bucket(name)
        .public_access_block_configuration(block)
        .send()
        .await
        .unwrap();
    s3.put_bucket_versioning()
        .bucket(name)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// The bucket's default encryption: SSE-KMS with `key`.
pub(super) async fn encrypt(seed: &DataSeed, name: &str, key: &str) {
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::AwsKms)
                .kms_master_key_id(key)
                .build()
                .unwrap(),
        )
        .build();
    seed.s3
        .put_bucket_encryption()
        .bucket(name)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn buckets_report_each_setting_as_seeded() {
    let seed = DataSeed::new().await;
    let (safe, open) = (unique("safe"), unique("open"));
    hardened(&seed, &safe, KEY).await;
    seed.s3
        .create_bucket()
        .bucket(&open)
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();

    // Through the proxy, which repairs moto's GetBucketVersioning answer (see protocols.rs).
    let (_proxy, clients) = proxied().await;
    let names = list_buckets(&clients, REGION).await.unwrap();
    assert!(names.contains(&safe) && names.contains(&open), "{names:?}");

    let found = bucket(&clients, REGION, &safe).await;
    assert_eq!(found.arn, format!("arn:aws:s3:::{safe}"));
    assert_eq!(found.region.as_deref(), Some(REGION));
    assert_eq!(
        found.encryption,
        Ok(Some(BucketEncryption {
            algorithm: "aws:kms".into(),
            kms_key_id: Some(KEY.into())
        }))
    );
    assert_eq!(
        found.policy,
        Ok(Some(PolicyDocument::parse(&deny_insecure(&safe)).unwrap()))
    );
    assert_eq!(
        found.public_access_block,
        Ok(Some(PublicAccessBlock {
            block_public_acls: true,
            ignore_public_acls: true,
            block_public_policy: true,
            restrict_public_buckets: true,
        }))
    );
    assert_eq!(found.public_acl_grants, Ok(vec![]));
    assert_eq!(found.versioning, Ok(Some("Enabled".to_string())));
    assert_eq!(found.object_lock, Ok(true));

    let found = bucket(&clients, REGION, &open).await;
    assert_eq!(found.policy, Ok(None));
    assert_eq!(found.public_access_block, Ok(None));
    assert_eq!(
        found.public_acl_grants,
        Ok(vec!["AllUsers:READ".to_string()])
    );
    assert_eq!(found.versioning, Ok(None));
    assert_eq!(found.object_lock, Ok(false));
    // Since 2023 S3 encrypts every new bucket with SSE-S3; moto 5.2.5 reports no rule at all.
    match &found.encryption {
        Ok(None) => {}
        Ok(Some(rule)) => assert_eq!(rule.algorithm, "AES256"),
        Err(error) => panic!("{error}"),
    }
}
