//! Whether a webhook answers: `GET /readyz` on its review port over TLS, trusting only the CA
//! bundle about to be registered. A 200 proves what the API server will need: something listens
//! there, its certificate chains to that bundle for the name the API server will check, and its
//! watch caches have synced.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The longest answer read: a status line and a short reason.
const MAX_ANSWER: usize = 4096;

/// Where to reach a webhook: the address to connect to and the name its certificate must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeTarget {
    /// `host:port` to connect to (an IP or a resolvable name).
    pub address: String,
    /// The TLS server name checked against the certificate (a DNS name or an IP).
    pub server_name: String,
}

impl ProbeTarget {
    /// The target of an `https://host[:port]/path` webhook URL.
    pub fn from_url(url: &str) -> Result<ProbeTarget, ProbeError> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| ProbeError::Target(format!("{url}: {e}")))?;
        if uri.scheme_str() != Some("https") {
            return Err(ProbeError::Target(format!("{url}: not an https URL")));
        }
        let host = uri
            .host()
            .ok_or_else(|| ProbeError::Target(format!("{url}: no host")))?;
        let port = uri.port_u16().unwrap_or(443);
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        Ok(ProbeTarget {
            address: format!("{host}:{port}"),
            server_name: bare.to_owned(),
        })
    }
}

/// Why a webhook did not answer as ready.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("no webhook to probe: {0}")]
    Target(String),
    #[error("the CA bundle holds no usable certificate: {0}")]
    Bundle(String),
    #[error("connecting to {address}: {source}")]
    Connect {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS with {address} (server name {server_name}): {source}")]
    Tls {
        address: String,
        server_name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{address} answered {status}: {reason}")]
    NotReady {
        address: String,
        status: u16,
        reason: String,
    },
    #[error("{address} gave no answer within {0:?}", .timeout)]
    Timeout { address: String, timeout: Duration },
}

/// Probes `target`, trusting only the certificates of `ca_bundle` (PEM), within `timeout`.
pub async fn probe(
    target: &ProbeTarget,
    ca_bundle: &str,
    timeout: Duration,
) -> Result<(), ProbeError> {
    let connector = connector(ca_bundle)?;
    match tokio::time::timeout(timeout, ask(target, connector)).await {
        Ok(result) => result,
        Err(_) => Err(ProbeError::Timeout {
            address: target.address.clone(),
            timeout,
        }),
    }
}

fn connector(ca_bundle: &str) -> Result<TlsConnector, ProbeError> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_bundle.as_bytes()) {
        let cert = cert.map_err(|e| ProbeError::Bundle(e.to_string()))?;
        roots
            .add(cert)
            .map_err(|e| ProbeError::Bundle(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(ProbeError::Bundle("no PEM certificate".to_owned()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ProbeError::Bundle(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

async fn ask(target: &ProbeTarget, connector: TlsConnector) -> Result<(), ProbeError> {
    let address = target.address.clone();
    let tcp = TcpStream::connect(&address)
        .await
        .map_err(|source| ProbeError::Connect {
            address: address.clone(),
            source,
        })?;
    let server_name = ServerName::try_from(target.server_name.clone())
        .map_err(|e| ProbeError::Target(format!("server name {}: {e}", target.server_name)))?;
    let tls_error = |source| ProbeError::Tls {
        address: address.clone(),
        server_name: target.server_name.clone(),
        source,
    };
    let mut tls = connector
        .connect(server_name, tcp)
        .await
        .map_err(tls_error)?;
    let request = format!(
        "GET /readyz HTTP/1.1\r\nhost: {}\r\nuser-agent: hipaa-operator\r\nconnection: close\r\n\r\n",
        target.server_name
    );
    tls.write_all(request.as_bytes()).await.map_err(tls_error)?;
    let mut answer = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    while answer.len() < MAX_ANSWER {
        let read = tls.read(&mut chunk).await.map_err(tls_error)?;
        if read == 0 {
            break;
        }
        answer.extend_from_slice(chunk.get(..read).unwrap_or_default());
    }
    let (status, reason) = parse_answer(&answer);
    if status == 200 {
        Ok(())
    } else {
        Err(ProbeError::NotReady {
            address,
            status,
            reason,
        })
    }
}

/// The status code and the body's first line of an HTTP/1.1 answer (0 when it is not one).
fn parse_answer(answer: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(answer);
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or("");
    (status, body.lines().next().unwrap_or("").trim().to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn urls_give_the_address_and_the_name_to_check() {
        let target = ProbeTarget::from_url("https://127.0.0.1:8443/validate").unwrap();
        assert_eq!(target.address, "127.0.0.1:8443");
        assert_eq!(target.server_name, "127.0.0.1");
        let target = ProbeTarget::from_url("https://webhook.example.internal/validate").unwrap();
        assert_eq!(target.address, "webhook.example.internal:443");
        let target = ProbeTarget::from_url("https://[::1]:9443/validate").unwrap();
        assert_eq!(target.address, "[::1]:9443");
        assert_eq!(target.server_name, "::1");
        assert!(ProbeTarget::from_url("http://127.0.0.1/validate").is_err());
        assert!(ProbeTarget::from_url("not a url").is_err());
    }

    #[test]
    fn answers_parse_to_status_and_reason() {
        let (status, reason) =
            parse_answer(b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n\r\nnot ready: waiting\n");
        assert_eq!(status, 503);
        assert_eq!(reason, "not ready: waiting");
        assert_eq!(parse_answer(b"HTTP/1.1 200 OK\r\n\r\nok\n").0, 200);
        assert_eq!(parse_answer(b"garbage").0, 0);
    }

    #[test]
    fn a_bundle_without_certificates_is_refused_before_connecting() {
        assert!(matches!(connector(""), Err(ProbeError::Bundle(_))));
        assert!(matches!(
            connector("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            Err(ProbeError::Bundle(_))
        ));
    }

    #[tokio::test]
    async fn nothing_listening_is_a_connect_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        drop(listener);
        let target = ProbeTarget {
            address,
            server_name: "127.0.0.1".to_owned(),
        };
        let ca = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        let err = probe(&target, &ca.cert.pem(), Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(matches!(err, ProbeError::Connect { .. }), "{err}");
    }
}
