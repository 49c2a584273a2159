//! The flags of admission registration (each with an `HIPAA_OPERATOR_*` fallback), and the
//! settings they make.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use hipaa_runtime::duration::parse_positive_duration;

use super::build::{ClientTarget, FailurePolicy, Registration};
use super::probe::ProbeTarget;

/// Where the CA bundle of the registered configuration comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CertificateSource {
    /// The operator's own CA, which it creates and rotates (the chart's default).
    Managed,
    /// `ca.crt` of a Secret another issuer keeps (cert-manager's Certificate Secret).
    Secret,
    /// A PEM file (a certificate provided by the platform team, the local demo).
    File,
}

#[derive(clap::Args, Debug, Clone)]
pub struct AdmissionArgs {
    /// Name of the ValidatingWebhookConfiguration the operator registers once the webhook
    /// answers, and keeps in step with the HipaaPolicies. Empty: no registration.
    #[arg(long, env = "HIPAA_OPERATOR_WEBHOOK_CONFIGURATION", default_value = "")]
    pub webhook_configuration: String,
    /// The webhook's Service, called at port --webhook-service-port, path /validate.
    #[arg(long, env = "HIPAA_OPERATOR_WEBHOOK_SERVICE")]
    pub webhook_service: Option<String>,
    /// The Service's namespace (default: the operator's own, --lease-namespace).
    #[arg(long, env = "HIPAA_OPERATOR_WEBHOOK_SERVICE_NAMESPACE")]
    pub webhook_service_namespace: Option<String>,
    #[arg(
        long,
        env = "HIPAA_OPERATOR_WEBHOOK_SERVICE_PORT",
        default_value_t = 443
    )]
    pub webhook_service_port: u16,
    /// An https URL the API server calls instead of a Service (a webhook run outside the
    /// cluster, the local demo).
    #[arg(
        long,
        env = "HIPAA_OPERATOR_WEBHOOK_URL",
        conflicts_with = "webhook_service"
    )]
    pub webhook_url: Option<String>,
    /// What the API server does with a request of a namespace an Enforce policy governs when the
    /// webhook cannot answer: Fail refuses it, Ignore admits it. Nothing else ever waits for the
    /// webhook (docs/admission.md).
    #[arg(
        long,
        env = "HIPAA_OPERATOR_FAILURE_POLICY",
        value_enum,
        ignore_case = true,
        default_value = "fail"
    )]
    pub failure_policy: FailurePolicy,
    /// Seconds the API server waits for the webhook (1 to 30).
    #[arg(long, env = "HIPAA_OPERATOR_WEBHOOK_TIMEOUT_SECONDS", default_value_t = 5,
        value_parser = clap::value_parser!(i32).range(1..=30))]
    pub webhook_timeout_seconds: i32,
    /// Namespaces never sent to the webhook (comma-separated), besides the operator's own.
    #[arg(
        long,
        env = "HIPAA_OPERATOR_EXCLUDE_NAMESPACES",
        value_delimiter = ',',
        default_value = "kube-system"
    )]
    pub exclude_namespaces: Vec<String>,
    /// A ClusterRole that owns the configuration (the chart's operator ClusterRole), so that
    /// deleting the release deletes it. While it is configured and absent (an uninstall under
    /// way) nothing is written.
    #[arg(long, env = "HIPAA_OPERATOR_WEBHOOK_CONFIGURATION_OWNER")]
    pub webhook_configuration_owner: Option<String>,
    /// Labels of the configuration, `key=value` comma-separated (the chart's release labels).
    #[arg(
        long,
        env = "HIPAA_OPERATOR_WEBHOOK_CONFIGURATION_LABELS",
        value_delimiter = ','
    )]
    pub webhook_configuration_labels: Vec<String>,
    /// Where the CA bundle comes from.
    #[arg(
        long,
        env = "HIPAA_OPERATOR_CERTIFICATES",
        value_enum,
        ignore_case = true,
        default_value = "managed"
    )]
    pub certificates: CertificateSource,
    /// With --certificates=file: the PEM CA bundle.
    #[arg(long, env = "HIPAA_OPERATOR_CA_BUNDLE_FILE", value_name = "FILE")]
    pub ca_bundle_file: Option<PathBuf>,
    /// With --certificates=secret: the Secret (in the operator's namespace) whose `ca.crt` is
    /// the bundle.
    #[arg(long, env = "HIPAA_OPERATOR_CA_BUNDLE_SECRET")]
    pub ca_bundle_secret: Option<String>,
    /// How often registration is checked when nothing changes (it also follows every policy
    /// change at once).
    #[arg(long, env = "HIPAA_OPERATOR_REGISTRATION_INTERVAL", default_value = "10s", value_parser = parse_positive_duration)]
    pub registration_interval: Duration,
}

/// A flag combination that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    #[error("--webhook-configuration needs --webhook-service or --webhook-url")]
    NoClient,
    #[error("--certificates={0} needs {1}")]
    MissingSource(&'static str, &'static str),
    #[error("--webhook-configuration-labels: {0:?} is not key=value")]
    Label(String),
    #[error(transparent)]
    Url(#[from] super::probe::ProbeError),
}

/// Where the probe goes: a URL's host, or the Service (resolved to its cluster IP each time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeVia {
    Url(ProbeTarget),
    Service {
        namespace: String,
        name: String,
        port: u16,
    },
}

impl AdmissionArgs {
    /// Whether registration is on.
    pub fn enabled(&self) -> bool {
        !self.webhook_configuration.is_empty()
    }

    /// The registration settings, given the operator's own namespace.
    pub fn registration(&self, own_namespace: &str) -> Result<(Registration, ProbeVia), ArgsError> {
        let (client, probe) = match (&self.webhook_url, &self.webhook_service) {
            (Some(url), _) => (
                ClientTarget::Url(url.clone()),
                ProbeVia::Url(ProbeTarget::from_url(url)?),
            ),
            (None, Some(name)) => {
                let namespace = self
                    .webhook_service_namespace
                    .clone()
                    .unwrap_or_else(|| own_namespace.to_owned());
                (
                    ClientTarget::Service {
                        namespace: namespace.clone(),
                        name: name.clone(),
                        port: i32::from(self.webhook_service_port),
                        path: "/validate".to_owned(),
                    },
                    ProbeVia::Service {
                        namespace,
                        name: name.clone(),
                        port: self.webhook_service_port,
                    },
                )
            }
            (None, None) => return Err(ArgsError::NoClient),
        };
        match self.certificates {
            CertificateSource::File if self.ca_bundle_file.is_none() => {
                return Err(ArgsError::MissingSource("file", "--ca-bundle-file"));
            }
            CertificateSource::Secret if self.ca_bundle_secret.is_none() => {
                return Err(ArgsError::MissingSource("secret", "--ca-bundle-secret"));
            }
            _ => {}
        }
        let mut labels = BTreeMap::new();
        for pair in self
            .webhook_configuration_labels
            .iter()
            .filter(|p| !p.is_empty())
        {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| ArgsError::Label(pair.clone()))?;
            labels.insert(key.to_owned(), value.to_owned());
        }
        let mut excluded = self.exclude_namespaces.clone();
        excluded.push(own_namespace.to_owned());
        let registration = Registration {
            name: self.webhook_configuration.clone(),
            client,
            failure_policy: self.failure_policy,
            timeout_seconds: self.webhook_timeout_seconds,
            excluded_namespaces: excluded,
            labels,
        };
        Ok((registration, probe))
    }
}
