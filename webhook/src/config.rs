//! The command line of `hipaa-webhook`: every flag has an `HIPAA_WEBHOOK_*` environment fallback.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use hipaa_runtime::ServeOptions;
use hipaa_runtime::duration::{parse_duration, parse_positive_duration};
use hipaa_runtime::log::LogArgs;

use crate::budget::DEFAULT_BODY_BUDGET;
use crate::handler::{DEFAULT_BODY_LIMIT, Limits};

/// Where the service account token mounts the pod's namespace.
const SERVICE_ACCOUNT_NAMESPACE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

#[derive(Parser, Debug, Clone)]
#[command(
    name = "hipaa-webhook",
    version,
    about = "HIPAA Guard's validating admission webhook: denies, warns about or records workloads \
             that fail HIPAA technical safeguards, citing the control and the 45 CFR section"
)]
pub struct Args {
    /// PEM certificate chain served on --listen; reloaded when the file changes.
    #[arg(
        long,
        env = "HIPAA_WEBHOOK_TLS_CERT",
        value_name = "FILE",
        required_unless_present = "tls_secret",
        conflicts_with = "tls_secret",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert; reloaded when the file changes.
    #[arg(
        long,
        env = "HIPAA_WEBHOOK_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Instead of the files: the kubernetes.io/tls Secret (in the webhook's own namespace) whose
    /// tls.crt and tls.key are served, watched through the API so that a renewed certificate is
    /// served within about a second; /readyz fails until it has loaded.
    #[arg(long, env = "HIPAA_WEBHOOK_TLS_SECRET", value_name = "NAME")]
    pub tls_secret: Option<String>,
    /// HTTPS address of POST /validate.
    #[arg(long, env = "HIPAA_WEBHOOK_LISTEN", default_value = "0.0.0.0:8443")]
    pub listen: SocketAddr,
    /// Plain-HTTP address of /healthz, /readyz and /metrics.
    #[arg(
        long,
        env = "HIPAA_WEBHOOK_ADMIN_LISTEN",
        default_value = "0.0.0.0:8081"
    )]
    pub admin_listen: SocketAddr,
    /// Namespaces never judged (comma-separated). The webhook's own namespace is always added.
    #[arg(
        long,
        env = "HIPAA_WEBHOOK_EXEMPT_NAMESPACES",
        value_delimiter = ',',
        default_value = "kube-system"
    )]
    pub exempt_namespaces: Vec<String>,
    /// The namespace the webhook runs in (default: the service account's namespace, if mounted).
    #[arg(long, env = "POD_NAMESPACE")]
    pub own_namespace: Option<String>,
    /// kubeconfig file; without it the configuration is inferred as kubectl does
    /// (KUBECONFIG, ~/.kube/config, then the in-cluster service account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Reviews judged at once, once their body has arrived; more wait for a slot within their
    /// timeout.
    #[arg(long, env = "HIPAA_WEBHOOK_MAX_CONCURRENCY", default_value_t = 64)]
    pub max_concurrency: usize,
    /// Open connections on --listen. At the cap the least recently active idle connections are
    /// closed to make room, so new connections are always accepted.
    #[arg(long, env = "HIPAA_WEBHOOK_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// Open connections on --admin-listen (probes and Prometheus), shed the same way.
    #[arg(
        long,
        env = "HIPAA_WEBHOOK_ADMIN_MAX_CONNECTIONS",
        default_value_t = 256
    )]
    pub admin_max_connections: usize,
    /// Time a client has to finish the TLS handshake.
    #[arg(long, env = "HIPAA_WEBHOOK_HANDSHAKE_TIMEOUT", default_value = "5s", value_parser = parse_positive_duration)]
    pub handshake_timeout: Duration,
    /// Time a client has to send a request's headers from its first byte; a new connection that
    /// sends nothing for this long is closed.
    #[arg(long, env = "HIPAA_WEBHOOK_HEADER_READ_TIMEOUT", default_value = "5s", value_parser = parse_positive_duration)]
    pub header_read_timeout: Duration,
    /// Time a keep-alive connection may wait between requests; longer than the API server's own
    /// idle timeout (90s), so that the client closes first.
    #[arg(long, env = "HIPAA_WEBHOOK_IDLE_TIMEOUT", default_value = "120s", value_parser = parse_positive_duration)]
    pub idle_timeout: Duration,
    /// Time limit of one review, from arrival to answer (e.g. 5s, 1500ms).
    #[arg(long, env = "HIPAA_WEBHOOK_REQUEST_TIMEOUT", default_value = "5s", value_parser = parse_positive_duration)]
    pub request_timeout: Duration,
    /// Time a review's body has to arrive, from its headers; capped by --request-timeout. The
    /// body is read before a review slot is taken, so a slow client holds none.
    #[arg(long, env = "HIPAA_WEBHOOK_BODY_TIMEOUT", default_value = "3s", value_parser = parse_positive_duration)]
    pub body_timeout: Duration,
    /// Largest accepted review body, in bytes.
    #[arg(long, env = "HIPAA_WEBHOOK_BODY_LIMIT", default_value_t = DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,
    /// Bytes of review bodies held in memory at once, across all reviews (raised to
    /// --body-limit if lower): the bodies' share of the memory limit. Peak memory is about
    /// three times this plus the caches; see docs/reliability.md (The webhook's edge).
    #[arg(long, env = "HIPAA_WEBHOOK_BODY_BUDGET", default_value_t = DEFAULT_BODY_BUDGET)]
    pub body_budget: usize,
    /// After SIGTERM, how long the webhook keeps answering reviews with /readyz failing, before
    /// it stops accepting connections: the time endpoints need to move away from a terminating
    /// pod (the API server calls a webhook Service at its endpoints). The chart sets 5s.
    #[arg(long, env = "HIPAA_WEBHOOK_SHUTDOWN_DELAY", default_value = "0s", value_parser = parse_duration)]
    pub shutdown_delay: Duration,
    /// How long SIGTERM waits for in-flight reviews.
    #[arg(long, env = "HIPAA_WEBHOOK_SHUTDOWN_TIMEOUT", default_value = "25s", value_parser = parse_positive_duration)]
    pub shutdown_timeout: Duration,
    /// How long a watch cache may stay out of sync with the API server (a failed watch, an
    /// unfinished relist) before /readyz fails. Reviews are answered from the caches meanwhile.
    /// Keep it long: not ready removes the endpoints, and with failurePolicy Fail every judged
    /// request is then refused until a replica is ready again.
    #[arg(long, env = "HIPAA_WEBHOOK_CACHE_STALE_AFTER", default_value = "5m", value_parser = parse_positive_duration)]
    pub cache_stale_after: Duration,
    /// How often the certificate files are checked for changes.
    #[arg(long, env = "HIPAA_WEBHOOK_CERT_RELOAD_INTERVAL", default_value = "1s", value_parser = parse_positive_duration)]
    pub cert_reload_interval: Duration,
    #[command(flatten)]
    pub log: LogArgs,
}

impl Args {
    pub fn limits(&self) -> Limits {
        Limits {
            max_concurrency: self.max_concurrency,
            request_timeout: self.request_timeout,
            body_timeout: self.body_timeout,
            body_limit: self.body_limit,
            body_budget: self.body_budget,
        }
    }

    /// The review port's connection limits.
    pub fn serve_options(&self) -> ServeOptions {
        ServeOptions {
            max_connections: self.max_connections,
            handshake_timeout: self.handshake_timeout,
            header_read_timeout: self.header_read_timeout,
            idle_timeout: self.idle_timeout,
            shutdown_timeout: self.shutdown_timeout,
        }
    }

    /// The admin port's: the same limits under its own cap.
    pub fn admin_serve_options(&self) -> ServeOptions {
        ServeOptions {
            max_connections: self.admin_max_connections,
            ..self.serve_options()
        }
    }

    /// The namespace the webhook runs in: the flag, else the service account's.
    pub fn own_namespace(&self) -> Option<String> {
        self.own_namespace
            .clone()
            .or_else(|| {
                std::fs::read_to_string(SERVICE_ACCOUNT_NAMESPACE)
                    .ok()
                    .map(|ns| ns.trim().to_owned())
            })
            .filter(|ns| !ns.is_empty())
    }

    /// The exempt namespaces, the webhook's own included.
    pub fn exempt(&self) -> Vec<String> {
        let mut namespaces: Vec<String> = self
            .exempt_namespaces
            .iter()
            .map(|ns| ns.trim().to_owned())
            .filter(|ns| !ns.is_empty())
            .collect();
        if let Some(own) = self.own_namespace() {
            namespaces.push(own);
        }
        namespaces.sort();
        namespaces.dedup();
        namespaces
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn durations_are_go_durations_and_only_the_shutdown_delay_may_be_zero() {
        let parse = |flags: &[&str]| {
            let base = ["hipaa-webhook", "--tls-cert", "c.pem", "--tls-key", "k.pem"];
            Args::try_parse_from(base.iter().chain(flags))
        };
        let args = parse(&["--request-timeout=1.5s", "--shutdown-delay=0s"]).unwrap();
        assert_eq!(args.request_timeout, Duration::from_millis(1500));
        assert_eq!(args.shutdown_delay, Duration::ZERO);
        for zero in [
            "--request-timeout=0s",
            "--body-timeout=0s",
            "--header-read-timeout=0s",
            "--idle-timeout=0s",
            "--handshake-timeout=0s",
            "--shutdown-timeout=0",
            "--cert-reload-interval=0ms",
        ] {
            let error = parse(&[zero]).unwrap_err().to_string();
            assert!(
                error.contains("must be longer than zero"),
                "{zero}: {error}"
            );
        }
        assert!(
            parse(&["--request-timeout=5"]).is_err(),
            "a unit is required"
        );
    }

    #[test]
    fn reads_flags_and_adds_the_own_namespace_to_the_exempt_list() {
        let args = Args::try_parse_from([
            "hipaa-webhook",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--exempt-namespaces",
            "kube-system, monitoring",
            "--own-namespace",
            "hipaa-guard",
            "--request-timeout",
            "2s",
        ])
        .unwrap();
        assert_eq!(args.listen.to_string(), "0.0.0.0:8443");
        assert_eq!(args.admin_listen.to_string(), "0.0.0.0:8081");
        assert_eq!(
            args.exempt(),
            vec!["hipaa-guard", "kube-system", "monitoring"]
        );
        assert_eq!(args.limits().request_timeout, Duration::from_secs(2));
        assert_eq!(args.limits().body_limit, 4 * 1024 * 1024);
        assert_eq!(args.limits().body_budget, 32 * 1024 * 1024);
        assert_eq!(args.limits().body_timeout, Duration::from_secs(3));
        let review = args.serve_options();
        assert_eq!(
            (
                review.max_connections,
                review.header_read_timeout,
                review.idle_timeout
            ),
            (4096, Duration::from_secs(5), Duration::from_secs(120))
        );
        assert_eq!(args.admin_serve_options().max_connections, 256);
        assert_eq!(review.handshake_timeout, Duration::from_secs(5));
    }

    #[test]
    fn takes_the_certificate_from_files_or_a_secret_but_not_both() {
        assert!(Args::try_parse_from(["hipaa-webhook"]).is_err());
        let secret = Args::try_parse_from(["hipaa-webhook", "--tls-secret", "guard-tls"]).unwrap();
        assert_eq!(secret.tls_secret.as_deref(), Some("guard-tls"));
        assert!(secret.tls_cert.is_none());
        let both = [
            "hipaa-webhook",
            "--tls-secret=s",
            "--tls-cert=c",
            "--tls-key=k",
        ];
        assert!(Args::try_parse_from(both).is_err());
        let half = ["hipaa-webhook", "--tls-cert=c"];
        assert!(Args::try_parse_from(half).is_err());
    }
}
