//! EKS: DescribeCluster, and what of its answer the EKS controls judge (secrets encryption key,
//! enabled control-plane log types, endpoint access, version, authentication mode); the access
//! entries and aws-auth mappings are added by `access_entries`.

use aws_sdk_eks::types::Cluster;
use hipaa_controls::aws::{AuthenticationMode, EksCluster, Lookup, LookupError};

use super::clients::{Clients, RegionClients};
use super::error::{actions, lookup_error};

/// The resource type EKS encrypts with the key of an `encryptionConfig` entry.
const SECRETS: &str = "secrets";

/// DescribeCluster of `name`.
pub async fn describe_cluster(
    clients: &Clients,
    regional: &RegionClients,
    name: &str,
) -> Lookup<EksCluster> {
    let _permit = clients.permit().await;
    let output = regional
        .eks
        .describe_cluster()
        .name(name)
        .send()
        .await
        .map_err(|error| lookup_error(&error, actions::EKS_DESCRIBE_CLUSTER))?;
    match output.cluster() {
        Some(cluster) => Ok(cluster_snapshot(cluster, name)),
        None => Err(LookupError::new(
            "ResourceNotFoundException",
            format!("DescribeCluster returned no cluster named {name}"),
        )
        .with_action(actions::EKS_DESCRIBE_CLUSTER)),
    }
}

/// The parts of a DescribeCluster answer the controls read; `requested` names the cluster when
/// the answer does not.
pub fn cluster_snapshot(cluster: &Cluster, requested: &str) -> EksCluster {
    let secrets_key_arn = cluster
        .encryption_config()
        .iter()
        .filter(|config| config.resources().iter().any(|r| r == SECRETS))
        .find_map(|config| config.provider().and_then(|p| p.key_arn()))
        .filter(|arn| !arn.trim().is_empty())
        .map(str::to_string);
    let enabled_log_types = cluster
        .logging()
        .map(|logging| {
            logging
                .cluster_logging()
                .iter()
                .filter(|setup| setup.enabled() == Some(true))
                .flat_map(|setup| setup.types())
                .map(|kind| kind.as_str().to_string())
                .collect()
        })
        .unwrap_or_default();
    let vpc = cluster.resources_vpc_config();
    EksCluster {
        name: cluster.name().unwrap_or(requested).to_string(),
        arn: cluster.arn().map(str::to_string),
        version: cluster.version().map(str::to_string),
        secrets_key_arn,
        enabled_log_types,
        endpoint_private_access: vpc.is_some_and(|v| v.endpoint_private_access()),
        endpoint_public_access: vpc.is_some_and(|v| v.endpoint_public_access()),
        public_access_cidrs: vpc
            .map(|v| v.public_access_cidrs().to_vec())
            .unwrap_or_default(),
        authentication_mode: cluster
            .access_config()
            .and_then(|access| access.authentication_mode())
            .map(|mode| AuthenticationMode::from_aws(mode.as_str())),
        access_entries: None,
        aws_auth: None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use aws_sdk_eks::types::{
        EncryptionConfig, LogSetup, LogType, Logging, Provider, VpcConfigResponse,
    };

    fn setup(types: &[LogType], enabled: bool) -> LogSetup {
        LogSetup::builder()
            .set_types(Some(types.to_vec()))
            .enabled(enabled)
            .build()
    }

    #[test]
    fn the_secrets_key_enabled_logs_and_endpoint_are_read() {
        let cluster = Cluster::builder()
            .name("prod")
            .arn("arn:aws:eks:us-east-1:123456789012:cluster/prod")
            .version("1.33")
            .encryption_config(
                EncryptionConfig::builder()
                    .resources("secrets")
                    .provider(
                        Provider::builder()
                            .key_arn("arn:aws:kms:us-east-1:123456789012:key/k")
                            .build(),
                    )
                    .build(),
            )
            .logging(
                Logging::builder()
                    .cluster_logging(setup(&[LogType::Api, LogType::Audit], true))
                    .cluster_logging(setup(&[LogType::Authenticator, LogType::Scheduler], false))
                    .build(),
            )
            .resources_vpc_config(
                VpcConfigResponse::builder()
                    .endpoint_private_access(true)
                    .endpoint_public_access(true)
                    .public_access_cidrs("0.0.0.0/0")
                    .build(),
            )
            .build();
        let snapshot = cluster_snapshot(&cluster, "prod");
        assert_eq!(
            snapshot.secrets_key_arn.as_deref(),
            Some("arn:aws:kms:us-east-1:123456789012:key/k")
        );
        assert_eq!(snapshot.enabled_log_types, ["api", "audit"]);
        assert!(snapshot.endpoint_private_access && snapshot.endpoint_public_access);
        assert_eq!(snapshot.public_access_cidrs, ["0.0.0.0/0"]);
        assert_eq!(snapshot.version.as_deref(), Some("1.33"));
        assert_eq!(snapshot.authentication_mode, None);
        let with_mode = Cluster::builder()
            .access_config(
                aws_sdk_eks::types::AccessConfigResponse::builder()
                    .authentication_mode(aws_sdk_eks::types::AuthenticationMode::ApiAndConfigMap)
                    .build(),
            )
            .build();
        assert_eq!(
            cluster_snapshot(&with_mode, "prod").authentication_mode,
            Some(AuthenticationMode::ApiAndConfigMap)
        );
    }

    #[test]
    fn a_cluster_without_a_secrets_entry_has_no_secrets_key() {
        let cluster = Cluster::builder()
            .encryption_config(
                EncryptionConfig::builder()
                    .resources("configmaps")
                    .provider(
                        Provider::builder()
                            .key_arn("arn:aws:kms:us-east-1:1:key/k")
                            .build(),
                    )
                    .build(),
            )
            .build();
        let snapshot = cluster_snapshot(&cluster, "requested");
        assert_eq!(snapshot.name, "requested");
        assert_eq!(snapshot.secrets_key_arn, None);
        assert!(snapshot.enabled_log_types.is_empty());
        assert!(!snapshot.endpoint_private_access);
    }
}
