//! The ECR repository snapshot (DescribeRepositories, GetRegistryScanningConfiguration and
//! DescribeImageScanFindings of the images in use) and its three controls: scanning with no
//! serious finding in use, immutable tags, KMS encryption.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::ids;
use crate::model::{ResourceRef, Severity};
use crate::policy::{EffectivePolicy, glob_matches};

use super::judge::{Judge, Verdict};
use super::{KIND_ECR_REPOSITORY, LookedUp, Lookup, aws_enum};

/// How many failing images a message names before it counts the rest.
const MAX_IMAGES_NAMED: usize = 3;

aws_enum! {
    /// `imageTagMutability`.
    TagMutability {
        Mutable = "MUTABLE",
        Immutable = "IMMUTABLE",
        /// Immutable, except tags matching the exclusion filters.
        ImmutableWithExclusion = "IMMUTABLE_WITH_EXCLUSION",
        /// Mutable, except tags matching the exclusion filters.
        MutableWithExclusion = "MUTABLE_WITH_EXCLUSION",
    }
}

aws_enum! {
    /// `encryptionConfiguration.encryptionType`.
    EncryptionType {
        Aes256 = "AES256",
        Kms = "KMS",
        /// Dual-layer encryption with KMS.
        KmsDsse = "KMS_DSSE",
    }
}

aws_enum! {
    /// `scanningConfiguration.scanType` of the registry.
    ScanType {
        Basic = "BASIC",
        Enhanced = "ENHANCED",
    }
}

aws_enum! {
    /// `rules[].scanFrequency` of the registry's scanning configuration.
    ScanFrequency {
        ScanOnPush = "SCAN_ON_PUSH",
        ContinuousScan = "CONTINUOUS_SCAN",
        Manual = "MANUAL",
    }
}

aws_enum! {
    /// `imageScanStatus.status`.
    ScanStatus {
        Complete = "COMPLETE",
        /// Enhanced scanning keeps scanning the image.
        Active = "ACTIVE",
        Pending = "PENDING",
        InProgress = "IN_PROGRESS",
        Failed = "FAILED",
        UnsupportedImage = "UNSUPPORTED_IMAGE",
        ScanEligibilityExpired = "SCAN_ELIGIBILITY_EXPIRED",
        FindingsUnavailable = "FINDINGS_UNAVAILABLE",
    }
}

/// The registry's scanning configuration (GetRegistryScanningConfiguration), which applies to
/// every repository of the registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryScanning {
    pub scan_type: ScanType,
    #[serde(default)]
    pub rules: Vec<ScanningRule>,
}

/// One rule of the registry's scanning configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanningRule {
    pub scan_frequency: ScanFrequency,
    /// `repositoryFilters[].filter` (WILDCARD filters: `*` matches any text).
    #[serde(default)]
    pub repository_filters: Vec<String>,
}

impl RegistryScanning {
    /// Whether a rule scanning on push or continuously covers `repository`.
    pub fn scans(&self, repository: &str) -> bool {
        self.rules.iter().any(|rule| {
            matches!(
                rule.scan_frequency,
                ScanFrequency::ScanOnPush | ScanFrequency::ContinuousScan
            ) && rule
                .repository_filters
                .iter()
                .any(|filter| glob_matches(filter, repository))
        })
    }
}

/// An ECR repository as DescribeRepositories reports it, with the images in-scope workloads run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EcrRepository {
    /// `repositoryName`, e.g. `payments/api`.
    pub name: String,
    /// `repositoryArn`.
    #[serde(default)]
    pub arn: Option<String>,
    /// `repositoryUri`.
    #[serde(default)]
    pub uri: Option<String>,
    /// `imageScanningConfiguration.scanOnPush`.
    #[serde(default)]
    pub scan_on_push: bool,
    /// The registry's scanning configuration; `None` when it was not collected (the repository's
    /// own `scanOnPush` then decides).
    #[serde(default)]
    pub registry_scanning: Option<Lookup<RegistryScanning>>,
    /// `imageTagMutability`.
    pub tag_mutability: TagMutability,
    /// `imageTagMutabilityExclusionFilters[].filter`.
    #[serde(default)]
    pub tag_mutability_exclusions: Vec<String>,
    /// `encryptionConfiguration.encryptionType`.
    pub encryption_type: EncryptionType,
    /// `encryptionConfiguration.kmsKey`; `None` with KMS means the AWS-managed `aws/ecr` key.
    #[serde(default)]
    pub kms_key: Option<String>,
    /// The images of this repository that in-scope workloads run.
    #[serde(default)]
    pub images: Vec<ImageInUse>,
}

/// One image of the repository that in-scope workloads run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageInUse {
    /// The tag (`v1.2`) or digest (`sha256:...`) the workloads use.
    pub reference: String,
    /// The workloads that run it.
    #[serde(default)]
    pub used_by: Vec<ResourceRef>,
    /// DescribeImageScanFindings, or why it failed (`ScanNotFoundException` when never scanned).
    pub findings: Lookup<ScanFindings>,
}

/// The summary of an image's scan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanFindings {
    /// `imageScanStatus.status`.
    #[serde(default)]
    pub status: Option<ScanStatus>,
    /// `imageScanFindings.findingSeverityCounts`, keyed as AWS spells severities (`CRITICAL`,
    /// `HIGH`, `MEDIUM`, `LOW`, `INFORMATIONAL`, `UNDEFINED`, ...).
    #[serde(default)]
    pub severity_counts: BTreeMap<String, u32>,
}

impl ScanFindings {
    /// Findings at or above `threshold`, by severity (most severe first).
    pub fn at_or_above(&self, threshold: Severity) -> Vec<(Severity, u32)> {
        let mut counts: Vec<(Severity, u32)> = self
            .severity_counts
            .iter()
            .filter_map(|(name, count)| Severity::parse(name).map(|severity| (severity, *count)))
            .filter(|(severity, count)| *severity >= threshold && *count > 0)
            .collect();
        counts.sort_by_key(|(severity, _)| std::cmp::Reverse(*severity));
        counts
    }
}

impl ImageInUse {
    /// `payments/api:v1.2` or `payments/api@sha256:...`.
    pub fn display(&self, repository: &str) -> String {
        if self.reference.contains(':') {
            format!("{repository}@{}", self.reference)
        } else {
            format!("{repository}:{}", self.reference)
        }
    }

    fn is_digest(&self) -> bool {
        self.reference.contains(':')
    }
}

const ECR_CONTROLS: &[&str] = &[ids::ECR_SCAN, ids::ECR_IMMUTABLE_TAGS, ids::ECR_KMS];

pub(crate) fn evaluate<'a>(
    looked_up: &LookedUp<EcrRepository>,
    policy: &'a EffectivePolicy,
    now: DateTime<Utc>,
) -> Judge<'a> {
    let repository = match &looked_up.result {
        Ok(repository) => repository,
        Err(error) => {
            let resource = ResourceRef::new(KIND_ECR_REPOSITORY, None, looked_up.requested.clone());
            let mut judge = Judge::new(policy, now, resource);
            let what = format!("ECR repository {}", looked_up.requested);
            judge.lookup_failed(ECR_CONTROLS, &what, error);
            return judge;
        }
    };
    let resource = ResourceRef::new(KIND_ECR_REPOSITORY, None, repository.name.clone());
    let mut judge = Judge::new(policy, now, resource)
        .also_named(repository.arn.iter().chain(&repository.uri).cloned());
    judge.judge(ids::ECR_SCAN, |parameters| {
        scanning(repository, parameters.fail_on)
    });
    judge.judge(ids::ECR_IMMUTABLE_TAGS, |_| immutable_tags(repository));
    judge.judge(ids::ECR_KMS, |_| kms_encryption(repository));
    judge
}

/// HIPAA-ECR-SCAN: images are scanned on push, and no image in use has a finding at or above
/// `fail_on`.
fn scanning(repository: &EcrRepository, fail_on: Severity) -> Verdict {
    let name = &repository.name;
    let mut failures = Vec::new();
    let mut errors = Vec::new();
    match scanned_on_push(repository) {
        Ok(None) => {}
        Ok(Some(why_not)) => failures.push(why_not),
        Err(error) => errors.push(error),
    }
    let mut failing_images = Vec::new();
    for image in &repository.images {
        let shown = image.display(name);
        match &image.findings {
            Err(error) => errors.push(format!("image {shown}: {error}")),
            Ok(findings) => match &findings.status {
                None | Some(ScanStatus::Complete | ScanStatus::Active) => {
                    let counts = findings.at_or_above(fail_on);
                    if !counts.is_empty() {
                        failing_images.push(describe_findings(&shown, image, &counts, fail_on));
                    }
                }
                Some(status) => errors.push(format!("image {shown}: its scan status is {status}")),
            },
        }
    }
    let failing_count = failing_images.len();
    failures.extend(failing_images.into_iter().take(MAX_IMAGES_NAMED));
    if failing_count > MAX_IMAGES_NAMED {
        failures.push(format!(
            "{} more images in use have such findings",
            failing_count - MAX_IMAGES_NAMED
        ));
    }
    if !failures.is_empty() {
        let mut message = format!("ECR repository {name}: {}", failures.join("; "));
        if !errors.is_empty() {
            message.push_str(&format!(
                " ({} more checks could not be made: {})",
                errors.len(),
                errors.join("; ")
            ));
        }
        return Verdict::Fail(message);
    }
    if !errors.is_empty() {
        return Verdict::Error(format!(
            "cannot evaluate ECR repository {name}: {}",
            errors.join("; ")
        ));
    }
    Verdict::Pass
}

/// `Ok(None)` when pushed images are scanned, `Ok(Some(why not))`, or `Err` when unknown.
fn scanned_on_push(repository: &EcrRepository) -> Result<Option<String>, String> {
    let name = &repository.name;
    let registry = match &repository.registry_scanning {
        None => None,
        Some(Ok(registry)) => Some(registry),
        Some(Err(error)) => {
            return Err(format!(
                "the registry scanning configuration is unknown: {error}"
            ));
        }
    };
    match registry.map(|registry| (&registry.scan_type, registry.scans(name))) {
        None | Some((ScanType::Basic, false)) if repository.scan_on_push => Ok(None),
        None | Some((ScanType::Basic, false)) => {
            Ok(Some("scan on push is off, and no registry scanning rule covers the repository".to_string()))
        }
        Some((ScanType::Basic | ScanType::Enhanced, true)) => Ok(None),
        Some((ScanType::Enhanced, false)) => Ok(Some(
            "the registry uses enhanced scanning and no SCAN_ON_PUSH or CONTINUOUS_SCAN rule covers the repository"
                .to_string(),
        )),
        Some((ScanType::Other(other), _)) => Err(format!("the registry reports the unknown scan type {other}")),
    }
}

/// `image payments/api:v1 (run by Deployment billing/api) has 3 CRITICAL findings`.
fn describe_findings(
    shown: &str,
    image: &ImageInUse,
    counts: &[(Severity, u32)],
    fail_on: Severity,
) -> String {
    let total: u32 = counts.iter().map(|(_, count)| count).sum();
    let run_by = match image.used_by.split_first() {
        Some((first, [])) => format!(" (run by {first})"),
        Some((first, rest)) => format!(" (run by {first} and {} more)", rest.len()),
        None => String::new(),
    };
    match counts {
        [(severity, count)] if *severity == fail_on => {
            format!("image {shown}{run_by} has {count} {severity} findings")
        }
        _ => {
            let detail: Vec<String> = counts
                .iter()
                .map(|(severity, count)| format!("{count} {severity}"))
                .collect();
            format!(
                "image {shown}{run_by} has {total} findings at or above {fail_on} ({})",
                detail.join(", ")
            )
        }
    }
}

/// HIPAA-ECR-IMMUTABLE-TAGS: tags are immutable; with exclusion filters, no image in use is
/// referenced by a tag the filters leave mutable.
fn immutable_tags(repository: &EcrRepository) -> Verdict {
    let name = &repository.name;
    match &repository.tag_mutability {
        TagMutability::Immutable => Verdict::Pass,
        TagMutability::ImmutableWithExclusion => {
            let mutable: Vec<String> = repository
                .images
                .iter()
                .filter(|image| !image.is_digest())
                .filter(|image| {
                    repository
                        .tag_mutability_exclusions
                        .iter()
                        .any(|f| glob_matches(f, &image.reference))
                })
                .map(|image| image.display(name))
                .collect();
            if mutable.is_empty() {
                Verdict::Pass
            } else {
                Verdict::Fail(format!(
                    "ECR repository {name} leaves tags matching its exclusion filters mutable, and workloads run {}",
                    mutable.join(", ")
                ))
            }
        }
        TagMutability::Mutable | TagMutability::MutableWithExclusion => Verdict::Fail(format!(
            "ECR repository {name} has mutable tags ({})",
            repository.tag_mutability
        )),
        TagMutability::Other(other) => Verdict::Error(format!(
            "cannot evaluate ECR repository {name}: unknown tag mutability {other}"
        )),
    }
}

/// HIPAA-ECR-KMS: encryption type KMS (or dual-layer KMS).
fn kms_encryption(repository: &EcrRepository) -> Verdict {
    let name = &repository.name;
    match &repository.encryption_type {
        EncryptionType::Kms | EncryptionType::KmsDsse => Verdict::Pass,
        EncryptionType::Aes256 => Verdict::Fail(format!(
            "ECR repository {name} is encrypted with AES256 (S3-managed keys), not KMS"
        )),
        EncryptionType::Other(other) => Verdict::Error(format!(
            "cannot evaluate ECR repository {name}: unknown encryption type {other}"
        )),
    }
}
