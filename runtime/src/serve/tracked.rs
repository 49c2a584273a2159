//! What tells a connection's [`Tracked`] state what happens on it: the socket wrapper notes when
//! bytes arrive between requests, and the service wrapper notes when a request starts and ends
//! (also when its future is dropped, a client gone or a timeout), and, once the port has given
//! notice, asks the client to close the connection after each answer.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::body::Incoming;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tower::ServiceExt;

use super::connections::{Connections, Tracked};

/// A socket that reports arriving bytes to its connection's state.
pub(crate) struct TrackedIo<T> {
    inner: T,
    tracked: Arc<Tracked>,
    clock: Arc<Connections>,
}

impl<T> TrackedIo<T> {
    pub(crate) fn new(inner: T, tracked: Arc<Tracked>, clock: Arc<Connections>) -> Self {
        TrackedIo {
            inner,
            tracked,
            clock,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TrackedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.tracked.received(self.clock.now());
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TrackedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Marks a request in progress until dropped.
struct Busy {
    tracked: Arc<Tracked>,
    clock: Arc<Connections>,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.tracked.request_ended(self.clock.now());
    }
}

/// A tower service as hyper calls it, marking each request in progress on its connection and,
/// after the port's notice, adding `Connection: close` to each answer (hyper then closes the
/// connection once the answer is written, and the client knows not to reuse it).
pub(crate) struct TrackedService<S> {
    inner: S,
    tracked: Arc<Tracked>,
    clock: Arc<Connections>,
}

impl<S> TrackedService<S> {
    pub(crate) fn new(inner: S, tracked: Arc<Tracked>, clock: Arc<Connections>) -> Self {
        TrackedService {
            inner,
            tracked,
            clock,
        }
    }
}

type Boxed<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B> hyper::service::Service<http::Request<Incoming>> for TrackedService<S>
where
    S: tower::Service<http::Request<Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: 'static,
    B: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Boxed<S::Response, S::Error>;

    fn call(&self, request: http::Request<Incoming>) -> Self::Future {
        self.tracked.request_started();
        let busy = Busy {
            tracked: Arc::clone(&self.tracked),
            clock: Arc::clone(&self.clock),
        };
        let answer = self.inner.clone().oneshot(request);
        let clock = Arc::clone(&self.clock);
        Box::pin(async move {
            let _busy = busy;
            let mut answer = answer.await?;
            if clock.noticed() {
                answer.headers_mut().insert(
                    http::header::CONNECTION,
                    http::HeaderValue::from_static("close"),
                );
            }
            Ok(answer)
        })
    }
}
