//! Issuing the webhook's certificates with rcgen (ECDSA P-256 keys, signed on ring): a CA that
//! may sign only server certificates, and a serving certificate for the webhook's names.

use chrono::{DateTime, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::CertificateDer;

use super::CertificateError;
use super::plan::Validity;

/// A certificate and its private key, both PEM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A self-signed CA named `common_name`, with the plan's validity.
pub fn issue_ca(common_name: &str, validity: Validity) -> Result<Issued, CertificateError> {
    let failed = |source| CertificateError::Issue { what: "CA", source };
    let key = KeyPair::generate().map_err(failed)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    // Path length 0: the CA signs end-entity certificates only.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, validity)?;
    let cert = params.self_signed(&key).map_err(failed)?;
    Ok(Issued {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// A serving certificate for `dns_names` and `ip_addresses`, signed by the CA `ca`.
pub fn issue_serving(
    ca: &Issued,
    dns_names: &[String],
    ip_addresses: &[std::net::IpAddr],
    validity: Validity,
) -> Result<Issued, CertificateError> {
    let failed = |source| CertificateError::Issue {
        what: "serving certificate",
        source,
    };
    let ca_key = KeyPair::from_pem(&ca.key_pem).map_err(failed)?;
    let ca_der = CertificateDer::from(
        pem::parse(&ca.cert_pem)
            .map_err(|_| failed(rcgen::Error::CouldNotParseCertificate))?
            .into_contents(),
    );
    let issuer = Issuer::from_ca_cert_der(&ca_der, ca_key).map_err(failed)?;
    let key = KeyPair::generate().map_err(failed)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    let common_name = dns_names
        .first()
        .cloned()
        .or_else(|| ip_addresses.first().map(ToString::to_string))
        .unwrap_or_default();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.subject_alt_names = dns_names
        .iter()
        .map(|name| {
            rcgen::string::Ia5String::try_from(name.as_str())
                .map(SanType::DnsName)
                .map_err(failed)
        })
        .chain(ip_addresses.iter().map(|ip| Ok(SanType::IpAddress(*ip))))
        .collect::<Result<_, _>>()?;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, validity)?;
    let cert = params.signed_by(&key, &issuer).map_err(failed)?;
    Ok(Issued {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

fn set_validity(
    params: &mut CertificateParams,
    validity: Validity,
) -> Result<(), CertificateError> {
    params.not_before = offset(validity.not_before)?;
    params.not_after = offset(validity.not_after)?;
    Ok(())
}

fn offset(at: DateTime<Utc>) -> Result<time::OffsetDateTime, CertificateError> {
    time::OffsetDateTime::from_unix_timestamp(at.timestamp())
        .map_err(|_| CertificateError::Config(format!("a certificate date out of range: {at}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::certificates::facts::{signed_by, single_certificate};
    use chrono::TimeZone;

    #[test]
    fn a_serving_certificate_carries_the_names_and_dates_and_is_signed_by_its_ca() {
        let start = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        let ca_validity = Validity {
            not_before: start,
            not_after: start + chrono::TimeDelta::days(365),
        };
        let ca = issue_ca("hipaa-guard-webhook-ca", ca_validity).unwrap();
        let serving_validity = Validity {
            not_before: start,
            not_after: start + chrono::TimeDelta::days(90),
        };
        let names = vec!["svc".to_owned(), "svc.ns.svc".to_owned()];
        let ips = vec!["127.0.0.1".parse().unwrap()];
        let serving = issue_serving(&ca, &names, &ips, serving_validity).unwrap();

        let ca_facts = single_certificate(&ca.cert_pem).unwrap();
        let facts = single_certificate(&serving.cert_pem).unwrap();
        assert!(ca_facts.is_ca && !facts.is_ca);
        assert_eq!(ca_facts.not_after, ca_validity.not_after);
        assert_eq!(
            (facts.not_before, facts.not_after),
            (start, serving_validity.not_after)
        );
        assert_eq!(facts.dns_names, names.into_iter().collect());
        assert_eq!(facts.ip_addresses, ips.into_iter().collect());
        assert!(signed_by(&facts.der, &ca_facts.der));
        let other = issue_ca("other", ca_validity).unwrap();
        assert!(!signed_by(
            &facts.der,
            &single_certificate(&other.cert_pem).unwrap().der
        ));
    }
}
