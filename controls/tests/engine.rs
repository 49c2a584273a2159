//! The engine's entry point: modes, disabled controls, parameters, missing context, objects and
//! the denial line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use hipaa_controls::catalog::ids;
use hipaa_controls::{
    ClusterContext, EffectivePolicy, Enforcement, Evaluation, Finding, Mode, Object, ObjectError,
    Outcome, Scope, evaluate,
};

const API: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: billing}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - name: api
          image: registry.internal:5000/team/api:2.0
          volumeMounts: [{name: data, mountPath: /data}]
      volumes:
        - name: data
          persistentVolumeClaim: {claimName: api-data}
"#;

const CONTEXT: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: billing, labels: {hipaaguard.io/phi: "true", hipaaguard.io/environment: production}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: billing}
spec: {podSelector: {}, policyTypes: [Ingress]}
"#;

/// Evaluates `object` in `mode` at the tests' fixed clock.
fn judge(
    object: &Object,
    ctx: &ClusterContext,
    policy: &EffectivePolicy,
    mode: Mode,
) -> Evaluation {
    evaluate(object, ctx, policy, mode, common::now())
}

/// The finding of control `id`, if it reported one.
fn finding_of<'a>(eval: &'a Evaluation, id: &str) -> Option<&'a Finding> {
    eval.findings.iter().find(|f| f.control.id == id)
}

fn outcome_of(eval: &Evaluation, id: &str) -> Option<Outcome> {
    finding_of(eval, id).map(|f| f.outcome)
}

fn checked(eval: &Evaluation, id: &str) -> bool {
    eval.checked.iter().any(|c| c.id == id)
}

#[test]
fn admission_skips_audit_only_controls_and_aws_never_runs() {
    let ns = common::object(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: billing, labels: {hipaaguard.io/phi: \"true\"}}",
    );
    let ctx = common::context(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: d, namespace: billing}\nspec: {storageClassName: x}",
    );
    let policy = EffectivePolicy::defaults();
    let admission = judge(&ns, &ctx, &policy, Mode::Admission);
    assert!(!checked(&admission, ids::K8S_BACKUP));
    let audit = judge(&ns, &ctx, &policy, Mode::Audit);
    assert!(checked(&audit, ids::K8S_BACKUP));
    for eval in [admission, audit] {
        assert!(eval.checked.iter().all(|c| c.scope != Scope::Aws));
    }
}

#[test]
fn disabled_controls_are_neither_checked_nor_reported() {
    let mut policy = EffectivePolicy::defaults();
    policy.controls.remove(ids::K8S_IMAGE_REGISTRY);
    let eval = judge(
        &common::object(API),
        &common::context(CONTEXT),
        &policy,
        Mode::Admission,
    );
    assert!(!checked(&eval, ids::K8S_IMAGE_REGISTRY));
    assert_eq!(outcome_of(&eval, ids::K8S_IMAGE_REGISTRY), None);
    assert!(checked(&eval, ids::K8S_PRIVILEGED));
}

#[test]
fn findings_carry_the_control_enforcement() {
    let mut policy = EffectivePolicy::defaults();
    policy.controls.get_mut(ids::K8S_HA).unwrap().enforcement = Enforcement::Warn;
    let eval = judge(
        &common::object(API),
        &common::context(CONTEXT),
        &policy,
        Mode::Admission,
    );
    let ha = finding_of(&eval, ids::K8S_HA).unwrap();
    assert_eq!(ha.enforcement, Enforcement::Warn);
    let privileged = finding_of(&eval, ids::K8S_PRIVILEGED).unwrap();
    assert_eq!(privileged.enforcement, Enforcement::Enforce);
}

#[test]
fn allowed_registries_accept_hosts_with_ports_suffixes_and_paths() {
    let object = common::object(API);
    let ctx = common::context(CONTEXT);
    let verdict = |entries: &[&str]| {
        let policy = common::defaults_with(ids::K8S_IMAGE_REGISTRY, |p| {
            p.allowed_registries = Some(entries.iter().map(|e| e.to_string()).collect())
        });
        outcome_of(
            &judge(&object, &ctx, &policy, Mode::Admission),
            ids::K8S_IMAGE_REGISTRY,
        )
    };
    assert_eq!(verdict(&["registry.internal:5000"]), None);
    assert_eq!(verdict(&["REGISTRY.internal:5000"]), None);
    assert_eq!(
        verdict(&["registry.internal"]),
        Some(Outcome::Fail),
        "the port is part of the host"
    );
    assert_eq!(verdict(&["*.internal:5000"]), None);
    assert_eq!(verdict(&["registry.internal:5000/team/*"]), None);
    assert_eq!(
        verdict(&["registry.internal:5000/other/*"]),
        Some(Outcome::Fail)
    );
    assert_eq!(verdict(&["registry.internal:5000/team/api"]), None);
    assert_eq!(
        verdict(&["123456789012.dkr.ecr.us-east-1.amazonaws.com"]),
        Some(Outcome::Fail)
    );
}

#[test]
fn require_egress_and_min_replicas_parameters_are_read() {
    let object = common::object(API);
    let ctx = common::context(CONTEXT);
    let mut policy = EffectivePolicy::defaults();
    assert_eq!(
        outcome_of(
            &judge(&object, &ctx, &policy, Mode::Admission),
            ids::K8S_NETPOL
        ),
        None
    );
    common::parameters_mut(&mut policy, ids::K8S_NETPOL).require_egress = true;
    let eval = judge(&object, &ctx, &policy, Mode::Admission);
    let netpol = finding_of(&eval, ids::K8S_NETPOL).unwrap();
    assert_eq!(
        netpol.message,
        "no NetworkPolicy restricts egress from pods of Deployment billing/api"
    );

    let both = format!(
        "{CONTEXT}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: egress, namespace: billing}}\nspec: {{podSelector: {{}}, policyTypes: [Egress], egress: [{{to: [{{namespaceSelector: {{}}}}], ports: [{{port: 53, protocol: UDP}}]}}]}}"
    );
    let eval = judge(&object, &common::context(&both), &policy, Mode::Admission);
    assert_eq!(outcome_of(&eval, ids::K8S_NETPOL), None);

    let ha = |min: i32| {
        let policy = common::defaults_with(ids::K8S_HA, |p| p.min_replicas = min);
        let eval = judge(&object, &ctx, &policy, Mode::Admission);
        finding_of(&eval, ids::K8S_HA).map(|f| f.message.clone())
    };
    assert!(ha(2).unwrap().contains("runs 1 replica(s), fewer than 2"));
    assert!(
        !ha(1).unwrap().contains("replica"),
        "only the zone spread is missing"
    );
}

#[test]
fn missing_context_is_an_error_never_a_pass() {
    let object = common::object(API);
    let mut ctx = ClusterContext::new();
    ctx.completeness.namespaces = false;
    ctx.completeness.network_policies = false;
    ctx.completeness.pvcs = false;
    let eval = judge(&object, &ctx, &EffectivePolicy::defaults(), Mode::Audit);
    for id in [
        ids::K8S_NETPOL,
        ids::K8S_HA,
        ids::K8S_DEV_PHI,
        ids::K8S_TLS_WORKLOAD,
        ids::K8S_VOLUME_ENCRYPTION,
    ] {
        let finding = finding_of(&eval, id).unwrap_or_else(|| panic!("{id}"));
        assert_eq!(finding.outcome, Outcome::Error, "{id}");
        assert!(
            finding
                .message
                .starts_with("cannot evaluate Deployment billing/api"),
            "{}",
            finding.message
        );
    }
    // Controls that need no context still judge.
    assert_eq!(outcome_of(&eval, ids::K8S_PRIVILEGED), Some(Outcome::Fail));
    assert!(!eval.is_clean());

    let mut ctx = ClusterContext::new();
    ctx.completeness.storage_classes = false;
    let pvc = common::object(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: d, namespace: billing}\nspec: {}",
    );
    let eval = judge(&pvc, &ctx, &EffectivePolicy::defaults(), Mode::Audit);
    assert_eq!(
        outcome_of(&eval, ids::K8S_VOLUME_ENCRYPTION),
        Some(Outcome::Error)
    );
}

#[test]
fn a_pvc_that_does_not_exist_yet_is_judged_when_it_is_created() {
    let object = common::object(API);
    let eval = judge(
        &object,
        &common::context(CONTEXT),
        &EffectivePolicy::defaults(),
        Mode::Admission,
    );
    assert!(checked(&eval, ids::K8S_VOLUME_ENCRYPTION));
    assert_eq!(outcome_of(&eval, ids::K8S_VOLUME_ENCRYPTION), None);
}

#[test]
fn the_denial_line_has_the_design_shape() {
    let object = common::object(API);
    let eval = judge(
        &object,
        &ClusterContext::new(),
        &EffectivePolicy::defaults(),
        Mode::Admission,
    );
    let netpol = finding_of(&eval, ids::K8S_NETPOL).unwrap();
    assert_eq!(
        netpol.denial_line(),
        "[HIPAA-K8S-NETPOL] 164.312(e)(1): no NetworkPolicy selects pods of Deployment billing/api; add a NetworkPolicy that selects these pods and restricts their ingress (and egress when requireEgress is true) (see kubectl hipaa controls HIPAA-K8S-NETPOL)"
    );
    assert_eq!(netpol.resource.to_string(), "Deployment billing/api");
}

#[test]
fn objects_parse_with_their_namespace_defaulted() {
    let value = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"}});
    let object = Object::from_value(value.clone(), Some("billing")).unwrap();
    assert_eq!(
        (object.kind(), object.namespace(), object.name()),
        ("Deployment", Some("billing"), "api")
    );
    assert_eq!(object.resource_ref().to_string(), "Deployment billing/api");
    let object = Object::from_value(value, None).unwrap();
    assert_eq!(object.namespace(), None);
    assert_eq!(
        object.resource_ref().to_string(),
        "Deployment default/api",
        "as the API server defaults it"
    );

    let ns = Object::from_value(serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "billing"}}), Some("x")).unwrap();
    assert_eq!(
        (ns.namespace(), ns.resource_ref().to_string()),
        (None, "Namespace billing".to_string())
    );

    let pod = Object::from_value(serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "api-", "namespace": "billing"}}), None).unwrap();
    assert_eq!(pod.name(), "api-");

    assert!(matches!(
        Object::from_value(serde_json::json!({"kind": "Pod"}), None),
        Err(ObjectError::MissingKind)
    ));
    assert!(matches!(
        Object::from_value(
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap"}),
            None
        ),
        Err(ObjectError::UnsupportedKind { .. })
    ));
    assert!(matches!(
        Object::from_value(
            serde_json::json!({"apiVersion": "extensions/v1beta1", "kind": "Ingress"}),
            None
        ),
        Err(ObjectError::UnsupportedKind { .. })
    ));
    assert!(matches!(
        Object::from_value(
            serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": "three"}}),
            None
        ),
        Err(ObjectError::Invalid { .. })
    ));
}

#[test]
fn every_workload_kind_reduces_to_its_pod_template() {
    let template = "metadata: {labels: {app: x}, annotations: {linkerd.io/inject: enabled}}\nspec: {containers: [{name: c, image: i}]}";
    let indent = |text: &str, n: usize| {
        text.lines()
            .map(|l| format!("{}{l}", " ".repeat(n)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let workloads = [
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: w, labels: {{team: t}}}}\nspec:\n  template:\n{}",
            indent(template, 4)
        ),
        format!(
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: w, labels: {{team: t}}}}\nspec:\n  template:\n{}",
            indent(template, 4)
        ),
        format!(
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: w, labels: {{team: t}}}}\nspec:\n  template:\n{}",
            indent(template, 4)
        ),
        format!(
            "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {{name: w, labels: {{team: t}}}}\nspec:\n  template:\n{}",
            indent(template, 4)
        ),
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: w, labels: {{team: t}}}}\nspec:\n  template:\n{}",
            indent(template, 4)
        ),
        format!(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: w, labels: {{team: t}}}}\nspec:\n  jobTemplate:\n    spec:\n      template:\n{}",
            indent(template, 8)
        ),
    ];
    for yaml in &workloads {
        let object = common::object(yaml);
        let t = object.pod_template().unwrap_or_else(|| panic!("{yaml}"));
        assert_eq!(t.label("app"), Some("x"), "{}", object.kind());
        assert_eq!(
            t.annotation("linkerd.io/inject"),
            Some("enabled"),
            "{}",
            object.kind()
        );
        assert_eq!(
            t.workload_labels
                .and_then(|l| l.get("team"))
                .map(String::as_str),
            Some("t")
        );
        assert_eq!(t.spec.unwrap().containers[0].name, "c", "{}", object.kind());
    }
    let pod = common::object(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {app: x}}\nspec: {containers: [{name: c}]}",
    );
    assert_eq!(pod.pod_template().unwrap().label("app"), Some("x"));
    let service = common::object("apiVersion: v1\nkind: Service\nmetadata: {name: s}");
    assert!(service.pod_template().is_none());
}
