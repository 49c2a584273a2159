//! External Secrets installed after `hipaa-operator` started: the operator finds the CRDs on a
//! later discovery round and links the Secrets Manager secret an ExternalSecret writes into a
//! Secret that a Deployment reads, without a restart.

use std::time::Duration;

use hipaa_crds::HipaaPolicy;
use hipaa_testkit::{apply_yaml, moto};

use crate::aws_support::*;
use crate::operator_support::{
    Case, Operator, REDISCOVER_EVERY_SECOND, apply_once_served, minimal_crd,
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
    let moto = moto().await.unwrap();
    let secret = unique("late-db");
    Seed::new(moto).await.secret(&secret, None).await;
    let case = Case::new("late", "aws-late").await.unwrap();
    let client = &case.client;
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
    case.apply(deployment).await.unwrap();

    let operator = Operator::start_with(
        case.plane,
        &case.label,
        "operator-late-integration",
        &REDISCOVER_EVERY_SECOND,
        |cmd| moto.configure(cmd),
    )
    .await
    .unwrap();
    let aws = format!("  aws: {{region: {REGION}}}\n");
    let audited = |p: &HipaaPolicy| {
        p.status
            .as_ref()
            .is_some_and(|s| s.last_audit_time.is_some())
    };
    let (name, policy) = case
        .apply_policy_until(&aws, "audited", Duration::from_secs(60), audited)
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
        apply_yaml(client, &crd).await.unwrap();
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
    apply_once_served(client, &case.ns, &objects).await.unwrap();

    operator
        .wait_policy(
            client,
            &name,
            "linked to the secret through the ExternalSecret",
            Duration::from_secs(60),
            |p| links(p, &secret),
        )
        .await
        .unwrap();
    assert!(
        operator.logged("a secret integration appeared; watching it from now on"),
        "found by a later discovery round, not at the start"
    );
}
