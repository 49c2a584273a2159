//! The S3 controls over the buckets in-scope workloads reach: default encryption with KMS, a
//! policy that refuses requests without TLS, no public access, and versioning (or Object Lock).
//! Each reads only the settings it needs, so that one failed call makes only its controls Error.

use chrono::{DateTime, Utc};

use crate::catalog::ids;
use crate::model::ResourceRef;
use crate::policy::{EffectivePolicy, glob_matches};

use super::identity::{Effect, PolicyDocument, Statement};
use super::judge::{Judge, Verdict};
use super::stores::S3Bucket;
use super::{KIND_S3_BUCKET, LookedUp, Lookup};

const S3_CONTROLS: &[&str] = &[
    ids::S3_ENCRYPTION,
    ids::S3_TLS,
    ids::S3_PUBLIC,
    ids::S3_VERSIONING,
];

pub(crate) fn evaluate<'a>(
    looked_up: &LookedUp<S3Bucket>,
    policy: &'a EffectivePolicy,
    now: DateTime<Utc>,
) -> Judge<'a> {
    let bucket = match &looked_up.result {
        Ok(bucket) => bucket,
        Err(error) => {
            let resource = ResourceRef::new(KIND_S3_BUCKET, None, looked_up.requested.clone());
            let mut judge = Judge::new(policy, now, resource);
            let what = format!("S3 bucket {}", looked_up.requested);
            judge.lookup_failed(S3_CONTROLS, &what, error);
            return judge;
        }
    };
    let resource = ResourceRef::new(KIND_S3_BUCKET, None, bucket.name.clone());
    let mut judge = Judge::new(policy, now, resource).also_named([bucket.arn.clone()]);
    judge.judge(ids::S3_ENCRYPTION, |parameters| {
        encryption(bucket, parameters.allow_sse_s3)
    });
    judge.judge(ids::S3_TLS, |_| tls_only(bucket));
    judge.judge(ids::S3_PUBLIC, |_| not_public(bucket));
    judge.judge(ids::S3_VERSIONING, |_| versioning(bucket));
    judge
}

/// `cannot evaluate S3 bucket <name>: <error>`.
fn cannot(bucket: &S3Bucket, error: &super::LookupError) -> Verdict {
    Verdict::Error(format!(
        "cannot evaluate S3 bucket {}: {error}",
        bucket.name
    ))
}

/// HIPAA-S3-ENCRYPTION: SSE-KMS by default; SSE-S3 when `allow_sse_s3`.
fn encryption(bucket: &S3Bucket, allow_sse_s3: bool) -> Verdict {
    let name = &bucket.name;
    let rule = match &bucket.encryption {
        Err(error) => return cannot(bucket, error),
        Ok(None) => {
            return Verdict::Fail(format!(
                "S3 bucket {name} has no default encryption rule: set SSE-KMS default encryption"
            ));
        }
        Ok(Some(rule)) => rule,
    };
    match rule.algorithm.as_str() {
        "aws:kms" | "aws:kms:dsse" => Verdict::Pass,
        "AES256" if allow_sse_s3 => Verdict::Pass,
        "AES256" => Verdict::Fail(format!(
            "S3 bucket {name} is encrypted by default with SSE-S3 (AES256), keys S3 manages: set SSE-KMS default encryption, or allowSseS3 to accept SSE-S3"
        )),
        other => Verdict::Fail(format!(
            "S3 bucket {name} has the default encryption algorithm {other}, not SSE-KMS: set SSE-KMS default encryption"
        )),
    }
}

/// HIPAA-S3-TLS: a Deny of `s3:*` to everyone on the bucket and its objects when
/// `aws:SecureTransport` is false.
fn tls_only(bucket: &S3Bucket) -> Verdict {
    let name = &bucket.name;
    let document = match &bucket.policy {
        Err(error) => return cannot(bucket, error),
        Ok(None) => {
            return Verdict::Fail(format!(
                "S3 bucket {name} has no bucket policy, so it accepts requests without TLS: add a statement denying s3:* when aws:SecureTransport is false"
            ));
        }
        Ok(Some(document)) => document,
    };
    if document
        .statements
        .iter()
        .any(|statement| denies_plain_transport(statement, &bucket.arn))
    {
        return Verdict::Pass;
    }
    Verdict::Fail(format!(
        "S3 bucket {name}'s policy does not deny requests without TLS: add a statement denying s3:* to every principal on {arn} and {arn}/* when aws:SecureTransport is false",
        arn = bucket.arn
    ))
}

fn denies_plain_transport(statement: &Statement, bucket_arn: &str) -> bool {
    let every_action = statement
        .actions
        .iter()
        .any(|action| action == "*" || action.eq_ignore_ascii_case("s3:*"));
    let objects = format!("{bucket_arn}/*");
    let covers = |target: &str| {
        statement
            .resources
            .iter()
            .any(|pattern| glob_matches(pattern, target))
    };
    statement.effect == Some(Effect::Deny)
        && principal_is_everyone(statement.principal.as_ref())
        && every_action
        && covers(bucket_arn)
        && covers(&objects)
        && secure_transport_false(statement.condition.as_ref())
}

/// `Principal: "*"` or `{"AWS": "*"}` (alone or in a list).
fn principal_is_everyone(principal: Option<&serde_json::Value>) -> bool {
    use serde_json::Value;
    let is_star = |value: &Value| match value {
        Value::String(text) => text == "*",
        Value::Array(items) => items.iter().any(|item| item.as_str() == Some("*")),
        _ => false,
    };
    match principal {
        Some(Value::Object(fields)) => fields.get("AWS").is_some_and(is_star),
        Some(other) => is_star(other),
        None => false,
    }
}

/// `Condition: {"Bool": {"aws:SecureTransport": "false"}}`; the key in any case, the value a
/// string or a boolean (or a list of them, all false).
fn secure_transport_false(condition: Option<&serde_json::Value>) -> bool {
    use serde_json::Value;
    let is_false = |value: &Value| match value {
        Value::Bool(flag) => !flag,
        Value::String(text) => text.eq_ignore_ascii_case("false"),
        _ => false,
    };
    let Some(Value::Object(bool_keys)) = condition.and_then(|c| c.get("Bool")) else {
        return false;
    };
    bool_keys.iter().any(|(key, value)| {
        key.eq_ignore_ascii_case("aws:SecureTransport")
            && match value {
                Value::Array(items) => !items.is_empty() && items.iter().all(is_false),
                single => is_false(single),
            }
    })
}

/// HIPAA-S3-PUBLIC: Block Public Access all on, no public ACL grant, no unconditional Allow to
/// everyone. A definite problem fails even when another setting could not be read.
fn not_public(bucket: &S3Bucket) -> Verdict {
    let name = &bucket.name;
    let mut problems = Vec::new();
    let mut errors = Vec::new();
    match &bucket.public_access_block {
        Ok(Some(block)) if block.all_on() => {}
        Ok(Some(_)) => problems.push(
            "does not have all four Block Public Access settings on (turn them on)".to_string(),
        ),
        Ok(None) => problems.push(
            "has no Block Public Access configuration (turn all four settings on)".to_string(),
        ),
        Err(error) => errors.push(error),
    }
    match &bucket.public_acl_grants {
        Ok(grants) if grants.is_empty() => {}
        Ok(grants) => problems.push(format!(
            "has public ACL grants {} (remove them)",
            grants.join(", ")
        )),
        Err(error) => errors.push(error),
    }
    match &bucket.policy {
        Ok(Some(document)) => {
            let public = public_statements(document);
            if !public.is_empty() {
                problems.push(format!(
                    "has a policy that allows everyone without a condition ({}) (remove or condition the statements)",
                    public.join(", ")
                ));
            }
        }
        Ok(None) => {}
        Err(error) => errors.push(error),
    }
    if !problems.is_empty() {
        return Verdict::Fail(format!("S3 bucket {name} {}", problems.join("; ")));
    }
    match errors.first() {
        Some(error) => cannot(bucket, error),
        None => Verdict::Pass,
    }
}

/// The unconditional Allow statements to everyone, by Sid (or position).
fn public_statements(document: &PolicyDocument) -> Vec<String> {
    document
        .statements
        .iter()
        .enumerate()
        .filter(|(_, statement)| {
            statement.effect == Some(Effect::Allow)
                && principal_is_everyone(statement.principal.as_ref())
                && statement
                    .condition
                    .as_ref()
                    .is_none_or(|condition| condition.as_object().is_some_and(|c| c.is_empty()))
        })
        .map(|(index, statement)| match &statement.sid {
            Some(sid) => format!("statement {sid}"),
            None => format!("statement #{}", index + 1),
        })
        .collect()
}

/// HIPAA-S3-VERSIONING: versioning Enabled, or Object Lock on.
fn versioning(bucket: &S3Bucket) -> Verdict {
    let enabled = |status: &Lookup<Option<String>>| matches!(status, Ok(Some(status)) if status.eq_ignore_ascii_case("Enabled"));
    if enabled(&bucket.versioning) || bucket.object_lock == Ok(true) {
        return Verdict::Pass;
    }
    if let Err(error) = &bucket.versioning {
        return cannot(bucket, error);
    }
    if let Err(error) = &bucket.object_lock {
        return cannot(bucket, error);
    }
    let state = match &bucket.versioning {
        Ok(Some(status)) => format!("versioning {status}"),
        _ => "versioning never enabled".to_string(),
    };
    Verdict::Fail(format!(
        "S3 bucket {} has {state} and no Object Lock, so an overwritten or deleted object cannot be restored: enable versioning",
        bucket.name
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn everyone_is_a_star_alone_or_under_aws() {
        assert!(principal_is_everyone(Some(&json!("*"))));
        assert!(principal_is_everyone(Some(&json!({"AWS": "*"}))));
        assert!(principal_is_everyone(Some(&json!({"AWS": ["*"]}))));
        assert!(!principal_is_everyone(Some(
            &json!({"AWS": "arn:aws:iam::111122223333:root"})
        )));
        assert!(!principal_is_everyone(None));
    }

    #[test]
    fn secure_transport_false_is_read_in_any_case_and_type() {
        for condition in [
            json!({"Bool": {"aws:SecureTransport": "false"}}),
            json!({"Bool": {"aws:securetransport": "FALSE"}}),
            json!({"Bool": {"aws:SecureTransport": false}}),
            json!({"Bool": {"aws:SecureTransport": ["false"]}}),
        ] {
            assert!(secure_transport_false(Some(&condition)), "{condition}");
        }
        for condition in [
            json!({"Bool": {"aws:SecureTransport": "true"}}),
            json!({"StringEquals": {"aws:SecureTransport": "false"}}),
            json!({"Bool": {"aws:SecureTransport": []}}),
        ] {
            assert!(!secure_transport_false(Some(&condition)), "{condition}");
        }
    }
}
