//! EKS: DescribeCluster mapped and judged: a customer key for secrets, audit logging, endpoint
//! access, version and authentication mode (moto 5.2.5 reports no `accessConfig`: the fault
//! proxy adds it; cluster administrators are in `eks_access.rs`).

use aws_sdk_eks::types::LogType;
use chrono::Utc;
use hipaa_crds::ControlResult;
use hipaa_testkit::moto;

use hipaa_operator::aws::AwsCollector;

use crate::aws_support::*;

const EKS_CONTROLS: [&str; 6] = [
    "HIPAA-EKS-SECRETS-KMS",
    "HIPAA-EKS-AUDIT-LOGGING",
    "HIPAA-EKS-ENDPOINT",
    "HIPAA-EKS-VERSION",
    "HIPAA-EKS-ACCESS-ADMIN",
    "HIPAA-EKS-AUTH-MODE",
];

/// A collector whose proxy reports `mode` as the cluster's authentication mode, and no entries.
async fn collector_with_mode(cluster: &str, mode: &str) -> (FaultProxy, AwsCollector) {
    let (proxy, collector) = proxied_collector().await;
    proxy.serve_eks_access(EksAccess {
        cluster: cluster.to_string(),
        mode: mode.to_string(),
        entries: Vec::new(),
    });
    (proxy, collector)
}

#[tokio::test]
async fn a_cluster_encrypting_secrets_with_a_customer_key_passes_every_eks_control() {
    let moto = moto().await.unwrap();
    let seed = Seed::new(moto).await;
    let (key_id, key_arn) = seed.key(true).await;
    let name = unique("eks-good");
    seed.cluster(&name, ClusterSpec::hardened(&key_arn)).await;
    let (_proxy, collector) = collector_with_mode(&name, "API").await;
    let policy = policy(&format!("{{region: {REGION}, eksClusterName: {name}}}"), "");
    let audit = collect_and_audit(&collector, &policy, &observation(vec![]), Utc::now()).await;
    for id in EKS_CONTROLS.into_iter().chain(["HIPAA-KMS-ROTATION"]) {
        assert_eq!(
            result(&audit, id),
            ControlResult::Pass,
            "{id}: {:?}",
            findings(&audit, id)
        );
    }
    let resources: Vec<(&str, &str, ControlResult)> = audit
        .status
        .aws_resources
        .iter()
        .map(|r| (r.kind.as_str(), r.name.as_str(), r.result))
        .collect();
    assert!(
        resources.contains(&("EKSCluster", name.as_str(), ControlResult::Pass)),
        "{resources:?}"
    );
    assert!(
        resources.contains(&("KMSKey", key_id.as_str(), ControlResult::Pass)),
        "{resources:?}"
    );
    assert_eq!(audit.status.summary.as_ref().unwrap().score, 100);
}

#[tokio::test]
async fn a_cluster_without_encryption_full_logging_or_a_private_endpoint_fails_each_control() {
    let moto = moto().await.unwrap();
    let seed = Seed::new(moto).await;
    let name = unique("eks-bad");
    seed.cluster(
        &name,
        ClusterSpec {
            secrets_key: None,
            log_types: &[LogType::Api],
            public_cidrs: Some(&["10.0.0.0/8", "0.0.0.0/0"]),
            version: "1.29",
        },
    )
    .await;
    let (_proxy, collector) = collector_with_mode(&name, "CONFIG_MAP").await;
    let policy = policy(&format!("{{region: {REGION}, eksClusterName: {name}}}"), "");
    let audit = collect_and_audit(&collector, &policy, &observation(vec![]), Utc::now()).await;
    assert_eq!(
        failures(&audit, "HIPAA-EKS-AUTH-MODE"),
        [format!(
            "EKS cluster {name} authenticates only through the aws-auth ConfigMap (CONFIG_MAP), not through access entries"
        )]
    );
    // CONFIG_MAP: administrators are in aws-auth, which a collector without a Kubernetes
    // client cannot read.
    let admin_errors = errors(&audit, "HIPAA-EKS-ACCESS-ADMIN");
    assert!(
        admin_errors.len() == 1 && admin_errors[0].contains("NoKubernetesClient"),
        "{admin_errors:?}"
    );
    assert_eq!(
        failures(&audit, "HIPAA-EKS-SECRETS-KMS"),
        [format!(
            "EKS cluster {name} has no encryptionConfig for secrets, so they are encrypted only with the AWS-owned default key"
        )]
    );
    assert_eq!(
        failures(&audit, "HIPAA-EKS-AUDIT-LOGGING"),
        [format!(
            "EKS cluster {name} does not send the control-plane log types audit, authenticator to CloudWatch"
        )]
    );
    assert_eq!(
        failures(&audit, "HIPAA-EKS-ENDPOINT"),
        [format!(
            "EKS cluster {name}: the public endpoint is open to 0.0.0.0/0"
        )]
    );
    assert_eq!(
        failures(&audit, "HIPAA-EKS-VERSION"),
        [format!(
            "EKS cluster {name} runs Kubernetes 1.29, older than minVersion 1.32"
        )]
    );
    let cluster = audit
        .status
        .aws_resources
        .iter()
        .find(|r| r.name == name)
        .unwrap();
    assert_eq!(cluster.result, ControlResult::Fail);
    assert_eq!(cluster.failed_controls, EKS_CONTROLS);
    let summary = audit.status.summary.as_ref().unwrap();
    assert_eq!(summary.violations, 5, "{summary:?}");
    assert!(summary.score < 100);
}

#[tokio::test]
async fn a_secrets_key_that_kms_reports_as_aws_managed_fails() {
    let moto = moto().await.unwrap();
    let seed = Seed::new(moto).await;
    let (key_id, key_arn) = seed.key(true).await;
    let name = unique("eks-aws-key");
    seed.cluster(&name, ClusterSpec::hardened(&key_arn)).await;
    let (proxy, collector) = proxied_collector().await;
    proxy.report_aws_managed(&key_id);
    let policy = policy(&format!("{{region: {REGION}, eksClusterName: {name}}}"), "");
    let audit = collect_and_audit(&collector, &policy, &observation(vec![]), Utc::now()).await;
    assert_eq!(
        failures(&audit, "HIPAA-EKS-SECRETS-KMS"),
        [format!(
            "EKS cluster {name} encrypts secrets with the AWS-managed KMS key {key_arn}, not a customer-managed key"
        )]
    );
    assert_eq!(
        result(&audit, "HIPAA-EKS-AUDIT-LOGGING"),
        ControlResult::Pass
    );
}
