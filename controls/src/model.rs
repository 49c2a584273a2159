//! The vocabulary every part shares: controls, severities, findings and the resources they name.

use std::fmt;

use hipaa_crds::Enforcement;
use serde::{Deserialize, Serialize};

/// How bad a failure of a control is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Upper-case name, as in `--fail-on CRITICAL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    /// Parses `low`, `LOW`, `Low`, ...
    pub fn parse(text: &str) -> Option<Severity> {
        match text.to_ascii_uppercase().as_str() {
            "LOW" => Some(Severity::Low),
            "MEDIUM" => Some(Severity::Medium),
            "HIGH" => Some(Severity::High),
            "CRITICAL" => Some(Severity::Critical),
            _ => None,
        }
    }

    /// Weight in the compliance score.
    pub fn weight(self) -> u32 {
        match self {
            Severity::Low => 1,
            Severity::Medium => 2,
            Severity::High => 4,
            Severity::Critical => 8,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a control looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Target {
    /// The pod template of Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob.
    PodTemplate,
    Deployment,
    StatefulSet,
    /// A Service of type LoadBalancer.
    LoadBalancerService,
    Ingress,
    PersistentVolumeClaim,
    Namespace,
    /// The creation, update or deletion of a NetworkPolicy (HIPAA-K8S-NETPOL judges what the
    /// change opens or uncovers).
    NetworkPolicy,
    /// The creation, update or deletion of a Role, ClusterRole, RoleBinding or ClusterRoleBinding
    /// (the access controls judge what the change grants in PHI namespaces).
    Rbac,
    EksCluster,
    EcrRepository,
    SecretsManagerSecret,
    KmsKey,
    /// An IAM role in-scope workloads run with.
    IamRole,
    S3Bucket,
    /// An RDS DB instance or DB cluster.
    RdsDatabase,
    DynamoDbTable,
    /// An Application Load Balancer serving an in-scope Ingress.
    Alb,
    EfsFileSystem,
    /// The AWS account's safeguards in the policy's region.
    AwsAccount,
}

impl Target {
    /// A short human name, as `kubectl hipaa controls` lists it.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::PodTemplate => "pod template",
            Target::Deployment => "Deployment",
            Target::StatefulSet => "StatefulSet",
            Target::LoadBalancerService => "Service (LoadBalancer)",
            Target::Ingress => "Ingress",
            Target::PersistentVolumeClaim => "PersistentVolumeClaim",
            Target::Namespace => "Namespace",
            Target::NetworkPolicy => "NetworkPolicy (creation, update, deletion)",
            Target::Rbac => "Role, ClusterRole and their bindings (creation, update, deletion)",
            Target::EksCluster => "EKS cluster",
            Target::EcrRepository => "ECR repository",
            Target::SecretsManagerSecret => "Secrets Manager secret",
            Target::KmsKey => "KMS key",
            Target::IamRole => "IAM role",
            Target::S3Bucket => "S3 bucket",
            Target::RdsDatabase => "RDS instance or cluster",
            Target::DynamoDbTable => "DynamoDB table",
            Target::Alb => "Application Load Balancer",
            Target::EfsFileSystem => "EFS file system",
            Target::AwsAccount => "AWS account (the policy's region)",
        }
    }
}

/// The kind of an EKS cluster in findings, exceptions and status.
pub const KIND_EKS_CLUSTER: &str = "EKSCluster";
/// The kind of an ECR repository.
pub const KIND_ECR_REPOSITORY: &str = "ECRRepository";
/// The kind of a Secrets Manager secret.
pub const KIND_SECRETS_MANAGER_SECRET: &str = "SecretsManagerSecret";
/// The kind of a KMS key.
pub const KIND_KMS_KEY: &str = "KMSKey";
/// The kind of an IAM role.
pub const KIND_IAM_ROLE: &str = "IAMRole";
/// The kind of an S3 bucket.
pub const KIND_S3_BUCKET: &str = "S3Bucket";
/// The kind of an RDS DB instance.
pub const KIND_RDS_INSTANCE: &str = "RDSInstance";
/// The kind of an RDS DB cluster.
pub const KIND_RDS_CLUSTER: &str = "RDSCluster";
/// The kind of a DynamoDB table.
pub const KIND_DYNAMODB_TABLE: &str = "DynamoDBTable";
/// The kind of an Application Load Balancer.
pub const KIND_ALB: &str = "ALB";
/// The kind of an EFS file system.
pub const KIND_EFS_FILE_SYSTEM: &str = "EFSFileSystem";
/// The kind of the account-wide safeguards (named by account ID and region).
pub const KIND_AWS_ACCOUNT: &str = "AWSAccount";

/// Every AWS resource kind (as findings and `status.awsResources[].kind` name it) with the target
/// of the controls that judge it: the one place that ties a resource to its controls, so that a
/// report or a tally reads a new control's applicability from the catalog's `targets`.
const AWS_KIND_TARGETS: &[(&str, Target)] = &[
    (KIND_EKS_CLUSTER, Target::EksCluster),
    (KIND_ECR_REPOSITORY, Target::EcrRepository),
    (KIND_SECRETS_MANAGER_SECRET, Target::SecretsManagerSecret),
    (KIND_KMS_KEY, Target::KmsKey),
    (KIND_IAM_ROLE, Target::IamRole),
    (KIND_S3_BUCKET, Target::S3Bucket),
    (KIND_RDS_INSTANCE, Target::RdsDatabase),
    (KIND_RDS_CLUSTER, Target::RdsDatabase),
    (KIND_DYNAMODB_TABLE, Target::DynamoDbTable),
    (KIND_ALB, Target::Alb),
    (KIND_EFS_FILE_SYSTEM, Target::EfsFileSystem),
    (KIND_AWS_ACCOUNT, Target::AwsAccount),
];

impl Target {
    /// The target whose controls judge an AWS resource of `kind`; `None` for a Kubernetes kind or
    /// an AWS kind this version does not know.
    pub fn of_aws_kind(kind: &str) -> Option<Target> {
        AWS_KIND_TARGETS
            .iter()
            .find(|(known, _)| *known == kind)
            .map(|(_, target)| *target)
    }

    /// The AWS resource kinds this target judges (two for RDS: instances and clusters); none for
    /// a Kubernetes target.
    pub fn aws_kinds(self) -> impl Iterator<Item = &'static str> {
        AWS_KIND_TARGETS
            .iter()
            .filter(move |(_, target)| *target == self)
            .map(|(kind, _)| *kind)
    }
}

/// Where a control's evidence comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Scope {
    /// Kubernetes objects: judged at admission, in audits and offline.
    Kubernetes,
    /// Kubernetes state that admission cannot judge (e.g. backup coverage): audits only.
    KubernetesAudit,
    /// A change between two states of a Kubernetes object (e.g. a namespace's labels): judged at
    /// admission only, where the old and the new object are both known; an audit sees one state.
    KubernetesAdmission,
    /// AWS resources: audits only, never on the admission path.
    Aws,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Kubernetes => "Kubernetes",
            Scope::KubernetesAudit => "Kubernetes (audit only)",
            Scope::KubernetesAdmission => "Kubernetes (admission only)",
            Scope::Aws => "AWS",
        }
    }
}

/// A parameter a control reads from `spec.controls[].parameters`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ParameterSpec {
    /// The camelCase name in the HipaaPolicy.
    pub name: &'static str,
    /// What it means.
    pub description: &'static str,
    /// The default, as text.
    pub default: &'static str,
}

/// One entry of the catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Control {
    /// Stable ID, e.g. `HIPAA-K8S-NETPOL`.
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// 45 CFR sections, e.g. `164.312(e)(1)`.
    pub sections: &'static [&'static str],
    /// What passes.
    pub description: &'static str,
    /// How to fix a failure.
    pub remediation: &'static str,
    pub targets: &'static [Target],
    pub scope: Scope,
    pub parameters: &'static [ParameterSpec],
    /// Applied only where a policy lists it in `spec.controls` (not disabled). A control that
    /// would deny most existing workloads on upgrade is opt-in, so that installing a new release
    /// never starts refusing deployments nobody chose to judge.
    pub opt_in: bool,
}

impl Control {
    /// Where it is evaluated, as `kubectl hipaa controls` shows it: the scope, what admission
    /// judges beyond it (the access controls judge RBAC changes), and whether it is opt-in.
    pub fn evaluated_where(&self) -> String {
        let mut text = if self.targets.contains(&Target::Rbac) {
            "Kubernetes (audits; RBAC changes at admission)".to_owned()
        } else {
            self.scope.as_str().to_owned()
        };
        if self.opt_in {
            text.push_str(", opt-in");
        }
        text
    }
}

/// The object a finding is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceRef {
    /// Kubernetes kind, or `EKSCluster`, `ECRRepository`, `SecretsManagerSecret`, `KMSKey`.
    pub kind: String,
    pub namespace: Option<String>,
    /// Name, or an AWS name/ARN.
    pub name: String,
}

impl ResourceRef {
    pub fn new(kind: impl Into<String>, namespace: Option<&str>, name: impl Into<String>) -> Self {
        ResourceRef {
            kind: kind.into(),
            namespace: namespace.map(str::to_owned),
            name: name.into(),
        }
    }
}

impl fmt::Display for ResourceRef {
    /// `Deployment billing/api`, or `Namespace billing` for cluster-scoped objects.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// What happened when a control was checked against one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Outcome {
    /// The resource fails the control.
    Fail,
    /// The resource fails, but an active exception waives it.
    Excepted,
    /// The control could not be evaluated (missing data, failed lookup). Never a pass.
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Fail => "Fail",
            Outcome::Excepted => "Excepted",
            Outcome::Error => "Error",
        }
    }
}

/// One control's verdict on one resource (only non-passing verdicts are findings).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    pub control: &'static Control,
    pub outcome: Outcome,
    pub resource: ResourceRef,
    /// What is wrong, naming the object; never object content that could be PHI.
    pub message: String,
    /// The enforcement that applies to this control for this resource.
    pub enforcement: Enforcement,
    /// For `Excepted`: the policy and the index of the exception that waived it.
    pub exception: Option<ExceptionRef>,
}

impl Finding {
    /// The design's one-line form: `[ID] section: message; remediation (see kubectl hipaa controls ID)`.
    pub fn denial_line(&self) -> String {
        let section = self.control.sections.first().copied().unwrap_or("");
        format!(
            "[{id}] {section}: {msg}; {fix} (see kubectl hipaa controls {id})",
            id = self.control.id,
            msg = self.message,
            fix = lower_first(self.control.remediation),
        )
    }

    /// True when this finding is a real violation (failed and not waived).
    pub fn is_violation(&self) -> bool {
        self.outcome == Outcome::Fail
    }
}

/// Which exception waived a finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExceptionRef {
    pub policy: String,
    pub index: usize,
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::catalog;

    #[test]
    fn every_aws_kind_maps_to_its_target_and_back() {
        for (kind, target) in AWS_KIND_TARGETS {
            assert_eq!(Target::of_aws_kind(kind), Some(*target), "{kind}");
            assert!(target.aws_kinds().any(|k| k == *kind), "{kind}");
        }
        assert_eq!(
            Target::RdsDatabase.aws_kinds().collect::<Vec<_>>(),
            [KIND_RDS_INSTANCE, KIND_RDS_CLUSTER]
        );
        assert_eq!(Target::of_aws_kind("Deployment"), None);
        assert_eq!(Target::of_aws_kind("s3bucket"), None, "kinds are exact");
        assert_eq!(Target::Ingress.aws_kinds().count(), 0);
    }

    #[test]
    fn every_aws_control_judges_a_kind_the_status_can_name() {
        for control in catalog().iter().filter(|c| c.scope == Scope::Aws) {
            assert!(
                control.targets.iter().any(|t| t.aws_kinds().count() > 0),
                "{} targets no AWS resource kind",
                control.id
            );
        }
    }
}
