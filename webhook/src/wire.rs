//! The HTTP side of a review: reading a request body under a size cap, and plain-text and JSON
//! answers.

use bytes::{Buf, Bytes, BytesMut};
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
}

/// Reads the body up to `limit` bytes. A body that arrives in one chunk is used without a copy.
pub async fn read_body<S, B>(body: S, limit: usize, size_hint: usize) -> Result<Bytes, BodyError>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    tokio::pin!(body);
    let mut first: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    let mut seen = 0usize;
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.map_err(BodyError::Read)?;
        seen += chunk.remaining();
        if seen > limit {
            return Err(BodyError::TooLarge { limit });
        }
        if first.is_none() && joined.is_none() {
            first = Some(chunk.copy_to_bytes(chunk.remaining()));
            continue;
        }
        let buf = joined.get_or_insert_with(|| {
            let head = first.take().unwrap_or_default();
            let mut buf = BytesMut::with_capacity(size_hint.clamp(seen, limit));
            buf.extend_from_slice(&head);
            buf
        });
        while chunk.has_remaining() {
            let part = chunk.chunk();
            let len = part.len();
            buf.extend_from_slice(part);
            chunk.advance(len);
        }
    }
    Ok(match (first, joined) {
        (_, Some(buf)) => buf.freeze(),
        (Some(head), None) => head,
        (None, None) => Bytes::new(),
    })
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

    #[tokio::test]
    async fn joins_chunks_and_enforces_the_limit_whatever_the_headers_said() {
        let one = read_body(chunks(&["{\"a\":1}"]), 64, 0).await.unwrap();
        assert_eq!(one, Bytes::from_static(b"{\"a\":1}"));
        let joined = read_body(chunks(&["{\"a\"", ":", "1}"]), 64, 7)
            .await
            .unwrap();
        assert_eq!(joined, Bytes::from_static(b"{\"a\":1}"));
        assert!(read_body(chunks(&[]), 64, 0).await.unwrap().is_empty());
        assert!(matches!(
            read_body(chunks(&["12345", "67890"]), 8, 4).await,
            Err(BodyError::TooLarge { limit: 8 })
        ));
    }
}
