//! The AWS side of the engine: plain snapshot structs of the EKS cluster, ECR repositories, Secrets
//! Manager secrets and KMS keys linked to a policy, and the pure evaluation of the AWS controls over
//! them. The operator's collectors fill the snapshot; nothing here calls AWS.
//!
//! A lookup that failed is kept as a [`LookupError`] in the snapshot and makes every control that
//! needed it report `Error`, never `Pass`.

mod access_entries;
mod access_status;
mod account;
mod account_checks;
mod dynamodb;
mod ecr;
mod edge;
mod edge_checks;
mod eks;
mod iam_checks;
mod identity;
mod judge;
mod kms;
mod link;
mod linked_by;
mod rds;
mod reach;
mod s3;
mod secrets;
mod stores;

pub use access_entries::{
    AccessEntry, AdminGrant, AssociatedAccessPolicy, AuthenticationMode, AwsAuthList,
    AwsAuthMapping, CLUSTER_ADMIN_POLICY, SYSTEM_MASTERS, access_entry_admins, aws_auth_admins,
};
pub use access_status::{MAX_STATUS_ACCESS_ENTRIES, eks_access_status};
pub use account::{AccountPosture, Detector, LogGroup, Trail};
pub use ecr::{
    EcrRepository, EncryptionType, ImageInUse, RegistryScanning, ScanFindings, ScanFrequency,
    ScanStatus, ScanType, ScanningRule, TagMutability,
};
pub use edge::{EfsFileSystem, Listener, ListenerAction, LoadBalancer};
pub use eks::{EksCluster, REQUIRED_LOG_TYPES};
pub use identity::{
    Effect, IRSA_ROLE_ANNOTATION, IamRole, IdentitySource, PolicyDocument, PolicyParseError,
    RolePolicy, RoleUse, Statement, StoreAccess,
};
pub use kms::{KeyManager, KeyState, KmsKey};
pub use link::{EcrImageRef, KmsKeyReference, kms_key_references, parse_ecr_image};
pub use linked_by::{Links as ResourceLinks, add_resource_links, resource_links};
pub use reach::{Reach, RoleGrant, StoreInventory, StoreRef, UnknownReach, compute_reach};
pub use secrets::{DEFAULT_SECRETS_MANAGER_KEY, SecretsManagerSecret};
pub use stores::{
    BucketEncryption, DynamoTable, MAX_STORE_ACCESSES, PublicAccessBlock, RdsDatabase, RdsKind,
    S3Bucket, SseType, StoreLinks,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::Evaluation;
use crate::policy::EffectivePolicy;
use crate::tally::ResourceEvaluation;

pub use crate::model::{
    KIND_ALB, KIND_AWS_ACCOUNT, KIND_DYNAMODB_TABLE, KIND_ECR_REPOSITORY, KIND_EFS_FILE_SYSTEM,
    KIND_EKS_CLUSTER, KIND_IAM_ROLE, KIND_KMS_KEY, KIND_RDS_CLUSTER, KIND_RDS_INSTANCE,
    KIND_S3_BUCKET, KIND_SECRETS_MANAGER_SECRET,
};

/// Error codes AWS uses when the caller's IAM identity lacks a permission.
const ACCESS_DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
];

/// Why an AWS lookup failed, as the SDK reported it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{}", self.describe())]
pub struct LookupError {
    /// The AWS error code, e.g. `AccessDeniedException`, `ResourceNotFoundException`,
    /// `ThrottlingException`.
    pub code: String,
    /// The service's message.
    #[serde(default)]
    pub message: String,
    /// The IAM action of the failed call, e.g. `eks:DescribeCluster`; on AccessDenied it is the
    /// permission the operator lacks.
    #[serde(default)]
    pub action: Option<String>,
}

impl LookupError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        LookupError {
            code: code.into(),
            message: message.into(),
            action: None,
        }
    }

    /// The same error, naming the IAM action of the call that failed.
    pub fn with_action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }

    /// True when the error means a missing IAM permission.
    pub fn is_access_denied(&self) -> bool {
        ACCESS_DENIED_CODES.contains(&self.code.as_str())
    }

    /// `AccessDeniedException: <message> (missing IAM permission eks:DescribeCluster)`.
    fn describe(&self) -> String {
        let mut text = self.code.clone();
        if !self.message.trim().is_empty() {
            text.push_str(": ");
            text.push_str(self.message.trim());
        }
        match &self.action {
            Some(action) if self.is_access_denied() => {
                text.push_str(&format!(" (missing IAM permission {action})"));
            }
            Some(action) => text.push_str(&format!(" (calling {action})")),
            None => {}
        }
        text
    }
}

/// The outcome of one AWS lookup.
pub type Lookup<T> = Result<T, LookupError>;

/// One resource the operator asked AWS about: the identifier it asked for (a name, an ARN, a key
/// ID or an alias), and what came back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LookedUp<T> {
    pub requested: String,
    pub result: Lookup<T>,
}

impl<T> LookedUp<T> {
    pub fn found(requested: impl Into<String>, value: T) -> Self {
        LookedUp {
            requested: requested.into(),
            result: Ok(value),
        }
    }

    pub fn failed(requested: impl Into<String>, error: LookupError) -> Self {
        LookedUp {
            requested: requested.into(),
            result: Err(error),
        }
    }
}

/// Everything the operator learned about the AWS resources linked to one policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AwsSnapshot {
    /// The policy's EKS cluster; `None` when the policy links none (`spec.aws.eksClusterName`).
    #[serde(default)]
    pub eks: Option<LookedUp<EksCluster>>,
    /// Repositories named in `spec.aws.ecrRepositories` or that in-scope images come from.
    #[serde(default)]
    pub ecr_repositories: Vec<LookedUp<EcrRepository>>,
    /// Secrets named in `spec.aws.secrets` or that in-scope workloads reference.
    #[serde(default)]
    pub secrets: Vec<LookedUp<SecretsManagerSecret>>,
    /// Every KMS key the resources above use (see [`kms_key_references`]).
    #[serde(default)]
    pub kms_keys: Vec<LookedUp<KmsKey>>,
    /// The IAM roles in-scope workloads run with (IRSA or EKS Pod Identity).
    #[serde(default)]
    pub roles: Vec<LookedUp<IamRole>>,
    /// The S3 buckets those roles reach (or ACK / Crossplane objects declare).
    #[serde(default)]
    pub s3_buckets: Vec<LookedUp<S3Bucket>>,
    /// The RDS instances and clusters those roles reach (or objects declare).
    #[serde(default)]
    pub rds_databases: Vec<LookedUp<RdsDatabase>>,
    /// The DynamoDB tables those roles reach.
    #[serde(default)]
    pub dynamodb_tables: Vec<LookedUp<DynamoTable>>,
    /// The Application Load Balancers that serve in-scope Ingresses.
    #[serde(default)]
    pub load_balancers: Vec<LookedUp<LoadBalancer>>,
    /// The EFS file systems behind in-scope volumes.
    #[serde(default)]
    pub efs_file_systems: Vec<LookedUp<EfsFileSystem>>,
    /// The account's safeguards in the policy's region; `None` when not looked up.
    #[serde(default)]
    pub account: Option<AccountPosture>,
    /// When the lookups finished.
    pub taken_at: DateTime<Utc>,
}

impl AwsSnapshot {
    /// A snapshot with nothing linked.
    pub fn empty(taken_at: DateTime<Utc>) -> Self {
        AwsSnapshot {
            eks: None,
            ecr_repositories: Vec::new(),
            secrets: Vec::new(),
            kms_keys: Vec::new(),
            roles: Vec::new(),
            s3_buckets: Vec::new(),
            rds_databases: Vec::new(),
            dynamodb_tables: Vec::new(),
            load_balancers: Vec::new(),
            efs_file_systems: Vec::new(),
            account: None,
            taken_at,
        }
    }

    /// The looked-up KMS key that `identifier` (key ID, key ARN, alias name or alias ARN) names.
    pub fn kms_key(&self, identifier: &str) -> Option<&LookedUp<KmsKey>> {
        kms::find_key(&self.kms_keys, identifier)
    }
}

/// Every AWS control over every resource of the snapshot, as one evaluation.
pub fn evaluate_aws(
    snapshot: &AwsSnapshot,
    policy: &EffectivePolicy,
    now: DateTime<Utc>,
) -> Evaluation {
    let mut merged = Evaluation::default();
    for resource in evaluate_aws_resources(snapshot, policy, now) {
        merged.findings.extend(resource.evaluation.findings);
        for control in resource.evaluation.checked {
            if !merged.checked.iter().any(|known| known.id == control.id) {
                merged.checked.push(control);
            }
        }
    }
    merged
}

/// Every AWS control, one evaluation per resource (what the tally and the status's
/// `awsResources` need): the EKS cluster, then repositories, secrets, keys, roles, S3 buckets,
/// RDS databases, DynamoDB tables, load balancers and EFS file systems in snapshot order, then
/// the account's region.
pub fn evaluate_aws_resources(
    snapshot: &AwsSnapshot,
    policy: &EffectivePolicy,
    now: DateTime<Utc>,
) -> Vec<ResourceEvaluation> {
    let mut results = Vec::new();
    let observed = Some(snapshot.taken_at);
    if let Some(eks) = &snapshot.eks {
        results.push(eks::evaluate(eks, snapshot, policy, now).into_resource(observed));
    }
    for repository in &snapshot.ecr_repositories {
        results.push(ecr::evaluate(repository, policy, now).into_resource(observed));
    }
    for secret in &snapshot.secrets {
        results.push(secrets::evaluate(secret, snapshot, policy, now).into_resource(observed));
    }
    let mut judged_keys: Vec<&str> = Vec::new();
    for key in &snapshot.kms_keys {
        if let Ok(found) = &key.result {
            // Two identifiers (an ARN and an alias) may have named one key: judge it once.
            if judged_keys.contains(&found.key_id.as_str()) {
                continue;
            }
            judged_keys.push(&found.key_id);
        }
        results.push(kms::evaluate(key, policy, now).into_resource(observed));
    }
    for role in &snapshot.roles {
        results.push(iam_checks::evaluate_role(role, policy, now).into_resource(observed));
    }
    for bucket in &snapshot.s3_buckets {
        results.push(s3::evaluate(bucket, policy, now).into_resource(observed));
    }
    for database in &snapshot.rds_databases {
        results.push(rds::evaluate(database, snapshot, policy, now).into_resource(observed));
    }
    for table in &snapshot.dynamodb_tables {
        results.push(dynamodb::evaluate(table, snapshot, policy, now).into_resource(observed));
    }
    for balancer in &snapshot.load_balancers {
        results.push(
            edge_checks::evaluate_load_balancer(balancer, policy, now).into_resource(observed),
        );
    }
    for file_system in &snapshot.efs_file_systems {
        results.push(
            edge_checks::evaluate_file_system(file_system, policy, now).into_resource(observed),
        );
    }
    if let Some(account) = &snapshot.account {
        results
            .push(account_checks::evaluate(account, snapshot, policy, now).into_resource(observed));
    }
    results
}

/// Declares an enum of AWS string constants that keeps values it does not know as `Other`, so
/// that a collector maps an SDK enum with `from_aws(value.as_str())` and never loses a value.
macro_rules! aws_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version of HIPAA Guard does not know.
            Other(String),
        }

        impl $name {
            /// Parses the value as AWS spells it.
            pub fn from_aws(text: &str) -> Self {
                match text {
                    $($text => Self::$variant,)+
                    other => Self::Other(other.to_string()),
                }
            }

            /// The value as AWS spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(text) => text,
                }
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                Self::from_aws(&text)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_string()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use aws_enum;
