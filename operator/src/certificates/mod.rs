//! The webhook's certificates, managed by the operator: a private CA and a serving certificate
//! with bounded lifetimes, kept in two Secrets of the release namespace and renewed well before
//! they expire, with a rotation order in which no admission review fails.
//!
//! One pass ([`CertificateManager::reconcile`]) reads both Secrets ([`secrets`]), turns them into
//! facts ([`facts`]), decides what to change without any I/O ([`plan`]), issues what the plan asks
//! for ([`issue`]) and writes it back with resourceVersion preconditions. The caller (the
//! operator's webhook registration) puts the returned bundle into the webhook configuration and
//! tells the next pass what it wrote and when ([`RegisteredBundle`]): a serving certificate signed
//! by a new CA is issued only once the API servers trust that CA.
//!
//! - `<prefix>-webhook-ca` (Opaque, read only by the operator): `ca.crt`, `ca.key`, and
//!   `previous-ca.crt` while the CA before it is still trusted.
//! - `<prefix>-webhook-tls` (kubernetes.io/tls, read by the webhook): `tls.crt`, `tls.key`, and
//!   `ca.crt` (the bundle).
//!
//! A forced rotation of both is requested with `kubectl annotate secret <prefix>-webhook-ca
//! hipaaguard.io/rotate=<anything>`; the operator removes the annotation when it has made the new
//! CA, and the serving certificate follows once the new CA has reached the API servers.

pub mod args;
pub mod facts;
pub mod issue;
pub mod manager;
pub mod metrics;
pub mod plan;
#[cfg(test)]
mod plan_fixtures;
pub mod secrets;

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use args::CertificateArgs;
pub use manager::CertificateManager;
pub use metrics::CertificateMetrics;

/// The annotation on the CA Secret that requests a rotation of the CA and the serving certificate.
pub const ROTATE_ANNOTATION: &str = "hipaaguard.io/rotate";

/// The default lifetime of the CA.
pub const DEFAULT_CA_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);
/// The default lifetime of the serving certificate.
pub const DEFAULT_SERVING_LIFETIME: Duration = Duration::from_secs(90 * 24 * 3600);
/// The default time a new CA must have been in the registered bundle before it signs the serving
/// certificate: the API servers load a changed webhook configuration within about a second.
pub const DEFAULT_PROPAGATION_DELAY: Duration = Duration::from_secs(5);

/// What the certificates are and where they live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateConfig {
    /// The release namespace, where both Secrets live.
    pub namespace: String,
    /// The CA Secret (`<prefix>-webhook-ca`).
    pub ca_secret: String,
    /// The serving Secret the webhook reads (`<prefix>-webhook-tls`).
    pub serving_secret: String,
    /// DNS names of the webhook Service (`svc`, `svc.ns`, `svc.ns.svc`, ...); the first one is
    /// also the certificate's common name.
    pub dns_names: Vec<String>,
    /// IP addresses, for a webhook configuration that calls a `url` by address.
    pub ip_addresses: Vec<IpAddr>,
    /// Lifetime of a new CA.
    pub ca_lifetime: Duration,
    /// Lifetime of a new serving certificate (never past its CA's expiry).
    pub serving_lifetime: Duration,
    /// How long a new CA must have been registered before it signs the serving certificate.
    pub propagation_delay: Duration,
}

impl CertificateConfig {
    /// The configuration of the chart's names: `<prefix>-webhook-ca`, `<prefix>-webhook-tls`, and
    /// the DNS names of the Service `<prefix>-webhook` in `namespace`.
    pub fn for_release(prefix: &str, namespace: &str) -> Self {
        let service = format!("{prefix}-webhook");
        CertificateConfig {
            namespace: namespace.to_owned(),
            ca_secret: format!("{service}-ca"),
            serving_secret: format!("{service}-tls"),
            dns_names: service_dns_names(&service, namespace),
            ip_addresses: Vec::new(),
            ca_lifetime: DEFAULT_CA_LIFETIME,
            serving_lifetime: DEFAULT_SERVING_LIFETIME,
            propagation_delay: DEFAULT_PROPAGATION_DELAY,
        }
    }

    /// Lifetimes too short to renew at a third of them, or names the certificate cannot carry.
    pub fn validate(&self) -> Result<(), CertificateError> {
        let invalid = |why: String| Err(CertificateError::Config(why));
        if self.dns_names.is_empty() && self.ip_addresses.is_empty() {
            return invalid("the serving certificate needs a DNS name or an IP address".into());
        }
        if self.serving_lifetime < Duration::from_secs(3600) {
            return invalid("the serving certificate's lifetime must be at least 1h".into());
        }
        if self.ca_lifetime < self.serving_lifetime {
            return invalid("the CA's lifetime must be at least the serving certificate's".into());
        }
        if self.propagation_delay * 3 > self.serving_lifetime {
            return invalid(
                "the propagation delay must be under a third of the serving lifetime".into(),
            );
        }
        Ok(())
    }
}

/// The names by which the API server reaches the Service `service` in `namespace`.
pub fn service_dns_names(service: &str, namespace: &str) -> Vec<String> {
    vec![
        service.to_owned(),
        format!("{service}.{namespace}"),
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ]
}

/// The caBundle the caller last wrote into the webhook configuration, and since when it is there
/// (after a restart: when it was first seen there, which errs on the safe side).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredBundle {
    pub pem: String,
    pub since: DateTime<Utc>,
}

/// The outcome of a pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateState {
    /// The PEM bundle the webhook configuration must carry now: the current CA, then the previous
    /// one while it is still trusted.
    pub ca_bundle: String,
    pub ca_not_after: DateTime<Utc>,
    pub serving_not_after: DateTime<Utc>,
    /// When to run the next pass at the latest (sooner while a rotation waits for propagation).
    pub next_check: Duration,
}

/// Why a pass failed; the next pass starts again from what the Secrets hold.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("invalid certificate configuration: {0}")]
    Config(String),
    #[error("reading Secret {namespace}/{name}")]
    Read {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("writing Secret {namespace}/{name}")]
    Write {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    /// Someone else changed the Secret since it was read; nothing of it was overwritten.
    #[error(
        "Secret {namespace}/{name} changed while it was being updated; retrying from its new content"
    )]
    Conflict { namespace: String, name: String },
    #[error("issuing the {what}")]
    Issue {
        what: &'static str,
        #[source]
        source: rcgen::Error,
    },
}

impl CertificateError {
    /// A short kind for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            CertificateError::Config(_) => "config",
            CertificateError::Read { .. } => "read",
            CertificateError::Write { .. } => "write",
            CertificateError::Conflict { .. } => "conflict",
            CertificateError::Issue { .. } => "issue",
        }
    }
}
