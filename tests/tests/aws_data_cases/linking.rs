//! Issue 19's account, end to end through the collector and the audit, on a moto of its own (a
//! role with `s3:*` on `*` reaches every bucket moto holds, so no other test's may be there):
//! two IRSA and Pod Identity roles (least privilege, and `s3:*` on `*`), a compliant and a
//! non-compliant S3 bucket, RDS instance and DynamoDB table, two ALBs for two Ingresses, two EFS
//! file systems behind two claims, and a compliant account. The status shows exactly the expected
//! failures and links; fixing a bucket in moto turns it to Pass at the next cycle; an AccessDenied
//! on one bucket's call is an Error of that bucket only.

use std::net::Ipv4Addr;

use chrono::{Duration, Utc};
use hipaa_controls::model::Outcome;
use hipaa_crds::AwsResourceStatus;
use hipaa_operator::aws::AwsCollector;
use hipaa_testkit::Moto;

use super::story::{Story, failing, status_of};
use crate::aws_support::{FaultKind, FaultProxy, audited, settings, snapshot};

#[tokio::test]
async fn each_workload_reaches_its_stores_and_each_store_is_judged() {
    let moto = Moto::start_on(Ipv4Addr::LOCALHOST).await.unwrap();
    let story = Story::seed(&moto).await;
    let proxy = FaultProxy::start(moto.endpoint()).await.unwrap();
    story.serve_pod_identity(&proxy);
    let config = moto
        .sdk_config()
        .await
        .into_builder()
        .endpoint_url(proxy.endpoint())
        .build();
    let collector = AwsCollector::with_config(settings(), config);
    let (policy, observation) = (story.policy(), story.observation());

    let now = Utc::now();
    let first = snapshot(&collector, &policy, &observation, now).await;
    let audit = audited(&policy, &observation, &first, now);
    let statuses = &audit.status.aws_resources;
    let expected: &[(&str, &str, &[&str])] = &[
        ("IAMRole", &story.least_role_arn, &[]),
        (
            "IAMRole",
            &story.wide_role_arn,
            &[
                "HIPAA-IAM-DATA-WILDCARD-ACTION",
                "HIPAA-IAM-DATA-WILDCARD-RESOURCE",
            ],
        ),
        ("S3Bucket", &story.safe_bucket, &[]),
        ("S3Bucket", &story.trail_bucket, &[]),
        (
            "S3Bucket",
            &story.open_bucket,
            &[
                "HIPAA-S3-ENCRYPTION",
                "HIPAA-S3-TLS",
                "HIPAA-S3-PUBLIC",
                "HIPAA-S3-VERSIONING",
            ],
        ),
        ("RDSInstance", &story.safe_db, &[]),
        (
            "RDSInstance",
            &story.open_db,
            &[
                "HIPAA-RDS-ENCRYPTION",
                "HIPAA-RDS-BACKUP",
                "HIPAA-RDS-MULTI-AZ",
                "HIPAA-RDS-TLS",
                "HIPAA-RDS-PUBLIC",
            ],
        ),
        ("DynamoDBTable", &story.safe_table, &[]),
        (
            "DynamoDBTable",
            &story.open_table,
            &["HIPAA-DYNAMODB-KMS", "HIPAA-DYNAMODB-PITR"],
        ),
        ("ALB", &story.safe_alb, &[]),
        ("ALB", &story.open_alb, &["HIPAA-ALB-TLS"]),
        ("EFSFileSystem", &story.safe_fs, &[]),
        ("EFSFileSystem", &story.open_fs, &["HIPAA-EFS-ENCRYPTION"]),
        ("AWSAccount", "us-east-1", &[]),
    ];
    for (kind, name, failed) in expected {
        let status = status_of(statuses, kind, name);
        let messages: Vec<_> = audit
            .evaluations
            .iter()
            .filter(|e| e.resource.kind == *kind && e.resource.name == *name)
            .flat_map(|e| &e.evaluation.findings)
            .map(|f| format!("{} {:?}: {}", f.control.id, f.outcome, f.message))
            .collect();
        assert_eq!(&failing(status), failed, "{kind} {name}: {messages:#?}");
    }
    let data_kinds = [
        "IAMRole",
        "S3Bucket",
        "RDSInstance",
        "RDSCluster",
        "DynamoDBTable",
        "ALB",
        "EFSFileSystem",
        "AWSAccount",
    ];
    let linked: Vec<_> = statuses
        .iter()
        .filter(|s| data_kinds.contains(&s.kind.as_str()))
        .collect();
    assert_eq!(
        linked.len(),
        expected.len(),
        "nothing else is linked: {linked:#?}"
    );

    // Who reaches what, and by which role and binding.
    let paths = |status: &AwsResourceStatus| -> Vec<String> {
        status
            .linked_by
            .iter()
            .map(|l| {
                format!(
                    "{}/{} {} {}",
                    l.kind,
                    l.name,
                    l.role.as_deref().unwrap_or("-"),
                    l.via
                )
            })
            .collect()
    };
    assert_eq!(
        paths(status_of(statuses, "S3Bucket", &story.safe_bucket)),
        vec![
            format!("Deployment/api {} IRSA", story.least_role_arn),
            format!("Deployment/export {} PodIdentity", story.wide_role_arn),
        ]
    );
    assert_eq!(
        paths(status_of(statuses, "S3Bucket", &story.open_bucket)),
        vec![format!(
            "Deployment/export {} PodIdentity",
            story.wide_role_arn
        )],
        "only the wide role reaches the open bucket"
    );
    assert_eq!(
        paths(status_of(statuses, "RDSInstance", &story.safe_db)),
        vec![format!("Deployment/api {} IRSA", story.least_role_arn)],
    );
    assert_eq!(
        paths(status_of(statuses, "ALB", &story.safe_alb)),
        vec!["Ingress/web - Ingress".to_string()]
    );
    assert_eq!(
        paths(status_of(statuses, "ALB", &story.open_alb)),
        vec!["Ingress/legacy - Ingress".to_string()]
    );
    assert_eq!(
        paths(status_of(statuses, "EFSFileSystem", &story.open_fs)),
        vec!["PersistentVolumeClaim/scratch - Volume".to_string()]
    );

    // Fixed in AWS: at the next cycle the bucket's encryption passes, and nothing is asked again
    // within the interval.
    story.encrypt_open_bucket().await;
    let calls = proxy.calls().len();
    let within = snapshot(
        &collector,
        &policy,
        &observation,
        now + Duration::seconds(10),
    )
    .await;
    assert_eq!(
        proxy.calls().len(),
        calls,
        "a cached snapshot within the interval"
    );
    assert!(std::sync::Arc::ptr_eq(&within, &first));
    let later = now + Duration::minutes(11);
    let next = snapshot(&collector, &policy, &observation, later).await;
    let audit = audited(&policy, &observation, &next, later);
    let open = status_of(&audit.status.aws_resources, "S3Bucket", &story.open_bucket);
    assert!(!failing(open).contains(&"HIPAA-S3-ENCRYPTION"), "{open:#?}");

    // A missing permission on one bucket's call: that bucket's control is an Error, the other
    // bucket's is judged.
    proxy.fail_on(
        "GetBucketEncryption",
        &story.safe_bucket,
        FaultKind::AccessDenied,
        10,
    );
    let later = later + Duration::minutes(11);
    let faulted = snapshot(&collector, &policy, &observation, later).await;
    let audit = audited(&policy, &observation, &faulted, later);
    let errors: Vec<_> = audit
        .evaluations
        .iter()
        .flat_map(|e| &e.evaluation.findings)
        .filter(|f| f.control.id == "HIPAA-S3-ENCRYPTION" && f.outcome == Outcome::Error)
        .map(|f| (f.resource.name.clone(), f.message.clone()))
        .collect();
    let [(bucket, message)] = errors.as_slice() else {
        panic!("{errors:#?}")
    };
    assert_eq!(bucket, &story.safe_bucket);
    assert!(
        message.contains("missing IAM permission s3:GetEncryptionConfiguration"),
        "{message}"
    );
    let open = status_of(&audit.status.aws_resources, "S3Bucket", &story.open_bucket);
    assert!(
        !failing(open).contains(&"HIPAA-S3-ENCRYPTION"),
        "the other bucket is judged: {open:#?}"
    );
}
