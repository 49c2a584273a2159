//! How the fault proxy names and faults calls in the protocols besides JSON 1.1 and EKS's
//! REST-JSON: the AWS query protocol (IAM, RDS, ELBv2, EC2: the operation is the form body's
//! `Action`), S3's REST-XML (the operation from the method, path and sub-resource), and the
//! REST-JSON of EFS and GuardDuty (method and path). Faults answer in each protocol's own error
//! format, as AWS would. One moto answer is repaired as a stand-in ([`versioning_root`]).

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Response, StatusCode};

use super::proxy::FaultKind;

/// The SigV4 names of the query-protocol services.
const QUERY_SERVICES: &[&str] = &["iam", "rds", "elasticloadbalancing", "ec2"];

/// The request parameters that name a query call's resource, first found wins.
const RESOURCE_PARAMS: &[&str] = &[
    "RoleName",
    "PolicyArn",
    "DBParameterGroupName",
    "DBClusterParameterGroupName",
    "LoadBalancerArn",
    "ResourceArns.member.1",
    "DBInstanceIdentifier",
];

/// Decodes a form body: `+` is a space, `%XX` a byte.
pub fn form(body: &[u8]) -> Vec<(String, String)> {
    // The operator's own percent-decoding, with the form's `+` for a space first.
    let decode = |text: &str| {
        let spaced = text.replace('+', " ");
        hipaa_operator::aws::wire::query::decode(&spaced).unwrap_or(spaced)
    };
    std::str::from_utf8(body)
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// (operation, resource) of a query-protocol call.
pub fn query_call(service: &str, body: &[u8]) -> Option<(String, String)> {
    if !QUERY_SERVICES.contains(&service) {
        return None;
    }
    let params = form(body);
    let value = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let operation = value("Action")?;
    let resource = RESOURCE_PARAMS
        .iter()
        .find_map(|name| value(name))
        .unwrap_or_default();
    Some((operation, resource))
}

/// (operation, resource) of an S3, EFS or GuardDuty REST call.
pub fn rest_call(
    service: &str,
    method: &Method,
    path: &str,
    query: &str,
) -> Option<(String, String)> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (service, segments.as_slice()) {
        ("s3", [""]) if method == Method::GET => Some(("ListBuckets".to_string(), String::new())),
        ("s3", [bucket]) if method == Method::GET => {
            let sub = query.split(['&', '=']).next().unwrap_or_default();
            let operation = match sub {
                "location" => "GetBucketLocation",
                "encryption" => "GetBucketEncryption",
                "policy" => "GetBucketPolicy",
                "publicAccessBlock" => "GetPublicAccessBlock",
                "acl" => "GetBucketAcl",
                "versioning" => "GetBucketVersioning",
                "object-lock" => "GetObjectLockConfiguration",
                _ => return None,
            };
            Some((operation.to_string(), bucket.to_string()))
        }
        ("elasticfilesystem", ["2015-02-01", "file-systems"]) if method == Method::GET => {
            Some(("DescribeFileSystems".to_string(), query.to_string()))
        }
        ("guardduty", ["detector"]) if method == Method::GET => {
            Some(("ListDetectors".to_string(), String::new()))
        }
        ("guardduty", ["detector", id]) if method == Method::GET => {
            Some(("GetDetector".to_string(), id.to_string()))
        }
        _ => None,
    }
}

/// A fault's status, code, message, content type and body format.
type ErrorShape = (
    StatusCode,
    &'static str,
    String,
    &'static str,
    fn(&str, &str) -> String,
);

/// The fault in the protocol of `service`, or `None` for the JSON and EKS services the proxy
/// answers itself.
pub fn error(
    service: &str,
    operation: &str,
    resource: &str,
    kind: FaultKind,
) -> Option<Response<Full<Bytes>>> {
    let denied = format!(
        "User: arn:aws:sts::123456789012:assumed-role/hipaa-guard-operator/session is not authorized to perform: {service}:{operation} on resource: {resource}"
    );
    let (status, code, message, content_type, body): ErrorShape = match (service, kind) {
        ("ec2", FaultKind::AccessDenied) => (
            StatusCode::FORBIDDEN,
            "UnauthorizedOperation",
            denied,
            "text/xml",
            ec2_xml,
        ),
        ("ec2", FaultKind::Throttling) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "RequestLimitExceeded",
            "Request limit exceeded.".into(),
            "text/xml",
            ec2_xml,
        ),
        (s, FaultKind::AccessDenied) if QUERY_SERVICES.contains(&s) => (
            StatusCode::FORBIDDEN,
            "AccessDenied",
            denied,
            "text/xml",
            query_xml,
        ),
        (s, FaultKind::Throttling) if QUERY_SERVICES.contains(&s) => (
            StatusCode::BAD_REQUEST,
            "Throttling",
            "Rate exceeded".into(),
            "text/xml",
            query_xml,
        ),
        ("s3", FaultKind::AccessDenied) => (
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Access Denied".into(),
            "application/xml",
            s3_xml,
        ),
        ("s3", FaultKind::Throttling) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "SlowDown",
            "Please reduce your request rate.".into(),
            "application/xml",
            s3_xml,
        ),
        ("elasticfilesystem" | "guardduty", FaultKind::AccessDenied) => (
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            denied,
            "application/json",
            rest_json,
        ),
        ("elasticfilesystem" | "guardduty", FaultKind::Throttling) => (
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            "Rate exceeded".into(),
            "application/json",
            rest_json,
        ),
        _ => return None,
    };
    let mut response = Response::new(Full::new(Bytes::from(body(code, &message))));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    if content_type == "application/json" {
        headers.insert(
            "x-amzn-errortype",
            hyper::header::HeaderValue::from_str(code).ok()?,
        );
    }
    headers.insert(
        "x-amzn-requestid",
        hyper::header::HeaderValue::from_static("fault-proxy"),
    );
    Some(response)
}

/// Stand-in for a moto 5.2.5 bug: its GetBucketVersioning answer's root is
/// `GetBucketVersioningResponse` where S3 (and the Rust SDK, which checks it) has
/// `VersioningConfiguration`; boto3 does not check, so moto's own tests pass.
pub fn versioning_root(body: Bytes) -> Bytes {
    let text = String::from_utf8_lossy(&body);
    if !text.contains("<GetBucketVersioningResponse") {
        return body;
    }
    Bytes::from(
        text.replace("<GetBucketVersioningResponse", "<VersioningConfiguration")
            .replace(
                "</GetBucketVersioningResponse>",
                "</VersioningConfiguration>",
            ),
    )
}

fn query_xml(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>",
        escape(message)
    )
}

fn ec2_xml(code: &str, message: &str) -> String {
    format!(
        "<Response><Errors><Error><Code>{code}</Code><Message>{}</Message></Error></Errors><RequestID>fault-proxy</RequestID></Response>",
        escape(message)
    )
}

fn s3_xml(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{}</Message><RequestId>fault-proxy</RequestId></Error>",
        escape(message)
    )
}

fn rest_json(_code: &str, message: &str) -> String {
    serde_json::json!({ "message": message }).to_string()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
