//! The control catalog: every control HIPAA Guard checks, with its sections, severity, targets,
//! parameters and remediation. docs/controls.md renders the same table for people.
//!
//! The entries live by family (`kubernetes`, `aws`, `data_stores`, `account`); this module joins
//! them, at compile time, into the one static array every lookup reads, so that a control's
//! position in it is its identity for the life of the process (see [`position_of`]).

mod account;
mod aws;
mod data_stores;
mod kubernetes;

use crate::model::{Control, Severity};

/// Control IDs, for code that names a control (the catalog is the source of truth for the rest).
pub mod ids {
    pub const K8S_TLS_INGRESS: &str = "HIPAA-K8S-TLS-INGRESS";
    pub const K8S_TLS_LB: &str = "HIPAA-K8S-TLS-LB";
    pub const K8S_TLS_WORKLOAD: &str = "HIPAA-K8S-TLS-WORKLOAD";
    pub const K8S_NETPOL: &str = "HIPAA-K8S-NETPOL";
    pub const K8S_VOLUME_ENCRYPTION: &str = "HIPAA-K8S-VOLUME-ENCRYPTION";
    pub const K8S_SECRETS_IN_ENV: &str = "HIPAA-K8S-SECRETS-IN-ENV";
    pub const K8S_PRIVILEGED: &str = "HIPAA-K8S-PRIVILEGED";
    pub const K8S_IMAGE_REGISTRY: &str = "HIPAA-K8S-IMAGE-REGISTRY";
    pub const K8S_HA: &str = "HIPAA-K8S-HA";
    pub const K8S_DEV_PHI: &str = "HIPAA-K8S-DEV-PHI";
    pub const K8S_BACKUP: &str = "HIPAA-K8S-BACKUP";
    pub const K8S_PHI_SCOPE: &str = "HIPAA-K8S-PHI-SCOPE";
    pub const K8S_ACCESS_SECRETS: &str = "HIPAA-K8S-ACCESS-SECRETS";
    pub const K8S_ACCESS_EXEC: &str = "HIPAA-K8S-ACCESS-EXEC";
    pub const K8S_CLUSTER_ADMIN: &str = "HIPAA-K8S-CLUSTER-ADMIN";
    pub const K8S_SA_TOKEN: &str = "HIPAA-K8S-SA-TOKEN";
    pub const EKS_SECRETS_KMS: &str = "HIPAA-EKS-SECRETS-KMS";
    pub const EKS_AUDIT_LOGGING: &str = "HIPAA-EKS-AUDIT-LOGGING";
    pub const EKS_ENDPOINT: &str = "HIPAA-EKS-ENDPOINT";
    pub const EKS_VERSION: &str = "HIPAA-EKS-VERSION";
    pub const EKS_ACCESS_ADMIN: &str = "HIPAA-EKS-ACCESS-ADMIN";
    pub const EKS_AUTH_MODE: &str = "HIPAA-EKS-AUTH-MODE";
    pub const ECR_SCAN: &str = "HIPAA-ECR-SCAN";
    pub const ECR_IMMUTABLE_TAGS: &str = "HIPAA-ECR-IMMUTABLE-TAGS";
    pub const ECR_KMS: &str = "HIPAA-ECR-KMS";
    pub const SM_KMS: &str = "HIPAA-SM-KMS";
    pub const SM_ROTATION: &str = "HIPAA-SM-ROTATION";
    pub const KMS_ROTATION: &str = "HIPAA-KMS-ROTATION";
    pub const IAM_DATA_WILDCARD_ACTION: &str = "HIPAA-IAM-DATA-WILDCARD-ACTION";
    pub const IAM_DATA_WILDCARD_RESOURCE: &str = "HIPAA-IAM-DATA-WILDCARD-RESOURCE";
    pub const S3_ENCRYPTION: &str = "HIPAA-S3-ENCRYPTION";
    pub const S3_TLS: &str = "HIPAA-S3-TLS";
    pub const S3_PUBLIC: &str = "HIPAA-S3-PUBLIC";
    pub const S3_VERSIONING: &str = "HIPAA-S3-VERSIONING";
    pub const RDS_ENCRYPTION: &str = "HIPAA-RDS-ENCRYPTION";
    pub const RDS_BACKUP: &str = "HIPAA-RDS-BACKUP";
    pub const RDS_MULTI_AZ: &str = "HIPAA-RDS-MULTI-AZ";
    pub const RDS_TLS: &str = "HIPAA-RDS-TLS";
    pub const RDS_PUBLIC: &str = "HIPAA-RDS-PUBLIC";
    pub const DYNAMODB_KMS: &str = "HIPAA-DYNAMODB-KMS";
    pub const DYNAMODB_PITR: &str = "HIPAA-DYNAMODB-PITR";
    pub const ALB_TLS: &str = "HIPAA-ALB-TLS";
    pub const EFS_ENCRYPTION: &str = "HIPAA-EFS-ENCRYPTION";
    pub const AWS_CLOUDTRAIL: &str = "HIPAA-AWS-CLOUDTRAIL";
    pub const AWS_LOG_RETENTION: &str = "HIPAA-AWS-LOG-RETENTION";
    pub const AWS_GUARDDUTY: &str = "HIPAA-AWS-GUARDDUTY";
    pub const AWS_EBS_DEFAULT_ENCRYPTION: &str = "HIPAA-AWS-EBS-DEFAULT-ENCRYPTION";
}

/// Parameter names as they appear in `spec.controls[].parameters`.
pub mod params {
    pub const ALLOWED_REGISTRIES: &str = "allowedRegistries";
    pub const ALLOWED_SUBJECTS: &str = "allowedSubjects";
    pub const REQUIRE_EGRESS: &str = "requireEgress";
    pub const MIN_REPLICAS: &str = "minReplicas";
    pub const MIN_VERSION: &str = "minVersion";
    pub const FAIL_ON: &str = "failOn";
    pub const MAX_AGE_DAYS: &str = "maxAgeDays";
    pub const ALLOWED_PRINCIPALS: &str = "allowedPrincipals";
    pub const ALLOW_CONFIG_MAP: &str = "allowConfigMap";
    pub const VALUE_ENTROPY_THRESHOLD: &str = "valueEntropyThreshold";
    pub const MIN_RETENTION_DAYS: &str = "minRetentionDays";
    pub const ALLOW_SSE_S3: &str = "allowSseS3";
    pub const REQUIRE_FOR_ALL: &str = "requireForAll";
}

/// The default of `minReplicas`.
pub const DEFAULT_MIN_REPLICAS: i32 = 2;
/// The default of `minVersion`: the oldest EKS minor version still in standard support when the
/// catalog was last reviewed.
pub const DEFAULT_MIN_VERSION: (u32, u32) = (1, 32);
/// The default of `maxAgeDays`.
pub const DEFAULT_MAX_AGE_DAYS: i64 = 90;
/// The default of `allowedSubjects`: the identities of the control plane itself (the API
/// server's superusers, the controller manager and the controllers' ServiceAccounts in
/// kube-system) and EKS's own (`eks:*` users and groups), which hold these accesses in every
/// cluster by design.
pub const DEFAULT_ALLOWED_SUBJECTS: &[&str] = &[
    "Group:system:masters",
    "User:system:kube-controller-manager",
    "ServiceAccount:kube-system:*",
    "User:eks:*",
    "Group:eks:*",
];
/// The default of `valueEntropyThreshold`, in bits per character: random base64 and
/// alphanumeric tokens of 24 characters or more reach it; English words, hex and UUIDs do not.
pub const DEFAULT_VALUE_ENTROPY_THRESHOLD: f64 = 4.5;
/// The default of `failOn`.
pub const DEFAULT_FAIL_ON: Severity = Severity::Critical;
/// The default of `minRetentionDays` for HIPAA-RDS-BACKUP: a week of automated backups.
pub const DEFAULT_BACKUP_RETENTION_DAYS: i64 = 7;
/// The default of `minRetentionDays` for HIPAA-AWS-LOG-RETENTION: a year of control-plane logs.
pub const DEFAULT_LOG_RETENTION_DAYS: i64 = 365;

/// How many controls the catalog holds.
const CATALOG_SIZE: usize = kubernetes::CONTROLS.len()
    + aws::CONTROLS.len()
    + data_stores::CONTROLS.len()
    + account::CONTROLS.len();

/// Every control, in catalog order: Kubernetes, then the cluster's AWS resources, then the data
/// stores workloads reach, then the edge and the account.
static CATALOG: [Control; CATALOG_SIZE] = join(&[
    &kubernetes::CONTROLS,
    &aws::CONTROLS,
    &data_stores::CONTROLS,
    &account::CONTROLS,
]);

/// The families' entries one after another, as one array. Evaluated at compile time: an index out
/// of bounds or a miscount fails the build, never a run (and a const fn cannot call `get`).
#[allow(clippy::indexing_slicing)]
const fn join(families: &[&[Control]]) -> [Control; CATALOG_SIZE] {
    let mut out = [kubernetes::CONTROLS[0]; CATALOG_SIZE];
    let mut at = 0;
    let mut family = 0;
    while family < families.len() {
        let entries = families[family];
        let mut i = 0;
        while i < entries.len() {
            out[at] = entries[i];
            at += 1;
            i += 1;
        }
        family += 1;
    }
    assert!(at == CATALOG_SIZE, "the families fill the catalog exactly");
    out
}

/// Every control, in catalog order (Kubernetes first, then AWS).
pub fn catalog() -> &'static [Control] {
    &CATALOG
}

/// The control with this ID.
pub fn control(id: &str) -> Option<&'static Control> {
    CATALOG.iter().find(|control| control.id == id)
}

/// The catalog position of a control ID; stable for the life of the process.
pub fn index_of(id: &str) -> Option<usize> {
    CATALOG.iter().position(|control| control.id == id)
}

/// The catalog position of a control, found from where it lives in the catalog (a tally asks
/// once per finding, so without comparing IDs); by its ID for a copy held elsewhere.
pub fn position_of(control: &Control) -> Option<usize> {
    let size = std::mem::size_of::<Control>();
    let offset = (control as *const Control as usize).checked_sub(CATALOG.as_ptr() as usize);
    match offset {
        Some(offset) if offset % size == 0 && offset / size < CATALOG.len() => Some(offset / size),
        _ => index_of(control.id),
    }
}

/// Whether `control` reads the parameter `name`.
pub fn reads_parameter(control: &Control, name: &str) -> bool {
    control.parameters.iter().any(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_lands_in_the_one_array_and_is_found_by_address() {
        assert_eq!(CATALOG.len(), CATALOG_SIZE);
        for (index, control) in catalog().iter().enumerate() {
            assert_eq!(position_of(control), Some(index), "{}", control.id);
            let copy = *control;
            assert_eq!(position_of(&copy), Some(index), "{} by its ID", control.id);
        }
        let families = [
            &kubernetes::CONTROLS[..],
            &aws::CONTROLS[..],
            &data_stores::CONTROLS[..],
            &account::CONTROLS[..],
        ];
        let joined: Vec<&str> = families
            .iter()
            .flat_map(|f| f.iter().map(|c| c.id))
            .collect();
        let ids: Vec<&str> = catalog().iter().map(|c| c.id).collect();
        assert_eq!(ids, joined);
    }
}
