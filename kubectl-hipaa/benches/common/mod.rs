//! What the scan benches share: the generated corpus of mixed objects, and the peak RSS of a
//! child process.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::Child;
use std::time::Duration;

/// Waits for `child`, sampling its VmHWM (the kernel's high-water mark of its resident set) every
/// 2 ms; returns the last sample in KiB. The mark only rises, so the last sample misses at most
/// the growth of the child's last 2 ms (it exits right after writing its output).
pub fn wait_sampling_peak_rss(child: &mut Child) -> (std::process::ExitStatus, u64) {
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    loop {
        if let Some(kib) = std::fs::read_to_string(&status_path)
            .ok()
            .and_then(|status| vm_hwm_kib(&status))
        {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (status, peak_kib);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The `VmHWM:` line of a /proc status file, in KiB.
pub fn vm_hwm_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

/// Writes `count` objects, one per file, cycling through ten kinds that a real repository holds
/// (workloads, services, ingresses, storage, policies and kinds the scan skips), spread over
/// twenty namespaces (whose Namespace objects are part of the corpus).
pub fn generate(dir: &Path, count: usize) {
    for index in 0..count {
        let namespace = format!("team-{}", index % 20);
        let name = format!("app-{index}");
        let text = match index % 10 {
            _ if index < 20 => namespace_yaml(index),
            0 | 5 => deployment(&namespace, &name, index),
            1 => service(&namespace, &name, index),
            2 => config_map(&namespace, &name),
            3 => network_policy(&namespace, &name),
            4 => stateful_set(&namespace, &name),
            6 => ingress(&namespace, &name),
            7 => pvc(&namespace, &name),
            8 => cron_job(&namespace, &name),
            _ => service_account(&namespace, &name),
        };
        std::fs::write(dir.join(format!("{index:05}-{name}.yaml")), text).unwrap();
    }
}

fn namespace_yaml(index: usize) -> String {
    let environment = if index.is_multiple_of(2) {
        "production"
    } else {
        "development"
    };
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-{index}\n  labels:\n    hipaaguard.io/phi: \"true\"\n    hipaaguard.io/environment: {environment}\n"
    )
}

fn deployment(namespace: &str, name: &str, index: usize) -> String {
    let image = if index.is_multiple_of(3) {
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/payments/api:1.4.2".to_string()
    } else {
        "nginx:latest".to_string()
    };
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {namespace}
  labels:
    app.kubernetes.io/name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {name}
      annotations:
        linkerd.io/inject: enabled
    spec:
      securityContext:
        runAsNonRoot: true
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: DoNotSchedule
          labelSelector:
            matchLabels:
              app.kubernetes.io/name: {name}
      containers:
        - name: api
          image: {image}
          ports:
            - containerPort: 8443
          env:
            - name: LOG_LEVEL
              value: info
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: {name}-db
                  key: password
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
"#,
        replicas = 1 + index % 3
    )
}

fn service(namespace: &str, name: &str, index: usize) -> String {
    let kind = if index % 4 == 1 {
        "LoadBalancer"
    } else {
        "ClusterIP"
    };
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  annotations:\n    service.beta.kubernetes.io/aws-load-balancer-ssl-cert: arn:aws:acm:us-east-1:123456789012:certificate/abc\n    service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy: ELBSecurityPolicy-TLS13-1-2-2021-06\nspec:\n  type: {kind}\n  selector:\n    app.kubernetes.io/name: {name}\n  ports:\n    - name: https\n      port: 443\n      targetPort: 8443\n"
    )
}

fn config_map(namespace: &str, name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {namespace}\ndata:\n  settings.yaml: |\n    feature: on\n    retries: 3\n"
    )
}

fn network_policy(namespace: &str, name: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}-default-deny\n  namespace: {namespace}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress, Egress]\n"
    )
}

fn stateful_set(namespace: &str, name: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {name}
  namespace: {namespace}
spec:
  replicas: 3
  serviceName: {name}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
        - name: db
          image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/db/postgres@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
          volumeMounts:
            - {{name: data, mountPath: /var/lib/postgresql}}
  volumeClaimTemplates:
    - metadata: {{name: data}}
      spec:
        accessModes: [ReadWriteOnce]
        storageClassName: gp3-encrypted
        resources: {{requests: {{storage: 10Gi}}}}
"#
    )
}

fn ingress(namespace: &str, name: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n  tls:\n    - hosts: [{name}.example.com]\n      secretName: {name}-tls\n  rules:\n    - host: {name}.example.com\n      http:\n        paths:\n          - path: /\n            pathType: Prefix\n            backend:\n              service:\n                name: {name}\n                port: {{number: 443}}\n"
    )
}

fn pvc(namespace: &str, name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n  accessModes: [ReadWriteOnce]\n  storageClassName: gp3-encrypted\n  resources:\n    requests:\n      storage: 5Gi\n"
    )
}

fn cron_job(namespace: &str, name: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n  schedule: \"0 3 * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n          containers:\n            - name: report\n              image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/jobs/report:2.0.1\n              env:\n                - name: API_TOKEN\n                  value: not-a-real-token\n"
    )
}

fn service_account(namespace: &str, name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
    )
}
