//! Where the CA bundle of the registered configuration comes from: the operator's own CA (the
//! certificates module, which needs to know what is registered to rotate safely), a PEM file, or
//! `ca.crt` of a Secret another issuer keeps (cert-manager).

use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;

use crate::certificates::{CertificateError, CertificateManager, RegisteredBundle};

use k8s_openapi::api::core::v1::Secret;
use kube::Api;

/// A source of the bundle the API server trusts the webhook with.
pub enum BundleSource {
    Managed(Box<CertificateManager>),
    File(PathBuf),
    Secret { api: Box<Api<Secret>>, name: String },
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
    #[error("the webhook certificates: {0}")]
    Managed(#[from] CertificateError),
}

/// The bundle to register now, and when its source wants to be asked again at the latest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    pub pem: String,
    pub next_check: Option<Duration>,
}

impl BundleSource {
    /// The bundle now. `registered` is the bundle the configuration carries and since when: the
    /// operator's own CA moves the serving certificate to a new CA only once it is registered.
    pub async fn bundle(
        &self,
        registered: Option<&RegisteredBundle>,
    ) -> Result<Bundle, BundleError> {
        let (what, pem) = match self {
            BundleSource::Managed(manager) => {
                let state = manager.reconcile(registered, Utc::now()).await?;
                return Ok(Bundle {
                    pem: state.ca_bundle,
                    next_check: Some(state.next_check),
                });
            }
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
            Ok(Bundle {
                pem,
                next_check: None,
            })
        } else {
            Err(BundleError::Empty(what))
        }
    }
}
