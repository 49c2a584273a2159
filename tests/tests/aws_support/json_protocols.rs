//! How the fault proxy names every call it sees (the query, S3, EFS and GuardDuty protocols
//! through [`super::protocols`]), and the JSON 1.1 and EKS REST-JSON side of its work: their
//! error answers, and KMS's DescribeKey rewritten to report an AWS-managed key.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde_json::Value;

use super::eks_access;
use super::pod_identity;
use super::protocols;
use super::proxy::{Call, FaultKind};

/// The service (from the SigV4 credential scope), operation and named resource of a request.
pub fn describe_call(parts: &hyper::http::request::Parts, body: &Bytes) -> Call {
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
pub fn error_response(call: &Call, kind: FaultKind) -> Response<Full<Bytes>> {
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
pub fn report_aws_managed(body: Bytes, keys: &[String]) -> Bytes {
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
