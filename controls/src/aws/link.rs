//! Pure helpers the operator's linker uses to decide what to look up: container images parsed
//! into ECR references, and the KMS keys that the looked-up EKS, ECR and Secrets Manager
//! resources use.

use crate::image_ref::{ImageReference, ecr_registry};
use crate::model::ResourceRef;

use super::ecr::EncryptionType;
use super::{
    AwsSnapshot, KIND_DYNAMODB_TABLE, KIND_ECR_REPOSITORY, KIND_EFS_FILE_SYSTEM, KIND_EKS_CLUSTER,
    KIND_RDS_CLUSTER, KIND_RDS_INSTANCE, KIND_S3_BUCKET, KIND_SECRETS_MANAGER_SECRET, RdsKind,
    SseType,
};

/// A container image that lives in a private ECR registry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EcrImageRef {
    /// The 12-digit AWS account of the registry.
    pub account: String,
    pub region: String,
    /// The repository name, e.g. `payments/api`.
    pub repository: String,
    /// The tag; `latest` when the image names neither tag nor digest.
    pub tag: Option<String>,
    /// `sha256:...`, when pinned by digest.
    pub digest: Option<String>,
}

impl EcrImageRef {
    /// What to ask DescribeImageScanFindings about: the digest when pinned, else the tag.
    pub fn reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }
}

/// Parses `<account>.dkr.ecr.<region>.amazonaws.com/<repo>[:tag][@sha256:...]`, including the
/// FIPS (`dkr.ecr-fips`) and China (`.amazonaws.com.cn`) hosts, a port on the host and nested
/// repository paths. The reference is split as [`ImageReference`] splits it and the host is
/// recognized by [`ecr_registry`], so that linking and HIPAA-K8S-IMAGE-REGISTRY agree on what an
/// ECR image is. `None` for anything else (Docker Hub, ECR Public, malformed references).
pub fn parse_ecr_image(image: &str) -> Option<EcrImageRef> {
    let image = image.trim();
    let parsed = ImageReference::parse(image);
    let host = parsed
        .registry
        .split_once(':')
        .map_or(parsed.registry, |(host, _port)| host);
    let (account, region) = ecr_registry(host)?;
    let name = image.split_once('@').map_or(image, |(name, _)| name);
    let empty_tag = name.ends_with(':');
    let digest_ok = parsed.digest.is_none_or(is_digest) && !image.ends_with('@');
    if empty_tag
        || !digest_ok
        || !is_repository_name(parsed.repository)
        || parsed.tag.is_some_and(|t| !is_tag(t))
    {
        return None;
    }
    Some(EcrImageRef {
        account: account.to_string(),
        region: region.to_string(),
        repository: parsed.repository.to_string(),
        tag: parsed.effective_tag().map(str::to_string),
        digest: parsed.digest.map(str::to_string),
    })
}

/// ECR repository names: lowercase path components of letters, digits, `.`, `_` and `-`.
fn is_repository_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && name.split('/').all(|component| {
            !component.is_empty()
                && component
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        })
}

fn is_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 128
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// `<algorithm>:<hex>`, e.g. `sha256:4f53...`.
fn is_digest(digest: &str) -> bool {
    digest.split_once(':').is_some_and(|(algorithm, hex)| {
        !algorithm.is_empty()
            && algorithm
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && hex.len() >= 32
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// A KMS key to look up, and the resources that use it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KmsKeyReference {
    /// The key as the using resource names it (key ARN, key ID, alias or alias ARN).
    pub identifier: String,
    pub used_by: Vec<ResourceRef>,
}

/// The KMS keys the snapshot's EKS cluster, ECR repositories, secrets and data stores use, in order of first
/// use, each once per identifier. Two identifiers may name one key (an ARN and an alias);
/// `evaluate_aws` judges a key once however many times it was looked up.
pub fn kms_key_references(snapshot: &AwsSnapshot) -> Vec<KmsKeyReference> {
    let mut references: Vec<KmsKeyReference> = Vec::new();
    let mut add = |identifier: &str, user: ResourceRef| {
        if identifier.trim().is_empty() {
            return;
        }
        match references
            .iter_mut()
            .find(|known| known.identifier == identifier)
        {
            Some(known) => known.used_by.push(user),
            None => references.push(KmsKeyReference {
                identifier: identifier.to_string(),
                used_by: vec![user],
            }),
        }
    };
    if let Some(Ok(cluster)) = snapshot.eks.as_ref().map(|eks| &eks.result)
        && let Some(key) = &cluster.secrets_key_arn
    {
        add(
            key,
            ResourceRef::new(KIND_EKS_CLUSTER, None, cluster.name.clone()),
        );
    }
    for repository in snapshot
        .ecr_repositories
        .iter()
        .filter_map(|repo| repo.result.as_ref().ok())
    {
        let uses_kms = matches!(
            repository.encryption_type,
            EncryptionType::Kms | EncryptionType::KmsDsse
        );
        if let (true, Some(key)) = (uses_kms, &repository.kms_key) {
            add(
                key,
                ResourceRef::new(KIND_ECR_REPOSITORY, None, repository.name.clone()),
            );
        }
    }
    for secret in snapshot
        .secrets
        .iter()
        .filter_map(|secret| secret.result.as_ref().ok())
    {
        if let Some(key) = &secret.kms_key_id {
            add(
                key,
                ResourceRef::new(KIND_SECRETS_MANAGER_SECRET, None, secret.name.clone()),
            );
        }
    }
    for bucket in snapshot
        .s3_buckets
        .iter()
        .filter_map(|b| b.result.as_ref().ok())
    {
        if let Ok(Some(encryption)) = &bucket.encryption
            && encryption.algorithm.starts_with("aws:kms")
            && let Some(key) = &encryption.kms_key_id
        {
            add(
                key,
                ResourceRef::new(KIND_S3_BUCKET, None, bucket.name.clone()),
            );
        }
    }
    for database in snapshot
        .rds_databases
        .iter()
        .filter_map(|d| d.result.as_ref().ok())
    {
        if let (true, Some(key)) = (database.storage_encrypted, &database.kms_key_id) {
            let kind = match database.kind {
                RdsKind::Cluster => KIND_RDS_CLUSTER,
                _ => KIND_RDS_INSTANCE,
            };
            add(
                key,
                ResourceRef::new(kind, None, database.identifier.clone()),
            );
        }
    }
    for table in snapshot
        .dynamodb_tables
        .iter()
        .filter_map(|t| t.result.as_ref().ok())
    {
        if let (Some(SseType::Kms), Some(key)) = (&table.sse_type, &table.kms_key_arn) {
            add(
                key,
                ResourceRef::new(KIND_DYNAMODB_TABLE, None, table.name.clone()),
            );
        }
    }
    for file_system in snapshot
        .efs_file_systems
        .iter()
        .filter_map(|f| f.result.as_ref().ok())
    {
        if let (true, Some(key)) = (file_system.encrypted, &file_system.kms_key_id) {
            add(
                key,
                ResourceRef::new(KIND_EFS_FILE_SYSTEM, None, file_system.id.clone()),
            );
        }
    }
    references
}
