//! What the two Secrets hold, as facts the plan can decide on: each certificate's validity,
//! names and signer, and why a Secret cannot be used (missing keys, bad PEM, a key that does not
//! fit its certificate) instead of an error, since a broken Secret is something to repair.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use super::ROTATE_ANNOTATION;

/// The keys of the CA Secret.
pub const CA_CERT_KEY: &str = "ca.crt";
pub const CA_KEY_KEY: &str = "ca.key";
pub const PREVIOUS_CA_KEY: &str = "previous-ca.crt";
/// The keys of the serving Secret (a kubernetes.io/tls Secret, plus the bundle).
pub const TLS_CERT_KEY: &str = "tls.crt";
pub const TLS_KEY_KEY: &str = "tls.key";
pub const SERVING_CA_KEY: &str = "ca.crt";
pub const TLS_SECRET_TYPE: &str = "kubernetes.io/tls";

/// One parsed certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertFacts {
    pub der: Vec<u8>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub is_ca: bool,
    pub dns_names: BTreeSet<String>,
    pub ip_addresses: BTreeSet<IpAddr>,
}

impl CertFacts {
    /// The certificate as one PEM block.
    pub fn pem(&self) -> String {
        to_pem(&self.der)
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.not_after
    }
}

/// The CA Secret's current CA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaObserved {
    Missing,
    /// Present but not usable to sign; `reason` says why.
    Unusable {
        reason: String,
    },
    /// A CA certificate with the key that fits it.
    Usable(CertFacts),
}

/// Which known CA signed the serving certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signer {
    Current,
    Previous,
    Salvaged,
    Unknown,
}

/// The serving Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServingObserved {
    Missing,
    Unusable {
        reason: String,
    },
    Usable {
        cert: CertFacts,
        signer: Signer,
        /// The Secret's `ca.crt`, to refresh when the bundle changes.
        ca_field: String,
    },
}

/// Everything the plan decides on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    pub ca: CaObserved,
    pub previous: Option<CertFacts>,
    /// A CA certificate that can still vouch for the serving certificate while the current CA is
    /// unusable: the CA Secret's certificate whose key is gone, or else the CA in the serving
    /// Secret's `ca.crt` that signed `tls.crt`. Kept as the previous CA, it keeps reviews working
    /// while a new CA propagates.
    pub salvaged: Option<CertFacts>,
    pub rotate_requested: bool,
    pub serving: ServingObserved,
}

/// Facts of both Secrets (`None`: the Secret does not exist).
pub fn observe(ca_secret: Option<&Secret>, serving_secret: Option<&Secret>) -> Observed {
    let ca_data = ca_secret.map(secret_data).unwrap_or_default();
    let ca = match ca_secret {
        None => CaObserved::Missing,
        Some(_) => match usable_ca(&ca_data) {
            Ok(cert) => CaObserved::Usable(cert),
            Err(reason) => CaObserved::Unusable { reason },
        },
    };
    let previous = ca_data
        .get(PREVIOUS_CA_KEY)
        .and_then(|pem| parse_certificates(pem).ok())
        .and_then(|certs| certs.into_iter().find(|cert| cert.is_ca));
    let rotate_requested = ca_secret
        .and_then(|secret| secret.metadata.annotations.as_ref())
        .is_some_and(|annotations| annotations.contains_key(ROTATE_ANNOTATION));
    let serving_data = serving_secret.map(secret_data).unwrap_or_default();
    let salvaged = match &ca {
        CaObserved::Usable(_) => None,
        _ => salvage(&ca_data, &serving_data),
    };
    let current = match &ca {
        CaObserved::Usable(cert) => Some(cert),
        _ => None,
    };
    let serving = match serving_secret {
        None => ServingObserved::Missing,
        Some(secret) => observe_serving(
            secret,
            &serving_data,
            [
                (Signer::Current, current),
                (Signer::Previous, previous.as_ref()),
                (Signer::Salvaged, salvaged.as_ref()),
            ],
        ),
    };
    Observed {
        ca,
        previous,
        salvaged,
        rotate_requested,
        serving,
    }
}

fn usable_ca(data: &BTreeMap<String, String>) -> Result<CertFacts, String> {
    let cert_pem = data.get(CA_CERT_KEY).ok_or("it has no ca.crt")?;
    let key_pem = data.get(CA_KEY_KEY).ok_or("it has no ca.key")?;
    let cert = single_certificate(cert_pem).map_err(|why| format!("ca.crt: {why}"))?;
    if !cert.is_ca {
        return Err("ca.crt is not a CA certificate".to_owned());
    }
    key_fits(&cert, key_pem).map_err(|why| format!("ca.key: {why}"))?;
    Ok(cert)
}

fn salvage(
    ca_data: &BTreeMap<String, String>,
    serving_data: &BTreeMap<String, String>,
) -> Option<CertFacts> {
    let from_ca_secret = ca_data
        .get(CA_CERT_KEY)
        .and_then(|pem| single_certificate(pem).ok())
        .filter(|cert| cert.is_ca);
    if from_ca_secret.is_some() {
        return from_ca_secret;
    }
    let serving = single_certificate(serving_data.get(TLS_CERT_KEY)?).ok()?;
    parse_certificates(serving_data.get(SERVING_CA_KEY)?)
        .ok()?
        .into_iter()
        .find(|ca| ca.is_ca && signed_by(&serving.der, &ca.der))
}

fn observe_serving<const N: usize>(
    secret: &Secret,
    data: &BTreeMap<String, String>,
    candidates: [(Signer, Option<&CertFacts>); N],
) -> ServingObserved {
    let unusable = |reason: String| ServingObserved::Unusable { reason };
    if secret.type_.as_deref() != Some(TLS_SECRET_TYPE) {
        return unusable(format!(
            "its type is {:?}, not {TLS_SECRET_TYPE}",
            secret.type_.as_deref().unwrap_or("Opaque")
        ));
    }
    let (Some(cert_pem), Some(key_pem)) = (data.get(TLS_CERT_KEY), data.get(TLS_KEY_KEY)) else {
        return unusable("it lacks tls.crt or tls.key".to_owned());
    };
    let cert = match single_certificate(cert_pem) {
        Ok(cert) => cert,
        Err(why) => return unusable(format!("tls.crt: {why}")),
    };
    if let Err(why) = key_fits(&cert, key_pem) {
        return unusable(format!("tls.key: {why}"));
    }
    let signer = candidates
        .iter()
        .find_map(|(signer, ca)| {
            ca.filter(|ca| signed_by(&cert.der, &ca.der))
                .map(|_| *signer)
        })
        .unwrap_or(Signer::Unknown);
    ServingObserved::Usable {
        cert,
        signer,
        ca_field: data.get(SERVING_CA_KEY).cloned().unwrap_or_default(),
    }
}

/// The Secret's data as text (PEM is ASCII; a value that is not UTF-8 is left out, which makes
/// the Secret unusable as it should).
fn secret_data(secret: &Secret) -> BTreeMap<String, String> {
    secret
        .data
        .iter()
        .flatten()
        .filter_map(|(key, ByteString(bytes))| {
            Some((key.clone(), String::from_utf8(bytes.clone()).ok()?))
        })
        .collect()
}

/// Every CERTIFICATE block of `pem`, parsed.
pub fn parse_certificates(pem: &str) -> Result<Vec<CertFacts>, String> {
    let blocks = pem::parse_many(pem).map_err(|err| format!("bad PEM: {err}"))?;
    blocks
        .iter()
        .filter(|block| block.tag() == "CERTIFICATE")
        .map(|block| parse_der(block.contents()))
        .collect()
}

/// Exactly one certificate (a serving certificate or a CA, without a chain).
pub fn single_certificate(pem: &str) -> Result<CertFacts, String> {
    let mut certs = parse_certificates(pem)?;
    match (certs.pop(), certs.is_empty()) {
        (Some(cert), true) => Ok(cert),
        (None, _) => Err("no CERTIFICATE block".to_owned()),
        (Some(_), false) => Err("more than one certificate".to_owned()),
    }
}

fn parse_der(der: &[u8]) -> Result<CertFacts, String> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|err| format!("not an X.509 certificate: {err}"))?;
    let time = |at: i64| {
        DateTime::<Utc>::from_timestamp(at, 0).ok_or_else(|| format!("a date out of range: {at}"))
    };
    let mut dns_names = BTreeSet::new();
    let mut ip_addresses = BTreeSet::new();
    if let Ok(Some(names)) = cert.subject_alternative_name() {
        for name in &names.value.general_names {
            match name {
                GeneralName::DNSName(dns) => {
                    dns_names.insert((*dns).to_owned());
                }
                GeneralName::IPAddress(bytes) => {
                    if let Some(ip) = ip_from_bytes(bytes) {
                        ip_addresses.insert(ip);
                    }
                }
                _ => {}
            }
        }
    }
    Ok(CertFacts {
        der: der.to_vec(),
        not_before: time(cert.validity().not_before.timestamp())?,
        not_after: time(cert.validity().not_after.timestamp())?,
        is_ca: cert.is_ca(),
        dns_names,
        ip_addresses,
    })
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Some(IpAddr::from(v4));
    }
    <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from)
}

/// Whether the certificate `der`'s signature verifies with the public key of `ca_der`.
pub fn signed_by(der: &[u8], ca_der: &[u8]) -> bool {
    let (Ok((_, cert)), Ok((_, ca))) = (
        X509Certificate::from_der(der),
        X509Certificate::from_der(ca_der),
    ) else {
        return false;
    };
    cert.issuer() == ca.subject() && cert.verify_signature(Some(ca.public_key())).is_ok()
}

/// Whether `key_pem` is the private key of `cert`.
fn key_fits(cert: &CertFacts, key_pem: &str) -> Result<(), String> {
    use rcgen::PublicKeyData;
    let key = rcgen::KeyPair::from_pem(key_pem).map_err(|err| format!("not a key: {err}"))?;
    let (_, parsed) = X509Certificate::from_der(&cert.der)
        .map_err(|err| format!("not an X.509 certificate: {err}"))?;
    if key.subject_public_key_info() == parsed.public_key().raw {
        Ok(())
    } else {
        Err("the key does not fit the certificate".to_owned())
    }
}

/// One PEM CERTIFICATE block.
pub fn to_pem(der: &[u8]) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new("CERTIFICATE", der), config)
}

/// Whether the PEM `bundle` holds the certificate `der`.
pub fn bundle_contains(bundle: &str, der: &[u8]) -> bool {
    parse_certificates(bundle).is_ok_and(|certs| certs.iter().any(|cert| cert.der == der))
}
