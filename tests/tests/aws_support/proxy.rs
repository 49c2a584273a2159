//! A fault-injecting HTTP proxy on loopback in front of moto: it records every AWS call (service,
//! operation and the resource it names; the query, S3, EFS and GuardDuty protocols are named by
//! [`super::protocols`]), answers chosen calls N times with AccessDenied or Throttling errors in
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
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::eks_access::{self, EksAccess};
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

/// The service (from the SigV4 credential scope), operation and named resource of a request.
fn describe_call(parts: &hyper::http::request::Parts, body: &Bytes) -> Call {
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let service = header("authorization")
        .split("Credential=")
        .nth(1)
        .and_then(|scope| scope.split('/').nth(3))
        .unwrap_or_default()
        .to_string();
    let target = header("x-amz-target");
    let query = parts.uri.query().unwrap_or_default();
    let other = protocols::query_call(&service, body)
        .or_else(|| protocols::rest_call(&service, &parts.method, parts.uri.path(), query));
    if let Some((operation, resource)) = other {
        return Call {
            service,
            operation,
            resource,
        };
    }
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |field: &str| {
        json.get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (operation, resource) = match target.rsplit_once('.') {
        Some((_, operation)) => {
            let resource = match operation {
                "DescribeRepositories" => json
                    .get("repositoryNames")
                    .and_then(Value::as_array)
                    .map(|names| {
                        names
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default(),
                "DescribeImageScanFindings" => {
                    let image = json.get("imageId");
                    let reference = image
                        .and_then(|i| i.get("imageTag").or_else(|| i.get("imageDigest")))
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    format!("{}:{reference}", text("repositoryName"))
                }
                "DescribeSecret" => text("SecretId"),
                "DescribeKey" | "GetKeyRotationStatus" => text("KeyId"),
                _ => String::new(),
            };
            (operation.to_string(), resource)
        }
        // EKS is REST: GET /clusters/<name>, /clusters/<name>/access-entries[/<arn>[/...]].
        None => match parts.uri.path().strip_prefix("/clusters/") {
            Some(name) if parts.method == hyper::Method::GET && !name.contains('/') => {
                ("DescribeCluster".to_string(), name.to_string())
            }
            Some(_) if eks_access::route(parts.uri.path()).is_some() => {
                eks_access::described(parts.uri.path())
            }
            Some(_) if pod_identity::route(parts.uri.path()).is_some() => {
                match pod_identity::route(parts.uri.path()) {
                    Some((operation, cluster, _)) => (operation.to_string(), cluster),
                    None => (String::new(), String::new()),
                }
            }
            _ => (
                format!("{} {}", parts.method, parts.uri.path()),
                String::new(),
            ),
        },
    };
    Call {
        service,
        operation,
        resource,
    }
}

/// The error in the protocol of the call's service: EKS speaks REST-JSON (the code in the
/// `x-amzn-ErrorType` header), the others JSON 1.1 (the code in `__type`).
fn error_response(call: &Call, kind: FaultKind) -> Response<Full<Bytes>> {
    let (code, message, rest_status) = match kind {
        FaultKind::AccessDenied => (
            "AccessDeniedException",
            format!(
                "User: arn:aws:sts::123456789012:assumed-role/hipaa-guard-operator/session is not authorized to perform: {}:{} on resource: {}",
                call.service, call.operation, call.resource
            ),
            StatusCode::FORBIDDEN,
        ),
        FaultKind::Throttling => (
            "ThrottlingException",
            "Rate exceeded".to_string(),
            StatusCode::TOO_MANY_REQUESTS,
        ),
    };
    let (status, body, content_type) = if call.service == "eks" {
        (
            rest_status,
            serde_json::json!({ "message": message }),
            "application/json",
        )
    } else {
        (
            StatusCode::BAD_REQUEST,
            serde_json::json!({ "__type": code, "message": message }),
            "application/x-amz-json-1.1",
        )
    };
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    headers.insert(
        "x-amzn-errortype",
        hyper::header::HeaderValue::from_static(code),
    );
    headers.insert(
        "x-amzn-requestid",
        hyper::header::HeaderValue::from_static("fault-proxy"),
    );
    response
}

/// Rewrites a DescribeKey answer about one of `keys` to `KeyManager: AWS`.
fn report_aws_managed(body: Bytes, keys: &[String]) -> Bytes {
    let Ok(mut json) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    let Some(metadata) = json.get_mut("KeyMetadata").and_then(Value::as_object_mut) else {
        return body;
    };
    let key_id = metadata
        .get("KeyId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !keys.iter().any(|k| k == key_id) {
        return body;
    }
    metadata.insert("KeyManager".to_string(), Value::String("AWS".to_string()));
    Bytes::from(json.to_string())
}

fn plain(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response
}
