//! External Secrets installed after `hipaa-operator` started: the operator finds the CRDs on a
//! later discovery round and links the Secrets Manager secret an ExternalSecret writes into a
//! Secret that a Deployment reads, without a restart.

use std::time::Duration;

use hipaa_crds::HipaaPolicy;
use hipaa_testkit::{apply_yaml, apply_yaml_in, control_plane, fresh_namespace, moto};

use crate::aws_support::*;
use crate::operator_support::{
    Operator, apply_once_served, governed, minimal_crd, policy_yaml, unique_case, wait_policy,
};

fn links(policy: &HipaaPolicy, secret: &str) -> bool {
    policy.status.as_ref().is_some_and(|status| {
        status
            .aws_resources
            .iter()
            .any(|r| r.kind == "SecretsManagerSecret" && r.name == secret)
    })
}

#[tokio::test]
async fn external_secrets_installed_after_the_start_link_their_secrets_without_a_restart() {
    let plane = control_plane().await.unwrap();
    plane.install_hipaa_crd().await.unwrap();
    let client = plane.client().await.unwrap();
    let moto = moto().await.unwrap();
    let secret = unique("late-db");
    Seed::new(moto).await.secret(&secret, None).await;
    let case = unique_case("late");
    let ns = fresh_namespace(&client, "aws-late", &governed(&case))
        .await
        .unwrap();
    let deployment = "apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - name: main
          image: registry.example/api:1.0
          env:
            - name: DB_PASSWORD
              valueFrom: {secretKeyRef: {name: db, key: password}}
";
    apply_yaml_in(&client, &ns, deployment).await.unwrap();

    let operator = Operator::start_with(
        plane,
        &case,
        "operator-late-integration",
        &["--integration-rediscovery", "1s"],
        |cmd| moto.configure(cmd),
    )
    .await
    .unwrap();
    let name = format!("{case}-policy");
    let aws = format!("  aws: {{region: {REGION}}}\n");
    apply_yaml(&client, &policy_yaml(&name, &case, &aws))
        .await
        .unwrap();
    let audited = |p: &HipaaPolicy| {
        p.status
            .as_ref()
            .is_some_and(|s| s.last_audit_time.is_some())
    };
    let (policy, _) = wait_policy(&client, &name, "audited", Duration::from_secs(60), audited)
        .await
        .unwrap();
    assert!(
        !links(&policy, &secret),
        "nothing links the secret before External Secrets exists"
    );

    for (kind, plural) in [
        ("ExternalSecret", "externalsecrets"),
        ("SecretStore", "secretstores"),
    ] {
        let crd = minimal_crd("external-secrets.io", kind, plural);
        apply_yaml(&client, &crd).await.unwrap();
    }
    let objects = format!(
        "apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: aws-sm}}
spec:
  provider:
    aws: {{service: SecretsManager, region: {REGION}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: db}}
spec:
  secretStoreRef: {{name: aws-sm, kind: SecretStore}}
  target: {{name: db}}
  data:
    - secretKey: password
      remoteRef: {{key: {secret}}}
"
    );
    apply_once_served(&client, &ns, &objects).await.unwrap();

    wait_policy(
        &client,
        &name,
        "linked to the secret through the ExternalSecret",
        Duration::from_secs(60),
        |p| links(p, &secret),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}\noperator log:\n{}", operator.guard.log_tail(60)));
    assert!(
        operator
            .guard
            .log_contents()
            .contains("a secret integration appeared; watching it from now on"),
        "found by a later discovery round, not at the start"
    );
}
