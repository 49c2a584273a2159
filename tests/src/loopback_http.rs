//! A minimal HTTP/1.1 client for health checks and moto's control API. It only ever connects to
//! this machine: a loopback address, or the test node's address, a /32 on `lo` (tests never send
//! traffic off the machine).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The test node's address, added to `lo` as a /32: the API server and the kubelet listen
/// here, so pods reach the API server through the `kubernetes` Service without any traffic on
/// an external link. Defined here, with the check that it is this machine.
pub const NODE_ADDR: &str = "10.213.255.1";

/// A reply: status code and body (lossy UTF-8).
#[derive(Debug)]
pub(crate) struct HttpReply {
    pub status: u16,
    pub body: String,
}

/// Sends `method path` with an empty body to `addr` (a loopback address or [`NODE_ADDR`]) and
/// reads the whole reply, within 10 seconds.
pub(crate) async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
) -> anyhow::Result<HttpReply> {
    request_with_body(addr, method, path, "").await
}

/// [`request`] with a JSON body (etcd's gRPC gateway, `POST /v3/...`).
pub(crate) async fn request_with_body(
    addr: SocketAddr,
    method: &str,
    path: &str,
    json: &str,
) -> anyhow::Result<HttpReply> {
    if !on_this_machine(addr.ip()) {
        bail!("refusing to send {method} {path} to {addr}: tests only talk to this machine");
    }
    tokio::time::timeout(Duration::from_secs(10), exchange(addr, method, path, json))
        .await
        .with_context(|| format!("{method} http://{addr}{path} timed out"))?
}

/// Loopback, or the node's address: `host.sh up` puts it on `lo`, so it never leaves the machine.
pub(crate) fn on_this_machine(ip: IpAddr) -> bool {
    ip.is_loopback() || ip.to_string() == NODE_ADDR
}

async fn exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    json: &str,
) -> anyhow::Result<HttpReply> {
    let mut stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{json}",
        json.len()
    );
    stream.write_all(head.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .with_context(|| format!("no HTTP status line in the reply from {addr}: {text:.200}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or_default();
    Ok(HttpReply {
        status,
        body: body.to_string(),
    })
}
