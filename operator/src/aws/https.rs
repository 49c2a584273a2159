//! The AWS SDK's HTTPS client: rustls on ring, the one crypto provider of the whole build (kube's
//! client and the webhook's server use it), in place of the SDK's default client, whose rustls
//! runs on aws-lc-rs (a C library, and a second provider). Everything else is as the SDK's default
//! client does it: proxies from the environment, one connection pool per timeout setting.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_smithy_http_client::ConnectorBuilder;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{SharedHttpClient, SharedHttpConnector, http_client_fn};

/// Connect and read timeouts: what a connector is built for.
type Timeouts = (Option<Duration>, Option<Duration>);

/// The HTTPS client every AWS configuration is loaded with (`ConfigLoader::http_client`): the
/// credential providers (STS for IRSA, SSO, instance metadata) and the service clients share it.
pub fn https_client() -> SharedHttpClient {
    // The SDK asks for a connector on every attempt; reusing one per timeout setting keeps its
    // connection pool, as the SDK's own client does.
    let connectors: Mutex<HashMap<Timeouts, SharedHttpConnector>> = Mutex::default();
    http_client_fn(move |settings, components| {
        let timeouts = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = connectors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        connectors
            .entry(timeouts)
            .or_insert_with(|| {
                let mut builder = ConnectorBuilder::default()
                    .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
                    .connector_settings(settings.clone());
                // Without a sleep the connector could not enforce its timeouts.
                builder.set_sleep_impl(components.sleep_impl());
                // `HTTPS_PROXY`, `NO_PROXY`, ...: honoured by the SDK's default client since
                // behavior version 2025-08-07, so kept.
                builder.set_proxy_config(Some(ProxyConfig::from_env()));
                SharedHttpConnector::new(builder.build())
            })
            .clone()
    })
}

/// One connector of the same kind for the operator's own signed calls ([`super::wire`]), which
/// enforce their timeouts themselves; the sleep is the configuration's.
pub fn wire_connector(config: &aws_config::SdkConfig) -> SharedHttpConnector {
    let mut builder =
        ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
    builder.set_sleep_impl(config.sleep_impl());
    builder.set_proxy_config(Some(ProxyConfig::from_env()));
    SharedHttpConnector::new(builder.build())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// The client speaks to a real AWS endpoint (moto on loopback, plain HTTP as the SDK sends it
    /// to an `http://` endpoint): signed request out, parsed answer back.
    #[tokio::test]
    async fn calls_reach_moto_and_answers_parse() {
        let moto = hipaa_testkit::moto().await.unwrap();
        let base = moto.sdk_config().await;
        let kms = aws_sdk_kms::Client::from_conf(
            aws_sdk_kms::config::Builder::from(&base)
                .http_client(https_client())
                .build(),
        );
        let key = kms.create_key().send().await.unwrap().key_metadata.unwrap();
        let listed = kms.list_keys().send().await.unwrap();
        assert!(
            listed
                .keys()
                .iter()
                .any(|k| k.key_id.as_deref() == Some(key.key_id()))
        );
    }
}
