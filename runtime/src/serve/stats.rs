//! Counters of one port's connections, kept as the port works and read at scrape time: how many
//! it accepted, how many are open, and how many it closed itself, by why. A port at its cap
//! sheds idle connections and one under a slow client closes it at a timeout: both are the
//! server's decision, invisible to the client's side, so they are counted here.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::close::Close;

/// The index of `close`'s counter.
fn slot(close: Close) -> usize {
    Close::ALL
        .iter()
        .position(|each| *each == close)
        .unwrap_or_default()
}

/// One port's connection counters; share one between the port and the metrics that read it.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    accepted: AtomicU64,
    ended: AtomicU64,
    closed: [AtomicU64; Close::ALL.len()],
}

impl ConnectionStats {
    /// Connections accepted since the port started.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Connections open now (accepted and not ended).
    pub fn open(&self) -> u64 {
        // Ended is read first: a connection accepted in between only makes the figure larger.
        let ended = self.ended.load(Ordering::Acquire);
        self.accepted().saturating_sub(ended)
    }

    /// Connections the port asked to close, by reason (the metric's label), every reason listed.
    pub fn closed_by_port(&self) -> [(&'static str, u64); Close::ALL.len()] {
        Close::ALL.map(|close| {
            let count = self
                .closed
                .get(slot(close))
                .map_or(0, |counter| counter.load(Ordering::Relaxed));
            (close.label(), count)
        })
    }

    pub(crate) fn note_accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn note_ended(&self) {
        self.ended.fetch_add(1, Ordering::Release);
    }

    pub(crate) fn note_closed(&self, why: Close, count: usize) {
        if let Some(counter) = self.closed.get(slot(why)) {
            counter.fetch_add(count as u64, Ordering::Relaxed);
        }
    }
}

/// Exports a port's [`ConnectionStats`] under its registry's prefix, read at each scrape:
/// `connections_open`, `connections_accepted_total` and
/// `connections_closed_by_server_total{reason}` (every reason, zeros included).
#[derive(Debug)]
pub struct ConnectionsCollector(pub Arc<ConnectionStats>);

impl Collector for ConnectionsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = &self.0;
        let open = ConstGauge::new(i64::try_from(stats.open()).unwrap_or(i64::MAX));
        open.encode(encoder.encode_descriptor(
            "connections_open",
            "Connections open on the review port",
            None,
            open.metric_type(),
        )?)?;
        let accepted = ConstCounter::new(stats.accepted());
        accepted.encode(encoder.encode_descriptor(
            "connections_accepted",
            "Connections accepted on the review port",
            None,
            accepted.metric_type(),
        )?)?;
        let mut family = encoder.encode_descriptor(
            "connections_closed_by_server",
            "Connections the review port closed itself, by reason: a TLS handshake, request headers \
             or keep-alive idle time over its limit, shed at the connection cap, or shutting down",
            None,
            MetricType::Counter,
        )?;
        for (reason, count) in stats.closed_by_port() {
            let labels = [("reason", reason)];
            ConstCounter::new(count).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn counts_open_connections_and_each_reason_apart() {
        let stats = ConnectionStats::default();
        for _ in 0..5 {
            stats.note_accepted();
        }
        stats.note_ended();
        stats.note_closed(Close::Shed, 2);
        stats.note_closed(Close::Idle, 1);
        stats.note_closed(Close::Shed, 1);
        assert_eq!((stats.accepted(), stats.open()), (5, 4));
        assert_eq!(
            stats.closed_by_port(),
            [
                ("handshake_timeout", 0),
                ("header_timeout", 0),
                ("idle_timeout", 1),
                ("shed", 3),
                ("shutdown", 0),
            ]
        );
    }

    #[test]
    fn every_reason_has_its_own_counter_and_label() {
        let mut slots: Vec<usize> = Close::ALL.into_iter().map(slot).collect();
        slots.dedup();
        assert_eq!(slots, (0..Close::ALL.len()).collect::<Vec<_>>());
        let mut labels: Vec<&str> = Close::ALL.into_iter().map(Close::label).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), Close::ALL.len());
    }
}
