//! The admission hot path: one ~5 KB Deployment against the full catalog with 100 NetworkPolicies
//! in its namespace (the matching default-deny last, so every selector is tried). The target is
//! at most 20 µs per evaluation on one core; docs/benchmarks.md records the figures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use hipaa_controls::{ClusterContext, EffectivePolicy, Mode, Object, evaluate};
use serde_json::{Value, json};

const DEPLOYMENT: &str = include_str!("deployment-5k.yaml");

fn network_policy(name: &str, namespace: &str, pod_selector: Value) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "podSelector": pod_selector,
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}}],
                         "ports": [{"port": 8443, "protocol": "TCP"}]}],
            "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
                        "ports": [{"port": 53, "protocol": "UDP"}]}]
        }
    })
}

/// 99 policies for other pods (label and expression selectors), then a default-deny.
fn context(with_default_deny: bool) -> ClusterContext {
    let mut ctx = ClusterContext::new();
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "billing",
        "labels": {"hipaaguard.io/phi": "true", "hipaaguard.io/environment": "production",
                   "kubernetes.io/metadata.name": "billing"}}});
    ctx.insert_namespace(Arc::new(serde_json::from_value(namespace).unwrap()));
    for i in 0..99 {
        let selector = if i % 3 == 0 {
            json!({"matchExpressions": [
                {"key": "app.kubernetes.io/name", "operator": "In", "values": [format!("svc-{i}"), format!("svc-{i}-worker")]},
                {"key": "tier", "operator": "Exists"}]})
        } else {
            json!({"matchLabels": {"app.kubernetes.io/name": format!("svc-{i}"), "tier": "backend"}})
        };
        let np = network_policy(&format!("svc-{i}"), "billing", selector);
        ctx.insert_network_policy(Arc::new(serde_json::from_value(np).unwrap()));
    }
    let last = if with_default_deny {
        network_policy("default-deny", "billing", json!({}))
    } else {
        network_policy(
            "svc-99",
            "billing",
            json!({"matchLabels": {"app.kubernetes.io/name": "svc-99"}}),
        )
    };
    ctx.insert_network_policy(Arc::new(serde_json::from_value(last).unwrap()));
    let class = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "gp3-encrypted", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "ebs.csi.aws.com", "parameters": {"type": "gp3", "encrypted": "true"}});
    ctx.insert_storage_class(Arc::new(serde_json::from_value(class).unwrap()));
    let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "claims-api-cache", "namespace": "billing"},
        "spec": {"storageClassName": "gp3-encrypted"}});
    ctx.insert_pvc(Arc::new(serde_json::from_value(pvc).unwrap()));
    ctx
}

fn bench(c: &mut Criterion) {
    let value: Value = yaml_serde::from_str(DEPLOYMENT).unwrap();
    let object = Object::from_value(value.clone(), None).unwrap();
    let policy = EffectivePolicy::defaults();
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();

    let passing = context(true);
    let eval = evaluate(&object, &passing, &policy, Mode::Admission, now);
    assert!(
        eval.findings.is_empty(),
        "the benchmark Deployment should pass: {:?}",
        eval.findings
    );
    // TLS-WORKLOAD, NETPOL, VOLUME-ENCRYPTION, SECRETS-IN-ENV, PRIVILEGED, IMAGE-REGISTRY, HA;
    // DEV-PHI does not apply in production, BACKUP is audit-only, the rest target other kinds.
    assert_eq!(
        eval.checked.len(),
        7,
        "every control that applies to this Deployment ran"
    );
    c.bench_function("evaluate/deployment-5k/100-netpols/pass", |b| {
        b.iter(|| {
            evaluate(
                black_box(&object),
                black_box(&passing),
                &policy,
                Mode::Admission,
                now,
            )
        })
    });

    let failing = context(false);
    let eval = evaluate(&object, &failing, &policy, Mode::Admission, now);
    assert_eq!(
        eval.findings.len(),
        1,
        "only HIPAA-K8S-NETPOL fails: {:?}",
        eval.findings
    );
    c.bench_function("evaluate/deployment-5k/100-netpols/netpol-fails", |b| {
        b.iter(|| {
            evaluate(
                black_box(&object),
                black_box(&failing),
                &policy,
                Mode::Admission,
                now,
            )
        })
    });

    c.bench_function("object/from_value/deployment-5k", |b| {
        b.iter(|| Object::from_value(black_box(value.clone()), None).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
