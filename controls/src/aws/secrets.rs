//! The Secrets Manager secret snapshot (DescribeSecret) and its two controls: encryption with a
//! customer-managed KMS key, and rotation within `maxAgeDays`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::ids;
use crate::model::ResourceRef;
use crate::policy::EffectivePolicy;

use super::eks::customer_managed;
use super::judge::{Judge, Verdict};
use super::kms::is_aws_managed_alias;
use super::{AwsSnapshot, KIND_SECRETS_MANAGER_SECRET, LookedUp};

/// The AWS-managed key Secrets Manager uses when a secret names none.
pub const DEFAULT_SECRETS_MANAGER_KEY: &str = "alias/aws/secretsmanager";

/// A Secrets Manager secret as DescribeSecret reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretsManagerSecret {
    /// `Name`.
    pub name: String,
    /// `ARN`.
    #[serde(default)]
    pub arn: Option<String>,
    /// `KmsKeyId`; `None` means the AWS-managed default key `aws/secretsmanager`.
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// `RotationEnabled`.
    #[serde(default)]
    pub rotation_enabled: bool,
    /// `RotationRules.AutomaticallyAfterDays`.
    #[serde(default)]
    pub rotation_days: Option<i64>,
    /// `LastRotatedDate`; `None` when the secret was never rotated.
    #[serde(default)]
    pub last_rotated: Option<DateTime<Utc>>,
    /// `CreatedDate`.
    #[serde(default)]
    pub created: Option<DateTime<Utc>>,
    /// The workloads that reference the secret (through a SecretProviderClass or an
    /// ExternalSecret).
    #[serde(default)]
    pub referenced_by: Vec<ResourceRef>,
}

const SECRET_CONTROLS: &[&str] = &[ids::SM_KMS, ids::SM_ROTATION];

pub(crate) fn evaluate<'a>(
    looked_up: &LookedUp<SecretsManagerSecret>,
    snapshot: &AwsSnapshot,
    policy: &'a EffectivePolicy,
    now: DateTime<Utc>,
) -> Judge<'a> {
    let secret = match &looked_up.result {
        Ok(secret) => secret,
        Err(error) => {
            let resource = ResourceRef::new(
                KIND_SECRETS_MANAGER_SECRET,
                None,
                looked_up.requested.clone(),
            );
            let mut judge = Judge::new(policy, now, resource);
            let what = format!("Secrets Manager secret {}", looked_up.requested);
            judge.lookup_failed(SECRET_CONTROLS, &what, error);
            return judge;
        }
    };
    let resource = ResourceRef::new(KIND_SECRETS_MANAGER_SECRET, None, secret.name.clone());
    let mut judge = Judge::new(policy, now, resource).also_named(secret.arn.clone());
    judge.judge(ids::SM_KMS, |_| customer_key(secret, snapshot));
    judge.judge(ids::SM_ROTATION, |parameters| {
        rotation(secret, parameters.max_age_days, now)
    });
    judge
}

/// HIPAA-SM-KMS: a KmsKeyId that KMS reports as customer-managed.
fn customer_key(secret: &SecretsManagerSecret, snapshot: &AwsSnapshot) -> Verdict {
    let name = &secret.name;
    let subject = format!("Secrets Manager secret {name} is encrypted");
    let Some(key_id) = secret
        .kms_key_id
        .as_deref()
        .filter(|id| !id.trim().is_empty())
    else {
        return Verdict::Fail(format!(
            "{subject} with the AWS-managed default key {DEFAULT_SECRETS_MANAGER_KEY}, not a customer-managed key"
        ));
    };
    if is_aws_managed_alias(key_id) {
        return Verdict::Fail(format!(
            "{subject} with the AWS-managed KMS key {key_id}, not a customer-managed key"
        ));
    }
    match snapshot.kms_key(key_id).map(|found| &found.result) {
        None => Verdict::Error(format!(
            "cannot evaluate Secrets Manager secret {name}: its key {key_id} was not looked up in KMS"
        )),
        Some(Err(error)) => Verdict::Error(format!(
            "cannot evaluate Secrets Manager secret {name}: KMS key {key_id}: {error}"
        )),
        Some(Ok(key)) => customer_managed(key, key_id, &subject),
    }
}

/// HIPAA-SM-ROTATION: rotation on, a schedule no longer than `max_age_days`, and the last
/// rotation within `max_age_days`. A secret never rotated is as old as its creation: a new
/// secret passes until its first rotation is due; one whose age is unknown is an Error.
fn rotation(secret: &SecretsManagerSecret, max_age_days: i64, now: DateTime<Utc>) -> Verdict {
    let name = &secret.name;
    if !secret.rotation_enabled {
        return Verdict::Fail(format!("Secrets Manager secret {name} has rotation off"));
    }
    if let Some(days) = secret.rotation_days.filter(|days| *days > max_age_days) {
        return Verdict::Fail(format!(
            "Secrets Manager secret {name} rotates every {days} days, more than maxAgeDays {max_age_days}"
        ));
    }
    let (since, event) = match (secret.last_rotated, secret.created) {
        (Some(rotated), _) => (rotated, "was last rotated"),
        (None, Some(created)) => (created, "was never rotated and was created"),
        (None, None) => {
            return Verdict::Error(format!(
                "cannot evaluate Secrets Manager secret {name}: DescribeSecret reported neither LastRotatedDate nor CreatedDate"
            ));
        }
    };
    let age_days = (now - since).num_days();
    if age_days > max_age_days {
        Verdict::Fail(format!(
            "Secrets Manager secret {name} {event} {age_days} days ago, more than maxAgeDays {max_age_days}"
        ))
    } else {
        Verdict::Pass
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn secret() -> SecretsManagerSecret {
        SecretsManagerSecret {
            name: "prod/db".into(),
            rotation_enabled: true,
            ..Default::default()
        }
    }

    #[test]
    fn a_secret_never_rotated_is_as_old_as_its_creation() {
        let young = SecretsManagerSecret {
            created: Some(now() - Duration::days(10)),
            ..secret()
        };
        assert_eq!(rotation(&young, 90, now()), Verdict::Pass);
        let old = SecretsManagerSecret {
            created: Some(now() - Duration::days(120)),
            ..secret()
        };
        assert!(
            matches!(rotation(&old, 90, now()), Verdict::Fail(m) if m.contains("never rotated") && m.contains("120 days"))
        );
        assert!(matches!(rotation(&secret(), 90, now()), Verdict::Error(_)));
    }

    #[test]
    fn a_schedule_longer_than_the_limit_fails_even_when_recently_rotated() {
        let yearly = SecretsManagerSecret {
            rotation_days: Some(365),
            last_rotated: Some(now() - Duration::days(1)),
            ..secret()
        };
        assert!(
            matches!(rotation(&yearly, 90, now()), Verdict::Fail(m) if m.contains("every 365 days"))
        );
    }

    #[test]
    fn exactly_max_age_days_still_passes() {
        let edge = SecretsManagerSecret {
            last_rotated: Some(now() - Duration::days(90)),
            ..secret()
        };
        assert_eq!(rotation(&edge, 90, now()), Verdict::Pass);
    }
}
