//! The size of one history record for a large cluster: 10,000 Deployments in 100 PHI production
//! namespaces (no NetworkPolicy, so every namespace fails too), each judged by the real engine in
//! audit mode, most of them failing several controls (privileged, an image from outside ECR, a
//! credential in the environment, no resource limits...). Prints the JSON and gzip sizes and the
//! time to build and compress; fails if the compressed record exceeds 1 MiB (issue 18).
//! Run: cargo bench -p hipaa-history --bench record_size
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use hipaa_controls::{ClusterContext, EffectivePolicy, Mode, Object, evaluate};
use hipaa_crds::{
    ComplianceSummary, ControlResult, ControlStatus, HipaaPolicySpec, HipaaPolicyStatus,
    ViolationStatus,
};
use hipaa_history::{
    ClusterIdentity, RecordInput, build_record, canonical::canonical_json, encode,
};
use serde_json::json;

const NAMESPACES: usize = 100;
const PER_NAMESPACE: usize = 100;
const LIMIT: usize = 1024 * 1024;

fn deployment(namespace: &str, index: usize) -> serde_json::Value {
    // Three in four fail several controls; the rest only their namespace's.
    let bad = !index.is_multiple_of(4);
    let image = if bad {
        format!("docker.io/acme/service-{index}:latest")
    } else {
        format!(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/{namespace}/service-{index}:1.4.{index}"
        )
    };
    let security = if bad {
        json!({"privileged": true})
    } else {
        json!({"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true})
    };
    let env = if bad {
        json!([{"name": "DB_PASSWORD", "value": "hunter2-not-a-real-password"}])
    } else {
        json!([])
    };
    let name = format!("service-{index}");
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image, "securityContext": security, "env": env}]}
            }
        }
    })
}

fn main() {
    let now = Utc::now();
    let policy = EffectivePolicy::defaults();
    let mut context = ClusterContext::new();
    let namespaces: Vec<String> = (0..NAMESPACES).map(|i| format!("team-{i:03}")).collect();
    for name in &namespaces {
        let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name,
            "labels": {"hipaaguard.io/phi": "true", "hipaaguard.io/environment": "production",
                       "kubernetes.io/metadata.name": name}}});
        context.insert_namespace(Arc::new(serde_json::from_value(namespace).unwrap()));
    }
    let mut violations: Vec<ViolationStatus> = Vec::new();
    for namespace in &namespaces {
        for index in 0..PER_NAMESPACE {
            let object = Object::from_value(deployment(namespace, index), None).unwrap();
            let evaluation = evaluate(&object, &context, &policy, Mode::Audit, now);
            violations.extend(
                evaluation
                    .findings
                    .iter()
                    .filter(|f| f.is_violation())
                    .map(ViolationStatus::from),
            );
        }
    }
    let controls = hipaa_controls::catalog()
        .iter()
        .map(|control| {
            let failing = violations
                .iter()
                .filter(|v| v.control == control.id)
                .count() as u32;
            ControlStatus {
                id: control.id.to_string(),
                sections: control.sections.iter().map(|s| s.to_string()).collect(),
                severity: control.severity.as_str().to_string(),
                result: if failing > 0 {
                    ControlResult::Fail
                } else {
                    ControlResult::Pass
                },
                violations: failing,
                message: None,
            }
        })
        .collect();
    let status = HipaaPolicyStatus {
        summary: Some(ComplianceSummary {
            resources_evaluated: (NAMESPACES * PER_NAMESPACE) as u32,
            violations: violations.len() as u32,
            ..Default::default()
        }),
        controls,
        ..Default::default()
    };
    let spec: HipaaPolicySpec = serde_json::from_value(json!({
        "namespaceSelector": {"matchLabels": {"hipaaguard.io/phi": "true"}},
    }))
    .unwrap();
    let count = violations.len();
    let started = Instant::now();
    let record = build_record(RecordInput {
        cluster: &ClusterIdentity {
            name: "prod-east".into(),
            uid: "9f3c1d5e-4a7b-4c2d-8e1f-0a1b2c3d4e5f".into(),
        },
        policy: "production-phi",
        spec: &spec,
        status: &status,
        violations,
        aws: None,
        time: now,
        tip: None,
    })
    .unwrap();
    let compressed = encode(&record).unwrap();
    let elapsed = started.elapsed();
    let json_bytes = canonical_json(&record).unwrap().len();
    println!(
        "record of {} workloads in {NAMESPACES} namespaces, {count} violations: {json_bytes} bytes of JSON, {} bytes gzipped ({:.1} KiB, {:.1}% of the 1 MiB limit), built and compressed in {elapsed:.2?}",
        NAMESPACES * PER_NAMESPACE,
        compressed.len(),
        compressed.len() as f64 / 1024.0,
        compressed.len() as f64 * 100.0 / LIMIT as f64,
    );
    assert!(
        count >= NAMESPACES * PER_NAMESPACE,
        "the cluster should fail broadly: {count} violations"
    );
    assert!(
        compressed.len() <= LIMIT,
        "the record is {} bytes compressed, over 1 MiB",
        compressed.len()
    );
}
