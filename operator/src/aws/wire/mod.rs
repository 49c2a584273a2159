//! The operator's own signed AWS client, for the read calls of services it has no SDK crate for
//! (IAM, RDS, ELBv2 and EC2 in the query protocol; DynamoDB, CloudTrail and CloudWatch Logs in
//! JSON 1.0/1.1; EFS and GuardDuty in REST-JSON). Each SDK crate would cost minutes of every
//! from-scratch CI build for a handful of calls (docs/aws-iam.md); this client reuses what the
//! build already has: the SDK's signer (aws-sigv4), the SDK configuration's credentials and
//! endpoint, the ring-based HTTPS connector ([`super::https`]), and the collectors' call
//! settings, concurrency limit, call counter and metrics ([`super::clients`]).
//!
//! [`Wire`] is the handle: [`Wire::query`], [`Wire::json`] and [`Wire::rest`] send one call
//! (retried on throttling, 5xx and transport errors) and map failures to
//! [`LookupError`](hipaa_controls::aws::LookupError)s that name the IAM action.

pub mod json;
pub mod query;
mod retry;
mod transport;

pub use query::{Xml, XmlNode};
pub use transport::Transport;

use hipaa_controls::aws::Lookup;

use super::clients::Clients;

/// How a service's calls are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// AWS query: form-encoded POST `Action=...&Version=...`, XML answers and errors.
    Query { version: &'static str },
    /// JSON 1.0 or 1.1: POST with `X-Amz-Target: <prefix>.<Operation>`, errors in `__type`.
    Json {
        content_type: &'static str,
        target_prefix: &'static str,
    },
    /// REST-JSON: the operation is the method and path; errors in `x-amzn-ErrorType`.
    RestJson,
}

/// One AWS service as the client calls it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Service {
    /// The name the SDK gives it (its service ID), recorded in the call metrics as the SDK
    /// clients' calls are (`CloudWatch Logs` → `cloudwatch_logs`).
    pub sdk_name: &'static str,
    /// The SigV4 signing name.
    pub signing_name: &'static str,
    /// The host prefix of its regional endpoint.
    pub endpoint_prefix: &'static str,
    /// IAM: one endpoint per partition, signed for the partition's first region.
    pub global: bool,
    pub protocol: Protocol,
}

/// The services the collectors read.
pub mod services {
    use super::{Protocol, Service};

    const fn query(
        sdk_name: &'static str,
        name: &'static str,
        version: &'static str,
        global: bool,
    ) -> Service {
        Service {
            sdk_name,
            signing_name: name,
            endpoint_prefix: name,
            global,
            protocol: Protocol::Query { version },
        }
    }

    const fn json(
        sdk_name: &'static str,
        name: &'static str,
        content_type: &'static str,
        target_prefix: &'static str,
    ) -> Service {
        Service {
            sdk_name,
            signing_name: name,
            endpoint_prefix: name,
            global: false,
            protocol: Protocol::Json {
                content_type,
                target_prefix,
            },
        }
    }

    const fn rest(sdk_name: &'static str, name: &'static str) -> Service {
        Service {
            sdk_name,
            signing_name: name,
            endpoint_prefix: name,
            global: false,
            protocol: Protocol::RestJson,
        }
    }

    pub const IAM: Service = query("IAM", "iam", "2010-05-08", true);
    pub const RDS: Service = query("RDS", "rds", "2014-10-31", false);
    pub const ELBV2: Service = query(
        "Elastic Load Balancing v2",
        "elasticloadbalancing",
        "2015-12-01",
        false,
    );
    pub const EC2: Service = query("EC2", "ec2", "2016-11-15", false);
    pub const STS: Service = query("STS", "sts", "2011-06-15", false);
    pub const DYNAMODB: Service = json(
        "DynamoDB",
        "dynamodb",
        "application/x-amz-json-1.0",
        "DynamoDB_20120810",
    );
    pub const CLOUDTRAIL: Service = json(
        "CloudTrail",
        "cloudtrail",
        "application/x-amz-json-1.1",
        "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101",
    );
    pub const LOGS: Service = json(
        "CloudWatch Logs",
        "logs",
        "application/x-amz-json-1.1",
        "Logs_20140328",
    );
    pub const EFS: Service = rest("EFS", "elasticfilesystem");
    pub const GUARDDUTY: Service = rest("GuardDuty", "guardduty");
}

/// One call to send: the service, its operation (`GetRole`) and the IAM action that allows it
/// (`iam:GetRole`), named by an error.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    pub service: &'a Service,
    pub operation: &'a str,
    pub action: &'a str,
}

/// Signed calls in one region, on the collectors' shared settings, permits and metrics.
#[derive(Clone, Copy)]
pub struct Wire<'a> {
    pub(crate) clients: &'a Clients,
    pub(crate) config: &'a aws_config::SdkConfig,
    pub(crate) region: &'a str,
}

impl<'a> Wire<'a> {
    /// The region the calls go to.
    pub fn region(&self) -> &str {
        self.region
    }

    /// A query-protocol call with `params` (besides `Action` and `Version`); the XML answer.
    pub async fn query(&self, call: Call<'_>, params: &[(&str, &str)]) -> Lookup<Xml> {
        let body = query::form_body(call, params)?;
        let response = retry::send(self, call, transport::Outgoing::post(body)).await?;
        Xml::parse(response.text(), call)
    }

    /// A JSON 1.0/1.1 call with `input` as its body; the JSON answer.
    pub async fn json(
        &self,
        call: Call<'_>,
        input: &serde_json::Value,
    ) -> Lookup<serde_json::Value> {
        let outgoing = json::rpc_request(call, input)?;
        let response = retry::send(self, call, outgoing).await?;
        json::parse(&response.body, call)
    }

    /// A REST-JSON GET of `path_and_query` (`/detector?maxResults=50`); the JSON answer.
    pub async fn rest_get(
        &self,
        call: Call<'_>,
        path_and_query: &str,
    ) -> Lookup<serde_json::Value> {
        let response = retry::send(self, call, transport::Outgoing::get(path_and_query)).await?;
        json::parse(&response.body, call)
    }

    /// A REST-JSON call with a method and a JSON body (the tests seed moto with it).
    pub async fn rest(
        &self,
        call: Call<'_>,
        method: &str,
        path_and_query: &str,
        input: Option<&serde_json::Value>,
    ) -> Lookup<serde_json::Value> {
        let outgoing = json::rest_request(method, path_and_query, input)?;
        let response = retry::send(self, call, outgoing).await?;
        json::parse(&response.body, call)
    }
}

impl Clients {
    /// Signed calls in `region` to the services without an SDK crate (this module), on the
    /// same configuration, settings, concurrency limit, call counter and metrics as the clients.
    pub async fn wire<'a>(&'a self, region: &'a str) -> Wire<'a> {
        let config = self.base_config(region).await;
        Wire {
            clients: self,
            config,
            region,
        }
    }
}
