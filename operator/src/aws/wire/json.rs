//! The JSON protocols: JSON 1.0/1.1 RPC (DynamoDB, CloudTrail, CloudWatch Logs: a POST to `/`
//! with `X-Amz-Target`) and REST-JSON (EFS, GuardDuty: the method and path are the operation),
//! their answers, their errors (`__type` or `code` in the body, or the `x-amzn-ErrorType`
//! header; `namespace#Code` and `Code:uri` forms cut to the code), and token pagination.

use bytes::Bytes;
use hipaa_controls::aws::{Lookup, LookupError};
use serde_json::Value;

use super::transport::Outgoing;
use super::{Call, Protocol, Wire};

/// Pages one paginated listing may take at most: a guard against a token that never ends.
const MAX_PAGES: usize = 1000;

/// The POST of a JSON RPC call.
pub(crate) fn rpc_request(call: Call<'_>, input: &Value) -> Lookup<Outgoing> {
    let Protocol::Json {
        content_type,
        target_prefix,
    } = call.service.protocol
    else {
        return Err(LookupError::new(
            "ConstructionFailure",
            format!("{} is not a JSON RPC service", call.service.sdk_name),
        )
        .with_action(call.action));
    };
    Ok(Outgoing {
        method: "POST",
        path_and_query: "/".to_string(),
        headers: vec![
            ("content-type", content_type.to_string()),
            (
                "x-amz-target",
                format!("{target_prefix}.{}", call.operation),
            ),
        ],
        body: Bytes::from(input.to_string()),
    })
}

/// A REST-JSON request (`GET`, `POST`, `PUT`, `DELETE`), with a JSON body when given.
pub(crate) fn rest_request(
    method: &str,
    path_and_query: &str,
    input: Option<&Value>,
) -> Lookup<Outgoing> {
    let method = match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        other => {
            return Err(LookupError::new(
                "ConstructionFailure",
                format!("unsupported method {other}"),
            ));
        }
    };
    let mut outgoing = Outgoing::get(path_and_query);
    outgoing.method = method;
    if let Some(input) = input {
        outgoing
            .headers
            .push(("content-type", "application/json".to_string()));
        outgoing.body = Bytes::from(input.to_string());
    }
    Ok(outgoing)
}

/// A successful answer's JSON (an empty body is an empty object).
pub(crate) fn parse(body: &[u8], call: Call<'_>) -> Lookup<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(body).map_err(|error| {
        LookupError::new(
            "ResponseError",
            format!(
                "the JSON answer to {} could not be read: {error}",
                call.operation
            ),
        )
        .with_action(call.action)
    })
}

/// The code and message of a JSON error answer.
pub(crate) fn error_of(header: Option<&str>, body: &[u8]) -> Option<(String, String)> {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| json.get(*name).and_then(Value::as_str))
            .map(str::to_string)
    };
    let raw = header
        .map(str::to_string)
        .or_else(|| field(&["__type", "code", "Code"]))?;
    let code = raw.split(':').next().unwrap_or(&raw);
    let code = code.rsplit('#').next().unwrap_or(code).trim();
    if code.is_empty() {
        return None;
    }
    let message = field(&["message", "Message", "errorMessage"]).unwrap_or_default();
    Some((code.to_string(), message))
}

impl Wire<'_> {
    /// Every page of a JSON RPC listing: `token` (`NextToken`, `nextToken`) is copied from each
    /// answer into the next request until an answer has none.
    pub async fn json_pages(
        &self,
        call: Call<'_>,
        input: Value,
        token: &str,
    ) -> Lookup<Vec<Value>> {
        let mut pages = Vec::new();
        let mut request = input;
        for _ in 0..MAX_PAGES {
            let page = self.json(call, &request).await?;
            let next = page
                .get(token)
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            pages.push(page);
            let Some(next) = next else {
                return Ok(pages);
            };
            if request.get(token).and_then(Value::as_str) == Some(next.as_str()) {
                return Ok(pages);
            }
            if let Value::Object(fields) = &mut request {
                fields.insert(token.to_string(), Value::String(next));
            }
        }
        Err(LookupError::new(
            "TooManyPages",
            format!("{} returned more than {MAX_PAGES} pages", call.operation),
        )
        .with_action(call.action))
    }
}

/// A string field of a JSON object.
pub fn text(value: &Value, field: &str) -> Option<String> {
    value.get(field).and_then(Value::as_str).map(str::to_string)
}

/// The items of an array field (none when absent).
pub fn items<'v>(value: &'v Value, field: &str) -> &'v [Value] {
    value
        .get(field)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::super::services;
    use super::*;

    #[test]
    fn rpc_requests_name_their_target() {
        let call = Call {
            service: &services::DYNAMODB,
            operation: "DescribeTable",
            action: "dynamodb:DescribeTable",
        };
        let outgoing = rpc_request(call, &serde_json::json!({"TableName": "t"})).unwrap();
        assert!(outgoing.headers.contains(&(
            "x-amz-target",
            "DynamoDB_20120810.DescribeTable".to_string()
        )));
        assert!(
            outgoing
                .headers
                .contains(&("content-type", "application/x-amz-json-1.0".to_string()))
        );
        let rest = Call {
            service: &services::EFS,
            ..call
        };
        assert!(rpc_request(rest, &Value::Null).is_err());
    }

    #[test]
    fn errors_come_from_the_header_or_the_body() {
        let body = br#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"no table"}"#;
        assert_eq!(
            error_of(None, body),
            Some(("ResourceNotFoundException".into(), "no table".into()))
        );
        let header = error_of(
            Some("AccessDeniedException:http://internal.amazon.com/coral/"),
            br#"{"Message":"denied"}"#,
        );
        assert_eq!(
            header,
            Some(("AccessDeniedException".into(), "denied".into()))
        );
        assert_eq!(error_of(None, b"<html/>"), None);
        assert_eq!(
            parse(
                b"",
                Call {
                    service: &services::EFS,
                    operation: "X",
                    action: "a"
                }
            )
            .unwrap(),
            serde_json::json!({})
        );
    }
}
