//! What the reconcile's scenario tests run against: a mocked API server (tower-test's
//! `mock::pair` behind a real `kube::Client`) that answers every request a reconcile makes and
//! records it, a small cluster in real watch-cache stores, and the controller's context wired
//! to both. No cluster, no network: one reconcile step at a time, on the test's own runtime.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hipaa_crds::{HipaaPolicy, HipaaPolicyStatus};
use http::{Method, Request, Response, StatusCode};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::client::Body;
use kube::runtime::controller::Action;
use kube::runtime::events::Reporter;
use kube::runtime::reflector::{self, store::Writer};
use kube::runtime::watcher::Event;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tower_test::mock;

use super::{ReconcileError, reconcile};
use crate::aws::NoAws;
use crate::context::{Context, ControllerSettings};
use crate::metrics::Metrics;
use crate::observe::judged::CompactWriters;
use crate::observe::rbac::RbacCaches;
use crate::observe::stores::Stores;
use crate::write::events::EventSink;

/// How the API server answers a status write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusReply {
    /// Applied.
    Apply,
    /// 404: the policy was deleted meanwhile.
    NotFound,
    /// 500: the API server failed (etcd timed out).
    ServerError,
}

/// One request the API server received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub body: Value,
}

impl Seen {
    pub fn is_status_write(&self) -> bool {
        self.path
            .starts_with("/apis/hipaaguard.io/v1alpha1/hipaapolicies/")
            && self.path.ends_with("/status")
    }

    pub fn is_event(&self) -> bool {
        self.path.starts_with("/apis/events.k8s.io/v1/namespaces/")
    }

    /// One line for failure messages: the method, the path and an Event's reason.
    pub fn line(&self) -> String {
        let reason = self.body["reason"].as_str().unwrap_or_default();
        format!("{} {} {reason}", self.method, self.path)
    }

    /// The status a status write sent.
    pub fn status(&self) -> HipaaPolicyStatus {
        serde_json::from_value(self.body["status"].clone()).unwrap()
    }

    /// A violation Event as (kind, name, control) of the offending object.
    pub fn violation(&self) -> Option<(String, String, String)> {
        (self.is_event() && self.body["reason"] == "HipaaViolation").then(|| {
            let text = |value: &Value| value.as_str().unwrap_or_default().to_string();
            (
                text(&self.body["regarding"]["kind"]),
                text(&self.body["regarding"]["name"]),
                text(&self.body["action"]),
            )
        })
    }
}

/// The mocked API server: answers on a task of its own and records every request before
/// answering it, so that the record is complete when the reconcile returns.
pub struct ApiServer {
    seen: Arc<Mutex<Vec<Seen>>>,
    reply: Arc<Mutex<StatusReply>>,
    task: JoinHandle<()>,
}

impl ApiServer {
    /// A client talking to a new API server.
    fn start() -> (Client, ApiServer) {
        let (service, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let reply = Arc::new(Mutex::new(StatusReply::Apply));
        let (log, replies) = (seen.clone(), reply.clone());
        let task = tokio::spawn(async move {
            while let Some((request, respond)) = handle.next_request().await {
                let (parts, body) = request.into_parts();
                let bytes = body.collect_bytes().await.unwrap_or_default();
                let seen = Seen {
                    method: parts.method,
                    path: parts.uri.path().to_string(),
                    query: parts.uri.query().unwrap_or_default().to_string(),
                    body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                };
                let reply = *replies.lock().unwrap();
                let response = answer(&seen, reply, bytes.to_vec());
                log.lock().unwrap().push(seen);
                respond.send_response(response);
            }
        });
        (
            Client::new(service, "default"),
            ApiServer { seen, reply, task },
        )
    }

    /// How status writes are answered from now on.
    pub fn reply_to_status_writes(&self, reply: StatusReply) {
        *self.reply.lock().unwrap() = reply;
    }

    /// The requests received since the last call.
    pub fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the API server says: status writes as told, Events created (echoed back), anything
/// else not found (and recorded, for the test to see).
fn answer(seen: &Seen, reply: StatusReply, body: Vec<u8>) -> Response<Body> {
    let json = |code: StatusCode, value: Value| {
        Response::builder()
            .status(code)
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_vec(&value).unwrap()))
            .unwrap()
    };
    let failure = |code: StatusCode, reason: &str, message: &str| {
        json(
            code,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "reason": reason, "message": message, "code": code.as_u16()}),
        )
    };
    if seen.is_status_write() {
        let name = seen.path.split('/').nth_back(1).unwrap_or_default();
        return match reply {
            StatusReply::Apply => json(
                StatusCode::OK,
                json!({"apiVersion": "hipaaguard.io/v1alpha1", "kind": "HipaaPolicy",
                    "metadata": {"name": name}, "spec": {"namespaceSelector": {}},
                    "status": seen.body["status"]}),
            ),
            StatusReply::NotFound => failure(
                StatusCode::NOT_FOUND,
                "NotFound",
                &format!("hipaapolicies.hipaaguard.io \"{name}\" not found"),
            ),
            StatusReply::ServerError => failure(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "etcdserver: request timed out",
            ),
        };
    }
    if seen.is_event() && (seen.method == Method::POST || seen.method == Method::PATCH) {
        let code = if seen.method == Method::POST {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        return Response::builder()
            .status(code)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
    }
    failure(
        StatusCode::NOT_FOUND,
        "NotFound",
        "not served by the mocked API server",
    )
}

/// The watch caches the audit reads, with writers for the kinds the scenarios change.
pub struct Cluster {
    namespaces: Writer<Namespace>,
    network_policies: Writer<NetworkPolicy>,
    judged: CompactWriters,
}

impl Cluster {
    fn new() -> Self {
        Cluster {
            namespaces: reflector::store().1,
            network_policies: reflector::store().1,
            judged: CompactWriters::default(),
        }
    }

    /// Adds or replaces an object, as a watch event would.
    pub fn apply(&mut self, value: Value) {
        match value["kind"].as_str().unwrap() {
            "Namespace" => self
                .namespaces
                .apply_watcher_event(&Event::Apply(serde_json::from_value(value).unwrap())),
            "NetworkPolicy" => self
                .network_policies
                .apply_watcher_event(&Event::Apply(serde_json::from_value(value).unwrap())),
            _ => self.judged.apply(value, false).unwrap(),
        }
    }

    fn stores(&self) -> Stores {
        Stores {
            namespaces: self.namespaces.as_reader(),
            judged: self.judged.readers(),
            pvcs: reflector::store().0,
            network_policies: self.network_policies.as_reader(),
            storage_classes: reflector::store().0,
            autoscalers: reflector::store().0,
            backup_schedules: Arc::default(),
            rbac: RbacCaches::detached(
                reflector::store().0,
                reflector::store().0,
                reflector::store().0,
                reflector::store().0,
                reflector::store().0,
            ),
        }
    }
}

/// One PHI namespace with a default-deny NetworkPolicy and one offending Deployment, the
/// controller's context on a mocked API server, and the term's policy cache.
pub struct Harness {
    pub ctx: Arc<Context>,
    pub api: ApiServer,
    pub cluster: Cluster,
    policies: Writer<HipaaPolicy>,
}

impl Harness {
    /// Must run inside the test's runtime (the client's buffer and the API server are tasks).
    pub fn start() -> Self {
        let (client, api) = ApiServer::start();
        let mut cluster = Cluster::new();
        cluster.apply(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": "billing", "uid": "00000000-0000-0000-0000-000000000001",
            "labels": {"hipaaguard.io/phi": "true", "hipaaguard.io/environment": "production"}}}),
        );
        cluster.apply(
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny", "namespace": "billing"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
        );
        cluster.apply(offending_deployment("worker"));
        let metrics = Arc::new(Metrics::new());
        let reporter = Reporter {
            controller: "hipaa-operator".to_string(),
            instance: Some("test".to_string()),
        };
        // A bucket larger than any scenario: the rate limit is not what these tests look at.
        let limits = crate::decide::event_budget::BudgetLimits {
            violation_burst: 1000,
            violation_rate: 100.0,
            repeat_burst: 1000,
            repeat_interval: std::time::Duration::from_secs(1),
        };
        let events = EventSink::new(client.clone(), reporter, limits, metrics.clone());
        let settings = ControllerSettings {
            debounce: Duration::ZERO,
            concurrency: 1,
            policy_selector: None,
        };
        let context = Context::new(
            client,
            cluster.stores(),
            metrics,
            Arc::new(events),
            Arc::new(NoAws),
            broadcast::channel(16).0,
            settings,
        );
        let (policies_read, policies) = reflector::store();
        Harness {
            ctx: Arc::new(context.for_term(policies_read)),
            api,
            cluster,
            policies,
        }
    }

    /// A policy named `name` governing the PHI namespaces, in the term's policy cache.
    pub fn policy(&mut self, name: &str) -> HipaaPolicy {
        let policy: HipaaPolicy = serde_json::from_value(json!({
            "apiVersion": "hipaaguard.io/v1alpha1", "kind": "HipaaPolicy",
            "metadata": {"name": name, "generation": 1,
                "uid": format!("uid-of-policy-{name}")},
            "spec": {"enforcement": "Enforce", "auditInterval": "10m",
                "namespaceSelector": {"matchLabels": {"hipaaguard.io/phi": "true"}}},
        }))
        .unwrap();
        self.cache_policy(&policy);
        policy
    }

    /// Puts `policy` in the term's policy cache, as its watch would.
    pub fn cache_policy(&mut self, policy: &HipaaPolicy) {
        self.policies
            .apply_watcher_event(&Event::Apply(policy.clone()));
    }

    /// A new leadership term: the same caches and metrics, nothing remembered.
    pub fn new_term(&mut self) {
        self.ctx = Arc::new(self.ctx.for_term(self.policies.as_reader()));
    }

    /// One reconcile, as the controller runs it.
    pub async fn reconcile(&self, policy: &HipaaPolicy) -> Result<Action, ReconcileError> {
        let run = reconcile(Arc::new(policy.clone()), self.ctx.clone());
        tokio::time::timeout(Duration::from_secs(30), run)
            .await
            .unwrap_or_else(|_| panic!("reconciling {} did not finish", policy.name_any()))
    }

    /// How many failures of `policy` with `error` the metrics count.
    pub fn counted_errors(&self, policy: &str, error: &str) -> u64 {
        let text = self.ctx.metrics.encode().unwrap();
        let (policy, error) = (format!("\"{policy}\""), format!("\"{error}\""));
        text.lines()
            .filter(|line| !line.starts_with('#') && line.contains("reconcile_error"))
            .filter(|line| line.contains(&policy) && line.contains(&error))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }
}

/// A Deployment in `billing` that fails several controls: privileged, a mutable image tag from
/// outside ECR, a password in its environment.
pub fn offending_deployment(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "billing",
            "uid": format!("uid-of-deployment-{name}")},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "docker.io/library/busybox:latest",
                    "securityContext": {"privileged": true},
                    "env": [{"name": "DB_PASSWORD", "value": "hunter2"}]}]}}}})
}
