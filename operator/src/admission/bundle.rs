//! Where the CA bundle of the registered configuration comes from: a PEM file, or `ca.crt` of a
//! Secret another issuer keeps (cert-manager). The operator's own CA is the certificates module.

use std::path::PathBuf;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;

/// A source of the bundle the API server trusts the webhook with.
pub enum BundleSource {
    File(PathBuf),
    Secret { api: Api<Secret>, name: String },
}

/// Why there is no bundle to register (yet).
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("reading the CA bundle {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reading Secret {name}: {source}")]
    Api {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("Secret {0} does not exist yet (its issuer has not written it)")]
    SecretMissing(String),
    #[error("{0} holds no PEM certificate")]
    Empty(String),
}

impl BundleSource {
    /// The bundle now, as PEM.
    pub async fn bundle(&self) -> Result<String, BundleError> {
        let (what, pem) = match self {
            BundleSource::File(path) => {
                let pem =
                    tokio::fs::read_to_string(path)
                        .await
                        .map_err(|source| BundleError::Read {
                            path: path.clone(),
                            source,
                        })?;
                (path.display().to_string(), pem)
            }
            BundleSource::Secret { api, name } => {
                let secret = api
                    .get_opt(name)
                    .await
                    .map_err(|source| BundleError::Api {
                        name: name.clone(),
                        source,
                    })?
                    .ok_or_else(|| BundleError::SecretMissing(name.clone()))?;
                let pem = secret
                    .data
                    .as_ref()
                    .and_then(|data| data.get("ca.crt"))
                    .map(|bytes| String::from_utf8_lossy(&bytes.0).into_owned())
                    .unwrap_or_default();
                (format!("ca.crt of Secret {name}"), pem)
            }
        };
        if pem.contains("-----BEGIN CERTIFICATE-----") {
            Ok(pem)
        } else {
            Err(BundleError::Empty(what))
        }
    }
}
