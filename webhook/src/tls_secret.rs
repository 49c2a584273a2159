//! The serving certificate from a kubernetes.io/tls Secret read through the API (`--tls-secret`):
//! a watch on that one Secret (fieldSelector `metadata.name`, so RBAC can grant it by name)
//! swaps in each new valid pair within about a second of the write, keeping the last good pair
//! when the Secret is deleted or holds a bad one. Until the first pair loads, handshakes fail
//! and `/readyz` says so.

use std::fmt;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwapOption;
use futures::StreamExt;
use hipaa_runtime::watch::with_watch_backoff;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::watcher;
use kube::{Api, Client};
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::metrics::Metrics;
use crate::sync::SyncState;
use crate::tls::{Reload, not_after, parse_pair, provider};

/// Serves the pair of one Secret.
pub struct SecretCertResolver {
    namespace: String,
    name: String,
    provider: Arc<CryptoProvider>,
    current: ArcSwapOption<CertifiedKey>,
    /// The `tls.crt` and `tls.key` last looked at (good or bad), to notice the next change.
    last_seen: Mutex<Option<(Vec<u8>, Vec<u8>)>>,
}

impl fmt::Debug for SecretCertResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretCertResolver")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl SecretCertResolver {
    /// A resolver with no certificate yet.
    pub fn new(namespace: &str, name: &str) -> Arc<Self> {
        Arc::new(SecretCertResolver {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            provider: provider(),
            current: ArcSwapOption::empty(),
            last_seen: Mutex::new(None),
        })
    }

    /// The pair served now, if one has loaded.
    pub fn current(&self) -> Option<Arc<CertifiedKey>> {
        self.current.load_full()
    }

    /// Takes the Secret's pair when it changed and is valid.
    pub fn offer(&self, secret: &Secret) -> Reload {
        let value = |key: &str| {
            secret
                .data
                .as_ref()
                .and_then(|data| data.get(key))
                .map(|bytes| bytes.0.clone())
        };
        let (Some(cert_pem), Some(key_pem)) = (value("tls.crt"), value("tls.key")) else {
            return Reload::Failed("the Secret lacks tls.crt or tls.key".to_owned());
        };
        let Ok(mut last_seen) = self.last_seen.lock() else {
            return Reload::Failed("the reload state is poisoned".to_owned());
        };
        if last_seen
            .as_ref()
            .is_some_and(|(cert, key)| *cert == cert_pem && *key == key_pem)
        {
            return Reload::Unchanged;
        }
        let outcome = match parse_pair(&cert_pem, &key_pem, &self.provider) {
            Ok(key) => {
                self.current.store(Some(Arc::new(key)));
                Reload::Reloaded
            }
            Err(err) => Reload::Failed(err.to_string()),
        };
        *last_seen = Some((cert_pem, key_pem));
        outcome
    }

    /// Watches the Secret until the task is dropped; logs and counts each change, and marks the
    /// webhook ready to serve once a pair has loaded.
    pub async fn watch(
        self: Arc<Self>,
        client: Client,
        metrics: Arc<Metrics>,
        sync: Arc<SyncState>,
    ) {
        let api: Api<Secret> = Api::namespaced(client, &self.namespace);
        let config = watcher::Config::default().fields(&format!("metadata.name={}", self.name));
        let mut events = with_watch_backoff(watcher(api, config)).boxed();
        let mut last_error: Option<String> = None;
        while let Some(event) = events.next().await {
            let secret = match event {
                Ok(watcher::Event::Apply(secret) | watcher::Event::InitApply(secret)) => secret,
                Ok(watcher::Event::Delete(_)) => {
                    tracing::warn!(namespace = %self.namespace, secret = %self.name,
                        "the serving certificate's Secret was deleted; keeping the certificate in use");
                    continue;
                }
                Ok(watcher::Event::Init | watcher::Event::InitDone) => continue,
                Err(error) => {
                    tracing::warn!(error = %hipaa_controls::redact::Redacted(&error), namespace = %self.namespace, secret = %self.name,
                        "watching the serving certificate's Secret failed; retrying");
                    continue;
                }
            };
            match self.offer(&secret) {
                Reload::Unchanged => {}
                Reload::Reloaded => {
                    last_error = None;
                    if let Some(current) = self.current() {
                        metrics.served_certificate(not_after(&current));
                    }
                    sync.certificate_loaded();
                    metrics.tls_reload("reloaded");
                    tracing::info!(namespace = %self.namespace, secret = %self.name,
                        "loaded the TLS certificate from the Secret");
                }
                Reload::Failed(error) => {
                    if last_error.as_deref() != Some(error.as_str()) {
                        metrics.tls_reload("failed");
                        tracing::warn!(%error, namespace = %self.namespace, secret = %self.name,
                            "keeping the previous TLS certificate: the Secret's pair does not load");
                        last_error = Some(error);
                    }
                }
            }
        }
    }
}

impl ResolvesServerCert for SecretCertResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.load_full()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use k8s_openapi::ByteString;
    use std::collections::BTreeMap;

    fn secret(cert: &str, key: &str) -> Secret {
        Secret {
            data: Some(BTreeMap::from([
                ("tls.crt".to_owned(), ByteString(cert.as_bytes().to_vec())),
                ("tls.key".to_owned(), ByteString(key.as_bytes().to_vec())),
            ])),
            ..Secret::default()
        }
    }

    fn pair(name: &str) -> (String, String) {
        let certified = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
        (certified.cert.pem(), certified.signing_key.serialize_pem())
    }

    #[test]
    fn a_valid_pair_loads_a_bad_one_keeps_the_last_good_and_a_repeat_is_unchanged() {
        let resolver = SecretCertResolver::new("ns", "tls");
        assert!(resolver.current().is_none());
        let (cert, key) = pair("first");
        assert_eq!(resolver.offer(&secret(&cert, &key)), Reload::Reloaded);
        let first = resolver.current().unwrap();
        assert_eq!(resolver.offer(&secret(&cert, &key)), Reload::Unchanged);

        let (other_cert, _) = pair("second");
        let mismatched = resolver.offer(&secret(&other_cert, &key));
        assert!(matches!(mismatched, Reload::Failed(_)), "{mismatched:?}");
        assert!(Arc::ptr_eq(&first, &resolver.current().unwrap()));
        let half = resolver.offer(&secret(&cert[..cert.len() / 2], &key));
        assert!(matches!(half, Reload::Failed(_)), "{half:?}");
        assert!(matches!(
            resolver.offer(&Secret::default()),
            Reload::Failed(_)
        ));

        let (cert, key) = pair("second");
        assert_eq!(resolver.offer(&secret(&cert, &key)), Reload::Reloaded);
        assert!(!Arc::ptr_eq(&first, &resolver.current().unwrap()));
        assert!(crate::tls::not_after(&resolver.current().unwrap()).is_some());
    }
}
