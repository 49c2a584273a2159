//! TLS for the review port: rustls (ring, TLS 1.2 and 1.3, HTTP/1.1 by ALPN) with a certificate
//! resolver that reloads the certificate and key files when their content changes, keeping the
//! last good pair when a read or parse fails (e.g. half-written files during a rotation). The
//! other source, a Secret read through the API, is [`crate::tls_secret`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::metrics::Metrics;

/// How often the files are checked for changes.
pub const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// Why a certificate/key pair could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} holds no PEM certificate: {detail}")]
    NoCertificate { path: PathBuf, detail: String },
    #[error("{path} holds no PEM private key: {detail}")]
    NoKey { path: PathBuf, detail: String },
    #[error("the key in {key} does not load or does not fit the certificate in {cert}: {source}")]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("building the TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The outcome of one check of the files.
#[derive(Debug, PartialEq, Eq)]
pub enum Reload {
    Unchanged,
    Reloaded,
    /// The files changed but do not form a valid pair; the previous pair stays in use.
    Failed(String),
}

/// Serves the current certificate and swaps in a new one when the files change.
pub struct ReloadingCertResolver {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: ArcSwap<CertifiedKey>,
    /// The file contents last looked at (good or bad), to notice the next change.
    last_seen: Mutex<(Vec<u8>, Vec<u8>)>,
}

impl fmt::Debug for ReloadingCertResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingCertResolver")
            .field("cert_path", &self.cert_path)
            .field("key_path", &self.key_path)
            .finish_non_exhaustive()
    }
}

/// The crypto provider of every TLS endpoint of the webhook.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl ReloadingCertResolver {
    /// Loads the pair; fails when it cannot (the webhook does not start without a certificate).
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Arc<Self>, TlsError> {
        let provider = provider();
        let (cert_pem, key_pem) = read_pair(cert_path, key_path)?;
        let key = certified_key(cert_path, key_path, &cert_pem, &key_pem, &provider)?;
        Ok(Arc::new(ReloadingCertResolver {
            cert_path: cert_path.to_owned(),
            key_path: key_path.to_owned(),
            provider,
            current: ArcSwap::from_pointee(key),
            last_seen: Mutex::new((cert_pem, key_pem)),
        }))
    }

    /// The certificate chain served now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current.load_full()
    }

    /// Reads both files and swaps in the pair when their content changed and is valid.
    pub fn reload_if_changed(&self) -> Reload {
        let (cert_pem, key_pem) = match read_pair(&self.cert_path, &self.key_path) {
            Ok(pair) => pair,
            Err(err) => return Reload::Failed(err.to_string()),
        };
        let Ok(mut last_seen) = self.last_seen.lock() else {
            return Reload::Failed("the reload state is poisoned".to_owned());
        };
        if last_seen.0 == cert_pem && last_seen.1 == key_pem {
            return Reload::Unchanged;
        }
        let outcome = match certified_key(
            &self.cert_path,
            &self.key_path,
            &cert_pem,
            &key_pem,
            &self.provider,
        ) {
            Ok(key) => {
                self.current.store(Arc::new(key));
                Reload::Reloaded
            }
            Err(err) => Reload::Failed(err.to_string()),
        };
        *last_seen = (cert_pem, key_pem);
        outcome
    }

    /// Checks the files every `interval` until the task is dropped; logs and counts each change.
    pub async fn watch(self: Arc<Self>, interval: Duration, metrics: Arc<Metrics>) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_error: Option<String> = None;
        loop {
            ticker.tick().await;
            let this = Arc::clone(&self);
            let outcome = match tokio::task::spawn_blocking(move || this.reload_if_changed()).await
            {
                Ok(outcome) => outcome,
                Err(err) => Reload::Failed(format!("the reload task failed: {err}")),
            };
            match outcome {
                Reload::Unchanged => {}
                Reload::Reloaded => {
                    last_error = None;
                    metrics.served_certificate(not_after(&self.current()));
                    metrics.tls_reload("reloaded");
                    tracing::info!(cert = %self.cert_path.display(), key = %self.key_path.display(),
                        "reloaded the TLS certificate");
                }
                Reload::Failed(error) => {
                    if last_error.as_deref() != Some(error.as_str()) {
                        metrics.tls_reload("failed");
                        tracing::warn!(%error, "keeping the previous TLS certificate: the new files do not load");
                        last_error = Some(error);
                    }
                }
            }
        }
    }
}

impl ResolvesServerCert for ReloadingCertResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

fn read_pair(cert_path: &Path, key_path: &Path) -> Result<(Vec<u8>, Vec<u8>), TlsError> {
    let cert = std::fs::read(cert_path).map_err(|source| TlsError::Read {
        path: cert_path.to_owned(),
        source,
    })?;
    let key = std::fs::read(key_path).map_err(|source| TlsError::Read {
        path: key_path.to_owned(),
        source,
    })?;
    Ok((cert, key))
}

fn certified_key(
    cert_path: &Path,
    key_path: &Path,
    cert_pem: &[u8],
    key_pem: &[u8],
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    parse_pair(cert_pem, key_pem, provider).map_err(|err| match err {
        PairError::NoCertificate(detail) => TlsError::NoCertificate {
            path: cert_path.to_owned(),
            detail,
        },
        PairError::NoKey(detail) => TlsError::NoKey {
            path: key_path.to_owned(),
            detail,
        },
        PairError::Mismatch(source) => TlsError::Mismatch {
            cert: cert_path.to_owned(),
            key: key_path.to_owned(),
            source,
        },
    })
}

/// Why a PEM certificate chain and key do not form a pair, wherever they were read from.
#[derive(Debug, thiserror::Error)]
pub enum PairError {
    #[error("no PEM certificate: {0}")]
    NoCertificate(String),
    #[error("no PEM private key: {0}")]
    NoKey(String),
    #[error("the key does not load or does not fit the certificate: {0}")]
    Mismatch(#[source] rustls::Error),
}

/// The served pair from PEM: a certificate chain (leaf first) and its private key.
pub fn parse_pair(
    cert_pem: &[u8],
    key_pem: &[u8],
    provider: &CryptoProvider,
) -> Result<CertifiedKey, PairError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|err| PairError::NoCertificate(err.to_string()))?;
    if chain.is_empty() {
        return Err(PairError::NoCertificate("no CERTIFICATE block".to_owned()));
    }
    let key =
        PrivateKeyDer::from_pem_slice(key_pem).map_err(|err| PairError::NoKey(err.to_string()))?;
    CertifiedKey::from_der(chain, key, provider).map_err(PairError::Mismatch)
}

/// When the served certificate (the chain's leaf) expires, in Unix seconds.
pub fn not_after(key: &CertifiedKey) -> Option<i64> {
    let leaf = key.end_entity_cert().ok()?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf).ok()?;
    Some(cert.validity().not_after.timestamp())
}

/// The server configuration: TLS 1.2+, no client certificates, HTTP/1.1.
pub fn server_config<R: ResolvesServerCert + 'static>(
    resolver: Arc<R>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
