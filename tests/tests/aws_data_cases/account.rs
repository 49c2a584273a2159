//! The account's safeguards, in a region no other test uses: first nothing (no trail, no log
//! group, no detector, EBS encryption by default off), then a multi-region trail that logs with
//! log-file validation beside a regional one that does not, the cluster's log group with a
//! retention, a detector with EKS audit logs, and EBS encryption by default.

use hipaa_controls::aws::{Detector, LogGroup};
use hipaa_operator::aws::fetch::account::posture;
use hipaa_operator::aws::wire::services::{CLOUDTRAIL, EC2, GUARDDUTY, LOGS};
use serde_json::json;

use super::seed::{DataSeed, clients};
use crate::aws_support::unique;

const REGION: &str = "eu-west-3";

#[tokio::test]
async fn account_safeguards_are_read_as_seeded() {
    let seed = DataSeed::new().await;
    let cluster = unique("prod");
    let clients = clients(None).await;
    let before = posture(&clients, REGION, Some(&cluster)).await;
    assert_eq!(before.region, REGION);
    assert_eq!(before.trails, Ok(vec![]));
    assert_eq!(before.eks_log_group, Some(Ok(None)));
    assert_eq!(before.guardduty, Ok(vec![]));
    assert_eq!(before.ebs_encryption_by_default, Ok(false));
    assert_eq!(posture(&clients, REGION, None).await.eks_log_group, None);

    let bucket = unique("trail-logs");
    seed.s3
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let (all, local) = (unique("org-trail"), unique("local-trail"));
    let trail = |name: &str, wide: bool| json!({"Name": name, "S3BucketName": bucket, "IsMultiRegionTrail": wide, "EnableLogFileValidation": wide});
    seed.json(REGION, &CLOUDTRAIL, "CreateTrail", trail(&all, true))
        .await;
    seed.json(REGION, &CLOUDTRAIL, "CreateTrail", trail(&local, false))
        .await;
    seed.json(REGION, &CLOUDTRAIL, "StartLogging", json!({"Name": all}))
        .await;
    let group = format!("/aws/eks/{cluster}/cluster");
    seed.json(
        REGION,
        &LOGS,
        "CreateLogGroup",
        json!({"logGroupName": group}),
    )
    .await;
    seed.json(
        REGION,
        &LOGS,
        "PutRetentionPolicy",
        json!({"logGroupName": group, "retentionInDays": 365}),
    )
    .await;
    seed.json(
        REGION,
        &LOGS,
        "CreateLogGroup",
        json!({"logGroupName": format!("{group}-other")}),
    )
    .await;
    let features = json!([{"name": "EKS_AUDIT_LOGS", "status": "ENABLED"}, {"name": "RUNTIME_MONITORING", "status": "DISABLED"}]);
    let created = seed
        .rest(
            REGION,
            &GUARDDUTY,
            "POST",
            "/detector",
            json!({"enable": true, "features": features}),
        )
        .await;
    let detector = created["detectorId"].as_str().unwrap().to_string();
    seed.query(REGION, &EC2, "EnableEbsEncryptionByDefault", &[])
        .await;

    let after = posture(&clients, REGION, Some(&cluster)).await;
    let mut trails = after.trails.unwrap();
    trails.sort_by(|a, b| a.name.cmp(&b.name));
    let [local_trail, org_trail] = trails.as_slice() else {
        panic!("{trails:#?}")
    };
    assert_eq!(org_trail.name, all);
    assert!(
        org_trail
            .arn
            .as_deref()
            .is_some_and(|arn| arn.ends_with(&format!(":trail/{all}")))
    );
    assert_eq!(org_trail.home_region.as_deref(), Some(REGION));
    assert!(org_trail.multi_region && org_trail.log_file_validation);
    assert_eq!(org_trail.is_logging, Ok(true));
    assert_eq!(local_trail.name, local);
    assert!(!local_trail.multi_region && !local_trail.log_file_validation);
    assert_eq!(local_trail.is_logging, Ok(false));
    assert_eq!(
        after.eks_log_group,
        Some(Ok(Some(LogGroup {
            name: group,
            retention_days: Some(365)
        })))
    );
    assert_eq!(
        after.guardduty,
        Ok(vec![Detector {
            id: detector,
            status: "ENABLED".into(),
            eks_audit_logs: Some(true),
            eks_runtime_monitoring: Some(false),
        }])
    );
    assert_eq!(after.ebs_encryption_by_default, Ok(true));
}
