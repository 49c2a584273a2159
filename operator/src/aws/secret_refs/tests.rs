#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
use super::*;

fn object(yaml: &str) -> Arc<DynamicObject> {
    Arc::new(yaml_serde::from_str(yaml).unwrap())
}

fn reference(region: Option<&str>, id: &str) -> SecretReference {
    SecretReference {
        region: region.map(str::to_string),
        id: id.to_string(),
    }
}

const AWS_CLASS: &str = r#"
apiVersion: secrets-store.csi.x-k8s.io/v1
kind: SecretProviderClass
metadata: {name: db, namespace: billing}
spec:
  provider: aws
  parameters:
    region: eu-west-1
    objects: |
      - objectName: "prod/db"
        objectType: "secretsmanager"
      - objectName: "/prod/param"
        objectType: "ssmparameter"
      - objectName: "arn:aws:secretsmanager:us-west-2:123456789012:secret:prod/api-AbCdEf"
"#;

#[test]
fn an_aws_provider_class_lists_its_secrets_manager_objects() {
    assert_eq!(
        provider_class_references(&object(AWS_CLASS)),
        [
            reference(Some("eu-west-1"), "prod/db"),
            reference(
                Some("us-west-2"),
                "arn:aws:secretsmanager:us-west-2:123456789012:secret:prod/api-AbCdEf"
            ),
        ]
    );
}

#[test]
fn other_providers_and_unreadable_objects_name_nothing() {
    let vault = AWS_CLASS.replace("provider: aws", "provider: vault");
    assert!(provider_class_references(&object(&vault)).is_empty());
    let broken = r#"
apiVersion: secrets-store.csi.x-k8s.io/v1
kind: SecretProviderClass
metadata: {name: db, namespace: billing}
spec:
  provider: aws
  parameters: {objects: "not: [a list"}
"#;
    assert!(provider_class_references(&object(broken)).is_empty());
}

const STORES: &str = r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: aws-sm, namespace: billing}
spec:
  provider:
    aws: {service: SecretsManager, region: us-east-2}
"#;
const PARAMETER_STORE: &str = r#"
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: params}
spec:
  provider:
    aws: {service: ParameterStore, region: us-east-1}
"#;
const CLUSTER_SM: &str = r#"
apiVersion: external-secrets.io/v1beta1
kind: ClusterSecretStore
metadata: {name: shared}
spec:
  provider:
    aws: {service: SecretsManager}
"#;

const EXTERNAL: &str = r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db-creds, namespace: billing}
spec:
  secretStoreRef: {name: aws-sm, kind: SecretStore}
  target: {name: db}
  data:
    - secretKey: password
      remoteRef: {key: prod/db, property: password}
    - secretKey: token
      remoteRef: {key: /prod/token}
      sourceRef: {storeRef: {name: params, kind: ClusterSecretStore}}
  dataFrom:
    - extract: {key: prod/shared}
      sourceRef: {storeRef: {name: shared, kind: ClusterSecretStore}}
"#;

fn sources() -> SecretSources {
    SecretSources {
        provider_classes: vec![object(AWS_CLASS)],
        external_secrets: vec![object(EXTERNAL)],
        secret_stores: vec![object(STORES)],
        cluster_secret_stores: vec![object(PARAMETER_STORE), object(CLUSTER_SM)],
    }
}

#[test]
fn an_external_secret_names_secrets_read_through_secrets_manager_stores_only() {
    let sources = sources();
    assert_eq!(
        external_secret_references(&object(EXTERNAL), &sources),
        [
            reference(Some("us-east-2"), "prod/db"),
            reference(None, "prod/shared"),
        ]
    );
}

#[test]
fn a_store_in_another_namespace_does_not_count() {
    let mut sources = sources();
    sources.secret_stores = vec![object(
        &STORES.replace("namespace: billing", "namespace: other"),
    )];
    let references = external_secret_references(&object(EXTERNAL), &sources);
    assert_eq!(references, [reference(None, "prod/shared")]);
}

#[test]
fn the_index_keys_classes_by_name_and_external_secrets_by_target_secret() {
    let index = SecretIndex::new(&sources());
    assert_eq!(index.provider_class("billing", "db").len(), 2);
    assert_eq!(index.kubernetes_secret("billing", "db").len(), 2);
    assert!(index.provider_class("other", "db").is_empty());
    let untargeted = EXTERNAL.replace("  target: {name: db}\n", "");
    let index = SecretIndex::new(&SecretSources {
        external_secrets: vec![object(&untargeted)],
        ..sources()
    });
    assert_eq!(index.kubernetes_secret("billing", "db-creds").len(), 2);
}
