//! Benchmark: what the AWS side costs an audit, over 10,000 workloads in 100 namespaces (each
//! running one of 300 ECR images, reading Secrets Manager secrets through a SecretProviderClass
//! and an ExternalSecret, and running as one of 200 ServiceAccounts whose IRSA roles reach 1,000
//! buckets, 100 databases and 200 tables): linking them (images, secrets and identities),
//! comparing the links with the cached ones, and assembling a snapshot, role reach included,
//! when a refresh is due. The budget for all of it is 50 ms on one core.
//! `cargo bench -p hipaa-operator --bench aws_link`; figures in docs/benchmarks.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "aws_link/data.rs"]
mod data;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use hipaa_controls::aws::{
    EcrRepository, EncryptionType, ScanFindings, SecretsManagerSecret, TagMutability,
};
use hipaa_crds::AwsLinks;
use hipaa_operator::aws::assemble::assemble;
use hipaa_operator::aws::cache::{Fetched, Found};
use hipaa_operator::aws::link::link;
use hipaa_operator::aws::secret_refs::{SecretIndex, SecretSources};
use hipaa_operator::observe::{Cached, Observation};
use kube::api::DynamicObject;

const NAMESPACES: usize = 100;
const WORKLOADS: usize = 10_000;
const REPOSITORIES: usize = 100;
const TAGS: usize = 3;
const ITERATIONS: usize = 30;

fn deployment(i: usize) -> Cached {
    let namespace = format!("ns-{}", i % NAMESPACES);
    let image = format!(
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/repo-{}:v{}",
        i % REPOSITORIES,
        i % TAGS
    );
    let value = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": format!("app-{i}"), "namespace": namespace},
        "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": {
            "metadata": {"labels": {"app": "x"}},
            "spec": {
                "volumes": [{"name": "s", "csi": {"driver": "secrets-store.csi.k8s.io",
                    "volumeAttributes": {"secretProviderClass": "db"}}}],
                "serviceAccountName": data::service_account(i),
                "containers": [{"name": "main", "image": image,
                    "envFrom": [{"secretRef": {"name": "api-token"}}]}]}}}
    });
    let deployment: k8s_openapi::api::apps::v1::Deployment = serde_json::from_value(value).unwrap();
    Cached::compact(&deployment).unwrap()
}

fn object(value: serde_json::Value) -> Arc<DynamicObject> {
    Arc::new(serde_json::from_value(value).unwrap())
}

/// Per namespace: a SecretProviderClass with two secrets, a SecretStore and an ExternalSecret.
fn sources() -> SecretSources {
    let mut sources = SecretSources::default();
    for n in 0..NAMESPACES {
        let ns = format!("ns-{n}");
        sources.provider_classes.push(object(serde_json::json!({
            "apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
            "metadata": {"name": "db", "namespace": ns},
            "spec": {"provider": "aws", "parameters": {"objects":
                format!("- {{objectName: prod/{ns}/db, objectType: secretsmanager}}\n- {{objectName: prod/{ns}/cache, objectType: secretsmanager}}\n")}}
        })));
        sources.secret_stores.push(object(serde_json::json!({
            "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
            "metadata": {"name": "sm", "namespace": ns},
            "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "us-east-1"}}}
        })));
        sources.external_secrets.push(object(serde_json::json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": "api-token", "namespace": ns},
            "spec": {"secretStoreRef": {"name": "sm"},
                     "data": [{"secretKey": "t", "remoteRef": {"key": format!("prod/{ns}/token")}}]}
        })));
    }
    sources
}

/// Every lookup of the links answered (what a refresh leaves in the cache).
fn found_for(links: &hipaa_operator::aws::link::Links) -> Found {
    let now = Utc::now();
    let mut found = Found::default();
    for (key, images) in &links.repositories {
        let repository = EcrRepository {
            name: key.name.clone(),
            arn: Some(format!(
                "arn:aws:ecr:us-east-1:123456789012:repository/{}",
                key.name
            )),
            uri: None,
            scan_on_push: true,
            registry_scanning: None,
            tag_mutability: TagMutability::Immutable,
            tag_mutability_exclusions: vec![],
            encryption_type: EncryptionType::Aes256,
            kms_key: None,
            images: vec![],
        };
        found.repositories.insert(
            key.clone(),
            Fetched {
                at: now,
                result: Ok(repository),
            },
        );
        for reference in images.keys() {
            let findings = ScanFindings::default();
            let image = (key.clone(), reference.clone());
            found.findings.insert(
                image,
                Fetched {
                    at: now,
                    result: Ok(findings),
                },
            );
        }
    }
    for key in links.secrets.keys() {
        let secret = SecretsManagerSecret {
            name: key.id.clone(),
            arn: Some(format!(
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:{}-AbCdEf",
                key.id
            )),
            ..Default::default()
        };
        found.secrets.insert(
            key.clone(),
            Fetched {
                at: now,
                result: Ok(secret),
            },
        );
    }
    data::fill(&mut found);
    found
}

/// Runs `work` ITERATIONS times; (min, median).
fn measure(mut work: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..ITERATIONS)
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed()
        })
        .collect();
    times.sort();
    (times[0], times[ITERATIONS / 2])
}

fn main() {
    let observation = Observation {
        scope: (0..NAMESPACES).map(|n| format!("ns-{n}")).collect(),
        objects: (0..WORKLOADS).map(deployment).collect(),
        aws: data::inputs(NAMESPACES),
    };
    let sources = sources();
    let spec: AwsLinks =
        serde_json::from_value(serde_json::json!({"region": "us-east-1"})).unwrap();

    let (index_min, index_median) = measure(|| {
        std::hint::black_box(SecretIndex::new(&sources));
    });
    let index = SecretIndex::new(&sources);
    let (link_min, link_median) = measure(|| {
        std::hint::black_box(link(&spec, &observation, &index));
    });
    let links = link(&spec, &observation, &index);
    let cached = links.clone();
    let (compare_min, compare_median) = measure(|| {
        std::hint::black_box(links == cached);
    });
    let found = found_for(&links);
    let (assemble_min, assemble_median) = measure(|| {
        std::hint::black_box(assemble(&links, &found, Utc::now()));
    });
    let images: usize = links.repositories.values().map(|images| images.len()).sum();
    println!(
        "{WORKLOADS} workloads, {NAMESPACES} namespaces: {} repositories, {images} images, {} secrets linked",
        links.repositories.len(),
        links.secrets.len()
    );
    println!("secret index (300 integration objects): min {index_min:?}, median {index_median:?}");
    println!("link:                                    min {link_min:?}, median {link_median:?}");
    println!(
        "links unchanged? (the cache-hit check):  min {compare_min:?}, median {compare_median:?}"
    );
    println!(
        "assemble the snapshot (on refresh):      min {assemble_min:?}, median {assemble_median:?}"
    );
    let snapshot = assemble(&links, &found, Utc::now());
    let reached: usize = snapshot
        .s3_buckets
        .iter()
        .filter_map(|b| b.result.as_ref().ok())
        .map(|b| b.links.reached_by.len())
        .sum();
    println!(
        "identities: {} roles, {} of {} buckets, {} of {} databases, {} of {} tables reached; {reached} workload-bucket paths",
        snapshot.roles.len(),
        snapshot.s3_buckets.len(),
        data::BUCKETS,
        snapshot.rds_databases.len(),
        data::DATABASES,
        snapshot.dynamodb_tables.len(),
        data::TABLES,
    );
    let total = link_median + compare_median + assemble_median;
    println!(
        "all linking of an audit with a refresh (link + compare + assemble, medians): {total:?} (budget 50ms: {})",
        if total <= Duration::from_millis(50) {
            "met"
        } else {
            "NOT met"
        }
    );
}
