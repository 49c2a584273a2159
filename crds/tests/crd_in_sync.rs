//! The committed CRD YAML must equal what the Rust types generate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;

#[test]
fn committed_crd_matches_the_types() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(hipaa_crds::CRD_PATH);
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let generated = hipaa_crds::crd_yaml().expect("the CRD serializes");
    similar_asserts::assert_eq!(
        committed,
        generated,
        "{} is stale: run `cargo run -p hipaa-crds --example crdgen`",
        path.display()
    );
}

#[test]
fn crd_has_the_designed_names_and_columns() {
    use kube::CustomResourceExt;
    let crd = hipaa_crds::HipaaPolicy::crd();
    assert_eq!(crd.spec.group, "hipaaguard.io");
    assert_eq!(crd.spec.scope, "Cluster");
    assert_eq!(crd.spec.names.plural, "hipaapolicies");
    assert_eq!(crd.spec.names.short_names, Some(vec!["hp".to_string()]));
    let version = crd.spec.versions.first().expect("one version");
    assert_eq!(version.name, "v1alpha1");
    let columns: Vec<String> = version
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| c.name.to_uppercase())
        .collect();
    assert_eq!(
        columns,
        [
            "ENFORCEMENT",
            "COMPLIANT",
            "SCORE",
            "VIOLATIONS",
            "LAST AUDIT",
            "AGE"
        ]
    );
    assert!(
        version
            .subresources
            .as_ref()
            .and_then(|s| s.status.as_ref())
            .is_some()
    );
}

#[test]
fn sample_policy_from_the_design_parses() {
    let yaml = r#"
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: production-phi}
spec:
  enforcement: Enforce
  namespaceSelector: {matchLabels: {hipaaguard.io/phi: "true"}}
  controls:
    - {id: HIPAA-K8S-HA, enforcement: Warn}
    - {id: HIPAA-K8S-IMAGE-REGISTRY, parameters: {allowedRegistries: ["123456789012.dkr.ecr.us-east-1.amazonaws.com"]}}
    - {id: HIPAA-K8S-PRIVILEGED, disabled: true}
  exceptions:
    - controls: [HIPAA-K8S-NETPOL]
      match: {namespaces: [legacy-billing], kinds: [Deployment], names: ["batch-*"]}
      justification: "Vendor agent; compensating control: SG-for-pods"
      approvedBy: security@example.com
      expires: "2027-03-31T00:00:00Z"
  aws: {region: us-east-1, eksClusterName: prod, ecrRepositories: ["payments/*"], secrets: ["prod/*"]}
  auditInterval: 10m
"#;
    let policy: hipaa_crds::HipaaPolicy = yaml_serde::from_str(yaml).expect("parses");
    assert_eq!(policy.spec.enforcement, hipaa_crds::Enforcement::Enforce);
    assert_eq!(policy.spec.controls.len(), 3);
    assert!(policy.spec.controls.iter().any(|c| c.disabled));
    assert_eq!(
        policy
            .spec
            .exceptions
            .first()
            .map(|e| e.match_.names.clone()),
        Some(vec!["batch-*".to_string()])
    );
}
