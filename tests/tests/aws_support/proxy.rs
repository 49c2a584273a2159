//! A fault-injecting HTTP proxy on loopback in front of moto: it records every AWS call (service,
//! operation and the resource it names, as [`super::json_protocols`] reads them), answers chosen
//! calls N times with AccessDenied or Throttling errors in
//! the service's own protocol, can make KMS report a key as AWS-managed
//! (moto only knows customer-managed keys), and serves the EKS authentication mode and access
//! entries and Pod Identity associations moto lacks ([`super::eks_access`],
//! [`super::pod_identity`]). Everything else passes through.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::eks_access::{self, EksAccess};
use super::json_protocols::{describe_call, error_response, report_aws_managed};
use super::pod_identity::{self, Association};
use super::protocols;

/// One AWS call seen by the proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The SigV4 service name: `eks`, `ecr`, `secretsmanager`, `kms`, `iam`, `s3`, ...
    pub service: String,
    /// E.g. `DescribeRepositories`.
    pub operation: String,
    /// The resource the call names (repository, `repo:tag`, secret, key, cluster), or empty.
    pub resource: String,
}

/// The error a fault answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    AccessDenied,
    Throttling,
}

#[derive(Debug)]
struct Fault {
    operation: String,
    /// Only calls naming a resource that contains this (empty: any).
    resource: String,
    kind: FaultKind,
    remaining: usize,
}

#[derive(Debug, Default)]
struct State {
    calls: Vec<Call>,
    faults: Vec<Fault>,
    aws_managed_keys: Vec<String>,
    eks_access: Vec<EksAccess>,
    pod_identities: Vec<Association>,
}

/// The running proxy; it stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (moto's `http://127.0.0.1:<port>`).
    pub async fn start(upstream: &str) -> anyhow::Result<FaultProxy> {
        anyhow::ensure!(
            upstream.starts_with("http://127.0.0.1:"),
            "the proxy only forwards to loopback"
        );
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let client = reqwest::Client::builder().no_proxy().build()?;
        let upstream = upstream.to_string();
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (state, client, upstream) = (shared.clone(), client.clone(), upstream.clone());
                let service = service_fn(move |request| {
                    handle(request, state.clone(), client.clone(), upstream.clone())
                });
                tokio::spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(FaultProxy { addr, state, task })
    }

    /// `http://127.0.0.1:<port>`, the endpoint to give the SDK or `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers the next `times` calls of `operation` with `kind`.
    pub fn fail(&self, operation: &str, kind: FaultKind, times: usize) {
        self.fail_on(operation, "", kind, times);
    }

    /// Answers the next `times` calls of `operation` that name a resource containing `resource`
    /// with `kind`.
    pub fn fail_on(&self, operation: &str, resource: &str, kind: FaultKind, times: usize) {
        self.lock().faults.push(Fault {
            operation: operation.to_string(),
            resource: resource.to_string(),
            kind,
            remaining: times,
        });
    }

    /// Serves an EKS Pod Identity association: `service_account` in `namespace` of `cluster`
    /// runs with `role_arn`.
    pub fn serve_pod_identity(
        &self,
        cluster: &str,
        namespace: &str,
        service_account: &str,
        role_arn: &str,
    ) {
        self.lock().pod_identities.push(Association {
            cluster: cluster.to_string(),
            namespace: namespace.to_string(),
            service_account: service_account.to_string(),
            role_arn: role_arn.to_string(),
        });
    }

    /// Makes DescribeKey report `key_id` as an AWS-managed key.
    pub fn report_aws_managed(&self, key_id: &str) {
        self.lock().aws_managed_keys.push(key_id.to_string());
    }

    /// Serves `access` (authentication mode and access entries) for its cluster.
    pub fn serve_eks_access(&self, access: EksAccess) {
        let mut state = self.lock();
        state
            .eks_access
            .retain(|known| known.cluster != access.cluster);
        state.eks_access.push(access);
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Calls of `operation` that name a resource containing `resource`.
    pub fn count(&self, operation: &str, resource: &str) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.operation == operation && c.resource.contains(resource))
            .count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    request: Request<Incoming>,
    state: Arc<Mutex<State>>,
    client: reqwest::Client,
    upstream: String,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let call = describe_call(&parts, &body);
    let fault = {
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        state.calls.push(call.clone());
        state
            .faults
            .iter_mut()
            .find(|f| {
                f.operation == call.operation
                    && call.resource.contains(&f.resource)
                    && f.remaining > 0
            })
            .map(|fault| {
                fault.remaining -= 1;
                fault.kind
            })
    };
    if let Some(kind) = fault {
        let other = protocols::error(&call.service, &call.operation, &call.resource, kind);
        return Ok(other.unwrap_or_else(|| error_response(&call, kind)));
    }
    let served = eks_access::route(parts.uri.path()).and_then(|(operation, cluster, principal)| {
        let state = state.lock().unwrap_or_else(|p| p.into_inner());
        let access = state.eks_access.iter().find(|a| a.cluster == cluster)?;
        let query = parts.uri.query().unwrap_or_default();
        Some(eks_access::answer(
            access,
            operation,
            principal.as_deref(),
            query,
        ))
    });
    if let Some((status, body)) = served {
        return Ok(eks_access::response(status, &body));
    }
    if let Some((operation, cluster, id)) = pod_identity::route(parts.uri.path()) {
        let state = state.lock().unwrap_or_else(|p| p.into_inner());
        let (status, body) =
            pod_identity::answer(&state.pod_identities, operation, &cluster, id.as_deref());
        return Ok(eks_access::response(status, &body));
    }
    let uri = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut forward = client.request(parts.method.clone(), format!("{upstream}{uri}"));
    for (name, value) in &parts.headers {
        if name != hyper::header::HOST && name != hyper::header::CONTENT_LENGTH {
            forward = forward.header(name, value);
        }
    }
    let answer = match forward.body(body).send().await {
        Ok(answer) => answer,
        Err(error) => {
            return Ok(plain(StatusCode::BAD_GATEWAY, format!("proxy: {error}")));
        }
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let mut bytes = answer.bytes().await.unwrap_or_default();
    if call.operation == "DescribeKey" {
        let keys = state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .aws_managed_keys
            .clone();
        bytes = report_aws_managed(bytes, &keys);
    }
    if call.operation == "DescribeCluster" {
        let mode = state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .eks_access
            .iter()
            .find(|a| a.cluster == call.resource)
            .map(|a| a.mode.clone());
        if let Some(mode) = mode {
            bytes = eks_access::with_mode(bytes, &mode);
        }
    }
    if call.operation == "GetBucketVersioning" {
        bytes = protocols::versioning_root(bytes);
    }
    let mut response = Response::new(Full::new(bytes));
    *response.status_mut() = status;
    for (name, value) in &headers {
        let hop = [
            hyper::header::CONTENT_LENGTH,
            hyper::header::TRANSFER_ENCODING,
            hyper::header::CONNECTION,
        ];
        if !hop.contains(name) {
            response.headers_mut().append(name, value.clone());
        }
    }
    Ok(response)
}

fn plain(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response
}
