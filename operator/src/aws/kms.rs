//! KMS: DescribeKey and GetKeyRotationStatus of every key the linked EKS cluster, repositories
//! and secrets use, mapped to the snapshot HIPAA-KMS-ROTATION and the customer-key checks judge.

use aws_sdk_kms::types::KeyMetadata;
use hipaa_controls::aws::{KeyManager, KeyState, KmsKey, Lookup, LookupError};

use super::clients::{Clients, RegionClients};
use super::error::{actions, lookup_error};
use super::to_chrono;

/// DescribeKey of `identifier` (key ID, key ARN, alias or alias ARN), then GetKeyRotationStatus
/// of the key it names. A failed rotation lookup is kept in the key (it is its own permission).
pub async fn describe_key(
    clients: &Clients,
    regional: &RegionClients,
    identifier: &str,
) -> Lookup<KmsKey> {
    let metadata = {
        let _permit = clients.permit().await;
        let output = regional
            .kms
            .describe_key()
            .key_id(identifier)
            .send()
            .await
            .map_err(|error| lookup_error(&error, actions::KMS_DESCRIBE_KEY))?;
        output.key_metadata().cloned().ok_or_else(|| {
            LookupError::new(
                "NotFoundException",
                format!("DescribeKey returned no metadata for {identifier}"),
            )
            .with_action(actions::KMS_DESCRIBE_KEY)
        })?
    };
    let rotation = {
        let _permit = clients.permit().await;
        regional
            .kms
            .get_key_rotation_status()
            .key_id(metadata.key_id())
            .send()
            .await
            .map(|output| output.key_rotation_enabled())
            .map_err(|error| lookup_error(&error, actions::KMS_GET_KEY_ROTATION_STATUS))
    };
    Ok(key_snapshot(&metadata, rotation, identifier))
}

/// What the controls read of a key; the alias it was requested by is kept among its names.
pub fn key_snapshot(metadata: &KeyMetadata, rotation: Lookup<bool>, requested: &str) -> KmsKey {
    KmsKey {
        key_id: metadata.key_id().to_string(),
        arn: metadata.arn().map(str::to_string),
        aliases: alias_of(requested).into_iter().collect(),
        key_manager: metadata
            .key_manager()
            .map(|manager| KeyManager::from_aws(manager.as_str())),
        key_state: metadata
            .key_state()
            .map_or(KeyState::Other("Unknown".to_string()), |state| {
                KeyState::from_aws(state.as_str())
            }),
        enabled: metadata.enabled(),
        deletion_date: metadata.deletion_date().and_then(to_chrono),
        rotation_enabled: rotation,
        used_by: Vec::new(),
    }
}

/// `alias/x` for `alias/x` and for `arn:aws:kms:<region>:<account>:alias/x`.
fn alias_of(identifier: &str) -> Option<String> {
    let tail = identifier
        .strip_prefix("arn:")
        .and_then(|arn| arn.split(':').nth(4))
        .unwrap_or(identifier);
    tail.starts_with("alias/").then(|| tail.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use aws_smithy_types::DateTime as AwsDateTime;

    fn metadata(manager: aws_sdk_kms::types::KeyManagerType) -> KeyMetadata {
        KeyMetadata::builder()
            .key_id("1234abcd-12ab-34cd-56ef-1234567890ab")
            .arn("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")
            .key_manager(manager)
            .key_state(aws_sdk_kms::types::KeyState::PendingDeletion)
            .enabled(false)
            .deletion_date(AwsDateTime::from_secs(1_800_000_000))
            .build()
            .unwrap()
    }

    #[test]
    fn state_manager_and_rotation_are_read() {
        let key = key_snapshot(
            &metadata(aws_sdk_kms::types::KeyManagerType::Aws),
            Ok(false),
            "arn:aws:kms:us-east-1:123456789012:alias/aws/secretsmanager",
        );
        assert_eq!(key.key_manager, Some(KeyManager::Aws));
        assert_eq!(key.key_state, KeyState::PendingDeletion);
        assert!(!key.enabled);
        assert_eq!(key.deletion_date.unwrap().timestamp(), 1_800_000_000);
        assert_eq!(key.rotation_enabled, Ok(false));
        assert_eq!(key.aliases, ["alias/aws/secretsmanager"]);
    }

    #[test]
    fn only_aliases_become_alias_names() {
        assert_eq!(alias_of("alias/prod").as_deref(), Some("alias/prod"));
        assert_eq!(alias_of("1234abcd-12ab-34cd-56ef-1234567890ab"), None);
        assert_eq!(alias_of("arn:aws:kms:us-east-1:1:key/1234"), None);
    }
}
