//! What moto 5.2.5 does not serve, served by the fault proxy: a cluster's
//! `accessConfig.authenticationMode` (added to moto's DescribeCluster answer) and its EKS access
//! entries (ListAccessEntries one entry per page, so that pagination is exercised;
//! DescribeAccessEntry; ListAssociatedAccessPolicies), in the EKS REST-JSON protocol, for the
//! clusters a test gave an [`EksAccess`].

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde_json::{Value, json};

/// One access entry and its associated access policies.
#[derive(Clone, Debug)]
pub struct Entry {
    pub principal_arn: String,
    pub entry_type: String,
    pub username: String,
    pub kubernetes_groups: Vec<String>,
    /// (policy name, namespaces); no namespaces means cluster scope.
    pub policies: Vec<(String, Vec<String>)>,
}

impl Entry {
    /// A STANDARD entry for `principal_arn` with `policies` at cluster scope.
    pub fn standard(principal_arn: &str, policies: &[&str]) -> Entry {
        Entry {
            principal_arn: principal_arn.to_string(),
            entry_type: "STANDARD".to_string(),
            username: principal_arn
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string(),
            kubernetes_groups: Vec::new(),
            policies: policies
                .iter()
                .map(|name| (name.to_string(), Vec::new()))
                .collect(),
        }
    }
}

/// A cluster's authentication mode and access entries.
#[derive(Clone, Debug)]
pub struct EksAccess {
    pub cluster: String,
    pub mode: String,
    pub entries: Vec<Entry>,
}

/// The operation and cluster of an access-entry route, and the principal it names.
pub fn route(path: &str) -> Option<(&'static str, String, Option<String>)> {
    let rest = path.strip_prefix("/clusters/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        [cluster, "access-entries"] => Some(("ListAccessEntries", cluster.to_string(), None)),
        [cluster, "access-entries", principal] => Some((
            "DescribeAccessEntry",
            cluster.to_string(),
            Some(percent_decode(principal)),
        )),
        [cluster, "access-entries", principal, "access-policies"] => Some((
            "ListAssociatedAccessPolicies",
            cluster.to_string(),
            Some(percent_decode(principal)),
        )),
        _ => None,
    }
}

/// The operation and resource (`cluster` or `cluster:principal`) the proxy records for a route.
pub fn described(path: &str) -> (String, String) {
    match route(path) {
        Some((operation, cluster, Some(principal))) => {
            (operation.to_string(), format!("{cluster}:{principal}"))
        }
        Some((operation, cluster, None)) => (operation.to_string(), cluster),
        None => (String::new(), String::new()),
    }
}

/// The answer to an access-entry call: status and JSON body.
pub fn answer(
    access: &EksAccess,
    operation: &str,
    principal: Option<&str>,
    query: &str,
) -> (u16, Value) {
    if operation == "ListAccessEntries" {
        let start: usize = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("nextToken="))
            .and_then(|token| token.parse().ok())
            .unwrap_or(0);
        let page: Vec<&str> = access
            .entries
            .iter()
            .skip(start)
            .take(1)
            .map(|e| e.principal_arn.as_str())
            .collect();
        let mut body = json!({ "accessEntries": page });
        if start + 1 < access.entries.len() {
            body["nextToken"] = json!((start + 1).to_string());
        }
        return (200, body);
    }
    let Some(entry) = access
        .entries
        .iter()
        .find(|e| Some(e.principal_arn.as_str()) == principal)
    else {
        return (
            404,
            json!({ "message": format!("The specified access entry resource is not found: {principal:?}") }),
        );
    };
    if operation == "DescribeAccessEntry" {
        return (
            200,
            json!({ "accessEntry": {
                "clusterName": access.cluster,
                "principalArn": entry.principal_arn,
                "kubernetesGroups": entry.kubernetes_groups,
                "username": entry.username,
                "type": entry.entry_type,
            }}),
        );
    }
    let policies: Vec<Value> = entry
        .policies
        .iter()
        .map(|(name, namespaces)| {
            let scope = if namespaces.is_empty() {
                json!({ "type": "cluster" })
            } else {
                json!({ "type": "namespace", "namespaces": namespaces })
            };
            json!({
                "policyArn": format!("arn:aws:eks::aws:cluster-access-policy/{name}"),
                "accessScope": scope,
            })
        })
        .collect();
    (
        200,
        json!({
            "clusterName": access.cluster,
            "principalArn": entry.principal_arn,
            "associatedAccessPolicies": policies,
        }),
    )
}

/// An [`answer`] as an HTTP response in the EKS REST-JSON protocol.
pub fn response(status: u16, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    if status == 404 {
        headers.insert(
            "x-amzn-errortype",
            hyper::header::HeaderValue::from_static("ResourceNotFoundException"),
        );
    }
    response
}

/// Moto's DescribeCluster answer with `accessConfig.authenticationMode` set to `mode`.
pub fn with_mode(body: Bytes, mode: &str) -> Bytes {
    let Ok(mut json) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    let Some(cluster) = json.get_mut("cluster").and_then(Value::as_object_mut) else {
        return body;
    };
    cluster.insert(
        "accessConfig".to_string(),
        json!({ "authenticationMode": mode, "bootstrapClusterCreatorAdminPermissions": true }),
    );
    Bytes::from(json.to_string())
}

/// `%3A` → `:`, `%2F` → `/`; anything malformed is kept as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
