//! The desired state of a `HipaaPolicy`: scope, enforcement, overrides, exceptions and AWS links.
//!
//! CEL rules (`x-kubernetes-validations`) make the API server refuse policies that cannot mean
//! anything sensible: an exception without justification or expiry, a malformed control ID,
//! a selector that selects nothing in particular, or a non-positive audit interval.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use crate::status::HipaaPolicyStatus;

/// The CEL pattern every control ID must match, e.g. `HIPAA-K8S-NETPOL`.
pub const CONTROL_ID_PATTERN: &str = "^HIPAA-[A-Z0-9]+(-[A-Z0-9]+)*$";

/// A HipaaPolicy declares which namespaces are in HIPAA scope and how the catalog's controls
/// are enforced there.
// kube's printcolumn(...) repeats `type_ =` per column, which clippy mistakes for a duplicate.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "hipaaguard.io",
    version = "v1alpha1",
    kind = "HipaaPolicy",
    plural = "hipaapolicies",
    shortname = "hp",
    category = "hipaaguard",
    status = "HipaaPolicyStatus",
    // The CRD's top-level description (`kubectl explain hipaapolicy`) and the generated type's doc.
    doc = "HipaaPolicy declares which namespaces hold PHI and how HIPAA Guard enforces the HIPAA technical and administrative safeguards there (45 CFR 164.308 and 164.312). Admission judges new and changed objects in the selected namespaces and denies, warns or records failed controls; the operator audits everything already in scope, and the AWS resources the policy links, and reports the result in the status, as Events and as metrics. Several policies may select one namespace: the strictest enforcement wins and every active exception applies. Cluster-scoped.",
    printcolumn(
        name = "Enforcement",
        type_ = "string",
        json_path = ".spec.enforcement"
    ),
    printcolumn(
        name = "Compliant",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Compliant\")].status"
    ),
    printcolumn(name = "Score", type_ = "integer", json_path = ".status.summary.score"),
    printcolumn(
        name = "Violations",
        type_ = "integer",
        json_path = ".status.summary.violations"
    ),
    printcolumn(
        name = "Last Audit",
        type_ = "date",
        json_path = ".status.lastAuditTime"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct HipaaPolicySpec {
    /// What admission does when a control fails: Enforce denies, Warn returns kubectl
    /// warnings, Audit only records.
    #[serde(default)]
    pub enforcement: Enforcement,

    /// The namespaces this policy governs. It must select something: an empty selector would
    /// silently govern every namespace in the cluster.
    #[x_kube(validation = Rule::new(
        "(has(self.matchLabels) && size(self.matchLabels) > 0) || (has(self.matchExpressions) && size(self.matchExpressions) > 0)"
    ).message("namespaceSelector must have matchLabels or matchExpressions; an empty selector would govern every namespace"))]
    pub namespace_selector: LabelSelector,

    /// Per-control overrides. Every catalog control applies by default.
    /// Listed by `id`: each control may be overridden once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 128), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["id"]))]
    pub controls: Vec<ControlOverride>,

    /// Documented, expiring exceptions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256))]
    pub exceptions: Vec<PolicyException>,

    /// AWS resources linked to this policy's workloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsLinks>,

    /// How often the operator re-audits everything in scope, as a duration such as `10m`.
    #[serde(default = "default_audit_interval")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new(
        "self.matches('^([0-9]+(\\\\.[0-9]+)?(ms|s|m|h))+$') && duration(self) >= duration('10s')"
    ).message("auditInterval must be a positive duration of at least 10s, such as 10m or 1h30m"))]
    pub audit_interval: String,
}

/// The default `auditInterval`.
pub fn default_audit_interval() -> String {
    "10m".to_string()
}

/// What admission does with a failed control.
#[derive(
    Serialize, Deserialize, schemars::JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq, Hash,
)]
pub enum Enforcement {
    /// Record the failure in metrics and logs only.
    Audit,
    /// Admit the object and return one kubectl warning per failed control.
    Warn,
    /// Deny the request.
    #[default]
    Enforce,
}

impl Enforcement {
    /// Strictness rank: Audit < Warn < Enforce.
    pub fn strictness(self) -> u8 {
        match self {
            Enforcement::Audit => 0,
            Enforcement::Warn => 1,
            Enforcement::Enforce => 2,
        }
    }

    /// The stricter of two enforcement modes.
    pub fn strictest(self, other: Enforcement) -> Enforcement {
        if other.strictness() > self.strictness() {
            other
        } else {
            self
        }
    }

    /// The mode's name as it appears in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Enforcement::Audit => "Audit",
            Enforcement::Warn => "Warn",
            Enforcement::Enforce => "Enforce",
        }
    }
}

/// An override of one catalog control.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ControlOverride {
    /// The control's catalog ID, e.g. `HIPAA-K8S-NETPOL`.
    #[x_kube(validation = Rule::new("self.matches('^HIPAA-[A-Z0-9]+(-[A-Z0-9]+)*$')").message("control id must look like HIPAA-K8S-NETPOL"))]
    #[schemars(length(max = 64))]
    pub id: String,
    /// Enforcement for this control only; defaults to the policy's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcement: Option<Enforcement>,
    /// Turn the control off for this policy.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Control parameters; each control documents which it reads (`kubectl hipaa controls ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<ControlParameters>,
}

/// Typed parameters of the catalog's controls. A parameter given to a control that does not
/// read it makes the policy invalid (the operator reports it on the Ready condition).
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ControlParameters {
    /// HIPAA-K8S-IMAGE-REGISTRY: registry hosts images may come from (default: any ECR registry).
    /// A trailing `/*` or a leading `*.` acts as a wildcard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_registries: Option<Vec<String>>,
    /// HIPAA-K8S-ACCESS-SECRETS, HIPAA-K8S-ACCESS-EXEC and HIPAA-K8S-CLUSTER-ADMIN: the subjects
    /// allowed that access, as `User:NAME`, `Group:NAME` or `ServiceAccount:NAMESPACE:NAME`; `*`
    /// matches any run of characters (default: the control plane's own identities).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256), inner(length(max = 512)))]
    pub allowed_subjects: Option<Vec<String>>,
    /// HIPAA-K8S-NETPOL: also require an Egress policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_egress: Option<bool>,
    /// HIPAA-K8S-HA: minimum replicas in production namespaces (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1").message("minReplicas must be at least 1"))]
    pub min_replicas: Option<i32>,
    /// HIPAA-EKS-VERSION: the oldest acceptable Kubernetes minor version, e.g. `1.33`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^[0-9]+\\\\.[0-9]+$')").message("minVersion must look like 1.33"))]
    #[schemars(length(max = 16))]
    pub min_version: Option<String>,
    /// HIPAA-ECR-SCAN: the lowest finding severity that fails (default CRITICAL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self in ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']").message("failOn must be CRITICAL, HIGH, MEDIUM or LOW"))]
    pub fail_on: Option<String>,
    /// HIPAA-SM-ROTATION: the longest acceptable time since the last rotation (default 90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1").message("maxAgeDays must be at least 1"))]
    pub max_age_days: Option<i64>,
    /// HIPAA-EKS-ACCESS-ADMIN: IAM principal ARNs allowed cluster-admin-equivalent access
    /// (default none); `*` matches any run of characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256), inner(length(max = 2048)))]
    pub allowed_principals: Option<Vec<String>>,
    /// HIPAA-EKS-AUTH-MODE: also accept the authentication mode API_AND_CONFIG_MAP (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_config_map: Option<bool>,
    /// HIPAA-K8S-SECRETS-IN-ENV: the Shannon entropy, in bits per character, from which a literal
    /// token of 20 characters or more is taken for a credential (default 4.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self > 0.0 && self <= 8.0").message("valueEntropyThreshold must be above 0 and at most 8"))]
    pub value_entropy_threshold: Option<f64>,
    /// HIPAA-RDS-BACKUP: the fewest days of automated backups (default 7);
    /// HIPAA-AWS-LOG-RETENTION: the fewest days the EKS log group keeps events (default 365).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1").message("minRetentionDays must be at least 1"))]
    pub min_retention_days: Option<i64>,
    /// HIPAA-S3-ENCRYPTION: also accept SSE-S3 (AES256) default encryption (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_sse_s3: Option<bool>,
    /// HIPAA-RDS-MULTI-AZ: require Multi-AZ of every database, not only production ones
    /// (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_for_all: Option<bool>,
}

/// A documented, expiring exception to one or more controls.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PolicyException {
    /// The controls this exception waives.
    #[x_kube(validation = Rule::new("size(self) > 0").message("an exception must name at least one control"))]
    #[x_kube(validation = Rule::new("self.all(c, c.matches('^HIPAA-[A-Z0-9]+(-[A-Z0-9]+)*$'))").message("control ids must look like HIPAA-K8S-NETPOL"))]
    #[schemars(length(max = 64), inner(length(max = 64)))]
    pub controls: Vec<String>,
    /// Which objects the exception covers; an empty match covers every object in scope.
    #[serde(default, rename = "match")]
    pub match_: ExceptionMatch,
    /// Why the risk is accepted, and the compensating control.
    #[x_kube(validation = Rule::new("size(self.trim()) > 0").message("an exception needs a justification"))]
    #[schemars(length(max = 2048))]
    pub justification: String,
    /// Who approved it (a person or a ticket).
    #[x_kube(validation = Rule::new("size(self.trim()) > 0").message("an exception needs an approver"))]
    #[schemars(length(max = 256))]
    pub approved_by: String,
    /// When the exception stops applying (RFC 3339).
    pub expires: Time,
}

/// Objects an exception covers. Each list, when not empty, must match; names accept `*` globs.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionMatch {
    /// Namespaces (globs allowed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256), inner(length(max = 253)))]
    pub namespaces: Vec<String>,
    /// Kinds, e.g. `Deployment`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256), inner(length(max = 253)))]
    pub kinds: Vec<String>,
    /// Object names (globs allowed), e.g. `batch-*`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256), inner(length(max = 253)))]
    pub names: Vec<String>,
}

/// AWS resources behind the policy's workloads.
#[derive(Serialize, Deserialize, KubeSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AwsLinks {
    /// The AWS region of the linked resources, e.g. `us-east-1`.
    #[x_kube(validation = Rule::new("self.matches('^[a-z]{2}(-[a-z]+)+-[0-9]+$')").message("region must look like us-east-1"))]
    #[schemars(length(max = 32))]
    pub region: String,
    /// The EKS cluster this policy's cluster is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eks_cluster_name: Option<String>,
    /// ECR repositories to check (globs allowed), besides every repository an in-scope image
    /// comes from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ecr_repositories: Vec<String>,
    /// Secrets Manager secrets to check (names or ARNs, globs allowed), besides every secret
    /// in-scope workloads reference.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
}
