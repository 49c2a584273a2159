#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
use std::collections::BTreeMap;

use chrono::TimeZone;
use hipaa_controls::aws::{
    EcrRepository, EncryptionType, LookupError, SecretsManagerSecret, TagMutability,
};

use super::*;
use crate::aws::ecr::RegistryScan;
use crate::aws::link::Users;
use chrono::Duration;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
}

fn ok<T>(value: T) -> Fetched<T> {
    Fetched {
        at: now(),
        result: Ok(value),
    }
}

fn failed<T>(at: DateTime<Utc>) -> Fetched<T> {
    Fetched {
        at,
        result: Err(LookupError::new("ThrottlingException", "Rate exceeded")),
    }
}

fn repo_key(name: &str) -> RepositoryKey {
    RepositoryKey {
        region: "us-east-1".into(),
        registry: Some("123456789012".into()),
        name: name.into(),
    }
}

fn repository(name: &str) -> EcrRepository {
    EcrRepository {
        name: name.into(),
        arn: Some(format!(
            "arn:aws:ecr:us-east-1:123456789012:repository/{name}"
        )),
        uri: None,
        scan_on_push: true,
        registry_scanning: None,
        tag_mutability: TagMutability::Immutable,
        tag_mutability_exclusions: vec![],
        encryption_type: EncryptionType::Kms,
        kms_key: Some("arn:aws:kms:us-west-2:123456789012:key/ecr".into()),
        images: vec![],
    }
}

fn links() -> Links {
    let mut links = Links {
        region: "us-east-1".into(),
        eks_cluster: Some("prod".into()),
        ..Links::default()
    };
    links.repositories.insert(
        repo_key("payments/api"),
        BTreeMap::from([("1.2".to_string(), Users::new())]),
    );
    links.secrets.insert(
        SecretKey {
            region: "us-east-1".into(),
            id: "prod/db".into(),
        },
        Users::new(),
    );
    links
}

#[test]
fn a_new_cycle_starts_with_the_cluster_and_scanning_configurations() {
    let mut links = links();
    links.repository_globs.push("team-*".into());
    let jobs = first_jobs(&links, &Found::default(), now());
    assert_eq!(
        jobs,
        [
            Job::Cluster {
                region: "us-east-1".into(),
                name: "prod".into()
            },
            Job::RepositoryList {
                region: "us-east-1".into()
            },
            Job::RegistryScan {
                region: "us-east-1".into()
            },
        ]
    );
}

#[test]
fn listed_repositories_need_no_describe_but_their_images_need_findings() {
    let mut links = links();
    links.repository_globs.push("payments/*".into());
    let mut found = Found::default();
    found
        .repository_lists
        .insert("us-east-1".into(), ok(vec![repository("payments/api")]));
    let jobs = second_jobs(&links, &found, now());
    assert_eq!(
        jobs,
        [
            Job::Findings(repo_key("payments/api"), "1.2".into()),
            Job::Secret(SecretKey {
                region: "us-east-1".into(),
                id: "prod/db".into()
            }),
        ]
    );
}

#[test]
fn failures_are_retried_after_the_retry_delay_only() {
    let links = links();
    let mut found = Found::default();
    found
        .clusters
        .insert(("us-east-1".into(), "prod".into()), failed(now()));
    found.registry_scans.insert(
        "us-east-1".into(),
        ok(RegistryScan {
            registry_id: None,
            scanning: hipaa_controls::aws::RegistryScanning {
                scan_type: hipaa_controls::aws::ScanType::Basic,
                rules: vec![],
            },
        }),
    );
    assert!(first_jobs(&links, &found, now() + Duration::seconds(29)).is_empty());
    assert!(!has_failures_due(&found, now() + Duration::seconds(29)));
    assert_eq!(
        first_jobs(&links, &found, now() + Duration::seconds(30)).len(),
        1
    );
    assert!(has_failures_due(&found, now() + Duration::seconds(30)));
}

#[test]
fn keys_are_looked_up_in_the_region_their_arn_names() {
    let links = links();
    let mut found = Found::default();
    found
        .repositories
        .insert(repo_key("payments/api"), ok(repository("payments/api")));
    found.secrets.insert(
        SecretKey {
            region: "us-east-1".into(),
            id: "prod/db".into(),
        },
        ok(SecretsManagerSecret {
            name: "prod/db".into(),
            kms_key_id: Some("alias/prod-secrets".into()),
            ..Default::default()
        }),
    );
    let jobs = key_jobs(&links, &found, now());
    assert_eq!(
        jobs,
        [
            Job::Key(KeyKey {
                region: "us-east-1".into(),
                identifier: "alias/prod-secrets".into()
            }),
            Job::Key(KeyKey {
                region: "us-west-2".into(),
                identifier: "arn:aws:kms:us-west-2:123456789012:key/ecr".into()
            }),
        ]
    );
}

#[test]
fn pruning_forgets_what_the_links_dropped() {
    let mut links = links();
    let mut found = Found::default();
    found
        .repositories
        .insert(repo_key("payments/api"), ok(repository("payments/api")));
    found.findings.insert(
        (repo_key("payments/api"), "1.2".into()),
        ok(Default::default()),
    );
    found.findings.insert(
        (repo_key("payments/api"), "1.1".into()),
        ok(Default::default()),
    );
    found.keys.insert(
        KeyKey {
            region: "us-west-2".into(),
            identifier: "arn:aws:kms:us-west-2:123456789012:key/ecr".into(),
        },
        failed(now()),
    );
    prune(&mut found, &links);
    assert_eq!(found.findings.len(), 1);
    assert_eq!(found.keys.len(), 1, "the repository still uses its key");
    links.repositories.clear();
    prune(&mut found, &links);
    assert!(found.repositories.is_empty() && found.findings.is_empty() && found.keys.is_empty());
}
