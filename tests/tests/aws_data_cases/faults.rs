//! Faults injected by the proxy in each protocol: AccessDenied on one call gives a lookup error
//! naming the missing permission for that lookup only (query, S3, REST-JSON and EC2's own
//! `UnauthorizedOperation`), throttling is retried with backoff and succeeds, and throttling past
//! the attempts is an error of its own, every attempt counted in the call metrics.

use hipaa_controls::aws::RdsDatabase;
use hipaa_operator::aws::call_metrics::Outcome;
use hipaa_operator::aws::fetch::account::{detectors, ebs_encryption_by_default};
use hipaa_operator::aws::fetch::dynamodb::table;
use hipaa_operator::aws::fetch::iam::{PolicyCache, role};
use hipaa_operator::aws::fetch::rds::{databases, with_tls};
use hipaa_operator::aws::fetch::s3::bucket;
use hipaa_operator::aws::wire::services::{IAM, RDS};

use super::seed::{DataSeed, proxied};
use crate::aws_support::{FaultKind, MAX_ATTEMPTS, REGION, unique};

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

#[tokio::test]
async fn access_denied_on_one_call_names_its_permission_and_spares_the_rest() {
    let seed = DataSeed::new().await;
    let (database, group, name) = (unique("pg"), unique("pg-tls"), unique("bucket"));
    seed.query(
        REGION,
        &RDS,
        "CreateDBParameterGroup",
        &[
            ("DBParameterGroupName", &group),
            ("DBParameterGroupFamily", "postgres16"),
            ("Description", "t"),
        ],
    )
    .await;
    let instance = [
        ("DBInstanceIdentifier", database.as_str()),
        ("Engine", "postgres"),
        ("DBInstanceClass", "db.t3.micro"),
        ("MasterUsername", "admin"),
        ("MasterUserPassword", "password123"),
        ("AllocatedStorage", "20"),
        ("DBParameterGroupName", group.as_str()),
    ];
    seed.query(REGION, &RDS, "CreateDBInstance", &instance)
        .await;
    seed.s3.create_bucket().bucket(&name).send().await.unwrap();

    let (proxy, clients) = proxied().await;
    proxy.fail("DescribeDBParameters", FaultKind::AccessDenied, 1);
    let mut reached: Vec<RdsDatabase> = databases(&clients, REGION)
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.identifier == database)
        .collect();
    with_tls(&clients, REGION, &mut reached).await;
    let error = reached[0].tls_enforced.clone().unwrap_err();
    assert!(error.is_access_denied(), "{error}");
    assert_eq!(error.code, "AccessDenied");
    assert!(
        error
            .to_string()
            .ends_with("(missing IAM permission rds:DescribeDBParameters)"),
        "{error}"
    );
    assert_eq!(
        proxy.count("DescribeDBParameters", &group),
        1,
        "AccessDenied is not retried"
    );
    assert_eq!(
        clients
            .metrics()
            .attempts("RDS", "DescribeDBParameters", Outcome::AccessDenied),
        1
    );

    proxy.fail("GetBucketEncryption", FaultKind::AccessDenied, 1);
    let found = bucket(&clients, REGION, &name).await;
    let error = found.encryption.unwrap_err();
    assert_eq!(error.code, "AccessDenied");
    assert!(
        error
            .to_string()
            .ends_with("(missing IAM permission s3:GetEncryptionConfiguration)"),
        "{error}"
    );
    assert_eq!(
        found.versioning,
        Ok(None),
        "the bucket's other lookups still answer"
    );
    assert_eq!(found.object_lock, Ok(false));

    proxy.fail("GetEbsEncryptionByDefault", FaultKind::AccessDenied, 1);
    let error = ebs_encryption_by_default(&clients, REGION)
        .await
        .unwrap_err();
    assert_eq!(error.code, "UnauthorizedOperation");
    assert!(
        error
            .to_string()
            .ends_with("(missing IAM permission ec2:GetEbsEncryptionByDefault)"),
        "{error}"
    );

    proxy.fail("ListDetectors", FaultKind::AccessDenied, 1);
    let error = detectors(&clients, REGION).await.unwrap_err();
    assert_eq!(error.code, "AccessDeniedException");
    assert!(
        error
            .to_string()
            .ends_with("(missing IAM permission guardduty:ListDetectors)"),
        "{error}"
    );
}

#[tokio::test]
async fn throttling_is_retried_until_it_succeeds_or_the_attempts_run_out() {
    let seed = DataSeed::new().await;
    let name = unique("throttled");
    seed.query(
        REGION,
        &IAM,
        "CreateRole",
        &[("RoleName", &name), ("AssumeRolePolicyDocument", TRUST)],
    )
    .await;
    let (proxy, clients) = proxied().await;
    proxy.fail("GetRole", FaultKind::Throttling, 2);
    let calls_before = clients.calls();
    let found = role(&clients, REGION, &name, &PolicyCache::new())
        .await
        .unwrap();
    assert_eq!(found.name, name);
    assert_eq!(
        proxy.count("GetRole", &name),
        3,
        "two throttled attempts, then the answer"
    );
    let metrics = clients.metrics();
    assert_eq!(metrics.attempts("IAM", "GetRole", Outcome::Throttled), 2);
    assert_eq!(metrics.attempts("iam", "GetRole", Outcome::Success), 1);
    // GetRole, ListAttachedRolePolicies and ListRolePolicies: each counted once, retries or not.
    assert_eq!(clients.calls() - calls_before, 3);

    let missing = unique("table");
    proxy.fail(
        "DescribeTable",
        FaultKind::Throttling,
        MAX_ATTEMPTS as usize,
    );
    let error = table(&clients, REGION, &missing).await.unwrap_err();
    assert_eq!(error.code, "ThrottlingException");
    assert_eq!(error.action.as_deref(), Some("dynamodb:DescribeTable"));
    assert_eq!(
        metrics.attempts("DynamoDB", "DescribeTable", Outcome::Throttled),
        u64::from(MAX_ATTEMPTS)
    );
}
