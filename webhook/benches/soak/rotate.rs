//! Certificate rotation for the soak: the serving certificate lives in a directory laid out as
//! the kubelet lays out a mounted Secret (`tls.crt -> ..data/tls.crt`, `..data` a symlink to a
//! timestamped directory, swapped by an atomic rename), and each rotation writes a fresh leaf
//! from one of two CAs in turn — a new key every time, a new CA every other time. Clients trust
//! both CAs (the bundle the operator registers holds the old and the new CA during a change).
//! After each rotation a fresh connection checks that the new leaf is served, and how soon.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio_rustls::TlsConnector;

use crate::common::ca::{Leaf, TestCa, connect, post_review};

/// The mounted-Secret directory the server reads `tls.crt` and `tls.key` from.
pub struct CertDir {
    dir: PathBuf,
    generation: u32,
}

impl CertDir {
    /// Lays out the directory with a first leaf.
    pub fn create(dir: &Path, first: &Leaf) -> std::io::Result<CertDir> {
        let mut cert_dir = CertDir {
            dir: dir.to_owned(),
            generation: 0,
        };
        cert_dir.swap_in(first)?;
        for name in ["tls.crt", "tls.key"] {
            std::os::unix::fs::symlink(Path::new("..data").join(name), dir.join(name))?;
        }
        Ok(cert_dir)
    }

    /// Writes the pair into a new timestamped directory, points `..data` at it in one rename,
    /// and removes the one before: the server never sees a certificate without its key.
    pub fn swap_in(&mut self, leaf: &Leaf) -> std::io::Result<()> {
        self.generation += 1;
        let fresh = format!("..gen_{}", self.generation);
        std::fs::create_dir(self.dir.join(&fresh))?;
        std::fs::write(self.dir.join(&fresh).join("tls.crt"), &leaf.cert_pem)?;
        std::fs::write(self.dir.join(&fresh).join("tls.key"), &leaf.key_pem)?;
        let staged = self.dir.join("..data_tmp");
        let _ = std::fs::remove_file(&staged);
        std::os::unix::fs::symlink(&fresh, &staged)?;
        std::fs::rename(&staged, self.dir.join("..data"))?;
        if self.generation > 1 {
            let old = self.dir.join(format!("..gen_{}", self.generation - 1));
            std::fs::remove_dir_all(old)?;
        }
        Ok(())
    }
}

/// A client that trusts every CA given (full handshakes only, so each connection reports the
/// certificate served now).
pub fn connector(cas: &[&TestCa]) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for ca in cas {
        let pem = ca.pem();
        for der in CertificateDer::pem_slice_iter(pem.as_bytes()).flatten() {
            let _ = roots.add(der);
        }
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map(|builder| builder.with_root_certificates(roots).with_no_client_auth())
    .unwrap_or_else(|error| panic!("client TLS config: {error}"));
    config.resumption = rustls::client::Resumption::disabled();
    TlsConnector::from(Arc::new(config))
}

/// One rotation as seen from a new connection.
#[derive(Clone, Debug)]
pub struct Rotation {
    /// From the swap until a new connection was served the new leaf; None if it never was
    /// within the probe's patience.
    pub served_after: Option<Duration>,
    /// Whether a review on that connection was answered.
    pub review_ok: bool,
    pub from_new_ca: bool,
    /// New connections that failed while waiting (a handshake the client refused, say).
    pub failed_connects: u32,
}

/// Swaps in `leaf`, then connects every 100 ms (up to 15 s) until the server presents it and
/// sends one review on that connection.
pub async fn rotate_and_probe(
    dir: &mut CertDir,
    leaf: &Leaf,
    from_new_ca: bool,
    connector: &TlsConnector,
    addr: SocketAddr,
    body: &Bytes,
) -> std::io::Result<Rotation> {
    dir.swap_in(leaf)?;
    let swapped = Instant::now();
    let mut rotation = Rotation {
        served_after: None,
        review_ok: false,
        from_new_ca,
        failed_connects: 0,
    };
    while swapped.elapsed() < Duration::from_secs(15) {
        match connect(connector, addr).await {
            Ok(mut connection) if connection.peer_certificate == leaf.der => {
                rotation.served_after = Some(swapped.elapsed());
                rotation.review_ok = matches!(
                    post_review(&mut connection.sender, "/validate", body.clone()).await,
                    Ok((200, _))
                );
                break;
            }
            Ok(_) => {}
            Err(_) => rotation.failed_connects += 1,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(rotation)
}
