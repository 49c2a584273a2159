//! HIPAA-ALB-TLS, HIPAA-EFS-ENCRYPTION and the account controls (CloudTrail, log retention,
//! GuardDuty, EBS encryption by default) over the `edge-account` fixture: pass and fail of each,
//! a failed sub-lookup making only its control Error, and exceptions by ARN or DNS name.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::aws::{Seen, errs_with, evaluate, fails_with, seen, snapshot};
use common::defaults_with;
use hipaa_controls::aws::{AccountPosture, AwsSnapshot, KIND_AWS_ACCOUNT, LogGroup, LookupError};
use hipaa_controls::catalog::ids;
use hipaa_controls::policy::EffectivePolicy;

const REGION: &str = "us-east-1";
const ACCOUNT: [&str; 4] = [
    ids::AWS_CLOUDTRAIL,
    ids::AWS_LOG_RETENTION,
    ids::AWS_GUARDDUTY,
    ids::AWS_EBS_DEFAULT_ENCRYPTION,
];

fn defaults() -> EffectivePolicy {
    EffectivePolicy::defaults()
}

fn account_mut(snapshot: &mut AwsSnapshot) -> &mut AccountPosture {
    snapshot.account.as_mut().unwrap()
}

fn denied(action: &str) -> LookupError {
    LookupError::new("AccessDeniedException", "not authorized").with_action(action)
}

#[test]
fn a_load_balancer_with_tls12_and_a_redirect_passes() {
    let results = evaluate(&snapshot("edge-account"), &defaults());
    assert_eq!(seen(&results, "k8s-billing-api", ids::ALB_TLS), Seen::Pass);
}

#[test]
fn an_old_policy_and_plain_http_fail_listener_by_listener() {
    let results = evaluate(&snapshot("edge-account"), &defaults());
    fails_with(
        &seen(&results, "k8s-billing-legacy", ids::ALB_TLS),
        &[
            "port 443 uses security policy ELBSecurityPolicy-2016-08",
            "port 80 serves plain HTTP",
            // A redirect that keeps the protocol is not a redirect to HTTPS.
            "port 8080 serves plain HTTP",
        ],
    );
}

#[test]
fn unreadable_listeners_are_an_error() {
    let results = evaluate(&snapshot("edge-account"), &defaults());
    errs_with(
        &seen(&results, "k8s-billing-hidden", ids::ALB_TLS),
        "missing IAM permission elasticloadbalancing:DescribeListeners",
    );
}

#[test]
fn efs_encryption_at_rest() {
    let results = evaluate(&snapshot("edge-account"), &defaults());
    assert_eq!(seen(&results, "fs-0123", ids::EFS_ENCRYPTION), Seen::Pass);
    fails_with(
        &seen(&results, "fs-0456", ids::EFS_ENCRYPTION),
        &["fs-0456 (scratch) is not encrypted at rest"],
    );
    errs_with(
        &seen(&results, "fs-0789", ids::EFS_ENCRYPTION),
        "elasticfilesystem:DescribeFileSystems",
    );
}

#[test]
fn exceptions_name_a_load_balancer_by_dns_name_and_a_file_system_by_its_name_tag() {
    let policy = EffectivePolicy::from_policy(&common::policy(
        r#"
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: edge}
spec:
  namespaceSelector:
    matchLabels: {hipaaguard.io/phi: "true"}
  exceptions:
    - controls: [HIPAA-EFS-ENCRYPTION]
      match: {kinds: [EFSFileSystem], names: [scratch]}
      justification: "Holds no PHI; migration ticket SEC-301"
      approvedBy: security@example.com
      expires: "2027-06-30T00:00:00Z"
"#,
    ))
    .unwrap();
    let results = evaluate(&snapshot("edge-account"), &policy);
    assert!(matches!(
        seen(&results, "fs-0456", ids::EFS_ENCRYPTION),
        Seen::Excepted(_)
    ));
}

#[test]
fn the_account_is_one_resource_named_by_region_and_passes_when_all_is_on() {
    let results = evaluate(&snapshot("edge-account"), &defaults());
    let account = results
        .iter()
        .find(|r| r.resource.kind == KIND_AWS_ACCOUNT)
        .unwrap();
    assert_eq!(account.resource.name, REGION);
    for id in ACCOUNT {
        assert_eq!(seen(&results, REGION, id), Seen::Pass, "{id}");
    }
}

#[test]
fn cloudtrail_needs_one_multi_region_validated_trail_that_is_logging() {
    let mut snapshot = snapshot("edge-account");
    let trails = account_mut(&mut snapshot).trails.as_mut().unwrap();
    trails[1].is_logging = Ok(false);
    fails_with(
        &seen(
            &evaluate(&snapshot, &defaults()),
            REGION,
            ids::AWS_CLOUDTRAIL,
        ),
        &["regional: single-region", "org-trail: not logging"],
    );
    let trails = account_mut(&mut snapshot).trails.as_mut().unwrap();
    trails[1].is_logging = Err(denied("cloudtrail:GetTrailStatus"));
    errs_with(
        &seen(
            &evaluate(&snapshot, &defaults()),
            REGION,
            ids::AWS_CLOUDTRAIL,
        ),
        "org-trail",
    );
    account_mut(&mut snapshot).trails = Ok(Vec::new());
    fails_with(
        &seen(
            &evaluate(&snapshot, &defaults()),
            REGION,
            ids::AWS_CLOUDTRAIL,
        ),
        &["no CloudTrail trail logs us-east-1"],
    );
}

#[test]
fn log_retention_follows_min_retention_days_and_never_expiring_passes() {
    let mut snapshot = snapshot("edge-account");
    let results = evaluate(
        &snapshot,
        &defaults_with(ids::AWS_LOG_RETENTION, |p| p.min_retention_days = 731),
    );
    fails_with(
        &seen(&results, REGION, ids::AWS_LOG_RETENTION),
        &["/aws/eks/prod-eks/cluster keeps events 400 days", "731"],
    );
    account_mut(&mut snapshot).eks_log_group = Some(Ok(Some(LogGroup {
        name: "/aws/eks/prod-eks/cluster".into(),
        retention_days: None,
    })));
    assert_eq!(
        seen(
            &evaluate(&snapshot, &defaults()),
            REGION,
            ids::AWS_LOG_RETENTION
        ),
        Seen::Pass
    );
    account_mut(&mut snapshot).eks_log_group = Some(Ok(Some(LogGroup {
        name: "/aws/eks/prod-eks/cluster".into(),
        retention_days: Some(90),
    })));
    fails_with(
        &seen(
            &evaluate(&snapshot, &defaults()),
            REGION,
            ids::AWS_LOG_RETENTION,
        ),
        &["90 days", "minRetentionDays 365"],
    );
}

#[test]
fn a_missing_log_group_fails_and_no_linked_cluster_is_not_judged() {
    let mut snapshot = snapshot("edge-account");
    account_mut(&mut snapshot).eks_log_group = Some(Ok(None));
    fails_with(
        &seen(
            &evaluate(&snapshot, &defaults()),
            REGION,
            ids::AWS_LOG_RETENTION,
        ),
        &["/aws/eks/prod-eks/cluster does not exist"],
    );
    account_mut(&mut snapshot).eks_log_group = None;
    assert_eq!(
        seen(
            &evaluate(&snapshot, &defaults()),
            REGION,
            ids::AWS_LOG_RETENTION
        ),
        Seen::NotChecked
    );
}

#[test]
fn guardduty_needs_an_enabled_detector_with_eks_protection() {
    let mut snapshot = snapshot("edge-account");
    let detectors = account_mut(&mut snapshot).guardduty.as_mut().unwrap();
    detectors[0].eks_audit_logs = Some(false);
    fails_with(
        &seen(
            &evaluate(&snapshot, &defaults()),
            REGION,
            ids::AWS_GUARDDUTY,
        ),
        &["EKS audit-log protection off"],
    );
    let detectors = account_mut(&mut snapshot).guardduty.as_mut().unwrap();
    detectors[0].eks_audit_logs = None;
    errs_with(
        &seen(
            &evaluate(&snapshot, &defaults()),
            REGION,
            ids::AWS_GUARDDUTY,
        ),
        "EKS_AUDIT_LOGS",
    );
    let detectors = account_mut(&mut snapshot).guardduty.as_mut().unwrap();
    detectors[0].status = "DISABLED".into();
    fails_with(
        &seen(
            &evaluate(&snapshot, &defaults()),
            REGION,
            ids::AWS_GUARDDUTY,
        ),
        &["detector is disabled"],
    );
    account_mut(&mut snapshot).guardduty = Ok(Vec::new());
    fails_with(
        &seen(
            &evaluate(&snapshot, &defaults()),
            REGION,
            ids::AWS_GUARDDUTY,
        ),
        &["GuardDuty has no detector"],
    );
}

#[test]
fn ebs_encryption_by_default() {
    let mut snapshot = snapshot("edge-account");
    account_mut(&mut snapshot).ebs_encryption_by_default = Ok(false);
    fails_with(
        &seen(
            &evaluate(&snapshot, &defaults()),
            REGION,
            ids::AWS_EBS_DEFAULT_ENCRYPTION,
        ),
        &["EBS encryption by default is off in us-east-1"],
    );
}

#[test]
fn one_denied_account_call_errs_only_its_control() {
    let mut snapshot = snapshot("edge-account");
    account_mut(&mut snapshot).ebs_encryption_by_default =
        Err(denied("ec2:GetEbsEncryptionByDefault"));
    let results = evaluate(&snapshot, &defaults());
    errs_with(
        &seen(&results, REGION, ids::AWS_EBS_DEFAULT_ENCRYPTION),
        "missing IAM permission ec2:GetEbsEncryptionByDefault",
    );
    for id in [
        ids::AWS_CLOUDTRAIL,
        ids::AWS_LOG_RETENTION,
        ids::AWS_GUARDDUTY,
    ] {
        assert_eq!(seen(&results, REGION, id), Seen::Pass, "{id}");
    }
    account_mut(&mut snapshot).guardduty = Err(denied("guardduty:ListDetectors"));
    account_mut(&mut snapshot).trails = Err(denied("cloudtrail:DescribeTrails"));
    account_mut(&mut snapshot).eks_log_group = Some(Err(denied("logs:DescribeLogGroups")));
    let results = evaluate(&snapshot, &defaults());
    errs_with(
        &seen(&results, REGION, ids::AWS_GUARDDUTY),
        "guardduty:ListDetectors",
    );
    errs_with(
        &seen(&results, REGION, ids::AWS_CLOUDTRAIL),
        "cloudtrail:DescribeTrails",
    );
    errs_with(
        &seen(&results, REGION, ids::AWS_LOG_RETENTION),
        "logs:DescribeLogGroups",
    );
}

#[test]
fn stores_come_after_the_existing_kinds_and_the_account_last() {
    let results = evaluate(&snapshot("edge-account"), &defaults());
    let kinds: Vec<&str> = results.iter().map(|r| r.resource.kind.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"EKSCluster"));
    assert_eq!(kinds.last(), Some(&KIND_AWS_ACCOUNT));
    let first_efs = kinds.iter().position(|k| *k == "EFSFileSystem").unwrap();
    let last_alb = kinds.iter().rposition(|k| *k == "ALB").unwrap();
    assert!(last_alb < first_efs, "{kinds:?}");
}
