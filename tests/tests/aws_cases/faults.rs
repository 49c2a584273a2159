//! Faults injected by the loopback proxy: a missing IAM permission and throttling make the
//! controls that needed the lookup report Error (never Pass) with the AWS error code, the SDK
//! retries throttled calls with backoff, and a later refresh recovers.

use chrono::{Duration, Utc};
use hipaa_crds::ControlResult;
use hipaa_testkit::moto;

use hipaa_operator::aws::call_metrics::Outcome;

use crate::aws_support::*;

#[tokio::test]
async fn access_denied_on_scan_findings_is_an_error_naming_the_permission_until_the_next_cycle() {
    let moto = moto().await.unwrap();
    let seed = Seed::new(moto).await;
    let name = unique("fault-denied");
    seed.repository(&name, RepositorySpec::hardened(None)).await;
    seed.scanned_image(&name, "v1").await;
    let (proxy, collector) = proxied_collector().await;
    proxy.fail("DescribeImageScanFindings", FaultKind::AccessDenied, 1);
    let policy = policy(&format!("{{region: {REGION}}}"), "");
    let observation = observation(vec![deployment("api", &ecr_image(&name, "v1"))]);
    let now = Utc::now();
    let audit = collect_and_audit(&collector, &policy, &observation, now).await;
    assert_eq!(result(&audit, "HIPAA-ECR-SCAN"), ControlResult::Error);
    let [message] = errors(&audit, "HIPAA-ECR-SCAN").try_into().unwrap();
    assert!(
        message.starts_with(&format!(
            "cannot evaluate ECR repository {name}: image {name}:v1: AccessDeniedException: User: "
        )) && message.ends_with("(missing IAM permission ecr:DescribeImageScanFindings)"),
        "{message}"
    );
    let control = audit
        .status
        .controls
        .iter()
        .find(|c| c.id == "HIPAA-ECR-SCAN")
        .unwrap();
    assert!(
        control
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("AccessDeniedException")
    );
    assert!(audit.status.summary.as_ref().unwrap().score < 100);
    // The operator's metrics count the refused attempt as such.
    let metrics = collector.call_metrics();
    let denied = metrics.attempts("ECR", "DescribeImageScanFindings", Outcome::AccessDenied);
    assert_eq!(denied, 1);

    // Within the interval the failure is kept (no retry storm)...
    let calls = proxy.calls().len();
    let again = collect_and_audit(
        &collector,
        &policy,
        &observation,
        now + Duration::seconds(10),
    )
    .await;
    assert_eq!(result(&again, "HIPAA-ECR-SCAN"), ControlResult::Error);
    assert_eq!(proxy.calls().len(), calls);
    // ...and the next refresh recovers.
    let later = collect_and_audit(
        &collector,
        &policy,
        &observation,
        now + Duration::minutes(11),
    )
    .await;
    assert_eq!(
        result(&later, "HIPAA-ECR-SCAN"),
        ControlResult::Pass,
        "{:?}",
        findings(&later, "HIPAA-ECR-SCAN")
    );
}

#[tokio::test]
async fn access_denied_on_the_cluster_errors_every_eks_control_and_is_retried_after_30_seconds() {
    let moto = moto().await.unwrap();
    let seed = Seed::new(moto).await;
    let name = unique("fault-eks");
    let (_, key_arn) = seed.key(true).await;
    seed.cluster(&name, ClusterSpec::hardened(&key_arn)).await;
    let (proxy, collector) = proxied_collector().await;
    proxy.fail("DescribeCluster", FaultKind::AccessDenied, 1);
    let policy = policy(&format!("{{region: {REGION}, eksClusterName: {name}}}"), "");
    let observation = observation(vec![]);
    let now = Utc::now();
    let audit = collect_and_audit(&collector, &policy, &observation, now).await;
    for id in [
        "HIPAA-EKS-SECRETS-KMS",
        "HIPAA-EKS-AUDIT-LOGGING",
        "HIPAA-EKS-ENDPOINT",
        "HIPAA-EKS-VERSION",
        "HIPAA-EKS-ACCESS-ADMIN",
        "HIPAA-EKS-AUTH-MODE",
    ] {
        assert_eq!(result(&audit, id), ControlResult::Error, "{id}");
        let [message] = errors(&audit, id).try_into().unwrap();
        assert!(
            message.starts_with(&format!(
                "cannot evaluate EKS cluster {name}: AccessDeniedException: "
            )) && message.ends_with("(missing IAM permission eks:DescribeCluster)"),
            "{message}"
        );
    }
    let cluster = audit
        .status
        .aws_resources
        .iter()
        .find(|r| r.name == name)
        .unwrap();
    assert_eq!(cluster.result, ControlResult::Error);
    let retried = collect_and_audit(
        &collector,
        &policy,
        &observation,
        now + Duration::seconds(31),
    )
    .await;
    assert_eq!(
        result(&retried, "HIPAA-EKS-SECRETS-KMS"),
        ControlResult::Pass
    );
    assert_eq!(proxy.count("DescribeCluster", &name), 2);
}

#[tokio::test]
async fn throttled_calls_are_retried_with_backoff_and_persistent_throttling_is_an_error() {
    let moto = moto().await.unwrap();
    let seed = Seed::new(moto).await;
    let (_, key_arn) = seed.key(true).await;
    let name = unique("fault-throttled");
    seed.secret(&name, Some(&key_arn)).await;
    let (proxy, collector) = proxied_collector().await;
    let policy = policy(&format!("{{region: {REGION}, secrets: [{name}]}}"), "");
    let observation = observation(vec![]);
    let now = Utc::now();

    // Fewer throttles than attempts: the SDK's retries absorb them.
    proxy.fail("DescribeSecret", FaultKind::Throttling, 2);
    let audit = collect_and_audit(&collector, &policy, &observation, now).await;
    assert_eq!(
        result(&audit, "HIPAA-SM-KMS"),
        ControlResult::Pass,
        "{:?}",
        findings(&audit, "HIPAA-SM-KMS")
    );
    assert_eq!(
        proxy.count("DescribeSecret", &name),
        3,
        "two throttled attempts, then the answer"
    );
    // The operator's metrics show the throttling the retries absorbed.
    let attempts = |outcome| {
        collector
            .call_metrics()
            .attempts("Secrets Manager", "DescribeSecret", outcome)
    };
    assert_eq!(
        (attempts(Outcome::Throttled), attempts(Outcome::Success)),
        (2, 1)
    );

    // As many throttles as attempts: the lookup fails, and both secret controls say why.
    proxy.fail(
        "DescribeSecret",
        FaultKind::Throttling,
        MAX_ATTEMPTS as usize,
    );
    let next_cycle = now + Duration::minutes(11);
    let audit = collect_and_audit(&collector, &policy, &observation, next_cycle).await;
    for id in ["HIPAA-SM-KMS", "HIPAA-SM-ROTATION"] {
        assert_eq!(result(&audit, id), ControlResult::Error, "{id}");
        let [message] = errors(&audit, id).try_into().unwrap();
        assert_eq!(
            message,
            format!(
                "cannot evaluate Secrets Manager secret {name}: ThrottlingException: Rate exceeded (calling secretsmanager:DescribeSecret)"
            )
        );
    }
    let recovered = collect_and_audit(
        &collector,
        &policy,
        &observation,
        next_cycle + Duration::minutes(11),
    )
    .await;
    assert_eq!(result(&recovered, "HIPAA-SM-KMS"), ControlResult::Pass);
}
