//! The HTTP side of a review: reading a request body under a size cap, and plain-text and JSON
//! answers.

use std::task::Poll;

use bytes::{Buf, Bytes};
use tokio::time::Instant;

use crate::budget::{BodyBudget, Closed, Reserved};
use futures::{Stream, StreamExt};
use http::header;

/// A plain-text answer, as the admin port writes them.
pub use hipaa_runtime::admin::plain;

/// An HTTP answer: status, content type and body (the admin port's type too).
pub type HttpAnswer = hipaa_runtime::admin::Answer;

/// Why a request body was not read.
#[derive(Debug)]
pub enum BodyError {
    /// More than `limit` bytes arrived (whatever Content-Length said).
    TooLarge { limit: usize },
    /// The connection failed while the body was arriving.
    Read(warp::Error),
    /// The client did not send the body within its time (waits for the budget not counted).
    TooSlow,
    /// The request's deadline passed while the body waited for its share of the budget.
    Busy,
    /// The process is stopping.
    Closed,
}

/// When reading a body must end.
#[derive(Clone, Copy, Debug)]
pub struct BodyDeadlines {
    /// For the client to send the body; moved later by the time spent waiting for the budget,
    /// which is the server's doing, not the client's.
    pub arrival: Instant,
    /// For the whole review, budget waits included.
    pub request: Instant,
}

impl From<Closed> for BodyError {
    fn from(_: Closed) -> Self {
        BodyError::Closed
    }
}

/// The smallest buffer a body of several chunks is joined in.
const MIN_JOINED: usize = 8 * 1024;

/// Reads the body up to `limit` bytes, charging `budget` for the memory it takes as it arrives
/// (never for what Content-Length announces: a slow client holds only what it sent). A body that
/// arrives in one chunk is used without a copy; a longer one is joined in a buffer that doubles,
/// up to `size_hint` (the Content-Length) or the limit. The share is returned with the body and
/// is held until the review is answered.
pub async fn read_body<'b, S, B>(
    body: S,
    limit: usize,
    size_hint: usize,
    budget: &'b BodyBudget,
    deadlines: BodyDeadlines,
) -> Result<(Bytes, Reserved<'b>), BodyError>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    tokio::pin!(body);
    let mut reserved = Reserved::default();
    let mut first: Option<Bytes> = None;
    let mut joined: Option<Vec<u8>> = None;
    let mut seen = 0usize;
    let mut arrival = deadlines.arrival;
    loop {
        let until = arrival.min(deadlines.request);
        let Some(next) = within(until, body.next()).await else {
            return Err(if arrival <= deadlines.request {
                BodyError::TooSlow
            } else {
                BodyError::Busy
            });
        };
        let Some(chunk) = next else {
            break;
        };
        let mut chunk = chunk.map_err(BodyError::Read)?;
        seen += chunk.remaining();
        if seen > limit {
            return Err(BodyError::TooLarge { limit });
        }
        let waiting = Instant::now();
        if first.is_none() && joined.is_none() {
            within(deadlines.request, budget.cover(&mut reserved, seen))
                .await
                .ok_or(BodyError::Busy)??;
            arrival += waiting.elapsed();
            first = Some(chunk.copy_to_bytes(chunk.remaining()));
            continue;
        }
        let capacity = joined.as_ref().map_or(0, Vec::capacity);
        if seen > capacity {
            let grown = seen
                .max(capacity.saturating_mul(2))
                .max(MIN_JOINED)
                .min(limit.max(seen));
            let grown = if size_hint >= seen && size_hint < grown {
                size_hint
            } else {
                grown
            };
            within(deadlines.request, budget.cover(&mut reserved, grown))
                .await
                .ok_or(BodyError::Busy)??;
            arrival += waiting.elapsed();
            let buf = joined.get_or_insert_with(|| {
                let head = first.take().unwrap_or_default();
                let mut buf = Vec::with_capacity(grown);
                buf.extend_from_slice(&head);
                buf
            });
            buf.reserve_exact(grown.saturating_sub(buf.len()));
        }
        if let Some(buf) = joined.as_mut() {
            while chunk.has_remaining() {
                let part = chunk.chunk();
                let len = part.len();
                buf.extend_from_slice(part);
                chunk.advance(len);
            }
        }
    }
    let bytes = match (first, joined) {
        (_, Some(buf)) => Bytes::from(buf),
        (Some(head), None) => head,
        (None, None) => Bytes::new(),
    };
    Ok((bytes, reserved))
}

/// Runs `work` until it completes or `deadline` passes (None). The timer is armed only when the
/// work has to wait: a review whose body has arrived is answered in its first poll, and
/// registering a timer for it cost about a tenth of what judging adds to a review.
pub async fn within<F: Future>(deadline: Instant, work: F) -> Option<F::Output> {
    let mut work = std::pin::pin!(work);
    if let Poll::Ready(output) = futures::poll!(work.as_mut()) {
        return Some(output);
    }
    tokio::time::timeout_at(deadline, work).await.ok()
}

/// A 200 answer carrying an AdmissionReview.
pub fn json(body: Vec<u8>) -> HttpAnswer {
    let mut response = http::Response::new(Bytes::from(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn chunks(parts: &[&'static str]) -> impl Stream<Item = Result<Bytes, warp::Error>> {
        futures::stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p.as_bytes())))
                .collect::<Vec<_>>(),
        )
    }

    fn later() -> BodyDeadlines {
        let far = Instant::now() + std::time::Duration::from_secs(60);
        BodyDeadlines {
            arrival: far,
            request: far,
        }
    }

    #[tokio::test]
    async fn joins_chunks_and_enforces_the_limit_whatever_the_headers_said() {
        let budget = BodyBudget::new(1 << 20);
        let (one, _) = read_body(chunks(&["{\"a\":1}"]), 64, 0, &budget, later())
            .await
            .unwrap();
        assert_eq!(one, Bytes::from_static(b"{\"a\":1}"));
        let (joined, _) = read_body(chunks(&["{\"a\"", ":", "1}"]), 64, 7, &budget, later())
            .await
            .unwrap();
        assert_eq!(joined, Bytes::from_static(b"{\"a\":1}"));
        let (empty, _) = read_body(chunks(&[]), 64, 0, &budget, later())
            .await
            .unwrap();
        assert!(empty.is_empty());
        assert!(matches!(
            read_body(chunks(&["12345", "67890"]), 8, 4, &budget, later()).await,
            Err(BodyError::TooLarge { limit: 8 })
        ));
        assert_eq!(budget.available(), 1 << 20, "every share was returned");
    }

    #[tokio::test]
    async fn a_body_holds_budget_for_what_arrived_not_for_what_it_announced() {
        let budget = BodyBudget::new(1 << 20);
        let parts: Vec<&'static str> = vec!["x"; 3000];
        let (body, held) = read_body(chunks(&parts), 1 << 20, 1 << 20, &budget, later())
            .await
            .unwrap();
        assert_eq!(body.len(), 3000);
        // Doubling from the second chunk, capped by what is read: a few KiB, not the 1 MiB announced.
        assert!(held.bytes() <= 8 * 1024, "{}", held.bytes());
        assert!(held.bytes() >= 3000);
        assert_eq!(budget.available() + held.bytes(), 1 << 20);
    }
}
