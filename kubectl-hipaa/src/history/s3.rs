//! Reading the evidence history from S3: the standard AWS configuration chain (environment,
//! profiles, SSO, `AWS_ENDPOINT_URL` for a local S3, then path-style addressing), over rustls on
//! ring like every other TLS connection of the build.

use anyhow::Context as _;
use aws_config::BehaviorVersion;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_types::error::display::DisplayErrorContext;

/// The history's S3 reader.
pub struct HistoryReader {
    client: aws_sdk_s3::Client,
}

impl HistoryReader {
    pub async fn from_environment() -> HistoryReader {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .load()
            .await;
        let config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(shared.endpoint_url().is_some())
            .build();
        HistoryReader {
            client: aws_sdk_s3::Client::from_conf(config),
        }
    }

    /// Every key under `prefix`, in S3's order.
    pub async fn list(&self, bucket: &str, prefix: &str) -> anyhow::Result<Vec<String>> {
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
                .map_err(|e| anyhow::anyhow!("{}", DisplayErrorContext(e)))
                .with_context(|| format!("cannot list s3://{bucket}/{prefix}"))?;
            keys.extend(
                output
                    .contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
            match output.next_continuation_token() {
                Some(next) if output.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => return Ok(keys),
            }
        }
    }

    /// The user metadata of the object under `key` (a HEAD request).
    pub async fn metadata(
        &self,
        bucket: &str,
        key: &str,
    ) -> anyhow::Result<std::collections::HashMap<String, String>> {
        let output = self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", DisplayErrorContext(e)))
            .with_context(|| format!("cannot read s3://{bucket}/{key}"))?;
        Ok(output.metadata().cloned().unwrap_or_default())
    }

    /// The bytes under `key`.
    pub async fn get(&self, bucket: &str, key: &str) -> anyhow::Result<Vec<u8>> {
        let output = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", DisplayErrorContext(e)))
            .with_context(|| format!("cannot read s3://{bucket}/{key}"))?;
        let body = output
            .body
            .collect()
            .await
            .with_context(|| format!("cannot read s3://{bucket}/{key}"))?;
        Ok(body.into_bytes().to_vec())
    }
}
