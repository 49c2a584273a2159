//! What HIPAA Guard's two binaries, `hipaa-webhook` and `hipaa-operator`, share at run time, so
//! that each is done one way: the log flags and setup ([`log`]), the duration grammar of every
//! flag ([`duration`], the engine's), the admin port with `/healthz`, `/readyz` and `/metrics`
//! ([`admin`]) over the HTTP server both use ([`serve`]), the SIGTERM/SIGINT handling
//! ([`shutdown_signal`]), what the watch caches drop from every object ([`trim_for_cache`]), and
//! the standard series of every Prometheus target ([`StandardMetrics`]), and how every watch
//! retries and how stale its cache may get ([`watch`]).

pub mod admin;
pub mod log;
mod metrics;
mod process;
pub mod serve;
mod trim;
pub mod watch;

/// The one duration grammar (Go's, as Kubernetes uses it), shared with the pure engine that
/// reads a HipaaPolicy's `auditInterval` with it: `parse_duration` for the flags that may be
/// zero, `parse_positive_duration` for the others.
pub use hipaa_controls::duration;

pub use admin::AdminServer;
pub use metrics::{ConditionGauge, REVISION, StandardMetrics};
pub use process::{ProcessCollector, ProcessSample};
pub use serve::{OpenFiles, ServeOptions, raise_open_files_limit, shutdown_signal};
pub use trim::{LAST_APPLIED_ANNOTATION, trim_for_cache};
