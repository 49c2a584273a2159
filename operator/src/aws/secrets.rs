//! Secrets Manager: DescribeSecret of one secret, or ListSecrets to expand the globs of
//! `spec.aws.secrets` (its entries carry the same fields, so a listed secret needs no describe),
//! mapped to the snapshot the Secrets Manager controls judge.

use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::types::{RotationRulesType, SecretListEntry};
use aws_smithy_types::DateTime as AwsDateTime;
use hipaa_controls::aws::{Lookup, SecretsManagerSecret};

use super::clients::{Clients, RegionClients};
use super::error::{actions, lookup_error};
use super::to_chrono;

/// Secrets per ListSecrets page.
const PAGE_SIZE: i32 = 100;

/// DescribeSecret of `id` (a name or an ARN).
pub async fn describe_secret(
    clients: &Clients,
    regional: &RegionClients,
    id: &str,
) -> Lookup<SecretsManagerSecret> {
    let _permit = clients.permit().await;
    let output = regional
        .secrets
        .describe_secret()
        .secret_id(id)
        .send()
        .await
        .map_err(|error| lookup_error(&error, actions::SM_DESCRIBE_SECRET))?;
    Ok(described_secret(&output, id))
}

/// Every secret of the region (ListSecrets, paginated).
pub async fn list_secrets(
    clients: &Clients,
    regional: &RegionClients,
) -> Lookup<Vec<SecretsManagerSecret>> {
    let mut secrets = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let _permit = clients.permit().await;
        let output = regional
            .secrets
            .list_secrets()
            .max_results(PAGE_SIZE)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|error| lookup_error(&error, actions::SM_LIST_SECRETS))?;
        secrets.extend(output.secret_list().iter().filter_map(listed_secret));
        match output.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok(secrets),
        }
    }
}

/// What the controls read of a DescribeSecret answer; `requested` names the secret when the
/// answer does not.
pub fn described_secret(output: &DescribeSecretOutput, requested: &str) -> SecretsManagerSecret {
    snapshot(Fields {
        name: output.name().unwrap_or(requested),
        arn: output.arn(),
        kms_key_id: output.kms_key_id(),
        rotation_enabled: output.rotation_enabled(),
        rotation_rules: output.rotation_rules(),
        last_rotated: output.last_rotated_date(),
        created: output.created_date(),
    })
}

/// The same for an entry of ListSecrets; `None` for an entry without a name.
pub fn listed_secret(entry: &SecretListEntry) -> Option<SecretsManagerSecret> {
    Some(snapshot(Fields {
        name: entry.name()?,
        arn: entry.arn(),
        kms_key_id: entry.kms_key_id(),
        rotation_enabled: entry.rotation_enabled(),
        rotation_rules: entry.rotation_rules(),
        last_rotated: entry.last_rotated_date(),
        created: entry.created_date(),
    }))
}

/// True when `id` (a name, a full ARN, or an ARN without the random suffix) names `secret`.
pub fn names_secret(secret: &SecretsManagerSecret, id: &str) -> bool {
    secret.name == id
        || secret.arn.as_deref().is_some_and(|arn| {
            arn == id
                || (id.starts_with("arn:")
                    && arn
                        .strip_prefix(id)
                        .is_some_and(|suffix| suffix.starts_with('-') && suffix.len() == 7))
        })
}

struct Fields<'a> {
    name: &'a str,
    arn: Option<&'a str>,
    kms_key_id: Option<&'a str>,
    rotation_enabled: Option<bool>,
    rotation_rules: Option<&'a RotationRulesType>,
    last_rotated: Option<&'a AwsDateTime>,
    created: Option<&'a AwsDateTime>,
}

fn snapshot(fields: Fields<'_>) -> SecretsManagerSecret {
    SecretsManagerSecret {
        name: fields.name.to_string(),
        arn: fields.arn.map(str::to_string),
        kms_key_id: fields
            .kms_key_id
            .filter(|key| !key.trim().is_empty())
            .map(str::to_string),
        rotation_enabled: fields.rotation_enabled.unwrap_or(false),
        rotation_days: fields
            .rotation_rules
            .and_then(RotationRulesType::automatically_after_days),
        last_rotated: fields.last_rotated.and_then(to_chrono),
        created: fields.created.and_then(to_chrono),
        referenced_by: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";

    #[test]
    fn rotation_and_key_are_read_from_a_description() {
        let output = DescribeSecretOutput::builder()
            .name("prod/db")
            .arn(ARN)
            .kms_key_id("arn:aws:kms:us-east-1:123456789012:key/k")
            .rotation_enabled(true)
            .rotation_rules(
                RotationRulesType::builder()
                    .automatically_after_days(30)
                    .build(),
            )
            .last_rotated_date(AwsDateTime::from_secs(1_700_000_000))
            .created_date(AwsDateTime::from_secs(1_600_000_000))
            .build();
        let secret = described_secret(&output, "prod/db");
        assert!(secret.rotation_enabled);
        assert_eq!(secret.rotation_days, Some(30));
        assert_eq!(secret.last_rotated.unwrap().timestamp(), 1_700_000_000);
        assert_eq!(secret.created.unwrap().timestamp(), 1_600_000_000);
        assert_eq!(
            secret.kms_key_id.as_deref(),
            Some("arn:aws:kms:us-east-1:123456789012:key/k")
        );
    }

    #[test]
    fn a_secret_never_rotated_has_rotation_off_and_the_default_key() {
        let output = DescribeSecretOutput::builder().name("plain").build();
        let secret = described_secret(&output, "plain");
        assert!(!secret.rotation_enabled);
        assert_eq!(secret.kms_key_id, None);
        assert_eq!(secret.last_rotated, None);
    }

    #[test]
    fn a_secret_answers_to_its_name_arn_and_partial_arn() {
        let secret =
            listed_secret(&SecretListEntry::builder().name("prod/db").arn(ARN).build()).unwrap();
        assert!(names_secret(&secret, "prod/db"));
        assert!(names_secret(&secret, ARN));
        assert!(names_secret(
            &secret,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db"
        ));
        assert!(!names_secret(
            &secret,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod"
        ));
        assert!(!names_secret(&secret, "prod"));
    }
}
