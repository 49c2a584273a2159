//! The S3 edge of the history: the client (the shared AWS configuration chain, the ring-based
//! HTTPS client of `crate::aws::https`, path-style addressing when an endpoint URL is set, as
//! for a local S3), the bucket's Object Lock configuration, and the record reads and writes.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ObjectLockMode;
use aws_smithy_types::error::display::DisplayErrorContext;

/// The IAM actions the history calls, exactly as docs/aws-iam.md grants them.
pub const ACTIONS: [&str; 5] = [
    "s3:GetBucketObjectLockConfiguration",
    "s3:ListBucket",
    "s3:GetObject",
    "s3:PutObject",
    // Only with --history-retention (an explicit retention on each PutObject).
    "s3:PutObjectRetention",
];

/// An S3 call that failed, with the SDK's whole error chain.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct S3Error(pub String);

fn failed<E: std::error::Error>(what: &str, error: E) -> S3Error {
    S3Error(format!("{what}: {}", DisplayErrorContext(error)))
}

/// What the bucket's Object Lock does for new objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjectLock {
    /// Not enabled: records can be deleted or overwritten.
    Off,
    /// Enabled, and new objects get a default retention (mode, e.g. `GOVERNANCE 2190 days`).
    DefaultRetention(String),
    /// Enabled without a default retention: objects are kept only with an explicit one.
    NoDefaultRetention,
}

/// The history's S3 client.
#[derive(Clone, Debug)]
pub struct HistoryS3 {
    client: aws_sdk_s3::Client,
}

impl HistoryS3 {
    /// A client on the default AWS configuration chain, in `region` when given.
    pub async fn from_default_chain(region: Option<&str>) -> HistoryS3 {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(crate::aws::https::https_client());
        if let Some(region) = region {
            loader = loader.region(Region::new(region.to_string()));
        }
        let shared = loader.load().await;
        // Bounded, so that an unreachable bucket delays a policy's reconcile by seconds, not
        // indefinitely (the write is retried at the next audit anyway).
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(20))
            .operation_timeout(Duration::from_secs(60))
            .build();
        let config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(shared.endpoint_url().is_some())
            .timeout_config(timeouts)
            .build();
        HistoryS3 {
            client: aws_sdk_s3::Client::from_conf(config),
        }
    }

    /// The bucket's Object Lock configuration.
    pub async fn object_lock(&self, bucket: &str) -> Result<ObjectLock, S3Error> {
        let output = match self
            .client
            .get_object_lock_configuration()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error)
                if error
                    .as_service_error()
                    .and_then(|e| aws_sdk_s3::error::ProvideErrorMetadata::code(e))
                    == Some("ObjectLockConfigurationNotFoundError") =>
            {
                return Ok(ObjectLock::Off);
            }
            Err(error) => {
                return Err(failed(
                    &format!("reading the Object Lock configuration of bucket {bucket}"),
                    error,
                ));
            }
        };
        let Some(config) = output.object_lock_configuration() else {
            return Ok(ObjectLock::Off);
        };
        if config.object_lock_enabled().map(|e| e.as_str()) != Some("Enabled") {
            return Ok(ObjectLock::Off);
        }
        Ok(
            match config.rule().and_then(|rule| rule.default_retention()) {
                Some(retention) => {
                    let mode = retention.mode().map(|m| m.as_str()).unwrap_or("?");
                    let span = match (retention.days(), retention.years()) {
                        (Some(days), _) => format!("{days} days"),
                        (None, Some(years)) => format!("{years} years"),
                        (None, None) => "an unstated time".to_string(),
                    };
                    ObjectLock::DefaultRetention(format!("{mode} {span}"))
                }
                None => ObjectLock::NoDefaultRetention,
            },
        )
    }

    /// Stores `bytes` under `key` with `metadata`, with an explicit retention `(mode, until)`
    /// when given.
    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        bytes: Vec<u8>,
        metadata: std::collections::HashMap<String, String>,
        retention: Option<(&str, chrono::DateTime<chrono::Utc>)>,
    ) -> Result<(), S3Error> {
        let mut request = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/gzip")
            .set_metadata(Some(metadata))
            .body(ByteStream::from(bytes));
        if let Some((mode, until)) = retention {
            request = request
                .object_lock_mode(ObjectLockMode::from(mode))
                .object_lock_retain_until_date(aws_smithy_types::DateTime::from_secs(
                    until.timestamp(),
                ));
        }
        request
            .send()
            .await
            .map_err(|error| failed(&format!("writing s3://{bucket}/{key}"), error))?;
        Ok(())
    }

    /// Every key under `prefix`, in S3's (lexicographic) order.
    pub async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, S3Error> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let output = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|error| failed(&format!("listing s3://{bucket}/{prefix}"), error))?;
            keys.extend(
                output
                    .contents()
                    .iter()
                    .filter_map(|object| object.key().map(str::to_string)),
            );
            match output.next_continuation_token() {
                Some(next) if output.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => return Ok(keys),
            }
        }
    }

    /// The bytes stored under `key`.
    pub async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, S3Error> {
        let output = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|error| failed(&format!("reading s3://{bucket}/{key}"), error))?;
        let body = output
            .body
            .collect()
            .await
            .map_err(|error| failed(&format!("reading s3://{bucket}/{key}"), error))?;
        Ok(body.into_bytes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn actions(policy: &str) -> Vec<String> {
        let policy: serde_json::Value = serde_json::from_str(policy).unwrap();
        let mut actions: Vec<String> = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["Action"].as_array().unwrap().clone())
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        actions.sort();
        actions
    }

    #[test]
    fn the_documented_history_policy_grants_exactly_the_actions_called() {
        let mut called: Vec<String> = ACTIONS.iter().map(|a| a.to_string()).collect();
        called.sort();
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let deployed = std::fs::read_to_string(format!(
            "{root}/deploy/aws/operator-history-iam-policy.json"
        ))
        .unwrap();
        assert_eq!(actions(&deployed), called);
        let doc = std::fs::read_to_string(format!("{root}/docs/aws-iam.md")).unwrap();
        let section = doc
            .split("## The evidence history's S3 permissions")
            .nth(1)
            .unwrap();
        let block = section
            .split("```json")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .unwrap();
        assert_eq!(actions(block), called);
    }
}
