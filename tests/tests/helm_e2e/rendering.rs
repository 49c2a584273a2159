//! The chart's renderings without a cluster: the default values make a safe installation in
//! which the operator registers admission, every render is the same (nothing generated, nothing
//! looked up), and unsafe or removed values are refused rather than ignored.

use super::admission::{self, Expected};
use super::checks;
use super::render::{documents, object, of_kind, strings, template, template_output};

#[test]
fn default_values_render_a_safe_installation() {
    let docs = documents(&template("hipaa-guard", "hipaa-guard", &[]).unwrap()).unwrap();
    admission::operator_registers(&docs, &Expected::defaults("hipaa-guard"));
    checks::pods_are_hardened(&docs);
    checks::rbac_is_least_privilege(&docs);

    let operator = object(&docs, "Deployment", "hipaa-guard-operator");
    let webhook_deployment = object(&docs, "Deployment", "hipaa-guard-webhook");
    for deployment in [operator, webhook_deployment] {
        assert_eq!(deployment["spec"]["replicas"], 2);
        let pod = &deployment["spec"]["template"]["spec"];
        assert_eq!(
            pod["topologySpreadConstraints"][0]["topologyKey"],
            "topology.kubernetes.io/zone"
        );
        assert!(
            pod["affinity"]["podAntiAffinity"].is_object(),
            "anti-affinity"
        );
        let image = pod["containers"][0]["image"].as_str().unwrap();
        assert!(
            image.starts_with("hipaa-guard/hipaa-"),
            "{image} names a registry host"
        );
    }
    let operator_args = strings(&operator["spec"]["template"]["spec"]["containers"][0]["args"]);
    assert!(
        operator_args.iter().any(|a| a == "--leader-elect"),
        "{operator_args:?}"
    );
    // `helm install --wait` returns once the operator is ready, which it is once the
    // configuration is registered: its readiness is what waiting for admission means.
    assert_eq!(
        operator["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"],
        "/readyz"
    );
    let pdb = object(&docs, "PodDisruptionBudget", "hipaa-guard-webhook");
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    object(&docs, "Role", "hipaa-guard-operator-leader-election");
    assert!(
        of_kind(&docs, "ServiceMonitor").is_empty(),
        "ServiceMonitors are opt-in"
    );
    assert_eq!(
        of_kind(&docs, "CustomResourceDefinition").len(),
        3,
        "the HipaaPolicy CRD, and the PolicyReport CRDs of crds/"
    );
    object(
        &docs,
        "CustomResourceDefinition",
        "policyreports.wgpolicyk8s.io",
    );
    object(
        &docs,
        "CustomResourceDefinition",
        "clusterpolicyreports.wgpolicyk8s.io",
    );
}

#[test]
fn admission_disabled_renders_no_registration() {
    let docs = documents(
        &template(
            "hipaa-guard",
            "hipaa-guard",
            &["--set", "admission.enabled=false"],
        )
        .unwrap(),
    )
    .unwrap();
    admission::admission_is_off(&docs, "hipaa-guard");
    checks::pods_are_hardened(&docs);
    checks::rbac_is_least_privilege(&docs);
}

/// Nothing in the chart is generated or looked up at render time (the helm mode's genCA and
/// lookup are gone), so `helm template`, `helm diff` and GitOps see no change between renders.
#[test]
fn renders_are_stable() {
    let ca_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca_file.path(), super::render::ca_pem().unwrap()).unwrap();
    let ca_value = format!(
        "certificates.provided.caBundle={}",
        ca_file.path().display()
    );
    let modes: [&[&str]; 3] = [
        &[],
        &["--set", "certificates.mode=certManager"],
        &[
            "--set",
            "certificates.mode=provided",
            "--set",
            "certificates.provided.secretName=webhook-tls",
            "--set-file",
            &ca_value,
        ],
    ];
    for args in modes {
        let first = template("hipaa-guard", "hipaa-guard", args).unwrap();
        let second = template("hipaa-guard", "hipaa-guard", args).unwrap();
        assert!(
            first == second,
            "two renders of {args:?} differ (something is generated at render time)"
        );
        assert!(!first.contains("PRIVATE KEY"), "{args:?} renders a key");
    }
}

#[test]
fn chart_refuses_unsafe_and_removed_values() {
    let refusals: [(&[&str], &str); 7] = [
        (&["--set", "admission.timeoutSeconds=11"], "timeoutSeconds"),
        (
            &["--set", "admission.failurePolicy=ignore"],
            "failurePolicy",
        ),
        (
            &["--set", "admission.url=https://127.0.0.1:9443/validate"],
            "certificates.mode=provided",
        ),
        (
            &["--set", "webhook.deployment.enabled=false"],
            "admission.url",
        ),
        // Values of the chart before the operator registered admission: refused, so that an
        // upgrade with old values says what changed instead of silently dropping them.
        (&["--set", "certificates.mode=helm"], "certificates/mode"),
        (
            &["--set", "certificates.helm.validityDays=3650"],
            "'helm' not allowed",
        ),
        (
            &[
                "--set-json",
                r#"admission.namespaceSelectorExpressions=[{"key":"hipaaguard.io/phi","operator":"Exists"}]"#,
            ],
            "namespaceSelectorExpressions",
        ),
    ];
    for (args, needle) in refusals {
        let out = template_output("hipaa-guard", "hipaa-guard", args).unwrap();
        assert!(!out.success(), "helm template {args:?} should fail:\n{out}");
        assert!(
            out.stderr.contains(needle),
            "expected {needle:?} in the error of {args:?}:\n{out}"
        );
    }
}
