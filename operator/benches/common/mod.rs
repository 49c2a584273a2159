//! A synthetic cluster for the benchmarks: PHI namespaces, each with a NetworkPolicy and 100
//! workloads of every kind (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, bare Pods)
//! plus Services, Ingresses and PVCs, a share of them non-compliant in various ways.
#![allow(dead_code)]

pub mod writers;

use serde_json::{Value, json};

/// The label the benchmark's policy selects.
pub const BENCH_LABEL: &str = "bench.hipaaguard.io/run";

/// Workloads per namespace.
pub const WORKLOADS_PER_NAMESPACE: usize = 100;

/// A PHI namespace (half of them production).
pub fn namespace(name: &str, run: &str, index: usize) -> Value {
    let environment = if index.is_multiple_of(2) {
        "production"
    } else {
        "staging"
    };
    json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "labels": {
            "hipaaguard.io/phi": "true", "hipaaguard.io/environment": environment, BENCH_LABEL: run,
        }},
    })
}

/// The cluster-scoped objects every audit reads.
pub fn storage_classes() -> Vec<Value> {
    vec![
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "gp3-encrypted", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "ebs.csi.aws.com", "parameters": {"type": "gp3", "encrypted": "true"}}),
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "gp2-plain"}, "provisioner": "ebs.csi.aws.com", "parameters": {"type": "gp2"}}),
    ]
}

/// Everything namespaced in one namespace: a default-deny NetworkPolicy, 100 workloads,
/// 10 Services (2 LoadBalancers), 3 Ingresses and 10 PVCs.
pub fn namespace_contents(namespace: &str) -> Vec<Value> {
    let mut objects = vec![json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny", "namespace": namespace},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    })];
    objects.extend((0..WORKLOADS_PER_NAMESPACE).map(|i| workload(namespace, i)));
    objects.extend((0..10).map(|i| service(namespace, i)));
    objects.extend((0..3).map(|i| ingress(namespace, i)));
    objects.extend((0..10).map(|i| pvc(namespace, i)));
    objects
}

/// Workload `i` of a namespace: its kind follows the index (60 Deployments, 15 StatefulSets,
/// 10 DaemonSets, 5 Jobs, 5 CronJobs, 5 Pods per hundred).
pub fn workload(namespace: &str, i: usize) -> Value {
    let name = format!("app-{i:03}");
    let template = pod_template(&name, i);
    let selector = json!({"matchLabels": {"app": name}});
    let meta =
        json!({"name": name, "namespace": namespace, "labels": {"app": name, "team": "claims"}});
    match i {
        0..60 => json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"replicas": if i.is_multiple_of(5) { 1 } else { 3 }, "selector": selector, "template": template}}),
        60..75 => json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta,
            "spec": {"replicas": 3, "serviceName": name, "selector": selector, "template": template,
                "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": if i.is_multiple_of(4) { "gp2-plain" } else { "gp3-encrypted" },
                    "resources": {"requests": {"storage": "10Gi"}}}}]}}),
        75..85 => json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta,
            "spec": {"selector": selector, "template": template}}),
        85..90 => json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
            "spec": {"template": with_restart_policy(template)}}),
        90..95 => json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta,
            "spec": {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": with_restart_policy(template)}}}}),
        _ => {
            let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template["spec"].clone()});
            pod["metadata"]["annotations"] = template["metadata"]["annotations"].clone();
            pod
        }
    }
}

fn with_restart_policy(mut template: Value) -> Value {
    template["spec"]["restartPolicy"] = json!("OnFailure");
    template
}

/// A pod template of two containers; every 3rd lacks mesh TLS, every 7th pulls from Docker Hub,
/// every 11th is privileged, every 13th has a literal password in env.
fn pod_template(name: &str, i: usize) -> Value {
    let image = if i.is_multiple_of(7) {
        format!("docker.io/library/{name}:latest")
    } else {
        format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/claims/{name}:1.{i}.0")
    };
    let security = if i.is_multiple_of(11) {
        json!({"privileged": true})
    } else {
        json!({"allowPrivilegeEscalation": false})
    };
    let mut env = vec![
        json!({"name": "LOG_LEVEL", "value": "info"}),
        json!({"name": "DB_HOST", "value": "claims-db.internal"}),
        json!({"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}),
        json!({"name": "FEATURE_FLAGS", "value": "a,b,c"}),
    ];
    if i.is_multiple_of(13) {
        env.push(json!({"name": "API_TOKEN", "value": "not-a-real-token"}));
    }
    let annotations = if i.is_multiple_of(3) {
        json!({"prometheus.io/scrape": "true"})
    } else {
        json!({"linkerd.io/inject": "enabled", "prometheus.io/scrape": "true"})
    };
    json!({
        "metadata": {"labels": {"app": name, "team": "claims"}, "annotations": annotations},
        "spec": {
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": name}}}],
            "containers": [
                {"name": "app", "image": image, "securityContext": security, "env": env,
                 "ports": [{"containerPort": 8443, "name": "https"}],
                 "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                 "readinessProbe": {"httpGet": {"path": "/ready", "port": 8443, "scheme": "HTTPS"}},
                 "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}]},
                {"name": "sidecar", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/platform/log-shipper@sha256:0b3f1c4e5d6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e",
                 "securityContext": {"allowPrivilegeEscalation": false},
                 "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}}}
            ],
            "volumes": [{"name": "config", "configMap": {"name": format!("{name}-config")}}]
        }
    })
}

fn service(namespace: &str, i: usize) -> Value {
    let (kind, annotations) = if i < 2 {
        (
            "LoadBalancer",
            json!({
                "service.beta.kubernetes.io/aws-load-balancer-ssl-cert": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
                "service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06"
            }),
        )
    } else {
        ("ClusterIP", json!({}))
    };
    let mut service = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": format!("svc-{i:02}"), "namespace": namespace, "annotations": annotations},
        "spec": {"type": kind, "selector": {"app": format!("app-{i:03}")}, "ports": [{"port": 443, "targetPort": 8443}]}});
    if kind == "ClusterIP" {
        // Headless: the test control plane's service range (a /24) cannot hold 800 addresses.
        service["spec"]["clusterIP"] = json!("None");
    }
    service
}

fn ingress(namespace: &str, i: usize) -> Value {
    let host = format!("claims-{i}.example.com");
    let tls = if i == 0 {
        json!([])
    } else {
        json!([{"hosts": [host], "secretName": "tls"}])
    };
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": format!("web-{i}"), "namespace": namespace},
        "spec": {"tls": tls, "rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "svc-02", "port": {"number": 443}}}}]}}]}})
}

fn pvc(namespace: &str, i: usize) -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": format!("data-{i:02}"), "namespace": namespace},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": if i == 0 { "gp2-plain" } else { "gp3-encrypted" },
            "resources": {"requests": {"storage": "20Gi"}}}})
}

/// The benchmark's policy: every PHI namespace of this run.
pub fn policy(run: &str) -> Value {
    json!({"apiVersion": "hipaaguard.io/v1alpha1", "kind": "HipaaPolicy",
        "metadata": {"name": format!("bench-{run}"), "labels": {BENCH_LABEL: run}, "generation": 1},
        "spec": {"enforcement": "Enforce", "auditInterval": "10m",
            "namespaceSelector": {"matchLabels": {"hipaaguard.io/phi": "true", BENCH_LABEL: run}}}})
}

/// `VmHWM` and `VmRSS` of this process, in MiB.
pub fn memory_mib() -> (f64, f64) {
    memory_of("/proc/self/status")
}

/// `VmHWM` and `VmRSS` of a process's `/proc/<pid>/status`, in MiB.
pub fn memory_of(status_path: &str) -> (f64, f64) {
    let status = std::fs::read_to_string(status_path).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<f64>().ok())
            .map(|kib| kib / 1024.0)
            .unwrap_or(f64::NAN)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// The `q` quantile (0..=1) of sorted samples.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted
        .get(rank.min(sorted.len() - 1))
        .copied()
        .unwrap_or(f64::NAN)
}
