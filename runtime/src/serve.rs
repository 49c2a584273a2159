//! Serving a tower service (a warp router) over HTTP/1.1 keep-alive, optionally behind rustls, so
//! that no client can stop the port: a connection cap at which the least recently active idle
//! connections are shed rather than new ones refused, limits on each phase of a connection (TLS
//! handshake, request headers, keep-alive idle) enforced by a sweeper, and a graceful shutdown
//! that can first give notice (answers ask clients to close their connections) and then stops
//! accepting and lets in-flight requests finish; and ([`signal`]) the signal both binaries stop on.

mod close;
mod connections;
mod open_files;
mod signal;
mod stats;
mod tracked;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use close::Close;
use connections::{Connections, Timeouts};
pub use open_files::{OpenFiles, raise_open_files_limit};
pub use signal::shutdown_signal;
pub use stats::{ConnectionStats, ConnectionsCollector};
use tracked::{TrackedIo, TrackedService};

/// Connection-level limits of one port.
#[derive(Clone, Copy, Debug)]
pub struct ServeOptions {
    /// Open connections at once. At the cap the least recently active idle connections are
    /// closed to make room; only when every connection is inside a request does accepting wait.
    pub max_connections: usize,
    /// From accept to the end of the TLS handshake.
    pub handshake_timeout: Duration,
    /// How long a client may take to send a request's headers, from its first byte; before the
    /// first request, from the end of the handshake (a client that sends nothing is closed then).
    pub header_read_timeout: Duration,
    /// How long a keep-alive connection may wait between requests. Longer than the API server's
    /// own idle timeout (90 s), so that the client, not the server, closes an idle connection and
    /// no request races the close.
    pub idle_timeout: Duration,
    /// How long shutdown waits for in-flight requests before dropping them.
    pub shutdown_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_connections: 4096,
            handshake_timeout: Duration::from_secs(5),
            header_read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(120),
            shutdown_timeout: Duration::from_secs(25),
        }
    }
}

impl ServeOptions {
    fn timeouts(&self) -> Timeouts {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Timeouts {
            handshake: millis(self.handshake_timeout),
            header: millis(self.header_read_timeout),
            idle: millis(self.idle_timeout),
        }
    }

    /// How often overdue connections are looked for: a quarter of the shortest limit, within
    /// 50 ms and 1 s.
    fn sweep_every(&self) -> Duration {
        let shortest = self
            .handshake_timeout
            .min(self.header_read_timeout)
            .min(self.idle_timeout);
        (shortest / 4).clamp(Duration::from_millis(50), Duration::from_secs(1))
    }

    /// How many idle connections one shedding closes: a batch, so that a flood at the cap
    /// costs one scan per batch rather than one per accept.
    fn shed_batch(&self) -> usize {
        (self.max_connections / 64).max(1)
    }
}

/// A service a port serves (a warp router, say): what hyper needs of it, named once.
pub trait PortService<B>:
    tower::Service<
        http::Request<Incoming>,
        Response = http::Response<B>,
        Error = Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + 'static
{
}

impl<S, B> PortService<B> for S where
    S: tower::Service<
            http::Request<Incoming>,
            Response = http::Response<B>,
            Error = Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + 'static
{
}

/// The body of a [`PortService`]'s answers: what hyper needs of it, named once.
pub trait PortBody:
    hyper::body::Body<Data: Send, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
    + Send
    + 'static
{
}

impl<B> PortBody for B where
    B: hyper::body::Body<Data: Send, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
        + Send
        + 'static
{
}

/// The most a connection buffers of what its client sent (headers included): hyper's default
/// (about 400 KiB) let 200 connections sending large bodies hold 180 MB before the review path
/// read a byte of them; bodies are charged to the webhook's byte budget as they are read.
const READ_BUFFER: usize = 32 * 1024;

/// How long a connection asked to close (not draining) may take to finish what it is doing.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Accepts connections on `listener` until `shutdown` resolves, then drains them.
pub async fn serve<S, B>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    service: S,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) where
    S: PortService<B>,
    B: PortBody,
{
    let lifecycle = Lifecycle {
        notice: std::future::pending(),
        shutdown,
        stats: Arc::default(),
    };
    serve_with(listener, tls, service, options, lifecycle).await;
}

/// How a port's owner steers it beyond its [`ServeOptions`]: when it gives notice, when it stops,
/// and where it counts its connections.
pub struct Lifecycle<N, S> {
    /// From then on every answer carries `Connection: close` (see [`serve_with`]).
    pub notice: N,
    /// Stop accepting and drain.
    pub shutdown: S,
    /// Accepted, open, and closed by the port, by why: read them at scrape time.
    pub stats: Arc<ConnectionStats>,
}

/// [`serve`], counting connections in `lifecycle.stats` and giving notice first: once
/// `lifecycle.notice` resolves the port still accepts and answers,
/// but every answer carries `Connection: close`. An HTTP/1.1 client that pools keep-alive
/// connections (the API server calling a webhook) then drops each one after its next request,
/// on its own terms, instead of sending a request down a connection the port closes at that
/// very moment (an EOF the API server does not retry for a POST). What is still idle when
/// `lifecycle.shutdown` resolves is closed then.
pub async fn serve_with<S, B, N, D>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    service: S,
    options: ServeOptions,
    lifecycle: Lifecycle<N, D>,
) where
    N: Future<Output = ()> + Send + 'static,
    D: Future<Output = ()>,
    S: PortService<B>,
    B: PortBody,
{
    let Lifecycle {
        notice,
        shutdown,
        stats,
    } = lifecycle;
    let connections = Arc::new(Connections::new(stats));
    let notifier = tokio::spawn({
        let connections = Arc::clone(&connections);
        async move {
            notice.await;
            connections.give_notice();
            tracing::info!("giving notice: answers ask their clients to close the connection");
        }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    // The sweeper enforces the header and idle limits apart; hyper's own header timeout runs
    // from the end of one response to the next request's headers, idle time included, so it is
    // left as a backstop at the sum.
    http.keep_alive(true)
        .max_buf_size(READ_BUFFER)
        .timer(TokioTimer::new())
        .header_read_timeout(options.idle_timeout + options.header_read_timeout);
    let sweeper = tokio::spawn(sweep(Arc::clone(&connections), options));
    let cap = options.max_connections.max(1);
    tokio::pin!(shutdown);
    'accepting: loop {
        while connections.live() >= cap {
            if connections.shed(options.shed_batch()) > 0 {
                break;
            }
            // Every connection is inside a request: wait for one to end.
            tokio::select! {
                () = connections.some_ended() => {}
                () = &mut shutdown => break 'accepting,
            }
        }
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // EMFILE and friends: make room and back off instead of spinning.
                    let shed = connections.shed(options.shed_batch());
                    tracing::warn!(error = %err, shed, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // Counted from here, not from when its task first runs: a burst of accepts sees the cap.
        let (id, tracked) = connections.add();
        tokio::spawn(connection(
            stream,
            peer,
            id,
            tracked,
            tls.clone(),
            http.clone(),
            service.clone(),
            Arc::clone(&connections),
            options,
        ));
    }
    drop(listener);
    sweeper.abort();
    notifier.abort();
    tracing::info!(
        open_connections = connections.open(),
        "stopped accepting; draining in-flight requests"
    );
    connections.drain();
    let drained = async {
        while connections.open() > 0 {
            connections.some_ended().await;
        }
    };
    if tokio::time::timeout(options.shutdown_timeout, drained)
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within the shutdown timeout");
    }
}

/// Closes overdue connections until aborted.
async fn sweep(connections: Arc<Connections>, options: ServeOptions) {
    let timeouts = options.timeouts();
    let mut every = tokio::time::interval(options.sweep_every());
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let closed = connections.close_overdue(timeouts);
        if closed > 0 {
            tracing::debug!(closed, "closed overdue connections");
        }
    }
}

/// Removes a connection from the table however its task ends.
struct Gone {
    connections: Arc<Connections>,
    id: u64,
}

impl Drop for Gone {
    fn drop(&mut self) {
        self.connections.remove(self.id);
    }
}

#[allow(clippy::too_many_arguments)]
async fn connection<S, B>(
    stream: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    id: u64,
    tracked: Arc<connections::Tracked>,
    tls: Option<TlsAcceptor>,
    http: hyper::server::conn::http1::Builder,
    service: S,
    connections: Arc<Connections>,
    options: ServeOptions,
) where
    S: PortService<B>,
    B: PortBody,
{
    let _gone = Gone {
        connections: Arc::clone(&connections),
        id,
    };
    let io = TrackedIo::new(stream, Arc::clone(&tracked), Arc::clone(&connections));
    let service = TrackedService::new(service, Arc::clone(&tracked), Arc::clone(&connections));
    let result = match tls {
        Some(acceptor) => {
            let stream = tokio::select! {
                handshake = acceptor.accept(io) => match handshake {
                    Ok(stream) => stream,
                    Err(err) => {
                        tracing::debug!(%peer, error = %err, "TLS handshake failed");
                        return;
                    }
                },
                () = tracked.close_requested() => {
                    let why = tracked.close_reason().map(Close::as_str);
                    tracing::debug!(%peer, why, "closed during the TLS handshake");
                    return;
                }
            };
            tracked.handshaken(connections.now());
            http1(&http, stream, service, &tracked, options).await
        }
        None => {
            tracked.handshaken(connections.now());
            http1(&http, io, service, &tracked, options).await
        }
    };
    if let Err(err) = result {
        tracing::debug!(%peer, error = %err, "connection ended with an error");
    }
    if let Some(why) = tracked.close_reason() {
        tracing::debug!(%peer, why = why.as_str(), "connection closed by the server");
    }
}

/// Serves HTTP/1.1 on `io` until the client leaves or the port asks the connection to close:
/// then the request in progress (if any) is finished, within the shutdown timeout when draining
/// and within [`CLOSE_GRACE`] otherwise.
async fn http1<I, S, B>(
    http: &hyper::server::conn::http1::Builder,
    io: I,
    service: TrackedService<S>,
    tracked: &connections::Tracked,
    options: ServeOptions,
) -> hyper::Result<()>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: PortService<B>,
    B: PortBody,
{
    let connection = http.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    tokio::select! {
        served = connection.as_mut() => return served,
        () = tracked.close_requested() => {}
    }
    connection.as_mut().graceful_shutdown();
    let grace = match tracked.close_reason() {
        Some(Close::Drain) => options.shutdown_timeout,
        _ => CLOSE_GRACE,
    };
    tokio::time::timeout(grace, connection)
        .await
        .unwrap_or(Ok(()))
}
