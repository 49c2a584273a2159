//! Benchmark of `kubectl hipaa scan`: generates a corpus of mixed objects, one file per object,
//! in a temporary directory, scans it through the same code path as the binary (`-o json` into
//! a sink), and prints objects per second and the process's peak RSS (VmHWM).
//!
//! Run on one core: `taskset -c 0 cargo bench -p kubectl-hipaa --bench scan_corpus`.
//! Optional arguments: `--objects N` (default 10000), `--runs N` (default 5), `--corpus-dir DIR`
//! (write the corpus there and keep it, to time the built binary on it).
//! Targets (docs/benchmarks.md): at least 20,000 objects/s, peak RSS at most 100 MiB.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;
use std::time::{Duration, Instant};

use clap::Parser;
use kubectl_hipaa::cli::Cli;
use kubectl_hipaa::{Exit, run};

/// The binary's allocator, so that the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TARGET_OBJECTS_PER_SECOND: f64 = 20_000.0;
const TARGET_PEAK_RSS_MIB: f64 = 100.0;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let number = |flag: &str, default: usize| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let objects = number("--objects", 10_000);
    let runs = number("--runs", 5).max(1);

    // `--corpus-dir DIR` keeps the corpus there, e.g. to time the built binary on it.
    let kept = args
        .iter()
        .position(|a| a == "--corpus-dir")
        .and_then(|i| args.get(i + 1));
    let temporary = tempfile::tempdir().unwrap();
    let dir_path = kept.map_or_else(|| temporary.path().to_path_buf(), std::path::PathBuf::from);
    std::fs::create_dir_all(&dir_path).unwrap();
    let started = Instant::now();
    generate(&dir_path, objects);
    println!(
        "generated {objects} objects, one file each, in {:.2?}",
        started.elapsed()
    );

    let cli = Cli::parse_from([
        "kubectl-hipaa",
        "scan",
        "-f",
        dir_path.to_str().unwrap(),
        "-o",
        "json",
    ]);
    let mut times = Vec::with_capacity(runs);
    let mut cpu_times = Vec::with_capacity(runs);
    for run_index in 0..runs {
        let mut sink = std::io::sink();
        let mut stdin: &[u8] = &[];
        let cpu_before = cpu_time();
        let started = Instant::now();
        let exit = run(&cli, &mut stdin, &mut sink).unwrap();
        let elapsed = started.elapsed();
        let cpu = cpu_time().saturating_sub(cpu_before);
        assert_eq!(
            exit,
            Exit::Failed,
            "the corpus holds violations, so the scan must fail"
        );
        println!(
            "run {}: {objects} objects in {:.3?} wall ({:.0} objects/s), {:.3?} on CPU ({:.0} objects/s)",
            run_index + 1,
            elapsed,
            rate(objects, elapsed),
            cpu,
            rate(objects, cpu)
        );
        times.push(elapsed);
        cpu_times.push(cpu);
    }
    times.sort();
    cpu_times.sort();
    let median = times[times.len() / 2];
    let median_cpu = cpu_times[cpu_times.len() / 2];
    let peak_mib = peak_rss_kib() as f64 / 1024.0;
    // The scan runs on one thread: its CPU time is the time one core needs, whatever else the
    // machine runs; wall time also counts waiting for a core shared with other work.
    let median_rate = rate(objects, median_cpu);
    println!("scan_corpus: objects={objects} runs={runs}");
    println!(
        "scan_corpus: median {:.0} objects/s per core (CPU time), {:.0} objects/s wall clock",
        median_rate,
        rate(objects, median)
    );
    println!("scan_corpus: peak RSS (VmHWM) {peak_mib:.1} MiB");
    println!(
        "scan_corpus: target >= {TARGET_OBJECTS_PER_SECOND:.0} objects/s: {}; peak RSS <= {TARGET_PEAK_RSS_MIB:.0} MiB: {}",
        verdict(median_rate >= TARGET_OBJECTS_PER_SECOND),
        verdict(peak_mib <= TARGET_PEAK_RSS_MIB)
    );
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

fn rate(objects: usize, elapsed: Duration) -> f64 {
    objects as f64 / elapsed.as_secs_f64()
}

/// CPU time of this (single-threaded) scan so far: /proc/self/schedstat's time on CPU.
fn cpu_time() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let nanos = text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(nanos)
}

/// VmHWM of this process, in KiB (0 where /proc is absent).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

/// Writes `count` objects, one per file, cycling through ten kinds that a real repository holds
/// (workloads, services, ingresses, storage, policies and kinds the scan skips), spread over
/// twenty namespaces (whose Namespace objects are part of the corpus).
fn generate(dir: &Path, count: usize) {
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
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  annotations:\n    service.beta.kubernetes.io/aws-load-balancer-ssl-cert: arn:aws:acm:us-east-1:123456789012:certificate/abc\nspec:\n  type: {kind}\n  selector:\n    app.kubernetes.io/name: {name}\n  ports:\n    - name: https\n      port: 443\n      targetPort: 8443\n"
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
