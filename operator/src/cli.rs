//! The command line of `hipaa-operator`: every flag has an environment fallback, so the Helm
//! chart can configure it through `env` (POD_NAME and POD_NAMESPACE come from the downward API).

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use hipaa_runtime::duration::{parse_duration, parse_positive_duration};
use hipaa_runtime::log::LogArgs;

/// Keeps every HipaaPolicy's status, metrics and Events current with the cluster.
#[derive(Clone, Debug, Parser)]
#[command(name = "hipaa-operator", version, about)]
pub struct Args {
    /// Address of the admin server (/metrics, /healthz, /readyz).
    #[arg(
        long,
        env = "HIPAA_OPERATOR_ADMIN_LISTEN",
        default_value = "0.0.0.0:8080"
    )]
    pub admin_listen: SocketAddr,

    /// Take part in leader election over a coordination.k8s.io Lease; only the leader writes.
    #[arg(long, env = "HIPAA_OPERATOR_LEADER_ELECT")]
    pub leader_elect: bool,

    /// Name of the Lease used for leader election.
    #[arg(
        long,
        env = "HIPAA_OPERATOR_LEASE_NAME",
        default_value = "hipaa-operator"
    )]
    pub lease_name: String,

    /// Namespace of the Lease (the operator's own namespace in a cluster).
    #[arg(long, env = "POD_NAMESPACE", default_value = "hipaa-guard")]
    pub lease_namespace: String,

    /// This replica's identity in the election [default: the hostname and process id].
    #[arg(long, env = "POD_NAME")]
    pub leader_identity: Option<String>,

    /// How long a Lease stays valid without renewal, e.g. 15s.
    #[arg(long, env = "HIPAA_OPERATOR_LEASE_DURATION", default_value = "15s", value_parser = parse_positive_duration)]
    pub lease_duration: Duration,

    /// How often the leader renews its Lease, e.g. 5s.
    #[arg(long, env = "HIPAA_OPERATOR_LEASE_RENEW_INTERVAL", default_value = "5s", value_parser = parse_positive_duration)]
    pub lease_renew_interval: Duration,

    /// How long a change waits for more to join it before its policies are re-audited, e.g.
    /// 300ms (0: none). Later changes join the wait without extending it.
    #[arg(long, env = "HIPAA_OPERATOR_DEBOUNCE", default_value = "300ms", value_parser = parse_duration)]
    pub debounce: Duration,

    /// How many policies are reconciled at once.
    #[arg(long, env = "HIPAA_OPERATOR_CONCURRENCY", default_value_t = 4)]
    pub concurrency: u16,

    /// Manage only the HipaaPolicies matching this label selector (e.g. to shard policies).
    #[arg(long, env = "HIPAA_OPERATOR_POLICY_SELECTOR")]
    pub policy_selector: Option<String>,

    /// Violation Events published at once before the rate limit applies.
    #[arg(long, env = "HIPAA_OPERATOR_EVENT_BURST", default_value_t = 25)]
    pub event_burst: u32,

    /// Violation Events per second after a burst.
    #[arg(long, env = "HIPAA_OPERATOR_EVENT_RATE", default_value_t = 1.0)]
    pub event_rate: f64,

    /// Events of one object and topic (a control on an object, a policy's compliance) published
    /// at once before `--event-repeat-interval` applies: a flapping object gets no more.
    #[arg(long, env = "HIPAA_OPERATOR_EVENT_REPEAT_BURST", default_value_t = 5)]
    pub event_repeat_burst: u32,

    /// Then one Event of that object and topic per this interval.
    #[arg(long, env = "HIPAA_OPERATOR_EVENT_REPEAT_INTERVAL", default_value = "5m", value_parser = parse_positive_duration)]
    pub event_repeat_interval: Duration,

    /// AWS calls in flight at once (over every policy's refresh).
    #[arg(long, env = "HIPAA_OPERATOR_AWS_CONCURRENCY", default_value_t = 6)]
    pub aws_concurrency: usize,

    /// Attempts per AWS call in the SDK's standard retry mode (backoff on throttling).
    #[arg(long, env = "HIPAA_OPERATOR_AWS_MAX_ATTEMPTS", default_value_t = 5)]
    pub aws_max_attempts: u32,

    /// How often the integrations that were not installed or not listable (Secrets Store CSI,
    /// External Secrets, Velero Schedules) are looked for again, e.g. 60s.
    #[arg(long, env = "HIPAA_OPERATOR_INTEGRATION_REDISCOVERY", default_value = "60s", value_parser = parse_positive_duration)]
    pub integration_rediscovery: Duration,

    /// How long a watch cache may stay out of sync with the API server (a failed watch, an
    /// unfinished relist) before /readyz fails, e.g. 5m. Audits use the caches meanwhile.
    #[arg(long, env = "HIPAA_OPERATOR_CACHE_STALE_AFTER", default_value = "5m", value_parser = parse_positive_duration)]
    pub cache_stale_after: Duration,

    /// Write each policy's findings as PolicyReports (`wgpolicyk8s.io/v1alpha2`) and, when that
    /// API is served, OpenReports (`openreports.io/v1alpha1`); `false` writes neither.
    #[arg(long, env = "HIPAA_OPERATOR_POLICY_REPORTS", default_value_t = true, action = clap::ArgAction::Set)]
    pub policy_reports: bool,

    #[command(flatten)]
    pub admission: crate::admission::args::AdmissionArgs,
    #[command(flatten)]
    pub certificates: crate::certificates::CertificateArgs,
    #[command(flatten)]
    pub history: crate::history::HistoryArgs,
    #[command(flatten)]
    pub log: LogArgs,
}

impl Args {
    /// How the AWS collectors call AWS.
    pub fn aws_call_settings(&self) -> crate::aws::CallSettings {
        crate::aws::CallSettings {
            concurrency: self.aws_concurrency,
            max_attempts: self.aws_max_attempts,
            ..Default::default()
        }
    }

    /// The identity in the election: the flag, else `<hostname>-<pid>` (unique per process).
    pub fn identity(&self) -> String {
        self.leader_identity
            .clone()
            .unwrap_or_else(|| format!("{}-{}", hostname(), std::process::id()))
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "hipaa-operator".to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn defaults_match_the_documented_interface() {
        let args = Args::try_parse_from(["hipaa-operator"]).unwrap();
        assert_eq!(args.admin_listen, "0.0.0.0:8080".parse().unwrap());
        assert!(!args.leader_elect);
        assert_eq!(args.lease_duration, Duration::from_secs(15));
        assert_eq!(args.lease_renew_interval, Duration::from_secs(5));
        assert_eq!(args.debounce, Duration::from_millis(300));
        assert_eq!(args.integration_rediscovery, Duration::from_secs(60));
        assert_eq!(args.cache_stale_after, Duration::from_secs(300));
        assert_eq!(args.event_repeat_burst, 5);
        assert_eq!(args.event_repeat_interval, Duration::from_secs(300));
    }

    #[test]
    fn flags_parse() {
        let args = Args::try_parse_from([
            "hipaa-operator",
            "--admin-listen",
            "127.0.0.1:9090",
            "--leader-elect",
            "--leader-identity",
            "a",
            "--lease-duration",
            "4s",
        ])
        .unwrap();
        assert!(args.leader_elect);
        assert_eq!(args.identity(), "a");
        assert_eq!(args.lease_duration, Duration::from_secs(4));
        assert!(Args::try_parse_from(["hipaa-operator", "--debounce", "soon"]).is_err());
    }

    #[test]
    fn intervals_must_be_positive_but_the_debounce_may_be_zero() {
        let args =
            Args::try_parse_from(["hipaa-operator", "--debounce=0", "--lease-duration=1.5s"])
                .unwrap();
        assert_eq!(args.debounce, Duration::ZERO);
        assert_eq!(args.lease_duration, Duration::from_millis(1500));
        for zero in [
            "--lease-duration=0s",
            "--lease-renew-interval=0",
            "--integration-rediscovery=0m",
        ] {
            let error = Args::try_parse_from(["hipaa-operator", zero])
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("must be longer than zero"),
                "{zero}: {error}"
            );
        }
    }
}
