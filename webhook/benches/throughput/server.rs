//! The throughput bench's server process: the real router on `/validate` and the reference
//! handlers (allow-all, decode + allow-all, allow-all after busy work) on the same TLS config,
//! certificate reloading and connection handling, logging as `--log` says, and the load
//! generator's side of reading its address and its log pipe. The soak bench runs it too.

use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hipaa_controls::object::ObjectKind;
use hipaa_runtime::log::LogArgs;
use hipaa_runtime::serve::{ServeOptions, serve};
use hipaa_webhook::envelope;
use hipaa_webhook::review::{self, Answer};
use hipaa_webhook::tls::{DEFAULT_RELOAD_INTERVAL, ReloadingCertResolver, server_config};
use tokio_rustls::TlsAcceptor;
use warp::Filter;

use crate::common;

/// Where the server's log goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogTo {
    /// Formatted as the webhook formats it (denials at info, JSON), then discarded: the cost of
    /// formatting without any output. The default, and how earlier figures were measured.
    Sink,
    /// The webhook's own log (`hipaa_runtime::log`) on stdout, a pipe read by `cat`: as in a
    /// pod, where the container runtime reads it.
    Pipe,
    /// fmt's own stdout writer (one `write(2)` per line from the review's worker, under stdout's
    /// lock), into the same pipe: how the webhook logged until 2026-12-05.
    PipeDirect,
}

impl LogTo {
    pub fn parse(text: &str) -> LogTo {
        match text {
            "sink" => LogTo::Sink,
            "pipe" => LogTo::Pipe,
            "pipe-direct" => LogTo::PipeDirect,
            other => panic!("--log {other}: expected sink, pipe or pipe-direct"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogTo::Sink => "sink",
            LogTo::Pipe => "pipe",
            LogTo::PipeDirect => "pipe-direct",
        }
    }
}

/// The server child and the `cat` that reads its stdout.
pub struct Server {
    pub addr: SocketAddr,
    pub child: Child,
    pub reader: Child,
}

impl Server {
    /// Starts this executable as the server (`--serve-child DIR LOG`), reads the address it
    /// prints, then hands its stdout to `cat`.
    pub fn start(dir: &Path, log: LogTo) -> Server {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .arg("--serve-child")
            .arg(dir)
            .arg(log.as_str())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let addr = read_address(&mut stdout);
        let reader = Command::new("cat")
            .stdin(Stdio::from(stdout))
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        Server {
            addr,
            child,
            reader,
        }
    }

    /// Closing the child's stdin stops it (killed if it has not within 5 s); `cat` ends at the
    /// end of its output.
    pub fn stop(mut self) {
        drop(self.child.stdin.take());
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = self.reader.wait();
    }
}

/// The first line of stdout that is an address. Read a byte at a time: the rest of the pipe
/// (log lines) is `cat`'s, and a buffered reader would keep some of it.
fn read_address(stdout: &mut ChildStdout) -> SocketAddr {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        assert_eq!(stdout.read(&mut byte).unwrap(), 1, "the server exited");
        if byte[0] != b'\n' {
            line.push(byte[0]);
            continue;
        }
        if let Ok(addr) = String::from_utf8_lossy(&line).trim().parse() {
            return addr;
        }
        line.clear();
    }
}

/// The server process: the real router on /validate, an allow-all handler on /allow-all that
/// parses the review envelope and allows it, same TLS, same connection handling.
pub fn serve_child(dir: &Path, log: LogTo) {
    // Kept until the server stops: dropping it writes the buffered lines.
    let _log = match log {
        LogTo::Pipe => Some(hipaa_runtime::log::init(&LogArgs::default()).unwrap()),
        LogTo::Sink | LogTo::PipeDirect => {
            let builder = tracing_subscriber::fmt()
                .json()
                .flatten_event(true)
                .with_target(false)
                .with_env_filter(tracing_subscriber::EnvFilter::new("info"));
            if log == LogTo::Sink {
                builder.with_writer(std::io::sink).init();
            } else {
                builder.with_writer(std::io::stdout).init();
            }
            None
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let resolver =
            ReloadingCertResolver::load(&dir.join("tls.crt"), &dir.join("tls.key")).unwrap();
        let acceptor = TlsAcceptor::from(server_config(Arc::clone(&resolver)).unwrap());
        let harness = common::harness();
        // The files are watched as the binary watches them, so that a rotation (the soak bench
        // rewrites them) is served within the reload interval.
        tokio::spawn(resolver.watch(DEFAULT_RELOAD_INTERVAL, Arc::clone(&harness.metrics)));
        let allow_all = warp::path("allow-all")
            .and(warp::body::bytes())
            .map(|body: Bytes| {
                let envelope = envelope::decode(&body, &envelope::keep_raw).unwrap();
                let uid = envelope.request.map(|r| r.uid).unwrap_or_default();
                hipaa_webhook::wire::json(review::render(&uid, &Answer::allow()))
            });
        // Allow-all after the same decode as /validate: the object parsed with the engine's parse.
        let decode_allow =
            warp::path("decode-allow-all")
                .and(warp::body::bytes())
                .map(|body: Bytes| {
                    let parse_now = |seen: &envelope::Seen<'_>| {
                        ObjectKind::admitted(&seen.kind.group, &seen.kind.version, &seen.kind.kind)
                    };
                    let envelope = envelope::decode(&body, &parse_now).unwrap();
                    let request = envelope.request.unwrap();
                    assert!(matches!(request.object, Some(envelope::Payload::Parsed(_))));
                    std::hint::black_box(&request.object);
                    hipaa_webhook::wire::json(review::render(&request.uid, &Answer::allow()))
                });
        // Allow-all after a fixed amount of busy work: the cost of added CPU in this harness.
        let allow_after = warp::path!("allow-all-after" / u64)
            .and(warp::body::bytes())
            .map(|micros: u64, body: Bytes| {
                let envelope = envelope::decode(&body, &envelope::keep_raw).unwrap();
                let uid = envelope.request.map(|r| r.uid).unwrap_or_default();
                let started = Instant::now();
                while started.elapsed() < Duration::from_micros(micros) {
                    std::hint::spin_loop();
                }
                hipaa_webhook::wire::json(review::render(&uid, &Answer::allow()))
            });
        let routes = allow_all
            .or(allow_after)
            .unify()
            .or(decode_allow)
            .unify()
            .or(hipaa_webhook::router(Arc::clone(&harness.webhook), || {
                Ok(())
            }))
            .unify();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap());
        // Stop when the parent closes stdin (or dies).
        let parent_gone = tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin().read_line(&mut sink).unwrap_or(0) > 0 {}
        });
        serve(
            listener,
            Some(acceptor),
            warp::service(routes),
            ServeOptions::default(),
            async {
                let _ = parent_gone.await;
            },
        )
        .await;
    });
}
