//! Seeding moto for the data-store tests with the operator's public wire API (any action of the
//! query, JSON and REST-JSON services, e.g. CreateRole, CreateDBInstance, CreateTable,
//! CreateLoadBalancer, CreateFileSystem, CreateTrail, CreateDetector) and aws-sdk-s3; and the
//! `Clients` the fetchers under test use, on moto directly or through the fault proxy.

use hipaa_operator::aws::clients::Clients;
use hipaa_operator::aws::wire::{Call, Service, Xml, XmlNode};
use hipaa_testkit::{Moto, moto};
use serde_json::Value;

use crate::aws_support::{FaultProxy, settings};

mod balancers;

pub use balancers::TLS_POLICY;

/// Clients on moto, or on `endpoint` (a proxy in front of it).
pub async fn clients(endpoint: Option<&str>) -> Clients {
    let mut config = moto().await.unwrap().sdk_config().await;
    if let Some(endpoint) = endpoint {
        config = config.into_builder().endpoint_url(endpoint).build();
    }
    Clients::from_config(settings(), config)
}

/// A fault proxy in front of moto and clients calling through it.
pub async fn proxied() -> (FaultProxy, Clients) {
    let proxy = FaultProxy::start(moto().await.unwrap().endpoint())
        .await
        .unwrap();
    let clients = clients(Some(&proxy.endpoint())).await;
    (proxy, clients)
}

/// Writes to moto through the wire client; every call must succeed.
pub struct DataSeed {
    pub clients: Clients,
    pub s3: aws_sdk_s3::Client,
}

impl DataSeed {
    pub async fn new() -> DataSeed {
        Self::on(moto().await.unwrap()).await
    }

    /// Seeds `moto` (a server of a test's own).
    pub async fn on(moto: &Moto) -> DataSeed {
        let config = moto.sdk_config().await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        DataSeed {
            clients: Clients::from_config(settings(), config),
            s3,
        }
    }

    fn call<'a>(service: &'a Service, operation: &'a str) -> Call<'a> {
        Call {
            service,
            operation,
            action: operation,
        }
    }

    /// A query-protocol call in `region`.
    pub async fn query(
        &self,
        region: &str,
        service: &Service,
        operation: &str,
        params: &[(&str, &str)],
    ) -> Xml {
        let wire = self.clients.wire(region).await;
        wire.query(Self::call(service, operation), params)
            .await
            .unwrap_or_else(|e| panic!("{operation}: {e}"))
    }

    /// The text of the first element `name` in a query call's answer.
    pub async fn query_text(
        &self,
        region: &str,
        service: &Service,
        operation: &str,
        params: &[(&str, &str)],
        name: &str,
    ) -> String {
        let answer = self.query(region, service, operation, params).await;
        let document = answer.document().unwrap();
        let root = document.root_element();
        root.find(name)
            .and_then(|n| n.text())
            .unwrap_or_else(|| panic!("no {name} in {}", answer.text()))
            .to_string()
    }

    /// A JSON 1.0/1.1 call in `region`.
    pub async fn json(
        &self,
        region: &str,
        service: &Service,
        operation: &str,
        input: Value,
    ) -> Value {
        let wire = self.clients.wire(region).await;
        wire.json(Self::call(service, operation), &input)
            .await
            .unwrap_or_else(|e| panic!("{operation}: {e}"))
    }

    /// A REST-JSON call in `region`.
    pub async fn rest(
        &self,
        region: &str,
        service: &Service,
        method: &str,
        path: &str,
        input: Value,
    ) -> Value {
        let wire = self.clients.wire(region).await;
        wire.rest(Self::call(service, path), method, path, Some(&input))
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }
}
