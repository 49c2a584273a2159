//! The operator's flags for the webhook certificates it manages (flattened into its command line;
//! each has an `HIPAA_OPERATOR_*` environment fallback).

use std::net::IpAddr;
use std::time::Duration;

use hipaa_runtime::duration::{parse_duration, parse_positive_duration};

use super::{CertificateConfig, CertificateError, service_dns_names};

/// Used with `--certificates=managed`; the Service whose names the certificate carries is the
/// admission flags' `--webhook-service`.
#[derive(Clone, Debug, clap::Args)]
pub struct CertificateArgs {
    /// The Secret holding the CA (ca.crt, ca.key, previous-ca.crt) [default: <service>-ca].
    #[arg(long, env = "HIPAA_OPERATOR_WEBHOOK_CA_SECRET")]
    pub webhook_ca_secret: Option<String>,

    /// The kubernetes.io/tls Secret the webhook serves from [default: <service>-tls].
    #[arg(long, env = "HIPAA_OPERATOR_WEBHOOK_TLS_SECRET")]
    pub webhook_tls_secret: Option<String>,

    /// More DNS names for the serving certificate (comma-separated).
    #[arg(
        long,
        env = "HIPAA_OPERATOR_WEBHOOK_CERT_DNS_NAMES",
        value_delimiter = ','
    )]
    pub webhook_cert_dns_names: Vec<String>,

    /// IP addresses for the serving certificate (comma-separated), for a webhook configuration
    /// that calls a `url` by address.
    #[arg(long, env = "HIPAA_OPERATOR_WEBHOOK_CERT_IPS", value_delimiter = ',')]
    pub webhook_cert_ips: Vec<IpAddr>,

    /// Lifetime of a new CA; renewed when a third of it is left.
    #[arg(long, env = "HIPAA_OPERATOR_WEBHOOK_CA_LIFETIME", default_value = "8760h", value_parser = parse_positive_duration)]
    pub webhook_ca_lifetime: Duration,

    /// Lifetime of a new serving certificate; renewed when a third of it is left.
    #[arg(long, env = "HIPAA_OPERATOR_WEBHOOK_SERVING_LIFETIME", default_value = "2160h", value_parser = parse_positive_duration)]
    pub webhook_serving_lifetime: Duration,

    /// How long a new CA must have been in the webhook configuration before it signs the serving
    /// certificate (the time API servers take to load a changed configuration).
    #[arg(long, env = "HIPAA_OPERATOR_WEBHOOK_CA_PROPAGATION_DELAY", default_value = "5s", value_parser = parse_duration)]
    pub webhook_ca_propagation_delay: Duration,
}

impl CertificateArgs {
    /// The certificates of the webhook Service `service` in `namespace` (the operator's, the
    /// release namespace).
    pub fn config(
        &self,
        service: &str,
        namespace: &str,
    ) -> Result<CertificateConfig, CertificateError> {
        let mut dns_names = service_dns_names(service, namespace);
        for name in &self.webhook_cert_dns_names {
            let name = name.trim();
            if !name.is_empty() && !dns_names.iter().any(|known| known == name) {
                dns_names.push(name.to_owned());
            }
        }
        let config = CertificateConfig {
            namespace: namespace.to_owned(),
            ca_secret: self
                .webhook_ca_secret
                .clone()
                .unwrap_or_else(|| format!("{service}-ca")),
            serving_secret: self
                .webhook_tls_secret
                .clone()
                .unwrap_or_else(|| format!("{service}-tls")),
            dns_names,
            ip_addresses: self.webhook_cert_ips.clone(),
            ca_lifetime: self.webhook_ca_lifetime,
            serving_lifetime: self.webhook_serving_lifetime,
            propagation_delay: self.webhook_ca_propagation_delay,
        };
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        certificates: CertificateArgs,
    }

    #[test]
    fn defaults_are_a_one_year_ca_and_a_90_day_serving_certificate_for_the_service() {
        let cli = Cli::try_parse_from(["hipaa-operator"]).unwrap();
        let config = cli
            .certificates
            .config("hipaa-guard-webhook", "hipaa-guard")
            .unwrap();
        assert_eq!(
            config,
            CertificateConfig::for_release("hipaa-guard", "hipaa-guard")
        );
        assert_eq!(config.ca_lifetime, super::super::DEFAULT_CA_LIFETIME);
        assert_eq!(config.serving_lifetime, Duration::from_secs(90 * 86400));
        assert_eq!(
            config.dns_names[2],
            "hipaa-guard-webhook.hipaa-guard.svc".to_owned()
        );
    }

    #[test]
    fn flags_name_the_secrets_and_add_names_and_addresses() {
        let cli = Cli::try_parse_from([
            "hipaa-operator",
            "--webhook-tls-secret=served",
            "--webhook-cert-ips=127.0.0.1,::1",
            "--webhook-cert-dns-names=webhook.example.org",
            "--webhook-serving-lifetime=24h",
        ])
        .unwrap();
        let config = cli.certificates.config("guard-webhook", "ns").unwrap();
        assert_eq!(config.ca_secret, "guard-webhook-ca");
        assert_eq!(config.serving_secret, "served");
        assert_eq!(config.ip_addresses.len(), 2);
        assert!(config.dns_names.contains(&"webhook.example.org".to_owned()));
        assert_eq!(config.serving_lifetime, Duration::from_secs(86400));

        let too_short = Cli::try_parse_from(["hipaa-operator", "--webhook-serving-lifetime=10m"])
            .unwrap()
            .certificates
            .config("guard-webhook", "ns");
        assert!(too_short.is_err());
    }
}
