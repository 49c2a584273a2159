//! ECR: repositories named in the spec or run by workloads, judged on scanning, tag immutability
//! and encryption, and the images in use on their scan findings.

use chrono::Utc;
use hipaa_crds::ControlResult;
use hipaa_testkit::moto;

use crate::aws_support::*;

#[tokio::test]
async fn scan_on_push_off_mutable_tags_and_aes256_each_fail_their_control() {
    let moto = moto().await.unwrap();
    let seed = Seed::new(moto).await;
    let name = unique("ecr-bad");
    seed.repository(
        &name,
        RepositorySpec {
            scan_on_push: false,
            immutable: false,
            kms_key: None,
        },
    )
    .await;
    let collector = collector(moto.endpoint()).await;
    let policy = policy(
        &format!("{{region: {REGION}, ecrRepositories: [{name}]}}"),
        "",
    );
    let audit = collect_and_audit(&collector, &policy, &observation(vec![]), Utc::now()).await;
    assert_eq!(
        failures(&audit, "HIPAA-ECR-SCAN"),
        [format!(
            "ECR repository {name}: scan on push is off, and no registry scanning rule covers the repository"
        )]
    );
    assert_eq!(
        failures(&audit, "HIPAA-ECR-IMMUTABLE-TAGS"),
        [format!("ECR repository {name} has mutable tags (MUTABLE)")]
    );
    assert_eq!(
        failures(&audit, "HIPAA-ECR-KMS"),
        [format!(
            "ECR repository {name} is encrypted with AES256 (S3-managed keys), not KMS"
        )]
    );
    let repository = audit
        .status
        .aws_resources
        .iter()
        .find(|r| r.name == name)
        .unwrap();
    assert_eq!(
        (repository.kind.as_str(), repository.result),
        ("ECRRepository", ControlResult::Fail)
    );
}

#[tokio::test]
async fn a_scanned_immutable_kms_repository_passes_and_its_key_is_checked() {
    let moto = moto().await.unwrap();
    let seed = Seed::new(moto).await;
    let (key_id, key_arn) = seed.key(true).await;
    let name = unique("ecr-good");
    seed.repository(&name, RepositorySpec::hardened(Some(&key_arn)))
        .await;
    seed.scanned_image(&name, "v1").await;
    let collector = collector(moto.endpoint()).await;
    let policy = policy(&format!("{{region: {REGION}}}"), "");
    let observation = observation(vec![deployment("api", &ecr_image(&name, "v1"))]);
    let audit = collect_and_audit(&collector, &policy, &observation, Utc::now()).await;
    // moto's default scan reports one HIGH finding: below the default failOn (CRITICAL).
    for id in [
        "HIPAA-ECR-SCAN",
        "HIPAA-ECR-IMMUTABLE-TAGS",
        "HIPAA-ECR-KMS",
        "HIPAA-KMS-ROTATION",
    ] {
        assert_eq!(
            result(&audit, id),
            ControlResult::Pass,
            "{id}: {:?}",
            findings(&audit, id)
        );
    }
    assert!(
        audit
            .status
            .aws_resources
            .iter()
            .any(|r| r.kind == "KMSKey" && r.name == key_id)
    );
}

#[tokio::test]
async fn an_image_in_use_with_critical_findings_fails_naming_the_image_and_the_count() {
    let moto = moto().await.unwrap();
    let seed = Seed::new(moto).await;
    let name = unique("ecr-vulnerable");
    seed.repository(&name, RepositorySpec::hardened(None)).await;
    seed.scanned_image(&name, "2.0").await;
    seed.scan_findings(&name, "2.0", &[("CRITICAL", 3), ("HIGH", 5)])
        .await;
    let collector = collector(moto.endpoint()).await;
    let policy = policy(&format!("{{region: {REGION}}}"), "");
    let observation = observation(vec![deployment("api", &ecr_image(&name, "2.0"))]);
    let audit = collect_and_audit(&collector, &policy, &observation, Utc::now()).await;
    assert_eq!(
        failures(&audit, "HIPAA-ECR-SCAN"),
        [format!(
            "ECR repository {name}: image {name}:2.0 (run by Deployment billing/api) has 3 CRITICAL findings"
        )]
    );
    // failOn HIGH counts the HIGH findings too.
    let strict = crate::aws_support::policy(
        &format!("{{region: {REGION}}}"),
        "[{id: HIPAA-ECR-SCAN, parameters: {failOn: HIGH}}]",
    );
    let audit = collect_and_audit(&collector, &strict, &observation, Utc::now()).await;
    assert_eq!(
        failures(&audit, "HIPAA-ECR-SCAN"),
        [format!(
            "ECR repository {name}: image {name}:2.0 (run by Deployment billing/api) has 8 findings at or above HIGH (3 CRITICAL, 5 HIGH)"
        )]
    );
}

#[tokio::test]
async fn a_repository_glob_expands_through_one_listing() {
    let moto = moto().await.unwrap();
    let seed = Seed::new(moto).await;
    let prefix = unique("ecr-team");
    for suffix in ["a", "b"] {
        let spec = RepositorySpec {
            scan_on_push: true,
            immutable: suffix == "a",
            kms_key: None,
        };
        seed.repository(&format!("{prefix}-{suffix}"), spec).await;
    }
    let (proxy, collector) = proxied_collector().await;
    let policy = policy(
        &format!("{{region: {REGION}, ecrRepositories: ['{prefix}-*']}}"),
        "",
    );
    let audit = collect_and_audit(&collector, &policy, &observation(vec![]), Utc::now()).await;
    assert_eq!(
        failures(&audit, "HIPAA-ECR-IMMUTABLE-TAGS"),
        [format!(
            "ECR repository {prefix}-b has mutable tags (MUTABLE)"
        )]
    );
    let mut operations: Vec<(String, String)> = proxy
        .calls()
        .into_iter()
        .map(|c| (c.operation, c.resource))
        .collect();
    operations.sort();
    assert_eq!(
        operations,
        [
            ("DescribeRepositories".to_string(), String::new()),
            (
                "GetRegistryScanningConfiguration".to_string(),
                String::new()
            ),
        ],
        "one listing, no describe per repository"
    );
}
