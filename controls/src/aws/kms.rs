//! The KMS key snapshot (DescribeKey and GetKeyRotationStatus), how identifiers resolve to a key,
//! and HIPAA-KMS-ROTATION: the key is enabled, rotates automatically and is not being deleted.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::ids;
use crate::model::ResourceRef;
use crate::policy::EffectivePolicy;

use super::judge::{Judge, Verdict};
use super::{KIND_KMS_KEY, LookedUp, Lookup, aws_enum};

aws_enum! {
    /// `KeyMetadata.KeyManager`.
    KeyManager {
        /// A customer-managed key.
        Customer = "CUSTOMER",
        /// An AWS-managed key (`alias/aws/...`).
        Aws = "AWS",
    }
}

aws_enum! {
    /// `KeyMetadata.KeyState`.
    KeyState {
        Creating = "Creating",
        Enabled = "Enabled",
        Disabled = "Disabled",
        PendingDeletion = "PendingDeletion",
        PendingImport = "PendingImport",
        PendingReplicaDeletion = "PendingReplicaDeletion",
        Unavailable = "Unavailable",
        Updating = "Updating",
    }
}

/// A KMS key as DescribeKey and GetKeyRotationStatus report it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KmsKey {
    /// `KeyMetadata.KeyId`.
    pub key_id: String,
    /// `KeyMetadata.Arn`.
    #[serde(default)]
    pub arn: Option<String>,
    /// Alias names (`alias/...`) when known (ListAliases), or the alias the key was requested by.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// `KeyMetadata.KeyManager`; `None` when KMS did not say.
    #[serde(default)]
    pub key_manager: Option<KeyManager>,
    /// `KeyMetadata.KeyState`.
    pub key_state: KeyState,
    /// `KeyMetadata.Enabled`.
    #[serde(default)]
    pub enabled: bool,
    /// `KeyMetadata.DeletionDate`, when deletion is scheduled.
    #[serde(default)]
    pub deletion_date: Option<DateTime<Utc>>,
    /// GetKeyRotationStatus `KeyRotationEnabled`, or why that call failed (it is a separate call
    /// with its own permission, `kms:GetKeyRotationStatus`).
    pub rotation_enabled: Lookup<bool>,
    /// The workloads and AWS resources that use the key.
    #[serde(default)]
    pub used_by: Vec<ResourceRef>,
}

impl KmsKey {
    /// True when `identifier` (key ID, key ARN, alias name or alias ARN) names this key.
    pub fn is_named(&self, identifier: &str) -> bool {
        let identifier = identifier.trim();
        if identifier.is_empty() {
            return false;
        }
        identifier == self.key_id
            || self.arn.as_deref() == Some(identifier)
            || self
                .aliases
                .iter()
                .any(|alias| alias == identifier || alias_arn_names(identifier, alias))
    }

    /// `1234abcd-... (alias/prod-secrets)`, or just the key ID.
    pub fn display_name(&self) -> String {
        match self.aliases.first() {
            Some(alias) => format!("{} ({alias})", self.key_id),
            None => self.key_id.clone(),
        }
    }
}

/// True for `arn:aws:kms:<region>:<account>:alias/x` when the alias is `alias/x`.
fn alias_arn_names(identifier: &str, alias: &str) -> bool {
    identifier.starts_with("arn:")
        && identifier
            .rsplit_once(':')
            .is_some_and(|(_, tail)| tail == alias)
}

/// True for identifiers that name an AWS-managed key by its reserved alias (`alias/aws/...`).
pub(crate) fn is_aws_managed_alias(identifier: &str) -> bool {
    let alias = identifier
        .rsplit_once(':')
        .map_or(identifier, |(_, tail)| tail);
    alias.starts_with("alias/aws/")
}

/// The looked-up key `identifier` names: by the identifier it was requested with, or by any name
/// the key goes by.
pub(crate) fn find_key<'a>(
    keys: &'a [LookedUp<KmsKey>],
    identifier: &str,
) -> Option<&'a LookedUp<KmsKey>> {
    keys.iter()
        .find(|key| key.requested == identifier)
        .or_else(|| {
            keys.iter().find(|key| {
                key.result
                    .as_ref()
                    .is_ok_and(|found| found.is_named(identifier))
            })
        })
}

pub(crate) fn evaluate<'a>(
    looked_up: &LookedUp<KmsKey>,
    policy: &'a EffectivePolicy,
    now: DateTime<Utc>,
) -> Judge<'a> {
    let key = match &looked_up.result {
        Ok(key) => key,
        Err(error) => {
            let resource = ResourceRef::new(KIND_KMS_KEY, None, looked_up.requested.clone());
            let mut judge = Judge::new(policy, now, resource);
            judge.lookup_failed(
                &[ids::KMS_ROTATION],
                &format!("KMS key {}", looked_up.requested),
                error,
            );
            return judge;
        }
    };
    let resource = ResourceRef::new(KIND_KMS_KEY, None, key.key_id.clone());
    let mut judge =
        Judge::new(policy, now, resource).also_named(key.arn.iter().chain(&key.aliases).cloned());
    judge.judge(ids::KMS_ROTATION, |_| rotation(key));
    judge
}

/// HIPAA-KMS-ROTATION: enabled, not pending deletion, rotation on.
fn rotation(key: &KmsKey) -> Verdict {
    let name = key.display_name();
    let mut problems = Vec::new();
    match &key.key_state {
        KeyState::Enabled => {}
        KeyState::PendingDeletion | KeyState::PendingReplicaDeletion => {
            let when = key
                .deletion_date
                .map(|date| format!(" on {}", date.format("%Y-%m-%d")))
                .unwrap_or_default();
            problems.push(format!(
                "is scheduled for deletion{when} ({})",
                key.key_state
            ));
        }
        KeyState::Creating | KeyState::Updating => {
            return Verdict::Error(format!(
                "cannot evaluate KMS key {name} yet: its state is {}; it is checked again at the next refresh",
                key.key_state
            ));
        }
        other => problems.push(format!("is in state {other}, not Enabled")),
    }
    if !key.enabled && key.key_state == KeyState::Enabled {
        problems.push("is disabled".to_string());
    }
    let rotation_error = match &key.rotation_enabled {
        Ok(true) => None,
        Ok(false) => {
            problems.push("has automatic rotation off".to_string());
            None
        }
        Err(error) => Some(error),
    };
    if !problems.is_empty() {
        return Verdict::Fail(format!("KMS key {name} {}", problems.join(" and ")));
    }
    match rotation_error {
        Some(error) => Verdict::Error(format!(
            "cannot tell whether KMS key {name} rotates: {error}"
        )),
        None => Verdict::Pass,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> KmsKey {
        KmsKey {
            key_id: "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
            arn: Some(
                "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                    .into(),
            ),
            aliases: vec!["alias/prod-secrets".into()],
            key_manager: Some(KeyManager::Customer),
            key_state: KeyState::Enabled,
            enabled: true,
            deletion_date: None,
            rotation_enabled: Ok(true),
            used_by: Vec::new(),
        }
    }

    #[test]
    fn a_key_answers_to_its_id_arn_alias_and_alias_arn() {
        let key = key();
        assert!(key.is_named("1234abcd-12ab-34cd-56ef-1234567890ab"));
        assert!(key.is_named(
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        ));
        assert!(key.is_named("alias/prod-secrets"));
        assert!(key.is_named("arn:aws:kms:us-east-1:111122223333:alias/prod-secrets"));
        assert!(!key.is_named("alias/other"));
        assert!(!key.is_named(""));
    }

    #[test]
    fn reserved_aliases_are_aws_managed() {
        assert!(is_aws_managed_alias("alias/aws/secretsmanager"));
        assert!(is_aws_managed_alias(
            "arn:aws:kms:us-east-1:111122223333:alias/aws/secretsmanager"
        ));
        assert!(!is_aws_managed_alias("alias/awsome"));
        assert!(!is_aws_managed_alias(
            "1234abcd-12ab-34cd-56ef-1234567890ab"
        ));
    }

    #[test]
    fn unknown_states_survive_a_round_trip() {
        let state = KeyState::from_aws("Frozen");
        assert_eq!(state, KeyState::Other("Frozen".into()));
        assert_eq!(state.as_str(), "Frozen");
        assert_eq!(
            KeyState::from_aws("PendingDeletion"),
            KeyState::PendingDeletion
        );
    }

    #[test]
    fn a_disabled_key_fails_even_if_its_state_says_enabled() {
        let mut disabled = key();
        disabled.enabled = false;
        assert!(
            matches!(rotation(&disabled), Verdict::Fail(message) if message.contains("is disabled"))
        );
        assert_eq!(rotation(&key()), Verdict::Pass);
    }
}
