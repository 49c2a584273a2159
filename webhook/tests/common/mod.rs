//! Shared by the webhook's integration tests: the fixture cluster, fixture reviews, and a
//! webhook built on a fixed snapshot.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    dead_code
)]

use std::path::PathBuf;
use std::sync::Arc;

pub mod ca;

use hipaa_webhook::{ClusterState, Exemptions, Limits, Metrics, Snapshot, SnapshotCell, Webhook};

pub fn fixture_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative)
}

pub fn fixture(relative: &str) -> Vec<u8> {
    std::fs::read(fixture_path(relative)).unwrap_or_else(|e| panic!("fixture {relative}: {e}"))
}

/// The fixture cluster (tests/fixtures/cluster.yaml).
pub fn cluster_state() -> ClusterState {
    let text = std::fs::read_to_string(fixture_path("cluster.yaml")).unwrap();
    let documents = yaml_serde::Deserializer::from_str(&text)
        .map(|doc| {
            yaml_serde::from_value::<serde_json::Value>(
                serde::Deserialize::deserialize(doc).unwrap(),
            )
            .unwrap()
        })
        .filter(|doc| !doc.is_null());
    ClusterState::from_documents(documents).unwrap()
}

pub struct Harness {
    pub webhook: Arc<Webhook>,
    pub snapshots: Arc<SnapshotCell>,
    pub metrics: Arc<Metrics>,
}

pub fn harness_with(snapshot: Snapshot, limits: Limits) -> Harness {
    let snapshots = Arc::new(SnapshotCell::new(snapshot));
    let metrics = Arc::new(Metrics::new());
    let webhook = Arc::new(Webhook::new(
        Arc::clone(&snapshots),
        Exemptions::new(["kube-system", "hipaa-guard"]),
        Arc::clone(&metrics),
        limits,
    ));
    Harness {
        webhook,
        snapshots,
        metrics,
    }
}

/// A webhook judging against the fixture cluster, synced.
pub fn harness() -> Harness {
    harness_with(Snapshot::from_state(&cluster_state()), Limits::default())
}

/// The value of one sample of the metrics text, e.g.
/// `hipaaguard_webhook_reviews_total{kind="Deployment",...}`; 0 when absent.
pub fn metric(metrics: &Metrics, series: &str) -> f64 {
    let text = metrics.encode();
    text.lines()
        .find_map(|line| {
            line.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .map(|value| value.trim().parse().unwrap())
        .unwrap_or(0.0)
}
