//! HIPAA Guard's validating admission webhook: `POST /validate` judges AdmissionReviews with the
//! controls engine against a snapshot of the cluster kept by watch caches (workloads, Namespaces
//! and the rest), validates HipaaPolicies as the operator would, over TLS that reloads its
//! certificate (from files or a watched Secret); an admin port serves health, readiness and metrics.

pub mod app;
pub mod budget;
pub mod caches;
pub mod config;
pub mod decide;
pub mod envelope;
pub mod handler;
pub mod judge;
pub mod kinds;
pub mod metrics;
mod namespaces;
mod policies;
pub mod received;
pub mod record;
pub mod refusal;
pub mod review;
pub mod routes;
mod skip;
pub mod snapshot;
pub mod sync;
pub mod tls;
pub mod tls_secret;
pub mod wire;
pub mod workloads;

pub use decide::{Decision, Exemptions};
pub use handler::{Limits, Webhook};
pub use metrics::Metrics;
pub use refusal::Refusal;
pub use routes::{admin_router, admin_server, router};
pub use snapshot::{ClusterState, Snapshot, SnapshotCell};
pub use sync::SyncState;
