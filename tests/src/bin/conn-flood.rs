//! `conn-flood`: a hostile client in its own process, for the webhook's edge tests and benchmark.
//! Opens `--count` connections to `--addr` (plain TCP, or TLS with `--ca`) and keeps them as
//! `--mode` says: `idle` sends nothing, `slow-header` sends a request's headers one byte a
//! second, `slow-body` sends whole headers and then the body one byte a second. Prints
//! `ready opened=N failed=M` once every connection was tried, then a `status` line a second,
//! and exits after `--duration` (or when killed). With `--reopen`, a connection the server closes
//! is opened again: a wave that renews itself.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_rustls::TlsConnector;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Mode {
    Idle,
    SlowHeader,
    SlowBody,
}

#[derive(Parser, Debug)]
#[command(
    name = "conn-flood",
    about = "Opens many idle or slow connections to one address"
)]
struct Args {
    /// host:port to flood (loopback in the tests).
    #[arg(long, env = "CONN_FLOOD_ADDR")]
    addr: SocketAddr,
    #[arg(long, env = "CONN_FLOOD_MODE", value_enum, default_value = "idle")]
    mode: Mode,
    /// Connections to keep open.
    #[arg(long, env = "CONN_FLOOD_COUNT", default_value_t = 1000)]
    count: usize,
    /// PEM CA of the server: connect over TLS (server name 127.0.0.1) when given.
    #[arg(long, env = "CONN_FLOOD_CA")]
    ca: Option<PathBuf>,
    /// Connection attempts in progress at once.
    #[arg(long, env = "CONN_FLOOD_PARALLEL", default_value_t = 256)]
    parallel: usize,
    /// Open a connection again when the server closes it.
    #[arg(long, env = "CONN_FLOOD_REOPEN")]
    reopen: bool,
    /// Seconds to run before exiting.
    #[arg(long, env = "CONN_FLOOD_DURATION", default_value_t = 3600)]
    duration: u64,
}

#[derive(Default)]
struct Counts {
    opened: AtomicU64,
    failed: AtomicU64,
    open: AtomicU64,
    closed_by_server: AtomicU64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // As many connections as the hard limit allows this process.
    raise_open_files_limit();
    let tls = match &args.ca {
        Some(path) => Some(connector(path)?),
        None => None,
    };
    let counts = Arc::new(Counts::default());
    let parallel = Arc::new(Semaphore::new(args.parallel.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.count {
        let permit = Arc::clone(&parallel).acquire_owned().await?;
        let (counts, tls, args_addr) = (Arc::clone(&counts), tls.clone(), args.addr);
        let (mode, reopen) = (args.mode, args.reopen);
        tasks.spawn(async move {
            let mut permit = Some(permit);
            loop {
                let opened = open(args_addr, tls.as_ref()).await;
                drop(permit.take());
                match opened {
                    Ok(stream) => {
                        counts.opened.fetch_add(1, Ordering::Relaxed);
                        counts.open.fetch_add(1, Ordering::Relaxed);
                        hold(stream, mode).await;
                        counts.open.fetch_sub(1, Ordering::Relaxed);
                        counts.closed_by_server.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        counts.failed.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                if !reopen {
                    return;
                }
            }
        });
    }
    // Every connection has been tried once all permits are back.
    let _all = parallel.acquire_many(args.parallel.max(1) as u32).await?;
    println!(
        "ready opened={} failed={}",
        counts.opened.load(Ordering::Relaxed),
        counts.failed.load(Ordering::Relaxed)
    );
    let report = async {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            println!(
                "status open={} opened={} failed={} closed_by_server={}",
                counts.open.load(Ordering::Relaxed),
                counts.opened.load(Ordering::Relaxed),
                counts.failed.load(Ordering::Relaxed),
                counts.closed_by_server.load(Ordering::Relaxed),
            );
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(args.duration), report).await;
    tasks.abort_all();
    Ok(())
}

fn raise_open_files_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if let Some(hard) = limit.maximum {
        let raised = Rlimit {
            current: Some(hard),
            maximum: Some(hard),
        };
        if let Err(error) = setrlimit(Resource::Nofile, raised) {
            eprintln!("cannot raise the open-files limit: {error}");
        }
    }
}

fn connector(ca: &PathBuf) -> anyhow::Result<TlsConnector> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).context("reading --ca")? {
        roots.add(cert.context("parsing --ca")?)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

async fn open(addr: SocketAddr, tls: Option<&TlsConnector>) -> anyhow::Result<Box<dyn Stream>> {
    let tcp = TcpStream::connect(addr).await?;
    Ok(match tls {
        Some(connector) => {
            let name = ServerName::IpAddress(addr.ip().into());
            Box::new(connector.connect(name, tcp).await?)
        }
        None => Box::new(tcp),
    })
}

/// Keeps the connection as `mode` says until the server closes it.
async fn hold(stream: Box<dyn Stream>, mode: Mode) {
    let (mut read, mut write) = tokio::io::split(stream);
    let trickle = async move {
        let (head, drip): (&[u8], &[u8]) = match mode {
            Mode::Idle => (b"", b""),
            Mode::SlowHeader => (b"POST /validate HTTP/1.1\r\n", b"x-slow: 1\r\n"),
            Mode::SlowBody => (
                b"POST /validate HTTP/1.1\r\nhost: flood\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n",
                b"          ",
            ),
        };
        if write.write_all(head).await.is_err() {
            return;
        }
        loop {
            for byte in drip {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if write.write_all(&[*byte]).await.is_err() {
                    return;
                }
            }
            if drip.is_empty() {
                std::future::pending::<()>().await;
            }
        }
    };
    let closed = async move {
        let mut sink = [0u8; 4096];
        while let Ok(read) = read.read(&mut sink).await {
            if read == 0 {
                return;
            }
        }
    };
    tokio::select! {
        () = trickle => {}
        () = closed => {}
    }
}
