#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
use std::sync::Arc;

use chrono::{Duration, TimeZone};
use hipaa_controls::aws::{
    EncryptionType, KeyManager, KeyState, KmsKey, RegistryScanning, ScanFindings, ScanType,
    TagMutability, evaluate_aws,
};
use hipaa_controls::model::{Outcome, ResourceRef};
use hipaa_controls::policy::EffectivePolicy;
use hipaa_crds::HipaaPolicy;

use super::*;
use crate::aws::ecr::RegistryScan;
use crate::aws::found::Fetched;
use hipaa_controls::aws::LookupError;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
}

fn ok<T>(value: T) -> Fetched<T> {
    Fetched {
        at: now(),
        result: Ok(value),
    }
}

fn workload(name: &str) -> ResourceRef {
    ResourceRef::new("Deployment", Some("billing"), name)
}

fn repository(name: &str, account: &str) -> EcrRepository {
    EcrRepository {
        name: name.into(),
        arn: Some(format!("arn:aws:ecr:us-east-1:{account}:repository/{name}")),
        uri: None,
        scan_on_push: false,
        registry_scanning: None,
        tag_mutability: TagMutability::Mutable,
        tag_mutability_exclusions: vec![],
        encryption_type: EncryptionType::Aes256,
        kms_key: None,
        images: vec![],
    }
}

fn key(region: &str, registry: &str, name: &str) -> RepositoryKey {
    RepositoryKey {
        region: region.into(),
        registry: Some(registry.into()),
        name: name.into(),
    }
}

#[test]
fn images_carry_their_findings_and_users_and_scanning_applies_to_the_own_registry() {
    let own = key("us-east-1", "111111111111", "payments/api");
    let other = key("us-east-1", "222222222222", "vendor/agent");
    let mut links = Links {
        region: "us-east-1".into(),
        ..Links::default()
    };
    links.repositories.insert(
        own.clone(),
        BTreeMap::from([(
            "1.2".to_string(),
            [workload("api")].into_iter().map(Arc::new).collect(),
        )]),
    );
    links.repositories.insert(other.clone(), BTreeMap::new());
    let mut found = Found::default();
    found
        .repositories
        .insert(own.clone(), ok(repository("payments/api", "111111111111")));
    found.repositories.insert(
        other.clone(),
        ok(repository("vendor/agent", "222222222222")),
    );
    let critical = ScanFindings {
        status: None,
        severity_counts: [("CRITICAL".to_string(), 2)].into(),
    };
    found
        .findings
        .insert((own.clone(), "1.2".into()), ok(critical.clone()));
    let scanning = RegistryScanning {
        scan_type: ScanType::Basic,
        rules: vec![],
    };
    found.registry_scans.insert(
        "us-east-1".into(),
        ok(RegistryScan {
            registry_id: Some("111111111111".into()),
            scanning: scanning.clone(),
        }),
    );
    let snapshot = assemble(&links, &found, now());
    let [api, agent] = snapshot.ecr_repositories.as_slice() else {
        panic!("{snapshot:#?}");
    };
    let api = api.result.as_ref().unwrap();
    assert_eq!(api.images.len(), 1);
    assert_eq!(api.images[0].used_by, [workload("api")]);
    assert_eq!(api.images[0].findings, Ok(critical));
    assert_eq!(api.registry_scanning, Some(Ok(scanning)));
    assert_eq!(agent.result.as_ref().unwrap().registry_scanning, None);
}

#[test]
fn a_failed_listing_fails_each_glob_and_a_missing_lookup_is_an_error() {
    let mut links = Links {
        region: "us-east-1".into(),
        eks_cluster: Some("prod".into()),
        ..Links::default()
    };
    links.secret_globs.push("prod/*".into());
    let mut found = Found::default();
    found.secret_lists.insert(
        "us-east-1".into(),
        Fetched {
            at: now(),
            result: Err(LookupError::new("AccessDeniedException", "no")
                .with_action("secretsmanager:ListSecrets")),
        },
    );
    let snapshot = assemble(&links, &found, now());
    assert_eq!(snapshot.secrets.len(), 1);
    assert_eq!(snapshot.secrets[0].requested, "prod/*");
    assert!(
        snapshot.secrets[0]
            .result
            .as_ref()
            .unwrap_err()
            .is_access_denied()
    );
    let eks = snapshot.eks.unwrap();
    assert_eq!(eks.result.unwrap_err().code, "NotLookedUp");
}

const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";

#[test]
fn a_secret_named_by_name_and_by_arn_is_one_resource_with_both_readers() {
    let mut links = Links {
        region: "us-east-1".into(),
        ..Links::default()
    };
    for (id, reader) in [("prod/db", "api"), (ARN, "worker")] {
        links.secrets.insert(
            SecretKey {
                region: "us-east-1".into(),
                id: id.into(),
            },
            [workload(reader)].into_iter().map(Arc::new).collect(),
        );
    }
    let secret = SecretsManagerSecret {
        name: "prod/db".into(),
        arn: Some(ARN.into()),
        ..Default::default()
    };
    let mut found = Found::default();
    for id in ["prod/db", ARN] {
        let key = SecretKey {
            region: "us-east-1".into(),
            id: id.into(),
        };
        found.secrets.insert(key, ok(secret.clone()));
    }
    let snapshot = assemble(&links, &found, now());
    assert_eq!(snapshot.secrets.len(), 1, "{snapshot:#?}");
    let merged = snapshot.secrets[0].result.as_ref().unwrap();
    assert_eq!(merged.referenced_by, [workload("worker"), workload("api")]);
}

fn policy(max_age_days: u32) -> EffectivePolicy {
    let policy: HipaaPolicy = yaml_serde::from_str(&format!(
        "apiVersion: hipaaguard.io/v1alpha1\nkind: HipaaPolicy\nmetadata: {{name: p}}\nspec:\n  namespaceSelector: {{matchLabels: {{a: b}}}}\n  controls: [{{id: HIPAA-SM-ROTATION, parameters: {{maxAgeDays: {max_age_days}}}}}]\n  aws: {{region: us-east-1, secrets: [prod/db]}}\n"
    ))
    .unwrap();
    EffectivePolicy::from_policy(&policy).unwrap()
}

/// Moto cannot backdate a rotation: the age check is judged here on an assembled snapshot.
#[test]
fn a_secret_rotated_200_days_ago_fails_max_age_90_and_passes_max_age_365() {
    let mut links = Links {
        region: "us-east-1".into(),
        ..Links::default()
    };
    let key = SecretKey {
        region: "us-east-1".into(),
        id: "prod/db".into(),
    };
    links.secrets.insert(key.clone(), Users::new());
    let mut found = Found::default();
    found.secrets.insert(
        key,
        ok(SecretsManagerSecret {
            name: "prod/db".into(),
            arn: Some(ARN.into()),
            kms_key_id: Some("arn:aws:kms:us-east-1:123456789012:key/k".into()),
            rotation_enabled: true,
            rotation_days: Some(30),
            last_rotated: Some(now() - Duration::days(200)),
            created: Some(now() - Duration::days(400)),
            referenced_by: vec![],
        }),
    );
    found.keys.insert(
        KeyKey {
            region: "us-east-1".into(),
            identifier: "arn:aws:kms:us-east-1:123456789012:key/k".into(),
        },
        ok(KmsKey {
            key_id: "k".into(),
            arn: Some("arn:aws:kms:us-east-1:123456789012:key/k".into()),
            aliases: vec![],
            key_manager: Some(KeyManager::Customer),
            key_state: KeyState::Enabled,
            enabled: true,
            deletion_date: None,
            rotation_enabled: Ok(true),
            used_by: vec![],
        }),
    );
    let snapshot = assemble(&links, &found, now());
    assert_eq!(snapshot.kms_keys.len(), 1);
    let evaluation = evaluate_aws(&snapshot, &policy(90), now());
    let failures: Vec<(&str, &str)> = evaluation
        .findings
        .iter()
        .filter(|f| f.outcome == Outcome::Fail)
        .map(|f| (f.control.id, f.message.as_str()))
        .collect();
    assert_eq!(
        failures,
        [(
            "HIPAA-SM-ROTATION",
            "Secrets Manager secret prod/db was last rotated 200 days ago, more than maxAgeDays 90"
        )]
    );
    assert!(
        evaluate_aws(&snapshot, &policy(365), now())
            .findings
            .is_empty()
    );
}
