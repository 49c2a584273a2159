//! The open connections of one port: when each was accepted, whether it is inside a request, when
//! it last finished one and when the next one started to arrive; which of them are overdue (pure,
//! [`overdue`]) and which idle ones go first when the port is at its connection cap ([`oldest`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::close::Close;
use super::stats::ConnectionStats;

/// The time limits of a connection that is not inside a request, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Timeouts {
    /// From accept to the end of the TLS handshake.
    pub handshake: u64,
    /// From the first byte of a request (or, before the first request, from the end of the
    /// handshake: a client that sends nothing) to its complete headers.
    pub header: u64,
    /// From the end of a request to the first byte of the next one (keep-alive).
    pub idle: u64,
}

/// What one connection looked like at one moment (milliseconds since the port started).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Seen {
    pub handshaken: bool,
    pub busy: bool,
    pub served: bool,
    /// Accepted, handshaken, or the end of the last request: the latest of these.
    pub idle_since: u64,
    /// When the first byte after `idle_since` arrived.
    pub sending_since: Option<u64>,
}

/// Whether a connection outstayed its current phase. A connection inside a request never is: the
/// request's own timeout bounds it.
pub(crate) fn overdue(seen: Seen, now: u64, timeouts: Timeouts) -> Option<Close> {
    let since = |at: u64| now.saturating_sub(at);
    if seen.busy {
        return None;
    }
    if !seen.handshaken {
        return (since(seen.idle_since) > timeouts.handshake).then_some(Close::Handshake);
    }
    if let Some(sending) = seen.sending_since {
        return (since(sending) > timeouts.header).then_some(Close::Header);
    }
    if !seen.served {
        return (since(seen.idle_since) > timeouts.header).then_some(Close::Header);
    }
    (since(seen.idle_since) > timeouts.idle).then_some(Close::Idle)
}

/// The ids of the `count` idle connections that have been idle longest, from `(idle_since, id)`.
pub(crate) fn oldest(mut idle: Vec<(u64, u64)>, count: usize) -> Vec<u64> {
    if count == 0 || idle.is_empty() {
        return Vec::new();
    }
    if idle.len() > count {
        idle.select_nth_unstable(count - 1);
        idle.truncate(count);
    }
    idle.into_iter().map(|(_, id)| id).collect()
}

/// One connection's state, shared by its task, its I/O wrapper and its service wrapper.
#[derive(Debug, Default)]
pub(crate) struct Tracked {
    requests: AtomicU32,
    handshaken: AtomicBool,
    served: AtomicBool,
    idle_since: AtomicU64,
    /// `sending_since + 1`; 0 when nothing arrived since `idle_since`.
    sending_since: AtomicU64,
    close: AtomicU8,
    closed: Notify,
}

impl Tracked {
    fn seen(&self) -> Seen {
        let sending = self.sending_since.load(Ordering::Acquire);
        Seen {
            handshaken: self.handshaken.load(Ordering::Acquire),
            busy: self.requests.load(Ordering::Acquire) > 0,
            served: self.served.load(Ordering::Acquire),
            idle_since: self.idle_since.load(Ordering::Acquire),
            sending_since: sending.checked_sub(1),
        }
    }

    pub(crate) fn handshaken(&self, now: u64) {
        self.idle_since.store(now, Ordering::Release);
        self.handshaken.store(true, Ordering::Release);
    }

    /// Bytes arrived: the start of the next request, if none is in progress.
    pub(crate) fn received(&self, now: u64) {
        if self.requests.load(Ordering::Acquire) == 0 {
            let _ = self.sending_since.compare_exchange(
                0,
                now.saturating_add(1),
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }

    pub(crate) fn request_started(&self) {
        self.requests.fetch_add(1, Ordering::AcqRel);
        self.served.store(true, Ordering::Release);
        self.sending_since.store(0, Ordering::Release);
    }

    pub(crate) fn request_ended(&self, now: u64) {
        self.idle_since.store(now, Ordering::Release);
        self.requests.fetch_sub(1, Ordering::AcqRel);
    }

    /// Why the port asked this connection to close, once it has.
    pub(crate) fn close_reason(&self) -> Option<Close> {
        Close::from_u8(self.close.load(Ordering::Acquire))
    }

    /// Resolves when the port asks this connection to close.
    pub(crate) async fn close_requested(&self) {
        self.closed.notified().await;
    }

    /// Marks the connection for closing; false if it already was.
    fn ask_to_close(&self, why: Close) -> bool {
        let first = self
            .close
            .compare_exchange(0, why as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if first {
            // notify_one keeps the wake-up for a task that is not waiting yet.
            self.closed.notify_one();
        }
        first
    }
}

#[derive(Debug, Default)]
struct Table {
    open: HashMap<u64, Arc<Tracked>>,
    /// Asked to close and not gone yet: they do not count against the cap.
    closing: usize,
}

/// The open connections of one port.
#[derive(Debug)]
pub(crate) struct Connections {
    started: Instant,
    next_id: AtomicU64,
    table: Mutex<Table>,
    ended: Notify,
    /// The port has given notice: every answer from now on asks its client to close.
    noticed: AtomicBool,
    stats: Arc<ConnectionStats>,
}

impl Connections {
    pub(crate) fn new(stats: Arc<ConnectionStats>) -> Self {
        Connections {
            started: Instant::now(),
            next_id: AtomicU64::new(1),
            table: Mutex::new(Table::default()),
            ended: Notify::new(),
            noticed: AtomicBool::new(false),
            stats,
        }
    }

    /// Milliseconds since the port started: the clock of every [`Seen`].
    pub(crate) fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        // A panic elsewhere cannot leave the table half-updated: every change is one statement.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn add(&self) -> (u64, Arc<Tracked>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let tracked = Arc::new(Tracked::default());
        tracked.idle_since.store(self.now(), Ordering::Release);
        self.table().open.insert(id, Arc::clone(&tracked));
        self.stats.note_accepted();
        (id, tracked)
    }

    pub(crate) fn remove(&self, id: u64) {
        {
            let mut table = self.table();
            if let Some(gone) = table.open.remove(&id)
                && gone.close_reason().is_some()
            {
                table.closing = table.closing.saturating_sub(1);
            }
        }
        self.stats.note_ended();
        self.ended.notify_waiters();
    }

    /// Open connections not asked to close.
    pub(crate) fn live(&self) -> usize {
        let table = self.table();
        table.open.len().saturating_sub(table.closing)
    }

    pub(crate) fn open(&self) -> usize {
        self.table().open.len()
    }

    /// Resolves when a connection ends (or soon after: callers re-check).
    pub(crate) async fn some_ended(&self) {
        let _ = tokio::time::timeout(Duration::from_millis(50), self.ended.notified()).await;
    }

    fn close_where(&self, mut pick: impl FnMut(&Tracked) -> Option<Close>) -> usize {
        let mut table = self.table();
        let mut asked = 0;
        for tracked in table.open.values() {
            if tracked.close_reason().is_none()
                && let Some(why) = pick(tracked)
                && tracked.ask_to_close(why)
            {
                self.stats.note_closed(why, 1);
                asked += 1;
            }
        }
        table.closing += asked;
        asked
    }

    /// Asks the overdue connections to close; how many were.
    pub(crate) fn close_overdue(&self, timeouts: Timeouts) -> usize {
        let now = self.now();
        self.close_where(|tracked| overdue(tracked.seen(), now, timeouts))
    }

    /// Asks the `count` least recently active idle connections to close; how many were.
    pub(crate) fn shed(&self, count: usize) -> usize {
        let victims = {
            let table = self.table();
            let idle = table
                .open
                .iter()
                .filter(|(_, tracked)| tracked.close_reason().is_none())
                .map(|(id, tracked)| (*id, tracked.seen()))
                .filter(|(_, seen)| !seen.busy)
                .map(|(id, seen)| (seen.sending_since.unwrap_or(seen.idle_since), id))
                .collect();
            oldest(idle, count)
        };
        let mut table = self.table();
        let mut asked = 0;
        for id in victims {
            if let Some(tracked) = table.open.get(&id)
                && tracked.ask_to_close(Close::Shed)
            {
                asked += 1;
            }
        }
        self.stats.note_closed(Close::Shed, asked);
        table.closing += asked;
        asked
    }

    /// From now on, every answer carries `Connection: close`.
    pub(crate) fn give_notice(&self) {
        self.noticed.store(true, Ordering::Release);
    }

    /// Whether answers ask their clients to close the connection.
    pub(crate) fn noticed(&self) -> bool {
        self.noticed.load(Ordering::Acquire)
    }

    /// Asks every connection to finish its request and close.
    pub(crate) fn drain(&self) {
        self.close_where(|_| Some(Close::Drain));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    const LIMITS: Timeouts = Timeouts {
        handshake: 5_000,
        header: 5_000,
        idle: 120_000,
    };

    fn seen(handshaken: bool, busy: bool, served: bool, sending: Option<u64>) -> Seen {
        Seen {
            handshaken,
            busy,
            served,
            idle_since: 1_000,
            sending_since: sending,
        }
    }

    #[test]
    fn each_phase_has_its_own_limit_and_a_request_in_progress_has_none() {
        let cases = [
            (
                seen(false, false, false, None),
                6_001,
                Some(Close::Handshake),
            ),
            (seen(false, false, false, None), 6_000, None),
            // Handshaken, never sent a byte: a client that sends nothing goes after the header limit.
            (seen(true, false, false, None), 6_001, Some(Close::Header)),
            // Between keep-alive requests: the idle limit.
            (seen(true, false, true, None), 6_001, None),
            (seen(true, false, true, None), 121_001, Some(Close::Idle)),
            // Started sending the next request and stalled: the header limit from its first byte.
            (
                seen(true, false, true, Some(50_000)),
                55_001,
                Some(Close::Header),
            ),
            (seen(true, false, true, Some(50_000)), 54_999, None),
            (seen(true, true, true, None), 10_000_000, None),
        ];
        for (state, now, expected) in cases {
            assert_eq!(overdue(state, now, LIMITS), expected, "{state:?} at {now}");
        }
    }

    #[test]
    fn the_longest_idle_go_first() {
        let idle = vec![(30, 3), (10, 1), (50, 5), (20, 2), (40, 4)];
        let mut picked = oldest(idle.clone(), 2);
        picked.sort_unstable();
        assert_eq!(picked, [1, 2]);
        assert_eq!(oldest(idle.clone(), 0), Vec::<u64>::new());
        assert_eq!(oldest(idle, 9).len(), 5);
    }

    #[tokio::test]
    async fn shedding_skips_busy_connections_and_does_not_count_the_closing() {
        let connections = Connections::new(Arc::default());
        let (old, old_state) = connections.add();
        old_state.handshaken(0);
        std::thread::sleep(Duration::from_millis(5));
        let (busy, busy_state) = connections.add();
        busy_state.handshaken(0);
        busy_state.request_started();
        let (_fresh, fresh_state) = connections.add();
        fresh_state.handshaken(connections.now() + 10);
        assert_eq!(connections.live(), 3);

        assert_eq!(connections.shed(2), 2);
        assert_eq!(old_state.close_reason(), Some(Close::Shed));
        assert_eq!(busy_state.close_reason(), None);
        assert_eq!(connections.live(), 1);
        assert_eq!(connections.open(), 3);
        // The wake-up waits for a task that was not listening yet.
        tokio::time::timeout(Duration::from_secs(1), old_state.close_requested())
            .await
            .unwrap();
        connections.remove(old);
        assert_eq!((connections.live(), connections.open()), (1, 2));

        connections.drain();
        assert_eq!(busy_state.close_reason(), Some(Close::Drain));
        connections.remove(busy);
        assert_eq!(connections.live(), 0);
    }
}
