//! The log's writer: lines go to a buffer that one thread writes out in batches. In a pod stdout
//! is a pipe that the container runtime reads; with fmt's default writer every denial's line was
//! a `write(2)` to that pipe from a review's worker thread, under stdout's lock, waking the
//! reader each time: the webhook's denied path ran at two thirds of the allowed path's rate or
//! less, for about 20 µs more CPU (docs/benchmarks.md, 2026-12-05). Here a caller only appends
//! its line to a buffer; the writer thread writes what has gathered, at most once per `LINGER`,
//! so that under load a burst of lines is one write.

use std::io::{self, Write};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::MakeWriter;

/// Bytes of log lines that may wait for the writer thread: about 7,000 denial lines (~290 bytes
/// each), a quarter of a second of the benchmark's denials, hours of a real cluster's. Beyond
/// that the reader has stalled; lines are dropped and counted rather than stalling admission (a
/// log line reports the count). It bounds the memory the buffering adds.
pub const CAPACITY: usize = 2 * 1024 * 1024;
/// The shortest time between two writes: under load, lines gather in the meantime and a burst of
/// denials becomes one write and one wake-up of the reader instead of one per line. A line that
/// follows a quiet spell is written at once; none waits longer than this (plus the write). 10 ms
/// rather than 2 ms: the writer's own wake-ups then disappear in the noise (denied/compliant rate
/// 0.83-0.86x against 0.82-0.83x, docs/benchmarks.md).
const LINGER: Duration = Duration::from_millis(10);
/// How long dropping the guard waits for the last lines (a stalled reader must not hang exit).
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);
/// A batch buffer grown larger than this by a burst (a reader that fell behind) is given back
/// after it is written; 10 ms of the benchmark's denials are about 90 KB.
const KEEP_BUFFER: usize = 256 * 1024;

/// A `MakeWriter` whose lines go to a buffer that one thread writes out. Writing never blocks
/// on the output, only (briefly) on the buffer's lock.
#[derive(Clone, Debug)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Pending {
    /// Whole lines, newline included, in the order they were logged.
    lines: Vec<u8>,
    /// Lines refused since the last batch because `lines` was full.
    dropped: u64,
    /// The guard was dropped: write what is left and stop.
    closed: bool,
}

/// Stops the writer thread on drop, after it has written every buffered line.
#[derive(Debug)]
pub struct LogGuard {
    shared: Arc<Shared>,
    done: mpsc::Receiver<()>,
}

impl BatchWriter {
    /// Starts the writer thread over `out`, buffering at most `capacity` bytes.
    pub fn spawn<W: Write + Send + 'static>(
        out: W,
        capacity: usize,
    ) -> io::Result<(BatchWriter, LogGuard)> {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending::default()),
            wake: Condvar::new(),
            capacity,
        });
        let (finished, done) = mpsc::channel();
        let thread_shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || {
                write_batches(&thread_shared, out);
                let _ = finished.send(());
            })?;
        let guard = LogGuard {
            shared: Arc::clone(&shared),
            done,
        };
        Ok((BatchWriter { shared }, guard))
    }
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = &'a BatchWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

/// fmt writes each event with one `write_all` of the whole line; accepting it whole keeps lines
/// from interleaving.
impl Write for &BatchWriter {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        self.shared.push(line);
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic while holding the lock leaves plain bytes behind: still usable.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, line: &[u8]) {
        let mut pending = self.lock();
        if pending.lines.len() + line.len() > self.capacity {
            pending.dropped += 1;
            return;
        }
        let first = pending.lines.is_empty();
        pending.lines.extend_from_slice(line);
        drop(pending);
        // Only the first line of a batch wakes the thread; the others find it awake.
        if first {
            self.wake.notify_one();
        }
    }
}

/// The writer thread: waits for a line, lets more gather if it wrote less than `LINGER` ago,
/// swaps the buffer out and writes it.
fn write_batches<W: Write>(shared: &Shared, mut out: W) {
    let mut batch = Vec::new();
    let mut last_write: Option<Instant> = None;
    loop {
        let (dropped, closed) = {
            let mut pending = shared.lock();
            while pending.lines.is_empty() && pending.dropped == 0 && !pending.closed {
                pending = shared
                    .wake
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            let wait = last_write.map_or(Duration::ZERO, |at| LINGER.saturating_sub(at.elapsed()));
            if !pending.closed && !wait.is_zero() {
                drop(pending);
                std::thread::sleep(wait);
                pending = shared.lock();
            }
            std::mem::swap(&mut pending.lines, &mut batch);
            (std::mem::take(&mut pending.dropped), pending.closed)
        };
        if dropped > 0 {
            // Formatted by the subscriber like any line, and buffered behind this batch.
            tracing::warn!(
                dropped,
                "log lines dropped: the reader of stdout fell behind"
            );
        }
        let wrote = !batch.is_empty();
        if wrote {
            last_write = Some(Instant::now());
            // A failed write (stdout closed) loses this batch only; the next one tries again.
            let _ = out.write_all(&batch).and_then(|()| out.flush());
            batch.clear();
            batch.shrink_to(KEEP_BUFFER);
        }
        if closed && !wrote {
            return;
        }
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
        let _ = self.done.recv_timeout(FLUSH_TIMEOUT);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    /// An output the test reads back; `gate` holds every write until the test opens it.
    #[derive(Clone, Default)]
    struct Captured {
        bytes: Arc<Mutex<Vec<u8>>>,
        gate: Arc<Mutex<()>>,
    }

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let _open = self.gate.lock().unwrap();
            self.bytes.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_arrive_whole_and_in_order_and_the_guard_flushes_them() {
        let out = Captured::default();
        let (writer, guard) = BatchWriter::spawn(out.clone(), CAPACITY).unwrap();
        for i in 0..1000 {
            (&writer)
                .write_all(format!("line {i}\n").as_bytes())
                .unwrap();
        }
        drop(guard);
        let text = String::from_utf8(out.bytes.lock().unwrap().clone()).unwrap();
        let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(text, expected);
    }

    #[test]
    fn a_stalled_output_never_blocks_a_writer_and_a_full_buffer_drops_lines() {
        let out = Captured::default();
        let stalled = out.gate.lock().unwrap();
        let (writer, guard) = BatchWriter::spawn(out.clone(), 64).unwrap();
        // The first line reaches the thread, which then hangs in the stalled write.
        (&writer).write_all(b"first\n").unwrap();
        std::thread::sleep(LINGER * 5);
        for _ in 0..20 {
            (&writer).write_all(b"0123456789\n").unwrap();
        }
        assert_eq!(
            writer.shared.lock().lines.len(),
            55,
            "five lines fit in 64 bytes"
        );
        assert_eq!(writer.shared.lock().dropped, 15);
        drop(stalled);
        drop(guard);
        let text = String::from_utf8(out.bytes.lock().unwrap().clone()).unwrap();
        assert!(text.starts_with("first\n"), "{text}");
        assert_eq!(text.matches("0123456789\n").count(), 5, "{text}");
    }

    #[test]
    fn the_guard_gives_up_on_an_output_that_never_returns() {
        let out = Captured::default();
        let _stalled = out.gate.lock().unwrap();
        let (writer, guard) = BatchWriter::spawn(out.clone(), CAPACITY).unwrap();
        (&writer).write_all(b"never written\n").unwrap();
        let started = std::time::Instant::now();
        drop(guard);
        assert!(started.elapsed() >= FLUSH_TIMEOUT);
        assert!(started.elapsed() < FLUSH_TIMEOUT * 3);
    }
}
