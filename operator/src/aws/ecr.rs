//! ECR: DescribeRepositories (one repository, or every repository of the region to expand the
//! globs of `spec.aws.ecrRepositories`), GetRegistryScanningConfiguration, and
//! DescribeImageScanFindings of the images in use, mapped to the snapshot the ECR controls judge.

use std::collections::BTreeMap;

use aws_sdk_ecr::operation::describe_image_scan_findings::DescribeImageScanFindingsOutput;
use aws_sdk_ecr::operation::get_registry_scanning_configuration::GetRegistryScanningConfigurationOutput;
use aws_sdk_ecr::types::{ImageIdentifier, Repository};
use hipaa_controls::aws::{
    EcrRepository, EncryptionType, Lookup, LookupError, RegistryScanning, ScanFindings,
    ScanFrequency, ScanStatus, ScanType, ScanningRule, TagMutability,
};

use super::clients::{Clients, RegionClients};
use super::error::{actions, lookup_error};
use super::link::RepositoryKey;

/// Repositories per DescribeRepositories page when listing a region.
const PAGE_SIZE: i32 = 1000;

/// The registry's scanning configuration and the registry (account) it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryScan {
    pub registry_id: Option<String>,
    pub scanning: RegistryScanning,
}

/// DescribeRepositories of one repository.
pub async fn describe_repository(
    clients: &Clients,
    regional: &RegionClients,
    key: &RepositoryKey,
) -> Lookup<EcrRepository> {
    let _permit = clients.permit().await;
    let output = regional
        .ecr
        .describe_repositories()
        .repository_names(&key.name)
        .set_registry_id(key.registry.clone())
        .send()
        .await
        .map_err(|error| lookup_error(&error, actions::ECR_DESCRIBE_REPOSITORIES))?;
    output
        .repositories()
        .iter()
        .filter_map(repository_snapshot)
        .find(|repository| repository.name == key.name)
        .ok_or_else(|| {
            LookupError::new(
                "RepositoryNotFoundException",
                format!(
                    "DescribeRepositories returned no repository named {}",
                    key.name
                ),
            )
            .with_action(actions::ECR_DESCRIBE_REPOSITORIES)
        })
}

/// Every repository of the caller's registry in the region (DescribeRepositories, paginated).
pub async fn list_repositories(
    clients: &Clients,
    regional: &RegionClients,
) -> Lookup<Vec<EcrRepository>> {
    let mut repositories = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let _permit = clients.permit().await;
        let output = regional
            .ecr
            .describe_repositories()
            .max_results(PAGE_SIZE)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|error| lookup_error(&error, actions::ECR_DESCRIBE_REPOSITORIES))?;
        repositories.extend(output.repositories().iter().filter_map(repository_snapshot));
        match output.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok(repositories),
        }
    }
}

/// GetRegistryScanningConfiguration of the caller's registry in the region.
pub async fn registry_scanning(
    clients: &Clients,
    regional: &RegionClients,
) -> Lookup<RegistryScan> {
    let _permit = clients.permit().await;
    let output = regional
        .ecr
        .get_registry_scanning_configuration()
        .send()
        .await
        .map_err(|error| lookup_error(&error, actions::ECR_GET_REGISTRY_SCANNING_CONFIGURATION))?;
    Ok(registry_scan_snapshot(&output))
}

/// DescribeImageScanFindings of one image, by digest (`sha256:...`) or tag. Only the summary is
/// read, so one page of one finding is enough.
pub async fn image_scan_findings(
    clients: &Clients,
    regional: &RegionClients,
    key: &RepositoryKey,
    reference: &str,
) -> Lookup<ScanFindings> {
    let image = if reference.contains(':') {
        ImageIdentifier::builder().image_digest(reference).build()
    } else {
        ImageIdentifier::builder().image_tag(reference).build()
    };
    let _permit = clients.permit().await;
    let output = regional
        .ecr
        .describe_image_scan_findings()
        .repository_name(&key.name)
        .set_registry_id(key.registry.clone())
        .image_id(image)
        .max_results(1)
        .send()
        .await
        .map_err(|error| lookup_error(&error, actions::ECR_DESCRIBE_IMAGE_SCAN_FINDINGS))?;
    Ok(scan_findings_snapshot(&output))
}

/// What the controls read of a repository; `None` for an answer without a name.
pub fn repository_snapshot(repository: &Repository) -> Option<EcrRepository> {
    let name = repository.repository_name()?.to_string();
    let encryption = repository.encryption_configuration();
    Some(EcrRepository {
        name,
        arn: repository.repository_arn().map(str::to_string),
        uri: repository.repository_uri().map(str::to_string),
        scan_on_push: repository
            .image_scanning_configuration()
            .is_some_and(|config| config.scan_on_push()),
        registry_scanning: None,
        // ECR's default when the answer omits it.
        tag_mutability: repository
            .image_tag_mutability()
            .map_or(TagMutability::Mutable, |m| {
                TagMutability::from_aws(m.as_str())
            }),
        tag_mutability_exclusions: repository
            .image_tag_mutability_exclusion_filters()
            .iter()
            .map(|filter| filter.filter().to_string())
            .collect(),
        // ECR's default (AES256) when the answer omits it.
        encryption_type: encryption.map_or(EncryptionType::Aes256, |e| {
            EncryptionType::from_aws(e.encryption_type().as_str())
        }),
        kms_key: encryption
            .and_then(|e| e.kms_key())
            .filter(|key| !key.trim().is_empty())
            .map(str::to_string),
        images: Vec::new(),
    })
}

/// The account that owns a repository, from its ARN.
pub fn repository_account(repository: &EcrRepository) -> Option<&str> {
    repository.arn.as_deref()?.split(':').nth(4)
}

fn registry_scan_snapshot(output: &GetRegistryScanningConfigurationOutput) -> RegistryScan {
    let config = output.scanning_configuration();
    let scan_type = config
        .and_then(|c| c.scan_type())
        .map_or(ScanType::Basic, |t| ScanType::from_aws(t.as_str()));
    let rules = config
        .map(|c| c.rules())
        .unwrap_or_default()
        .iter()
        .map(|rule| ScanningRule {
            scan_frequency: ScanFrequency::from_aws(rule.scan_frequency().as_str()),
            repository_filters: rule
                .repository_filters()
                .iter()
                .map(|filter| filter.filter().to_string())
                .collect(),
        })
        .collect();
    RegistryScan {
        registry_id: output.registry_id().map(str::to_string),
        scanning: RegistryScanning { scan_type, rules },
    }
}

fn scan_findings_snapshot(output: &DescribeImageScanFindingsOutput) -> ScanFindings {
    let severity_counts: BTreeMap<String, u32> = output
        .image_scan_findings()
        .and_then(|findings| findings.finding_severity_counts())
        .map(|counts| {
            counts
                .iter()
                .map(|(severity, count)| {
                    (
                        severity.as_str().to_string(),
                        u32::try_from(*count).unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    ScanFindings {
        status: output
            .image_scan_status()
            .and_then(|status| status.status())
            .map(|status| ScanStatus::from_aws(status.as_str())),
        severity_counts,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use aws_sdk_ecr::types::{
        EncryptionConfiguration, FindingSeverity, ImageScanFindings, ImageScanStatus,
        ImageScanningConfiguration, ImageTagMutability, RegistryScanningConfiguration,
        RegistryScanningRule, ScanningRepositoryFilter, ScanningRepositoryFilterType,
    };

    #[test]
    fn a_repository_maps_scanning_mutability_and_encryption() {
        let repository = Repository::builder()
            .repository_name("payments/api")
            .repository_arn("arn:aws:ecr:us-east-1:123456789012:repository/payments/api")
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(true)
                    .build(),
            )
            .image_tag_mutability(ImageTagMutability::Immutable)
            .encryption_configuration(
                EncryptionConfiguration::builder()
                    .encryption_type(aws_sdk_ecr::types::EncryptionType::Kms)
                    .kms_key("arn:aws:kms:us-east-1:123456789012:key/k")
                    .build()
                    .unwrap(),
            )
            .build();
        let snapshot = repository_snapshot(&repository).unwrap();
        assert!(snapshot.scan_on_push);
        assert_eq!(snapshot.tag_mutability, TagMutability::Immutable);
        assert_eq!(snapshot.encryption_type, EncryptionType::Kms);
        assert_eq!(
            snapshot.kms_key.as_deref(),
            Some("arn:aws:kms:us-east-1:123456789012:key/k")
        );
        assert_eq!(repository_account(&snapshot), Some("123456789012"));
    }

    #[test]
    fn omitted_settings_are_ecr_defaults() {
        let snapshot =
            repository_snapshot(&Repository::builder().repository_name("plain").build()).unwrap();
        assert!(!snapshot.scan_on_push);
        assert_eq!(snapshot.tag_mutability, TagMutability::Mutable);
        assert_eq!(snapshot.encryption_type, EncryptionType::Aes256);
        assert!(repository_snapshot(&Repository::builder().build()).is_none());
    }

    #[test]
    fn severity_counts_and_status_are_read() {
        let output = DescribeImageScanFindingsOutput::builder()
            .image_scan_status(
                ImageScanStatus::builder()
                    .status(aws_sdk_ecr::types::ScanStatus::Complete)
                    .build(),
            )
            .image_scan_findings(
                ImageScanFindings::builder()
                    .finding_severity_counts(FindingSeverity::Critical, 3)
                    .finding_severity_counts(FindingSeverity::Low, 7)
                    .build(),
            )
            .build();
        let findings = scan_findings_snapshot(&output);
        assert_eq!(findings.status, Some(ScanStatus::Complete));
        assert_eq!(findings.severity_counts.get("CRITICAL"), Some(&3));
        assert_eq!(findings.severity_counts.get("LOW"), Some(&7));
    }

    #[test]
    fn registry_rules_keep_their_filters() {
        let output = GetRegistryScanningConfigurationOutput::builder()
            .registry_id("123456789012")
            .scanning_configuration(
                RegistryScanningConfiguration::builder()
                    .scan_type(aws_sdk_ecr::types::ScanType::Enhanced)
                    .rules(
                        RegistryScanningRule::builder()
                            .scan_frequency(aws_sdk_ecr::types::ScanFrequency::ContinuousScan)
                            .repository_filters(
                                ScanningRepositoryFilter::builder()
                                    .filter("payments/*")
                                    .filter_type(ScanningRepositoryFilterType::Wildcard)
                                    .build()
                                    .unwrap(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .build();
        let scan = registry_scan_snapshot(&output);
        assert_eq!(scan.registry_id.as_deref(), Some("123456789012"));
        assert_eq!(scan.scanning.scan_type, ScanType::Enhanced);
        assert!(scan.scanning.scans("payments/api"));
        assert!(!scan.scanning.scans("other"));
    }
}
