//! The data-store snapshots: S3 buckets, RDS databases (instances and Aurora clusters) and
//! DynamoDB tables that in-scope workloads reach through their IAM roles (or that ACK or
//! Crossplane objects in scope declare). Each sub-lookup that failed is kept as its own error, so
//! that only the controls that needed it report Error.

use serde::{Deserialize, Serialize};

use crate::model::ResourceRef;

use super::identity::{PolicyDocument, StoreAccess};
use super::{Lookup, aws_enum};

/// The most workload × role paths a store keeps in the snapshot, as many as its status lists
/// (`hipaa_crds::MAX_STATUS_RESOURCE_LINKS`); the total is kept beside them.
pub const MAX_STORE_ACCESSES: usize = 10;

/// Who links a store to the policy: the workloads that reach it through a role, and the
/// Kubernetes objects (ACK, Crossplane) that declare it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreLinks {
    /// The workloads that reach the store, by role: the first [`MAX_STORE_ACCESSES`] in order
    /// (a role with `s3:*` on `*` used by thousands of workloads reaches every bucket).
    #[serde(default)]
    pub reached_by: Vec<StoreAccess>,
    /// How many workload × role paths reach the store in all.
    #[serde(default)]
    pub reached_by_total: usize,
    /// ACK or Crossplane objects in scope that manage the store.
    #[serde(default)]
    pub declared_by: Vec<ResourceRef>,
}

/// `ServerSideEncryptionConfiguration`'s default rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketEncryption {
    /// `SSEAlgorithm`: `aws:kms`, `aws:kms:dsse` or `AES256` (SSE-S3).
    pub algorithm: String,
    /// `KMSMasterKeyID`, for SSE-KMS.
    #[serde(default)]
    pub kms_key_id: Option<String>,
}

/// `PublicAccessBlockConfiguration` (the bucket's; an account-level block is not read).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// All four settings on.
    pub fn all_on(&self) -> bool {
        self.block_public_acls
            && self.ignore_public_acls
            && self.block_public_policy
            && self.restrict_public_buckets
    }
}

/// An S3 bucket: ListBuckets, then one call per setting (each its own permission).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Bucket {
    pub name: String,
    /// `arn:aws:s3:::<name>`.
    pub arn: String,
    /// GetBucketLocation's region, when read.
    #[serde(default)]
    pub region: Option<String>,
    /// GetBucketEncryption; `Ok(None)` when the bucket has no default encryption rule.
    pub encryption: Lookup<Option<BucketEncryption>>,
    /// GetBucketPolicy; `Ok(None)` when the bucket has no policy.
    pub policy: Lookup<Option<PolicyDocument>>,
    /// GetPublicAccessBlock; `Ok(None)` when none is configured.
    pub public_access_block: Lookup<Option<PublicAccessBlock>>,
    /// GetBucketAcl: the grants to AllUsers or AuthenticatedUsers, as `<grantee>:<permission>`.
    pub public_acl_grants: Lookup<Vec<String>>,
    /// GetBucketVersioning `Status`: `Enabled`, `Suspended`, or `None` when never set.
    pub versioning: Lookup<Option<String>>,
    /// GetObjectLockConfiguration: `ObjectLockEnabled = Enabled`; `Ok(false)` when not configured.
    pub object_lock: Lookup<bool>,
    #[serde(flatten)]
    pub links: StoreLinks,
}

aws_enum! {
    /// Whether an RDS database is an instance or an Aurora / Multi-AZ DB cluster.
    RdsKind {
        Instance = "DBInstance",
        Cluster = "DBCluster",
    }
}

/// An RDS DB instance (DescribeDBInstances) or DB cluster (DescribeDBClusters), with the TLS
/// setting of its parameter group (DescribeDBParameters / DescribeDBClusterParameters).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RdsDatabase {
    pub kind: RdsKind,
    /// `DBInstanceIdentifier` or `DBClusterIdentifier`.
    pub identifier: String,
    /// `DBInstanceArn` or `DBClusterArn`.
    pub arn: String,
    /// `DbiResourceId` or `DbClusterResourceId`: what `rds-db:connect` grants name
    /// (`arn:aws:rds-db:<region>:<account>:dbuser:<resource id>/<user>`).
    #[serde(default)]
    pub resource_id: Option<String>,
    /// `Engine`: `postgres`, `mysql`, `aurora-postgresql`, ...
    pub engine: String,
    /// `StorageEncrypted`.
    #[serde(default)]
    pub storage_encrypted: bool,
    /// `KmsKeyId`.
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// `BackupRetentionPeriod`, in days (0: automated backups off).
    #[serde(default)]
    pub backup_retention_days: i32,
    /// `MultiAZ`.
    #[serde(default)]
    pub multi_az: bool,
    /// `PubliclyAccessible`.
    #[serde(default)]
    pub publicly_accessible: bool,
    /// An instance that is a member of a cluster (`DBClusterIdentifier`): the cluster holds its
    /// storage, backups and TLS setting.
    #[serde(default)]
    pub cluster: Option<String>,
    /// The DB (cluster) parameter group's name.
    #[serde(default)]
    pub parameter_group: Option<String>,
    /// Whether the parameter group enforces TLS (`rds.force_ssl = 1` for PostgreSQL and SQL
    /// Server, `require_secure_transport = ON/1` for MySQL and MariaDB); `Ok(None)` when the
    /// engine has no such parameter or the group does not set it.
    pub tls_enforced: Lookup<Option<bool>>,
    /// The database's tags (`environment=production` marks production for Multi-AZ).
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    #[serde(flatten)]
    pub links: StoreLinks,
}

aws_enum! {
    /// `SSEDescription.SSEType`.
    SseType {
        Kms = "KMS",
        Aes256 = "AES256",
    }
}

/// A DynamoDB table: DescribeTable and DescribeContinuousBackups.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DynamoTable {
    pub name: String,
    pub arn: String,
    /// `SSEDescription.SSEType`; `None` means encryption with an AWS-owned key (the default).
    #[serde(default)]
    pub sse_type: Option<SseType>,
    /// `SSEDescription.KMSMasterKeyArn`.
    #[serde(default)]
    pub kms_key_arn: Option<String>,
    /// `PointInTimeRecoveryDescription.PointInTimeRecoveryStatus = ENABLED`.
    pub point_in_time_recovery: Lookup<bool>,
    #[serde(flatten)]
    pub links: StoreLinks,
}
