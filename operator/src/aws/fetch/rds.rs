//! RDS databases: DescribeDBInstances and DescribeDBClusters (one paginated call each is both the
//! region's inventory and every database's details, tags included), and the TLS setting of a
//! reached database's parameter group (DescribeDBParameters / DescribeDBClusterParameters),
//! read only for the databases a workload reaches ([`with_tls`]).

use std::collections::HashMap;

use hipaa_controls::aws::{Lookup, RdsDatabase, RdsKind, StoreLinks};
use roxmltree::Node;

use super::super::clients::Clients;
use super::super::error::actions;
use super::super::wire::query::result_of;
use super::super::wire::{XmlNode, services};
use super::{call, not_read};

/// Every DB instance and DB cluster of the region; `tls_enforced` is left [`super::NOT_READ`]
/// until [`with_tls`] reads it.
pub async fn databases(clients: &Clients, region: &str) -> Lookup<Vec<RdsDatabase>> {
    let mut found = instances(clients, region).await?;
    found.extend(clusters(clients, region).await?);
    Ok(found)
}

/// DescribeDBInstances, every page.
pub async fn instances(clients: &Clients, region: &str) -> Lookup<Vec<RdsDatabase>> {
    let describe = call(
        &services::RDS,
        "DescribeDBInstances",
        actions::RDS_DESCRIBE_DB_INSTANCES,
    );
    let wire = clients.wire(region).await;
    let pages = wire.query_pages(describe, &[], "Marker", "Marker").await?;
    let mut found = Vec::new();
    for page in &pages {
        let document = page.document()?;
        for node in result_of(&document, describe.operation).members("DBInstances") {
            let parameter_group = node
                .members("DBParameterGroups")
                .iter()
                .find_map(|g| g.text_of("DBParameterGroupName"));
            found.push(database(
                &node,
                RdsKind::Instance,
                ["DBInstanceIdentifier", "DBInstanceArn", "DbiResourceId"],
                parameter_group,
            ));
        }
    }
    Ok(found)
}

/// DescribeDBClusters, every page.
pub async fn clusters(clients: &Clients, region: &str) -> Lookup<Vec<RdsDatabase>> {
    let describe = call(
        &services::RDS,
        "DescribeDBClusters",
        actions::RDS_DESCRIBE_DB_CLUSTERS,
    );
    let wire = clients.wire(region).await;
    let pages = wire.query_pages(describe, &[], "Marker", "Marker").await?;
    let mut found = Vec::new();
    for page in &pages {
        let document = page.document()?;
        for node in result_of(&document, describe.operation).members("DBClusters") {
            let parameter_group = node.text_of("DBClusterParameterGroup");
            let mut cluster = database(
                &node,
                RdsKind::Cluster,
                ["DBClusterIdentifier", "DBClusterArn", "DbClusterResourceId"],
                parameter_group,
            );
            // A cluster is not a member of itself.
            cluster.cluster = None;
            found.push(cluster);
        }
    }
    Ok(found)
}

/// The snapshot of one `DBInstance` or `DBCluster` element; `names` are its identifier, ARN and
/// resource ID fields.
fn database(
    node: &Node<'_, '_>,
    kind: RdsKind,
    names: [&str; 3],
    parameter_group: Option<String>,
) -> RdsDatabase {
    let [identifier, arn, resource_id] = names;
    let tls_action = match kind {
        RdsKind::Cluster => actions::RDS_DESCRIBE_DB_CLUSTER_PARAMETERS,
        _ => actions::RDS_DESCRIBE_DB_PARAMETERS,
    };
    RdsDatabase {
        kind,
        identifier: node.text_of(identifier).unwrap_or_default(),
        arn: node.text_of(arn).unwrap_or_default(),
        resource_id: node.text_of(resource_id),
        engine: node.text_of("Engine").unwrap_or_default(),
        storage_encrypted: node.flag("StorageEncrypted"),
        kms_key_id: node.text_of("KmsKeyId"),
        backup_retention_days: node
            .text_of("BackupRetentionPeriod")
            .and_then(|days| days.parse().ok())
            .unwrap_or(0),
        multi_az: node.flag("MultiAZ"),
        publicly_accessible: node.flag("PubliclyAccessible"),
        cluster: node.text_of("DBClusterIdentifier"),
        parameter_group,
        tls_enforced: Err(not_read(
            tls_action,
            "the parameter group is read only for databases a workload reaches",
        )),
        tags: node
            .members("TagList")
            .iter()
            .filter_map(|tag| {
                Some((
                    tag.text_of("Key")?,
                    tag.text_of("Value").unwrap_or_default(),
                ))
            })
            .collect(),
        links: StoreLinks::default(),
    }
}

/// The parameter that enforces TLS on `engine`: `rds.force_ssl` on PostgreSQL (Aurora included)
/// and SQL Server, `require_secure_transport` on MySQL and MariaDB (Aurora MySQL included).
pub fn tls_parameter(engine: &str) -> Option<&'static str> {
    if engine.contains("postgres") || engine.starts_with("sqlserver") {
        Some("rds.force_ssl")
    } else if engine.contains("mysql") || engine.contains("mariadb") {
        Some("require_secure_transport")
    } else {
        None
    }
}

/// Whether parameter group `group` (a DB cluster parameter group when `kind` is a cluster)
/// enforces TLS for `engine`; `Ok(None)` when the engine has no such parameter or the group
/// gives it no value.
pub async fn tls_enforced(
    clients: &Clients,
    region: &str,
    kind: &RdsKind,
    group: &str,
    engine: &str,
) -> Lookup<Option<bool>> {
    let Some(parameter) = tls_parameter(engine) else {
        return Ok(None);
    };
    let (describe, group_field) = match kind {
        RdsKind::Cluster => (
            call(
                &services::RDS,
                "DescribeDBClusterParameters",
                actions::RDS_DESCRIBE_DB_CLUSTER_PARAMETERS,
            ),
            "DBClusterParameterGroupName",
        ),
        _ => (
            call(
                &services::RDS,
                "DescribeDBParameters",
                actions::RDS_DESCRIBE_DB_PARAMETERS,
            ),
            "DBParameterGroupName",
        ),
    };
    let wire = clients.wire(region).await;
    let pages = wire
        .query_pages(
            describe,
            &[(group_field, group), ("MaxRecords", "100")],
            "Marker",
            "Marker",
        )
        .await?;
    for page in &pages {
        let document = page.document()?;
        let result = result_of(&document, describe.operation);
        let found = result
            .members("Parameters")
            .into_iter()
            .find(|p| p.text_of("ParameterName").as_deref() == Some(parameter));
        if let Some(found) = found {
            return Ok(found.text_of("ParameterValue").map(|value| is_on(&value)));
        }
    }
    Ok(None)
}

/// `1`, `ON` and `true` enforce.
fn is_on(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "on" | "true"
    )
}

/// Reads `tls_enforced` for `reached` databases, each parameter group once. A cluster member
/// takes its cluster's setting (the cluster parameter group holds it) when the cluster is among
/// `reached`.
pub async fn with_tls(clients: &Clients, region: &str, reached: &mut [RdsDatabase]) {
    let mut read: HashMap<(bool, String, String), Lookup<Option<bool>>> = HashMap::new();
    for database in reached
        .iter_mut()
        .filter(|d| d.cluster.is_none() || d.kind == RdsKind::Cluster)
    {
        let Some(group) = database.parameter_group.clone() else {
            database.tls_enforced = Ok(None);
            continue;
        };
        let key = (
            database.kind == RdsKind::Cluster,
            group,
            database.engine.clone(),
        );
        let result = match read.get(&key) {
            Some(known) => known.clone(),
            None => {
                let fetched = tls_enforced(clients, region, &database.kind, &key.1, &key.2).await;
                read.insert(key, fetched.clone());
                fetched
            }
        };
        database.tls_enforced = result;
    }
    let by_cluster: HashMap<String, Lookup<Option<bool>>> = reached
        .iter()
        .filter(|d| d.kind == RdsKind::Cluster)
        .map(|d| (d.identifier.clone(), d.tls_enforced.clone()))
        .collect();
    for member in reached.iter_mut().filter(|d| d.kind == RdsKind::Instance) {
        if let Some(setting) = member.cluster.as_ref().and_then(|c| by_cluster.get(c)) {
            member.tls_enforced = setting.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_name_their_tls_parameter() {
        assert_eq!(tls_parameter("postgres"), Some("rds.force_ssl"));
        assert_eq!(tls_parameter("aurora-postgresql"), Some("rds.force_ssl"));
        assert_eq!(tls_parameter("sqlserver-se"), Some("rds.force_ssl"));
        assert_eq!(tls_parameter("mysql"), Some("require_secure_transport"));
        assert_eq!(
            tls_parameter("aurora-mysql"),
            Some("require_secure_transport")
        );
        assert_eq!(tls_parameter("mariadb"), Some("require_secure_transport"));
        assert_eq!(tls_parameter("oracle-ee"), None);
        assert!(is_on("1") && is_on("ON") && !is_on("0") && !is_on("OFF"));
    }
}
