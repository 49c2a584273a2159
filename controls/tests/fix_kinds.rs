//! The fix engine per kind of fix: an object (YAML) in, the exact JSON patch and objects to
//! create out, at the right path for each kind (Pod, workload templates, CronJob's job template),
//! and no fix where none is safe.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use hipaa_controls::fix::{Fix, FixOptions, Mesh, propose};
use hipaa_controls::{ClusterContext, EffectivePolicy, Object, Outcome};
use serde_json::{Value, json};

const PRODUCTION: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: {hipaaguard.io/environment: production, hipaaguard.io/phi: \"true\"}\n";

/// The fixes for the failures of `control` on the first document of `yaml`, the rest its context.
fn fixes(yaml: &str, control: &str, options: &FixOptions) -> Vec<Fix> {
    let docs = common::documents(yaml);
    let object = Object::from_value(docs[0].clone(), Some("shop")).unwrap();
    let mut ctx = ClusterContext::new();
    for doc in &docs[1..] {
        common::add_to_context(&mut ctx, doc);
    }
    let policy = common::every_control();
    let eval = hipaa_controls::evaluate(
        &object,
        &ctx,
        &policy,
        hipaa_controls::Mode::Audit,
        common::now(),
    );
    eval.findings
        .iter()
        .filter(|f| f.control.id == control && f.outcome == Outcome::Fail)
        .filter_map(|f| propose(&object, f, &ctx, &policy, options))
        .collect()
}

fn one(yaml: &str, control: &str) -> Fix {
    let mut all = fixes(yaml, control, &FixOptions::default());
    assert_eq!(all.len(), 1, "{control}: {all:?}");
    all.remove(0)
}

fn patch(fix: &Fix) -> Value {
    serde_json::to_value(&fix.patch).unwrap()
}

#[test]
fn security_context_fields_land_in_a_cron_jobs_job_template() {
    let yaml = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly, namespace: shop}\nspec:\n  schedule: '0 1 * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          hostIPC: true\n          initContainers: [{name: init, image: i}]\n          containers:\n          - name: run\n            image: r\n            securityContext: {privileged: true, runAsNonRoot: false}\n";
    let fix = one(yaml, "HIPAA-K8S-PRIVILEGED");
    let base = "/spec/jobTemplate/spec/template/spec";
    assert_eq!(
        patch(&fix),
        json!([
            {"op": "replace", "path": format!("{base}/hostIPC"), "value": false},
            {"op": "add", "path": format!("{base}/initContainers/0/securityContext"), "value": {"allowPrivilegeEscalation": false, "runAsNonRoot": true}},
            {"op": "replace", "path": format!("{base}/containers/0/securityContext/privileged"), "value": false},
            {"op": "add", "path": format!("{base}/containers/0/securityContext/allowPrivilegeEscalation"), "value": false},
            {"op": "replace", "path": format!("{base}/containers/0/securityContext/runAsNonRoot"), "value": true},
        ])
    );
    assert!(fix.is_complete());
}

#[test]
fn an_explicit_root_user_is_left_to_a_human() {
    let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  securityContext: {runAsUser: 0}\n  containers: [{name: c, image: i, securityContext: {allowPrivilegeEscalation: false}}]\n";
    let all = fixes(yaml, "HIPAA-K8S-PRIVILEGED", &FixOptions::default());
    // Nothing to change but the user, which is not ours to choose: no fix at all.
    assert!(all.is_empty(), "{all:?}");
}

#[test]
fn replicas_rise_to_the_minimum_and_a_zone_spread_uses_the_template_labels() {
    let yaml = format!(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: db, namespace: shop}}\nspec:\n  selector: {{matchLabels: {{app: db}}}}\n  template:\n    metadata: {{labels: {{app: db}}}}\n    spec:\n      topologySpreadConstraints: [{{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule}}]\n      containers: [{{name: c, image: i}}]\n---\n{PRODUCTION}"
    );
    let fix = one(&yaml, "HIPAA-K8S-HA");
    assert_eq!(
        patch(&fix),
        json!([
            {"op": "add", "path": "/spec/replicas", "value": 2},
            {"op": "add", "path": "/spec/template/spec/topologySpreadConstraints/-", "value": {
                "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": {"app": "db"}}}},
        ])
    );
}

#[test]
fn an_autoscaled_workload_keeps_its_replica_count_and_says_so() {
    let yaml = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: shop}}\nspec:\n  replicas: 1\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec: {{containers: [{{name: c, image: i}}]}}\n---\n{PRODUCTION}---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: web, namespace: shop}}\nspec:\n  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: web}}\n  minReplicas: 1\n  maxReplicas: 4\n"
    );
    let fix = one(&yaml, "HIPAA-K8S-HA");
    assert!(
        !patch(&fix).to_string().contains("/spec/replicas"),
        "{fix:?}"
    );
    assert!(!fix.is_complete());
    assert!(
        fix.unfixed[0].contains("HorizontalPodAutoscaler web"),
        "{fix:?}"
    );
}

#[test]
fn ingress_hosts_get_tls_and_plain_http_is_closed() {
    let yaml = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: portal\n  namespace: shop\n  annotations: {kubernetes.io/ingress.allow-http: \"true\"}\nspec:\n  tls: [{hosts: [a.example.com], secretName: a}]\n  rules: [{host: a.example.com}, {host: b.example.com}, {host: b.example.com}]\n";
    let fix = one(yaml, "HIPAA-K8S-TLS-INGRESS");
    assert_eq!(
        patch(&fix),
        json!([
            {"op": "add", "path": "/spec/tls/-", "value": {"hosts": ["b.example.com"], "secretName": "portal-tls"}},
            {"op": "replace", "path": "/metadata/annotations/kubernetes.io~1ingress.allow-http", "value": "false"},
        ])
    );
}

#[test]
fn an_alb_listening_on_http_gets_the_redirect_annotation() {
    let yaml = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: alb\n  namespace: shop\n  annotations:\n    alb.ingress.kubernetes.io/certificate-arn: arn:aws:acm:us-east-1:123456789012:certificate/x\n    alb.ingress.kubernetes.io/listen-ports: '[{\"HTTP\": 80}, {\"HTTPS\": 443}]'\nspec:\n  ingressClassName: alb\n";
    let fix = one(yaml, "HIPAA-K8S-TLS-INGRESS");
    assert_eq!(
        patch(&fix),
        json!([{"op": "add", "path": "/metadata/annotations/alb.ingress.kubernetes.io~1ssl-redirect", "value": "443"}])
    );
}

#[test]
fn a_namespace_without_network_policies_gets_a_default_deny() {
    let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: i}]}\n";
    let fix = one(yaml, "HIPAA-K8S-NETPOL");
    assert!(fix.patch.is_empty());
    assert_eq!(
        fix.create,
        [
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny", "namespace": "shop"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
        ]
    );
    // A namespace with policies of its own keeps its design.
    let with_policy = format!(
        "{yaml}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: other, namespace: shop}}\nspec: {{podSelector: {{matchLabels: {{app: other}}}}}}\n"
    );
    assert!(fixes(&with_policy, "HIPAA-K8S-NETPOL", &FixOptions::default()).is_empty());
}

#[test]
fn mesh_injection_follows_the_chosen_mesh_and_respects_an_opt_out() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec: {containers: [{name: c, image: i}]}\n";
    let yaml = format!("{pod}---\n{PRODUCTION}");
    let istio = one(&yaml, "HIPAA-K8S-TLS-WORKLOAD");
    assert_eq!(
        patch(&istio),
        json!([{"op": "add", "path": "/metadata/labels", "value": {"sidecar.istio.io/inject": "true"}}])
    );
    let linkerd = fixes(
        &yaml,
        "HIPAA-K8S-TLS-WORKLOAD",
        &FixOptions {
            mesh: Mesh::Linkerd,
        },
    );
    assert_eq!(
        patch(&linkerd[0]),
        json!([{"op": "add", "path": "/metadata/annotations", "value": {"linkerd.io/inject": "enabled"}}])
    );
    let job = format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: j, namespace: shop}}\nspec:\n  template:\n    spec: {{containers: [{{name: c, image: i}}]}}\n---\n{PRODUCTION}"
    );
    assert_eq!(
        patch(&one(&job, "HIPAA-K8S-TLS-WORKLOAD")),
        json!([{"op": "add", "path": "/spec/template/metadata", "value": {"labels": {"sidecar.istio.io/inject": "true"}}}])
    );
    let opted_out = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: shop, annotations: {{linkerd.io/inject: disabled}}}}\nspec: {{containers: [{{name: c, image: i}}]}}\n---\n{PRODUCTION}"
    );
    assert!(fixes(&opted_out, "HIPAA-K8S-TLS-WORKLOAD", &FixOptions::default()).is_empty());
}

#[test]
fn a_literal_credential_moves_to_a_secret_key_ref_and_the_skeleton_never_holds_it() {
    let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\nspec:\n  template:\n    spec:\n      initContainers: [{name: init, image: i, env: [{name: DB_PASSWORD, value: hunter2}]}]\n      containers: [{name: app, image: i, env: [{name: LOG_LEVEL, value: info}, {name: DB_PASSWORD, value: other-secret}]}]\n";
    let fix = one(yaml, "HIPAA-K8S-SECRETS-IN-ENV");
    let reference = |key: &str| json!({"secretKeyRef": {"name": "api-credentials", "key": key}});
    assert_eq!(
        patch(&fix),
        json!([
            {"op": "add", "path": "/spec/template/spec/initContainers/0/env/0/valueFrom", "value": reference("DB_PASSWORD")},
            {"op": "remove", "path": "/spec/template/spec/initContainers/0/env/0/value"},
            {"op": "add", "path": "/spec/template/spec/containers/0/env/1/valueFrom", "value": reference("app.DB_PASSWORD")},
            {"op": "remove", "path": "/spec/template/spec/containers/0/env/1/value"},
        ])
    );
    let all = serde_json::to_string(&fix).unwrap();
    assert!(
        !all.contains("hunter2") && !all.contains("other-secret"),
        "{all}"
    );
    assert_eq!(
        fix.create[0]["stringData"],
        json!({"DB_PASSWORD": "REPLACE_ME", "app.DB_PASSWORD": "REPLACE_ME"})
    );
}

#[test]
fn excepted_errors_and_controls_without_fixes_get_none() {
    let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec: {containers: [{name: c, image: nginx}]}\n";
    let object = Object::from_value(common::documents(yaml)[0].clone(), Some("shop")).unwrap();
    let ctx = ClusterContext::new();
    let policy = EffectivePolicy::defaults();
    let eval = hipaa_controls::evaluate(
        &object,
        &ctx,
        &policy,
        hipaa_controls::Mode::Audit,
        common::now(),
    );
    let image = eval
        .findings
        .iter()
        .find(|f| f.control.id == "HIPAA-K8S-IMAGE-REGISTRY")
        .unwrap();
    assert!(propose(&object, image, &ctx, &policy, &FixOptions::default()).is_none());
    let mut error = image.clone();
    error.control = hipaa_controls::control("HIPAA-K8S-PRIVILEGED").unwrap();
    error.outcome = Outcome::Error;
    assert!(propose(&object, &error, &ctx, &policy, &FixOptions::default()).is_none());
}
