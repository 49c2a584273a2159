//! The observed state of a `HipaaPolicy`, written by the operator: conditions, a summary, per-control
//! results, a bounded list of violations and AWS resources, and exception states.
//!
//! Status never holds PHI: only resource names, control IDs and messages the engine wrote.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use serde::{Deserialize, Serialize};

/// How many violations the status lists at most; the rest is counted and flagged as truncated.
pub const MAX_STATUS_VIOLATIONS: usize = 100;
/// How many AWS resource results the status lists at most.
pub const MAX_STATUS_AWS_RESOURCES: usize = 100;

/// The `Ready` condition type: the policy is valid and was evaluated.
pub const CONDITION_READY: &str = "Ready";
/// The `Compliant` condition type: no control fails in the policy's scope.
pub const CONDITION_COMPLIANT: &str = "Compliant";

/// The `EvidenceHistory` condition type (only with the evidence history on): True when the last
/// audit's record is written to an Object Lock bucket, False when records are not written or
/// the bucket does not keep them.
pub const CONDITION_EVIDENCE_HISTORY: &str = "EvidenceHistory";
/// EvidenceHistory=True: records are written, with Object Lock retention.
pub const REASON_HISTORY_WRITTEN: &str = "Written";
/// EvidenceHistory=False: records are written, but the bucket has no Object Lock retention, so
/// they can be deleted or overwritten.
pub const REASON_OBJECT_LOCK_OFF: &str = "ObjectLockOff";
/// EvidenceHistory=False: the last record could not be written (retried at the next audit).
pub const REASON_HISTORY_WRITE_FAILED: &str = "WriteFailed";

/// Condition reasons the operator writes.
/// Ready=True: the spec is valid and the policy was evaluated.
pub const REASON_EVALUATED: &str = "Evaluated";
/// Ready=False / Compliant=Unknown: the spec is invalid; nothing is evaluated until it changes.
pub const REASON_INVALID_SPEC: &str = "InvalidSpec";
/// Compliant=True.
pub const REASON_COMPLIANT: &str = "Compliant";
/// Compliant=False.
pub const REASON_VIOLATIONS_FOUND: &str = "ViolationsFound";
/// Compliant=Unknown: nothing fails, but some checks could not be evaluated (never a pass).
pub const REASON_EVALUATION_ERRORS: &str = "EvaluationErrors";

/// The reason of condition `type_` in `conditions`.
pub fn reason_of<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a str> {
    conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.reason.as_str())
}

/// Status of a HipaaPolicy.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HipaaPolicyStatus {
    /// The spec generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` and `Compliant`, at most one of each type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    // A map keyed on `type`, as for every Kubernetes condition list: server-side apply merges
    // conditions by type, and the API server refuses two of the same type.
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// Counts and the compliance score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<ComplianceSummary>,
    /// One entry per catalog control.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<ControlStatus>,
    /// The first violations, most severe first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<ViolationStatus>,
    /// True when more violations exist than `violations` lists.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// Results for the linked AWS resources (bounded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aws_resources: Vec<AwsResourceStatus>,
    /// Who reaches the linked EKS cluster as an IAM principal (its access entries and aws-auth
    /// mappings), for the access review; absent without a looked-up cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eks_access: Option<EksAccessStatus>,
    /// The state of each exception in `spec.exceptions`, by index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<ExceptionStatus>,
    /// When the last full audit finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_audit_time: Option<Time>,
}

/// Counts over everything the policy governs.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ComplianceSummary {
    /// Kubernetes objects and AWS resources evaluated.
    pub resources_evaluated: u32,
    /// Failed checks (an excepted failure is not a violation).
    pub violations: u32,
    /// Violations of critical controls.
    pub critical: u32,
    /// Violations of high controls.
    pub high: u32,
    /// Violations of medium controls.
    pub medium: u32,
    /// Violations of low controls.
    pub low: u32,
    /// Failures waived by an active exception.
    #[serde(default)]
    pub excepted: u32,
    /// Checks that could not be evaluated (they never count as passing).
    #[serde(default)]
    pub errors: u32,
    /// 0 to 100: the severity-weighted share of controls that pass.
    pub score: u8,
}

/// The result of one control over the policy's scope.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ControlStatus {
    /// The control ID.
    pub id: String,
    /// The 45 CFR sections the control maps to.
    pub sections: Vec<String>,
    /// The control's severity.
    pub severity: String,
    /// Pass, Fail, Excepted, Error, NotEvaluated or Disabled.
    pub result: ControlResult,
    /// How many objects fail it.
    #[serde(default)]
    pub violations: u32,
    /// Why the result is Error or NotEvaluated, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The result of a control.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ControlResult {
    /// Every object in scope passes.
    Pass,
    /// At least one object fails and is not excepted.
    Fail,
    /// Every failure is waived by an active exception.
    Excepted,
    /// The control could not be evaluated (for example an AWS lookup failed).
    Error,
    /// Nothing the control applies to was found or linked.
    NotEvaluated,
    /// The policy disables the control.
    Disabled,
}

impl ControlResult {
    /// The name as it appears in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            ControlResult::Pass => "Pass",
            ControlResult::Fail => "Fail",
            ControlResult::Excepted => "Excepted",
            ControlResult::Error => "Error",
            ControlResult::NotEvaluated => "NotEvaluated",
            ControlResult::Disabled => "Disabled",
        }
    }
}

/// One failed check on one object.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ViolationStatus {
    /// The control ID.
    pub control: String,
    /// The control's severity.
    pub severity: String,
    /// The object's kind (or the AWS resource type).
    pub kind: String,
    /// The object's namespace, if namespaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The object's name (or the AWS resource's name or ARN).
    pub name: String,
    /// What is wrong.
    pub message: String,
}

/// The result for one linked AWS resource.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AwsResourceStatus {
    /// `EKSCluster`, `ECRRepository`, `SecretsManagerSecret` or `KMSKey`.
    pub kind: String,
    /// The resource's name, ARN or key ID.
    pub name: String,
    /// Pass, Fail or Error over the controls that apply to it.
    pub result: ControlResult,
    /// The controls that fail or cannot be evaluated on it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_controls: Vec<String>,
    /// When it was last looked up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<Time>,
    /// What links it to the policy: the in-scope workloads that reach a data store and the IAM
    /// role they reach it by, the workloads that run with a role, the Ingresses an ALB serves,
    /// the claims on an EFS file system, the ACK or Crossplane objects that declare a store
    /// (at most [`MAX_STATUS_RESOURCE_LINKS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub linked_by: Vec<AwsResourceLink>,
    /// How many links there are in all, when more than `linkedBy` lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_by_total: Option<i32>,
}

/// The most links one AWS resource lists in the status.
pub const MAX_STATUS_RESOURCE_LINKS: usize = 10;

/// One Kubernetes object that links an AWS resource to the policy.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AwsResourceLink {
    /// The object's kind: a workload kind, `Ingress`, `PersistentVolumeClaim`, or an ACK or
    /// Crossplane kind.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    /// The IAM role the workload reaches the resource by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// How: `IRSA` or `PodIdentity` (a role), `Ingress`, `Volume`, `ACK`, `Crossplane`.
    pub via: String,
}

/// The IAM principals mapped into the policy's EKS cluster.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EksAccessStatus {
    /// The cluster's name.
    pub cluster: String,
    /// `accessConfig.authenticationMode`: API, API_AND_CONFIG_MAP or CONFIG_MAP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication_mode: Option<String>,
    /// The access entries, by principal ARN (bounded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_entries: Vec<EksAccessEntryStatus>,
    /// Why the access entries could not be listed, when they could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_entries_error: Option<String>,
    /// The aws-auth ConfigMap's mapRoles and mapUsers (bounded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aws_auth: Vec<AwsAuthMappingStatus>,
    /// Why the aws-auth ConfigMap could not be read, when it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_auth_error: Option<String>,
    /// True when more entries or mappings exist than listed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// One EKS access entry: the IAM principal and what it is in Kubernetes.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EksAccessEntryStatus {
    /// The IAM role or user.
    pub principal_arn: String,
    /// STANDARD, EC2_LINUX, FARGATE_LINUX, ...
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub entry_type: Option<String>,
    /// The Kubernetes user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The Kubernetes groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kubernetes_groups: Vec<String>,
    /// The associated access policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_policies: Vec<EksAccessPolicyStatus>,
}

/// An access policy associated with an access entry, and its scope.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EksAccessPolicyStatus {
    /// E.g. AmazonEKSClusterAdminPolicy.
    pub policy: String,
    /// `cluster` or `namespace`.
    pub scope: String,
    /// The namespaces of a namespace scope.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
}

/// One mapRoles or mapUsers entry of the aws-auth ConfigMap.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AwsAuthMappingStatus {
    /// `mapRoles` or `mapUsers`.
    pub list: String,
    /// The role's or user's ARN.
    pub arn: String,
    /// The Kubernetes user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The Kubernetes groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// The state of one exception.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionStatus {
    /// The exception's index in `spec.exceptions`.
    pub index: u32,
    /// True while it has not expired.
    pub active: bool,
    /// Active, ExpiringSoon (within 14 days) or Expired.
    pub state: ExceptionState,
    /// When the exception stops applying (RFC 3339), as `spec.exceptions[index].expires` says.
    // A timestamp, not the time left: a relative value would be stale as soon as it is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Time>,
    /// How many failures it waived in the last audit.
    #[serde(default)]
    pub matched: u32,
}

/// Lifecycle of an exception.
#[derive(Serialize, Deserialize, schemars::JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExceptionState {
    /// In force.
    Active,
    /// In force, but expires within 14 days.
    ExpiringSoon,
    /// No longer in force.
    Expired,
}
