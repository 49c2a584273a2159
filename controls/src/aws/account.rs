//! The account-wide safeguards of the policy's region: CloudTrail trails, the retention of the
//! EKS cluster's CloudWatch log group, GuardDuty and EBS encryption by default. Each is its own
//! lookup, so that a missing permission makes only its control report Error.

use serde::{Deserialize, Serialize};

use super::Lookup;

/// A CloudTrail trail (DescribeTrails) and whether it is logging (GetTrailStatus).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trail {
    pub name: String,
    #[serde(default)]
    pub arn: Option<String>,
    #[serde(default)]
    pub home_region: Option<String>,
    #[serde(default)]
    pub multi_region: bool,
    #[serde(default)]
    pub log_file_validation: bool,
    /// GetTrailStatus `IsLogging`.
    pub is_logging: Lookup<bool>,
}

/// A CloudWatch Logs log group (DescribeLogGroups).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogGroup {
    pub name: String,
    /// `retentionInDays`; `None` means the events never expire.
    #[serde(default)]
    pub retention_days: Option<i32>,
}

/// A GuardDuty detector (ListDetectors, GetDetector).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Detector {
    pub id: String,
    /// `ENABLED` or `DISABLED`.
    pub status: String,
    /// EKS protection: the `EKS_AUDIT_LOGS` feature (or the older `dataSources.kubernetes.auditLogs`)
    /// is `ENABLED`; `None` when the detector does not say.
    #[serde(default)]
    pub eks_audit_logs: Option<bool>,
    /// `EKS_RUNTIME_MONITORING` or `RUNTIME_MONITORING` is `ENABLED`, when said.
    #[serde(default)]
    pub eks_runtime_monitoring: Option<bool>,
}

/// The account's safeguards in the policy's region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountPosture {
    pub region: String,
    /// The trails that log this region (DescribeTrails with shadow trails).
    pub trails: Lookup<Vec<Trail>>,
    /// The EKS cluster's control-plane log group `/aws/eks/<cluster>/cluster`; `None` when the
    /// policy links no cluster, `Ok(None)` when the group does not exist.
    #[serde(default)]
    pub eks_log_group: Option<Lookup<Option<LogGroup>>>,
    /// The region's GuardDuty detectors.
    pub guardduty: Lookup<Vec<Detector>>,
    /// GetEbsEncryptionByDefault.
    pub ebs_encryption_by_default: Lookup<bool>,
}
