//! One attempt of a wire call: the endpoint (the configuration's `endpoint_url`, else the
//! service's standard one in the region's partition), the credentials (the configuration's
//! provider, cached until shortly before they expire: IRSA's web identity provider calls STS on
//! every use), SigV4 signing with aws-sigv4, and the exchange over the ring-based connector.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use bytes::Bytes;
use hipaa_controls::aws::LookupError;

pub use crate::aws::transport_state::Transport;

use super::{Service, Wire};

/// Credentials are renewed this long before they expire.
const RENEW_BEFORE: Duration = Duration::from_secs(300);

/// A request before signing.
#[derive(Clone, Debug)]
pub(crate) struct Outgoing {
    pub method: &'static str,
    pub path_and_query: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
}

impl Outgoing {
    pub fn post(form: String) -> Outgoing {
        Outgoing {
            method: "POST",
            path_and_query: "/".to_string(),
            headers: vec![(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8".to_string(),
            )],
            body: Bytes::from(form),
        }
    }

    pub fn get(path_and_query: &str) -> Outgoing {
        Outgoing {
            method: "GET",
            path_and_query: path_and_query.to_string(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }
}

/// An answer, whatever its status.
#[derive(Clone, Debug)]
pub(crate) struct Incoming {
    pub status: u16,
    /// `x-amzn-ErrorType` (REST-JSON errors).
    pub error_type: Option<String>,
    pub body: Bytes,
}

impl Incoming {
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or_default()
    }
}

/// Why an attempt got no answer.
#[derive(Debug)]
pub(crate) enum AttemptError {
    /// Before sending: no credentials, a request that cannot be signed. Not retried.
    Setup(LookupError),
    /// No answer (connection, TLS, body read): retried.
    Transport(String),
}

/// The endpoint URL (no trailing `/`) and the signing region of `service` in `region`.
pub(crate) fn endpoint(
    service: &Service,
    region: &str,
    configured: Option<&str>,
) -> (String, String) {
    let (suffix, global_region) = if region.starts_with("cn-") {
        ("amazonaws.com.cn", "cn-north-1")
    } else if region.starts_with("us-gov-") {
        ("amazonaws.com", "us-gov-west-1")
    } else {
        ("amazonaws.com", "us-east-1")
    };
    let signing_region = if service.global {
        global_region
    } else {
        region
    };
    if let Some(url) = configured {
        return (
            url.trim_end_matches('/').to_string(),
            signing_region.to_string(),
        );
    }
    let host = match (service.global, suffix) {
        (true, "amazonaws.com.cn") => format!("{}.cn-north-1.{suffix}", service.endpoint_prefix),
        (true, _) if region.starts_with("us-gov-") => {
            format!("{}.us-gov.{suffix}", service.endpoint_prefix)
        }
        (true, _) => format!("{}.{suffix}", service.endpoint_prefix),
        (false, _) => format!("{}.{region}.{suffix}", service.endpoint_prefix),
    };
    (format!("https://{host}"), signing_region.to_string())
}

impl Transport {
    /// Signs `outgoing` for `service` and sends it once.
    pub(crate) async fn attempt(
        &self,
        wire: &Wire<'_>,
        service: &Service,
        outgoing: &Outgoing,
    ) -> Result<Incoming, AttemptError> {
        let (base, signing_region) = endpoint(service, wire.region, wire.config.endpoint_url());
        let uri = format!("{base}{}", outgoing.path_and_query);
        let credentials = self.credentials(wire.config).await?;
        let request = signed(service, &signing_region, &uri, outgoing, credentials)?;
        let connector = self
            .connector
            .get_or_init(|| super::super::https::wire_connector(wire.config));
        let response = connector
            .call(request)
            .await
            .map_err(|error| AttemptError::Transport(error.to_string()))?;
        let status = response.status().as_u16();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .map(str::to_string);
        let body = ByteStream::new(response.into_body())
            .collect()
            .await
            .map_err(|error| AttemptError::Transport(format!("reading the answer: {error}")))?
            .into_bytes();
        Ok(Incoming {
            status,
            error_type,
            body,
        })
    }

    /// The cached credentials, renewed from the configuration's provider when they expire soon.
    async fn credentials(
        &self,
        config: &aws_config::SdkConfig,
    ) -> Result<Credentials, AttemptError> {
        let mut cached = self.credentials.lock().await;
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|expiry| expiry > SystemTime::now() + RENEW_BEFORE)
        };
        if let Some(known) = cached.as_ref().filter(|c| fresh(c)) {
            return Ok(known.clone());
        }
        let provider = config.credentials_provider().ok_or_else(|| {
            AttemptError::Setup(LookupError::new(
                "NoCredentials",
                "the AWS configuration has no credentials provider",
            ))
        })?;
        use aws_credential_types::provider::ProvideCredentials;
        let loaded = provider.provide_credentials().await.map_err(|error| {
            AttemptError::Setup(LookupError::new(
                "CredentialsNotLoaded",
                format!("the AWS credentials could not be loaded: {error}"),
            ))
        })?;
        *cached = Some(loaded.clone());
        Ok(loaded)
    }
}

/// The request with its SigV4 headers.
fn signed(
    service: &Service,
    signing_region: &str,
    uri: &str,
    outgoing: &Outgoing,
    credentials: Credentials,
) -> Result<HttpRequest, AttemptError> {
    let setup = |what: &str, error: &dyn std::fmt::Display| {
        AttemptError::Setup(LookupError::new(
            "ConstructionFailure",
            format!("{what}: {error}"),
        ))
    };
    let identity: Identity = credentials.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(signing_region)
        .name(service.signing_name)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| setup("signing parameters", &e))?
        .into();
    let signable = SignableRequest::new(
        outgoing.method,
        uri,
        outgoing.headers.iter().map(|(n, v)| (*n, v.as_str())),
        SignableBody::Bytes(&outgoing.body),
    )
    .map_err(|e| setup("the request to sign", &e))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| setup("signing", &e))?
        .into_parts();
    let mut request = HttpRequest::new(SdkBody::from(outgoing.body.clone()));
    request
        .set_method(outgoing.method)
        .map_err(|e| setup("the method", &e))?;
    request.set_uri(uri).map_err(|e| setup("the URI", &e))?;
    let headers = request.headers_mut();
    for (name, value) in &outgoing.headers {
        headers.insert(*name, value.clone());
    }
    for (name, value) in instructions.headers() {
        headers.insert(name.to_string(), value.to_string());
    }
    if !outgoing.body.is_empty() {
        headers.insert("content-length", outgoing.body.len().to_string());
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::super::services;
    use super::*;

    #[test]
    fn endpoints_follow_the_partition_and_the_configuration() {
        let regional = endpoint(&services::RDS, "eu-west-1", None);
        assert_eq!(
            regional,
            (
                "https://rds.eu-west-1.amazonaws.com".into(),
                "eu-west-1".into()
            )
        );
        let iam = endpoint(&services::IAM, "eu-west-1", None);
        assert_eq!(
            iam,
            ("https://iam.amazonaws.com".into(), "us-east-1".into())
        );
        let china = endpoint(&services::IAM, "cn-northwest-1", None);
        assert_eq!(
            china,
            (
                "https://iam.cn-north-1.amazonaws.com.cn".into(),
                "cn-north-1".into()
            )
        );
        let china_logs = endpoint(&services::LOGS, "cn-northwest-1", None);
        assert_eq!(china_logs.0, "https://logs.cn-northwest-1.amazonaws.com.cn");
        let gov = endpoint(&services::IAM, "us-gov-east-1", None);
        assert_eq!(
            gov,
            (
                "https://iam.us-gov.amazonaws.com".into(),
                "us-gov-west-1".into()
            )
        );
        let efs = endpoint(&services::EFS, "us-east-2", None);
        assert_eq!(efs.0, "https://elasticfilesystem.us-east-2.amazonaws.com");
        let moto = endpoint(
            &services::GUARDDUTY,
            "us-east-1",
            Some("http://127.0.0.1:5000/"),
        );
        assert_eq!(moto, ("http://127.0.0.1:5000".into(), "us-east-1".into()));
    }

    #[test]
    fn requests_carry_a_sigv4_authorization() {
        let credentials = Credentials::new("AKID", "SECRET", Some("TOKEN".into()), None, "test");
        let outgoing = Outgoing::post("Action=GetRole&Version=2010-05-08".into());
        let request = signed(
            &services::IAM,
            "us-east-1",
            "https://iam.amazonaws.com/",
            &outgoing,
            credentials,
        )
        .unwrap();
        let authorization = request.headers().get("authorization").unwrap();
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKID/"),
            "{authorization}"
        );
        assert!(authorization.contains("/us-east-1/iam/aws4_request"));
        assert_eq!(request.headers().get("x-amz-security-token"), Some("TOKEN"));
        assert_eq!(request.headers().get("content-length"), Some("33"));
    }
}
