//! The AWS seam: controls wait for a snapshot, and a failed lookup is an Error, never a pass.
use super::*;

#[test]
fn aws_controls_wait_for_a_snapshot_and_a_failed_lookup_is_an_error() {
    let aws_spec = "  aws: {region: us-east-1, eksClusterName: prod}\n";
    let policy = policy_with(aws_spec);
    let cluster = inventory(&fixed_cluster());
    let without = run(&policy, &cluster, None, now());
    let eks = without
        .status
        .controls
        .iter()
        .find(|c| c.id == "HIPAA-EKS-SECRETS-KMS")
        .unwrap();
    assert_eq!(eks.result, ControlResult::NotEvaluated);
    assert_eq!(
        eks.message.as_deref(),
        Some("the linked AWS resources have not been looked up yet")
    );
    assert_eq!(
        condition(&without.status, "Compliant"),
        ("True", REASON_COMPLIANT)
    );

    let mut snapshot = AwsSnapshot::empty(now());
    snapshot.eks = Some(LookedUp::failed(
        "prod",
        LookupError::new("AccessDeniedException", "not authorized")
            .with_action("eks:DescribeCluster"),
    ));
    let with = run_with(&policy, &cluster, None, Some(&snapshot), now());
    let eks = with
        .status
        .controls
        .iter()
        .find(|c| c.id == "HIPAA-EKS-SECRETS-KMS")
        .unwrap();
    assert_eq!(eks.result, ControlResult::Error, "{eks:?}");
    assert!(
        eks.message
            .as_deref()
            .unwrap_or_default()
            .contains("eks:DescribeCluster"),
        "{eks:?}"
    );
    assert_eq!(
        condition(&with.status, "Compliant"),
        ("Unknown", REASON_EVALUATION_ERRORS)
    );
    assert!(
        with.status
            .aws_resources
            .iter()
            .any(|r| r.kind == "EKSCluster" && r.result == ControlResult::Error)
    );
}
