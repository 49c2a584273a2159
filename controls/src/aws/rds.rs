//! The RDS controls over the DB instances and clusters in-scope workloads reach: storage
//! encryption, backup retention, Multi-AZ for production, TLS enforced by the parameter group,
//! and no public access. An instance of a cluster whose cluster is linked too leaves backups,
//! Multi-AZ and TLS to the cluster, which holds them (an Aurora instance reports MultiAZ false and
//! its TLS parameter lives in the cluster parameter group).

use chrono::{DateTime, Utc};

use crate::catalog::ids;
use crate::model::ResourceRef;
use crate::policy::EffectivePolicy;

use super::judge::{Judge, Verdict};
use super::stores::{RdsDatabase, RdsKind};
use super::{AwsSnapshot, KIND_RDS_CLUSTER, KIND_RDS_INSTANCE, LookedUp};

const RDS_CONTROLS: &[&str] = &[
    ids::RDS_ENCRYPTION,
    ids::RDS_BACKUP,
    ids::RDS_MULTI_AZ,
    ids::RDS_TLS,
    ids::RDS_PUBLIC,
];

/// Tag keys (any case) that say which environment a database serves.
const ENVIRONMENT_TAGS: &[&str] = &["environment", "env", "stage"];
/// Their values (any case) that mean production.
const PRODUCTION_VALUES: &[&str] = &["prod", "production"];

pub(crate) fn evaluate<'a>(
    looked_up: &LookedUp<RdsDatabase>,
    snapshot: &AwsSnapshot,
    policy: &'a EffectivePolicy,
    now: DateTime<Utc>,
) -> Judge<'a> {
    let database = match &looked_up.result {
        Ok(database) => database,
        Err(error) => {
            // Without an answer the kind is only known from a cluster ARN.
            let kind = if looked_up.requested.contains(":cluster:") {
                KIND_RDS_CLUSTER
            } else {
                KIND_RDS_INSTANCE
            };
            let resource = ResourceRef::new(kind, None, looked_up.requested.clone());
            let mut judge = Judge::new(policy, now, resource);
            let what = format!("RDS database {}", looked_up.requested);
            judge.lookup_failed(RDS_CONTROLS, &what, error);
            return judge;
        }
    };
    let resource = ResourceRef::new(kind_of(database), None, database.identifier.clone());
    let mut judge = Judge::new(policy, now, resource).also_named([database.arn.clone()]);
    let by_cluster = linked_cluster(database, snapshot).is_some();
    judge.judge(ids::RDS_ENCRYPTION, |_| encryption(database));
    judge.judge(ids::RDS_BACKUP, |parameters| {
        if by_cluster {
            return Verdict::Pass;
        }
        backup(database, parameters.min_retention_days)
    });
    judge.judge(ids::RDS_MULTI_AZ, |parameters| {
        if by_cluster {
            return Verdict::Pass;
        }
        multi_az(database, parameters.require_for_all)
    });
    judge.judge(ids::RDS_TLS, |_| {
        if by_cluster {
            return Verdict::Pass;
        }
        tls(database)
    });
    judge.judge(ids::RDS_PUBLIC, |_| not_public(database));
    judge
}

fn kind_of(database: &RdsDatabase) -> &'static str {
    match database.kind {
        RdsKind::Cluster => KIND_RDS_CLUSTER,
        _ => KIND_RDS_INSTANCE,
    }
}

/// `RDS instance <id>` or `RDS cluster <id>`.
fn display(database: &RdsDatabase) -> String {
    let kind = match database.kind {
        RdsKind::Cluster => "cluster",
        _ => "instance",
    };
    format!("RDS {kind} {}", database.identifier)
}

/// HIPAA-RDS-ENCRYPTION: StorageEncrypted.
fn encryption(database: &RdsDatabase) -> Verdict {
    if database.storage_encrypted {
        return Verdict::Pass;
    }
    Verdict::Fail(format!(
        "{} stores its data unencrypted (StorageEncrypted is off): restore it from a snapshot copied with a KMS key",
        display(database)
    ))
}

/// The cluster an instance belongs to, when that cluster was looked up too (it is then judged
/// on its own, and holds the instance's backups, Multi-AZ and TLS setting).
fn linked_cluster<'a>(database: &'a RdsDatabase, snapshot: &AwsSnapshot) -> Option<&'a str> {
    if database.kind == RdsKind::Cluster {
        return None;
    }
    let cluster = database.cluster.as_deref()?;
    let found = snapshot.rds_databases.iter().any(|other| {
        other.result.as_ref().is_ok_and(|other| {
            other.kind == RdsKind::Cluster && (other.identifier == cluster || other.arn == cluster)
        })
    });
    found.then_some(cluster)
}

/// HIPAA-RDS-BACKUP: retention of at least `min_days`.
fn backup(database: &RdsDatabase, min_days: i64) -> Verdict {
    let days = i64::from(database.backup_retention_days);
    if days >= min_days {
        return Verdict::Pass;
    }
    let state = if days <= 0 {
        "has automated backups off (retention 0 days)".to_string()
    } else {
        format!("keeps automated backups {days} days")
    };
    Verdict::Fail(format!(
        "{} {state}, fewer than minRetentionDays {min_days}: set the backup retention period to at least {min_days} days",
        display(database)
    ))
}

/// The tag that marks a database as production, as `key=value`.
fn production_tag(database: &RdsDatabase) -> Option<String> {
    database
        .tags
        .iter()
        .find(|(key, value)| {
            ENVIRONMENT_TAGS.iter().any(|k| key.eq_ignore_ascii_case(k))
                && PRODUCTION_VALUES
                    .iter()
                    .any(|v| value.trim().eq_ignore_ascii_case(v))
        })
        .map(|(key, value)| format!("{key}={value}"))
}

/// HIPAA-RDS-MULTI-AZ: production databases (or all, with `require_for_all`) are Multi-AZ.
fn multi_az(database: &RdsDatabase, require_for_all: bool) -> Verdict {
    if database.multi_az {
        return Verdict::Pass;
    }
    let why = match production_tag(database) {
        Some(tag) => format!("is tagged {tag} but is not Multi-AZ"),
        None if require_for_all => "is not Multi-AZ and requireForAll is true".to_string(),
        None => return Verdict::Pass,
    };
    Verdict::Fail(format!(
        "{} {why}: turn on Multi-AZ so that it survives the loss of a zone",
        display(database)
    ))
}

/// The parameter that forces TLS on this engine, as it is set.
fn tls_parameter(engine: &str) -> Option<&'static str> {
    let engine = engine.to_ascii_lowercase();
    if engine == "postgres" || engine == "aurora-postgresql" || engine.starts_with("sqlserver") {
        Some("rds.force_ssl = 1")
    } else if engine == "mysql" || engine == "mariadb" || engine.starts_with("aurora-mysql") {
        Some("require_secure_transport = ON")
    } else {
        None
    }
}

/// HIPAA-RDS-TLS: the parameter group enforces TLS.
fn tls(database: &RdsDatabase) -> Verdict {
    let name = display(database);
    let group = database
        .parameter_group
        .as_deref()
        .map(|group| format!(" {group}"))
        .unwrap_or_default();
    let fix = match tls_parameter(&database.engine) {
        Some(parameter) => format!("set {parameter} in a custom parameter group"),
        None => format!(
            "enforce TLS for the {} engine in its parameter group",
            database.engine
        ),
    };
    match &database.tls_enforced {
        Ok(Some(true)) => Verdict::Pass,
        Ok(Some(false)) => Verdict::Fail(format!(
            "{name} accepts connections without TLS (its parameter group{group} turns it off): {fix}"
        )),
        Ok(None) => Verdict::Fail(format!(
            "{name} does not require TLS (its parameter group{group} does not set it): {fix}"
        )),
        Err(error) => Verdict::Error(format!(
            "cannot evaluate {name}: its parameter group{group}: {error}"
        )),
    }
}

/// HIPAA-RDS-PUBLIC: not publicly accessible.
fn not_public(database: &RdsDatabase) -> Verdict {
    if !database.publicly_accessible {
        return Verdict::Pass;
    }
    Verdict::Fail(format!(
        "{} is publicly accessible: turn off public access and reach it from inside the VPC",
        display(database)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_engine_names_its_tls_parameter() {
        assert_eq!(tls_parameter("postgres"), Some("rds.force_ssl = 1"));
        assert_eq!(
            tls_parameter("aurora-postgresql"),
            Some("rds.force_ssl = 1")
        );
        assert_eq!(tls_parameter("sqlserver-se"), Some("rds.force_ssl = 1"));
        assert_eq!(
            tls_parameter("aurora-mysql"),
            Some("require_secure_transport = ON")
        );
        assert_eq!(
            tls_parameter("MariaDB"),
            Some("require_secure_transport = ON")
        );
        assert_eq!(tls_parameter("oracle-ee"), None);
    }
}
