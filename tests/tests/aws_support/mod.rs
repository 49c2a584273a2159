//! Shared by the AWS tests: the operator's collector pointed at moto (directly or through the
//! fault-injecting proxy), policies and workloads to link, and the audit that turns a snapshot
//! into the policy's status, findings by control, and its summary.
#![allow(dead_code)]

pub mod eks_access;
pub mod json_protocols;
pub mod pod_identity;
pub mod protocols;
pub mod proxy;
pub mod seed;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hipaa_controls::aws::AwsSnapshot;
use hipaa_controls::context::ClusterContext;
use hipaa_controls::model::Outcome;
use hipaa_crds::{ControlResult, HipaaPolicy};
use hipaa_operator::aws::{AwsCollector, AwsRequest, CallSettings};
use hipaa_operator::decide::{Audit, AuditInput, audit};
use hipaa_operator::observe::{Cached, Observation};
use hipaa_testkit::moto;

pub use eks_access::{EksAccess, Entry};
pub use proxy::{FaultKind, FaultProxy};
pub use seed::{ACCOUNT, ClusterSpec, REGION, RepositorySpec, Seed, unique};

/// Attempts per call in the tests' collectors (the operator's default is 5).
pub const MAX_ATTEMPTS: u32 = 3;

/// Retries that back off quickly, so that throttling tests take milliseconds.
pub fn settings() -> CallSettings {
    CallSettings {
        concurrency: 6,
        max_attempts: MAX_ATTEMPTS,
        initial_backoff: Duration::from_millis(20),
        attempt_timeout: Duration::from_secs(20),
        call_timeout: Duration::from_secs(60),
    }
}

/// A collector calling AWS at `endpoint` (moto, or a proxy in front of it) with moto's
/// credentials.
pub async fn collector(endpoint: &str) -> AwsCollector {
    let config = moto()
        .await
        .unwrap()
        .sdk_config()
        .await
        .into_builder()
        .endpoint_url(endpoint)
        .build();
    AwsCollector::with_config(settings(), config)
}

/// A proxy in front of moto and a collector calling through it.
pub async fn proxied_collector() -> (FaultProxy, AwsCollector) {
    let proxy = FaultProxy::start(moto().await.unwrap().endpoint())
        .await
        .unwrap();
    let collector = collector(&proxy.endpoint()).await;
    (proxy, collector)
}

/// A policy at generation 1 with `aws` as its `spec.aws` (YAML flow mapping) and `controls`
/// as its `spec.controls` (YAML flow sequence, may be empty).
///
/// The account-wide safeguards and the roles' wildcard controls are disabled: these tests judge
/// EKS, ECR, Secrets Manager and KMS on the shared moto, whose account belongs to no test (issue
/// 19's are judged in `aws_data_cases`, on a moto of their own).
pub fn policy(aws: &str, controls: &str) -> HipaaPolicy {
    let given = controls
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim();
    let mut entries: Vec<String> = NOT_JUDGED_HERE
        .iter()
        .map(|id| format!("{{id: {id}, disabled: true}}"))
        .collect();
    if !given.is_empty() {
        entries.push(given.to_string());
    }
    policy_judging_all(aws, &format!("[{}]", entries.join(", ")))
}

/// A policy at generation 1 with `aws` as its `spec.aws` and `controls` as its `spec.controls`
/// (YAML flow mapping and sequence): every control applies unless `controls` disables it.
pub fn policy_judging_all(aws: &str, controls: &str) -> HipaaPolicy {
    let mut policy: HipaaPolicy = yaml_serde::from_str(&format!(
        "apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {{name: {}}}
spec:
  namespaceSelector: {{matchLabels: {{hipaaguard.io/phi: \"true\"}}}}
  auditInterval: 10m
  controls: {controls}
  aws: {aws}
",
        unique("policy")
    ))
    .unwrap();
    policy.metadata.generation = Some(1);
    policy
}

/// Controls [`policy`] disables.
const NOT_JUDGED_HERE: &[&str] = &[
    "HIPAA-AWS-CLOUDTRAIL",
    "HIPAA-AWS-LOG-RETENTION",
    "HIPAA-AWS-GUARDDUTY",
    "HIPAA-AWS-EBS-DEFAULT-ENCRYPTION",
    "HIPAA-IAM-DATA-WILDCARD-ACTION",
    "HIPAA-IAM-DATA-WILDCARD-RESOURCE",
];

/// A Deployment in `billing` running `image`.
pub fn deployment(name: &str, image: &str) -> Cached {
    let yaml = format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: billing}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: main, image: '{image}'}}]
"
    );
    let deployment: k8s_openapi::api::apps::v1::Deployment = yaml_serde::from_str(&yaml).unwrap();
    Cached::compact(&deployment).unwrap()
}

/// The image reference of `repository:tag` in moto's registry.
pub fn ecr_image(repository: &str, tag: &str) -> String {
    format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{repository}:{tag}")
}

/// What `policy` governs: the `billing` namespace's `objects`.
pub fn observation(objects: Vec<Cached>) -> Observation {
    Observation {
        scope: ["billing".to_string()].into(),
        objects,
        aws: Default::default(),
    }
}

/// The collector's snapshot for `policy` over `observation` at `now`.
pub async fn snapshot(
    collector: &AwsCollector,
    policy: &HipaaPolicy,
    observation: &Observation,
    now: DateTime<Utc>,
) -> Arc<AwsSnapshot> {
    collector
        .refresh(AwsRequest {
            policy,
            observation,
            now,
        })
        .await
        .expect("a policy with spec.aws gets a snapshot")
}

/// The audit of `policy` with `snapshot`, as the operator computes its status.
pub fn audited(
    policy: &HipaaPolicy,
    observation: &Observation,
    snapshot: &AwsSnapshot,
    now: DateTime<Utc>,
) -> Audit {
    audit(AuditInput {
        policy,
        context: &ClusterContext::new(),
        observation,
        aws: Some(snapshot),
        previous: None,
        now,
    })
}

/// Collects and audits in one step.
pub async fn collect_and_audit(
    collector: &AwsCollector,
    policy: &HipaaPolicy,
    observation: &Observation,
    now: DateTime<Utc>,
) -> Audit {
    let snapshot = snapshot(collector, policy, observation, now).await;
    audited(policy, observation, &snapshot, now)
}

/// The result of control `id` in the audit's status.
pub fn result(audit: &Audit, id: &str) -> ControlResult {
    let status = &audit.status;
    status
        .controls
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no control {id} in {status:#?}"))
        .result
}

/// The findings of control `id` (outcome and message), every resource included.
pub fn findings(audit: &Audit, id: &str) -> Vec<(Outcome, String)> {
    audit
        .evaluations
        .iter()
        .flat_map(|e| &e.evaluation.findings)
        .filter(|f| f.control.id == id)
        .map(|f| (f.outcome, f.message.clone()))
        .collect()
}

/// The messages of control `id`'s failures.
pub fn failures(audit: &Audit, id: &str) -> Vec<String> {
    findings(audit, id)
        .into_iter()
        .filter(|(outcome, _)| *outcome == Outcome::Fail)
        .map(|(_, message)| message)
        .collect()
}

/// The messages of control `id`'s errors.
pub fn errors(audit: &Audit, id: &str) -> Vec<String> {
    findings(audit, id)
        .into_iter()
        .filter(|(outcome, _)| *outcome == Outcome::Error)
        .map(|(_, message)| message)
        .collect()
}
