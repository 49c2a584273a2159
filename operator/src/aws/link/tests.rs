#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
use std::sync::Arc;

use super::*;
use crate::aws::secret_refs::SecretSources;

fn deployment(name: &str, spec: &str) -> Cached {
    let yaml = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: billing}}\nspec:\n  selector: {{matchLabels: {{app: x}}}}\n  template:\n    metadata: {{labels: {{app: x}}}}\n    spec:\n{spec}"
    );
    let deployment: k8s_openapi::api::apps::v1::Deployment = yaml_serde::from_str(&yaml).unwrap();
    Cached::compact(&deployment).unwrap()
}

fn observation(objects: Vec<Cached>) -> Observation {
    Observation {
        scope: ["billing".to_string()].into(),
        objects,
        aws: Default::default(),
    }
}

fn aws(yaml: &str) -> AwsLinks {
    yaml_serde::from_str(yaml).unwrap()
}

fn workload(name: &str) -> ResourceRef {
    ResourceRef::new("Deployment", Some("billing"), name)
}

const ECR: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

#[test]
fn ecr_images_link_their_repository_and_tag_or_digest() {
    let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let api = deployment(
        "api",
        &format!(
            "      containers:\n        - {{name: a, image: {ECR}/payments/api:1.2}}\n        - {{name: b, image: docker.io/library/busybox:1}}\n      initContainers:\n        - {{name: c, image: '{ECR}/payments/api@{digest}'}}\n"
        ),
    );
    let worker = deployment(
        "worker",
        &format!("      containers:\n        - {{name: a, image: {ECR}/payments/api:1.2}}\n"),
    );
    let links = link(
        &aws("region: us-east-1"),
        &observation(vec![api, worker]),
        &SecretIndex::default(),
    );
    let key = RepositoryKey {
        region: "us-east-1".into(),
        registry: Some("123456789012".into()),
        name: "payments/api".into(),
    };
    assert_eq!(links.repositories.len(), 1, "{links:#?}");
    let images = &links.repositories[&key];
    assert_eq!(
        images["1.2"],
        [workload("api"), workload("worker")]
            .into_iter()
            .map(Arc::new)
            .collect()
    );
    assert_eq!(
        images[digest],
        [workload("api")].into_iter().map(Arc::new).collect()
    );
}

#[test]
fn named_repositories_join_the_images_and_globs_stay_patterns() {
    let api = deployment(
        "api",
        &format!("      containers:\n        - {{name: a, image: {ECR}/payments/api:1.2}}\n"),
    );
    let links = link(
        &aws("region: us-east-1\necrRepositories: [payments/api, shared/base, 'team-*']"),
        &observation(vec![api]),
        &SecretIndex::default(),
    );
    let names: Vec<(&Option<String>, &str)> = links
        .repositories
        .keys()
        .map(|k| (&k.registry, k.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (&None, "shared/base"),
            (&Some("123456789012".to_string()), "payments/api")
        ]
    );
    assert_eq!(links.repository_globs, ["team-*"]);
}

#[test]
fn mounted_provider_classes_and_external_secret_targets_link_secrets() {
    let class: Arc<kube::api::DynamicObject> = Arc::new(
        yaml_serde::from_str(
            "apiVersion: secrets-store.csi.x-k8s.io/v1\nkind: SecretProviderClass\nmetadata: {name: db, namespace: billing}\nspec:\n  provider: aws\n  parameters:\n    objects: |\n      - {objectName: prod/db, objectType: secretsmanager}\n",
        )
        .unwrap(),
    );
    let store = Arc::new(
        yaml_serde::from_str(
            "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: sm, namespace: billing}\nspec: {provider: {aws: {service: SecretsManager, region: us-west-2}}}\n",
        )
        .unwrap(),
    );
    let external = Arc::new(
        yaml_serde::from_str(
            "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: api-token, namespace: billing}\nspec:\n  secretStoreRef: {name: sm}\n  data: [{secretKey: t, remoteRef: {key: prod/token}}]\n",
        )
        .unwrap(),
    );
    let index = SecretIndex::new(&SecretSources {
        provider_classes: vec![class],
        external_secrets: vec![external],
        secret_stores: vec![store],
        cluster_secret_stores: vec![],
    });
    let mounts = deployment(
        "api",
        "      volumes:\n        - name: s\n          csi: {driver: secrets-store.csi.k8s.io, readOnly: true, volumeAttributes: {secretProviderClass: db}}\n      containers:\n        - name: a\n          image: x\n          envFrom: [{secretRef: {name: api-token}}]\n",
    );
    let unrelated = deployment(
        "other",
        "      containers:\n        - name: a\n          image: x\n          env: [{name: T, valueFrom: {secretKeyRef: {name: unrelated, key: k}}}]\n",
    );
    let links = link(
        &aws(
            "region: us-east-1\nsecrets: ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:audit-AbCdEf', 'prod/*']",
        ),
        &observation(vec![mounts, unrelated]),
        &index,
    );
    let secrets: Vec<(&str, &str, usize)> = links
        .secrets
        .iter()
        .map(|(k, users)| (k.region.as_str(), k.id.as_str(), users.len()))
        .collect();
    assert_eq!(
        secrets,
        [
            (
                "eu-west-1",
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:audit-AbCdEf",
                0
            ),
            ("us-east-1", "prod/db", 1),
            ("us-west-2", "prod/token", 1),
        ]
    );
    assert_eq!(links.secret_globs, ["prod/*"]);
}

#[test]
fn a_spec_with_only_a_region_links_nothing() {
    let links = link(
        &aws("region: us-east-1"),
        &observation(vec![]),
        &SecretIndex::default(),
    );
    assert!(links.is_empty());
}
