//! RDS: a hardened PostgreSQL instance (encrypted, 7 days of backups, Multi-AZ, private,
//! `rds.force_ssl = 1`), an exposed MySQL one (none of that, `require_secure_transport = OFF`), and
//! an Aurora cluster with a member instance; one paginated call each for instances and clusters
//! gives every field, and the parameter groups are read only for the databases asked about.

use hipaa_controls::aws::{RdsDatabase, RdsKind};
use hipaa_operator::aws::fetch::NOT_READ;
use hipaa_operator::aws::fetch::rds::{databases, with_tls};
use hipaa_operator::aws::wire::services::RDS;

use super::seed::{DataSeed, proxied};
use crate::aws_support::{REGION, unique};

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";

async fn parameter_group(
    seed: &DataSeed,
    cluster: bool,
    name: &str,
    family: &str,
    parameter: &str,
    value: &str,
) {
    let (create, modify, field) = if cluster {
        (
            "CreateDBClusterParameterGroup",
            "ModifyDBClusterParameterGroup",
            "DBClusterParameterGroupName",
        )
    } else {
        (
            "CreateDBParameterGroup",
            "ModifyDBParameterGroup",
            "DBParameterGroupName",
        )
    };
    seed.query(
        REGION,
        &RDS,
        create,
        &[
            (field, name),
            ("DBParameterGroupFamily", family),
            ("Description", "test"),
        ],
    )
    .await;
    seed.query(
        REGION,
        &RDS,
        modify,
        &[
            (field, name),
            ("Parameters.Parameter.1.ParameterName", parameter),
            ("Parameters.Parameter.1.ParameterValue", value),
            ("Parameters.Parameter.1.ApplyMethod", "immediate"),
        ],
    )
    .await;
}

fn find<'a>(all: &'a [RdsDatabase], identifier: &str) -> &'a RdsDatabase {
    all.iter()
        .find(|d| d.identifier == identifier)
        .unwrap_or_else(|| panic!("no {identifier} in {all:#?}"))
}

#[tokio::test]
async fn databases_carry_their_settings_and_tls_is_read_for_the_reached_ones() {
    let seed = DataSeed::new().await;
    let (safe, open, aurora, member) = (
        unique("pg"),
        unique("my"),
        unique("aurora"),
        unique("aurora-1"),
    );
    let (safe_group, open_group, cluster_group) =
        (unique("pg-tls"), unique("my-plain"), unique("aurora-tls"));
    parameter_group(
        &seed,
        false,
        &safe_group,
        "postgres16",
        "rds.force_ssl",
        "1",
    )
    .await;
    parameter_group(
        &seed,
        false,
        &open_group,
        "mysql8.0",
        "require_secure_transport",
        "OFF",
    )
    .await;
    parameter_group(
        &seed,
        true,
        &cluster_group,
        "aurora-postgresql16",
        "rds.force_ssl",
        "1",
    )
    .await;
    let common = [
        ("DBInstanceClass", "db.t3.micro"),
        ("MasterUsername", "admin"),
        ("MasterUserPassword", "password123"),
        ("AllocatedStorage", "20"),
    ];
    let mut hardened = common.to_vec();
    hardened.extend([
        ("DBInstanceIdentifier", safe.as_str()),
        ("Engine", "postgres"),
        ("StorageEncrypted", "true"),
        ("KmsKeyId", KEY),
        ("BackupRetentionPeriod", "7"),
        ("MultiAZ", "true"),
        ("PubliclyAccessible", "false"),
        ("DBParameterGroupName", safe_group.as_str()),
        // RDS names its list members after their shape: `Tags.Tag.N`, `Parameters.Parameter.N`.
        ("Tags.Tag.1.Key", "environment"),
        ("Tags.Tag.1.Value", "production"),
    ]);
    seed.query(REGION, &RDS, "CreateDBInstance", &hardened)
        .await;
    let mut exposed = common.to_vec();
    exposed.extend([
        ("DBInstanceIdentifier", open.as_str()),
        ("Engine", "mysql"),
        ("StorageEncrypted", "false"),
        ("BackupRetentionPeriod", "0"),
        ("MultiAZ", "false"),
        ("PubliclyAccessible", "true"),
        ("DBParameterGroupName", open_group.as_str()),
    ]);
    seed.query(REGION, &RDS, "CreateDBInstance", &exposed).await;
    seed.query(
        REGION,
        &RDS,
        "CreateDBCluster",
        &[
            ("DBClusterIdentifier", aurora.as_str()),
            ("Engine", "aurora-postgresql"),
            ("MasterUsername", "admin"),
            ("MasterUserPassword", "password123"),
            ("StorageEncrypted", "true"),
            ("KmsKeyId", KEY),
            ("BackupRetentionPeriod", "14"),
            ("DBClusterParameterGroupName", cluster_group.as_str()),
        ],
    )
    .await;
    seed.query(
        REGION,
        &RDS,
        "CreateDBInstance",
        &[
            ("DBInstanceIdentifier", member.as_str()),
            ("DBClusterIdentifier", aurora.as_str()),
            ("Engine", "aurora-postgresql"),
            ("DBInstanceClass", "db.r6g.large"),
        ],
    )
    .await;

    let (proxy, clients) = proxied().await;
    let all = databases(&clients, REGION).await.unwrap();
    assert_eq!(proxy.count("DescribeDBInstances", ""), 1);
    assert_eq!(proxy.count("DescribeDBClusters", ""), 1);
    assert_eq!(
        proxy.count("DescribeDBParameters", ""),
        0,
        "nothing reached yet"
    );

    let pg = find(&all, &safe);
    assert_eq!(pg.kind, RdsKind::Instance);
    assert!(pg.arn.ends_with(&format!(":db:{safe}")), "{}", pg.arn);
    assert!(
        pg.resource_id
            .as_deref()
            .is_some_and(|id| id.starts_with("db-")),
        "{:?}",
        pg.resource_id
    );
    assert_eq!(pg.engine, "postgres");
    assert!(pg.storage_encrypted && pg.multi_az && !pg.publicly_accessible);
    assert_eq!(pg.kms_key_id.as_deref(), Some(KEY));
    assert_eq!(pg.backup_retention_days, 7);
    assert_eq!(pg.parameter_group.as_deref(), Some(safe_group.as_str()));
    assert_eq!(
        pg.tags,
        vec![("environment".to_string(), "production".to_string())]
    );
    assert_eq!(pg.tls_enforced.as_ref().unwrap_err().code, NOT_READ);

    let my = find(&all, &open);
    assert!(!my.storage_encrypted && !my.multi_az && my.publicly_accessible);
    assert_eq!(my.backup_retention_days, 0);
    assert!(my.tags.is_empty());

    let cluster = find(&all, &aurora);
    assert_eq!(cluster.kind, RdsKind::Cluster);
    assert_eq!(cluster.cluster, None);
    assert!(cluster.storage_encrypted);
    assert_eq!(cluster.backup_retention_days, 14);
    assert_eq!(
        cluster.parameter_group.as_deref(),
        Some(cluster_group.as_str())
    );
    assert_eq!(
        find(&all, &member).cluster.as_deref(),
        Some(aurora.as_str())
    );

    let mut reached: Vec<RdsDatabase> = [&safe, &open, &aurora, &member]
        .iter()
        .map(|id| find(&all, id).clone())
        .collect();
    with_tls(&clients, REGION, &mut reached).await;
    let tls: Vec<_> = reached.iter().map(|d| d.tls_enforced.clone()).collect();
    assert_eq!(
        tls,
        vec![
            Ok(Some(true)),
            Ok(Some(false)),
            Ok(Some(true)),
            Ok(Some(true))
        ]
    );
    assert_eq!(proxy.count("DescribeDBParameters", &safe_group), 1);
    assert_eq!(proxy.count("DescribeDBParameters", &open_group), 1);
    assert_eq!(
        proxy.count("DescribeDBClusterParameters", &cluster_group),
        1,
        "the member shares its cluster's"
    );
}
