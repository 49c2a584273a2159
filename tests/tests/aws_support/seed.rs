//! Resources in moto for the AWS tests: KMS keys, EKS clusters, ECR repositories with pushed and
//! scanned images (and custom scan findings through moto's API), Secrets Manager secrets.

use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageIdentifier, ImageScanningConfiguration,
    ImageTagMutability,
};
use aws_sdk_eks::types::{
    EncryptionConfig, LogSetup, LogType, Logging, Provider, VpcConfigRequest,
};
use aws_sdk_secretsmanager::types::RotationRulesType;
use hipaa_testkit::Moto;

/// The account moto puts everything in.
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

static NAMES: AtomicU32 = AtomicU32::new(0);

/// A name unique in this test process (moto's state is shared by the binary's tests).
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NAMES.fetch_add(1, Ordering::Relaxed)
    )
}

/// SDK clients on moto itself (not through a proxy), to set things up.
pub struct Seed {
    pub eks: aws_sdk_eks::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub kms: aws_sdk_kms::Client,
    endpoint: String,
}

/// An EKS cluster to create.
pub struct ClusterSpec<'a> {
    pub secrets_key: Option<&'a str>,
    pub log_types: &'a [LogType],
    pub public_cidrs: Option<&'a [&'a str]>,
    pub version: &'a str,
}

/// An ECR repository to create.
pub struct RepositorySpec<'a> {
    pub scan_on_push: bool,
    pub immutable: bool,
    pub kms_key: Option<&'a str>,
}

impl<'a> ClusterSpec<'a> {
    /// A cluster every EKS control passes: secrets encrypted with `key_arn`, the audit log types
    /// sent to CloudWatch, no public endpoint, a supported version.
    pub fn hardened(key_arn: &'a str) -> ClusterSpec<'a> {
        ClusterSpec {
            secrets_key: Some(key_arn),
            log_types: &[LogType::Api, LogType::Audit, LogType::Authenticator],
            public_cidrs: None,
            version: "1.33",
        }
    }
}

impl<'a> RepositorySpec<'a> {
    /// Scan on push and immutable tags, encrypted with `kms_key` or else with AES-256.
    pub fn hardened(kms_key: Option<&'a str>) -> RepositorySpec<'a> {
        RepositorySpec {
            scan_on_push: true,
            immutable: true,
            kms_key,
        }
    }
}

impl Seed {
    pub async fn new(moto: &Moto) -> Seed {
        let config = moto.sdk_config().await;
        Seed {
            eks: aws_sdk_eks::Client::new(&config),
            ecr: aws_sdk_ecr::Client::new(&config),
            secrets: aws_sdk_secretsmanager::Client::new(&config),
            kms: aws_sdk_kms::Client::new(&config),
            endpoint: moto.endpoint().to_string(),
        }
    }

    /// A customer-managed key; returns (key ID, key ARN).
    pub async fn key(&self, rotation: bool) -> (String, String) {
        let created = self.kms.create_key().send().await.unwrap();
        let metadata = created.key_metadata().unwrap();
        let (id, arn) = (
            metadata.key_id().to_string(),
            metadata.arn().unwrap().to_string(),
        );
        if rotation {
            self.kms
                .enable_key_rotation()
                .key_id(&id)
                .send()
                .await
                .unwrap();
        }
        (id, arn)
    }

    /// Schedules the key's deletion (7 days, the shortest window).
    pub async fn schedule_deletion(&self, key_id: &str) {
        self.kms
            .schedule_key_deletion()
            .key_id(key_id)
            .pending_window_in_days(7)
            .send()
            .await
            .unwrap();
    }

    pub async fn cluster(&self, name: &str, spec: ClusterSpec<'_>) {
        let mut vpc = VpcConfigRequest::builder()
            .subnet_ids("subnet-1")
            .endpoint_private_access(true)
            .endpoint_public_access(spec.public_cidrs.is_some());
        for cidr in spec.public_cidrs.unwrap_or_default() {
            vpc = vpc.public_access_cidrs(*cidr);
        }
        let mut create = self
            .eks
            .create_cluster()
            .name(name)
            .version(spec.version)
            .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/eks"))
            .resources_vpc_config(vpc.build())
            .logging(
                Logging::builder()
                    .cluster_logging(
                        LogSetup::builder()
                            .set_types(Some(spec.log_types.to_vec()))
                            .enabled(true)
                            .build(),
                    )
                    .build(),
            );
        if let Some(key) = spec.secrets_key {
            create = create.encryption_config(
                EncryptionConfig::builder()
                    .resources("secrets")
                    .provider(Provider::builder().key_arn(key).build())
                    .build(),
            );
        }
        create.send().await.unwrap();
    }

    pub async fn repository(&self, name: &str, spec: RepositorySpec<'_>) {
        let mut create = self
            .ecr
            .create_repository()
            .repository_name(name)
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(spec.scan_on_push)
                    .build(),
            )
            .image_tag_mutability(if spec.immutable {
                ImageTagMutability::Immutable
            } else {
                ImageTagMutability::Mutable
            });
        if let Some(key) = spec.kms_key {
            create = create.encryption_configuration(
                EncryptionConfiguration::builder()
                    .encryption_type(EncryptionType::Kms)
                    .kms_key(key)
                    .build()
                    .unwrap(),
            );
        }
        create.send().await.unwrap();
    }

    /// Pushes an image tagged `tag` and starts its scan; returns its digest.
    pub async fn scanned_image(&self, repository: &str, tag: &str) -> String {
        let layer = format!(
            "{:064x}",
            u128::from(NAMES.fetch_add(1, Ordering::Relaxed)) + 1
        );
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
                       "digest": format!("sha256:{layer}")},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "size": 32654, "digest": format!("sha256:{layer}")}],
        });
        let pushed = self
            .ecr
            .put_image()
            .repository_name(repository)
            .image_tag(tag)
            .image_manifest(manifest.to_string())
            .send()
            .await
            .unwrap();
        let digest = pushed
            .image()
            .and_then(|i| i.image_id())
            .and_then(|id| id.image_digest())
            .unwrap()
            .to_string();
        self.ecr
            .start_image_scan()
            .repository_name(repository)
            .image_id(ImageIdentifier::builder().image_tag(tag).build())
            .send()
            .await
            .unwrap();
        digest
    }

    /// Makes moto's DescribeImageScanFindings of `repository:tag` report these severity counts.
    pub async fn scan_findings(&self, repository: &str, tag: &str, counts: &[(&str, u32)]) {
        let counts: serde_json::Map<String, serde_json::Value> = counts
            .iter()
            .map(|(severity, count)| (severity.to_string(), (*count).into()))
            .collect();
        let result = serde_json::json!({
            "results": [{
                "registryId": ACCOUNT,
                "repositoryName": repository,
                "imageId": {"imageTag": tag},
                "imageScanStatus": {"status": "COMPLETE", "description": "done"},
                "imageScanFindings": {"findingSeverityCounts": counts, "findings": []},
            }],
            "region": REGION,
        });
        let reply = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .post(format!(
                "{}/moto-api/static/ecr/scan-finding-results",
                self.endpoint
            ))
            .json(&result)
            .send()
            .await
            .unwrap();
        assert!(reply.status().is_success(), "{:?}", reply.text().await);
    }

    /// A secret, encrypted with `key` (ARN) or the default key; returns its ARN.
    pub async fn secret(&self, name: &str, key: Option<&str>) -> String {
        let created = self
            .secrets
            .create_secret()
            .name(name)
            .secret_string("not-a-real-secret")
            .set_kms_key_id(key.map(str::to_string))
            .send()
            .await
            .unwrap();
        created.arn().unwrap().to_string()
    }

    /// Turns rotation on every `days` days and rotates now (no Lambda: moto rotates in place).
    pub async fn rotate(&self, name: &str, days: i64) {
        self.secrets
            .rotate_secret()
            .secret_id(name)
            .rotation_rules(
                RotationRulesType::builder()
                    .automatically_after_days(days)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
}
