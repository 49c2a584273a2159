//! The RDS and DynamoDB controls over the `stores` fixture: a compliant cluster with its member,
//! a non-compliant instance, failed sub-lookups (only the controls that needed them Error),
//! minRetentionDays and requireForAll, and DynamoDB keys that only KMS can vouch for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::aws::{Seen, errs_with, evaluate, fails_with, seen, snapshot};
use common::defaults_with;
use hipaa_controls::aws::{AwsSnapshot, KIND_RDS_CLUSTER, KIND_RDS_INSTANCE, LookupError};
use hipaa_controls::catalog::ids;
use hipaa_controls::policy::EffectivePolicy;

fn defaults() -> EffectivePolicy {
    EffectivePolicy::defaults()
}

const RDS: [&str; 5] = [
    ids::RDS_ENCRYPTION,
    ids::RDS_BACKUP,
    ids::RDS_MULTI_AZ,
    ids::RDS_TLS,
    ids::RDS_PUBLIC,
];

#[test]
fn rds_resources_are_instances_or_clusters() {
    let results = evaluate(&snapshot("stores"), &defaults());
    let kind = |name: &str| {
        results
            .iter()
            .find(|r| r.resource.name == name)
            .map(|r| r.resource.kind.clone())
            .unwrap()
    };
    assert_eq!(kind("phi-aurora"), KIND_RDS_CLUSTER);
    assert_eq!(kind("phi-aurora-1"), KIND_RDS_INSTANCE);
}

#[test]
fn a_compliant_cluster_and_its_member_pass_every_rds_control() {
    let results = evaluate(&snapshot("stores"), &defaults());
    for name in ["phi-aurora", "phi-aurora-1"] {
        for id in RDS {
            assert_eq!(seen(&results, name, id), Seen::Pass, "{name} {id}");
        }
    }
}

#[test]
fn a_non_compliant_instance_fails_every_rds_control_and_says_why() {
    let results = evaluate(&snapshot("stores"), &defaults());
    let name = "legacy-mysql";
    fails_with(
        &seen(&results, name, ids::RDS_ENCRYPTION),
        &["RDS instance legacy-mysql", "unencrypted"],
    );
    fails_with(
        &seen(&results, name, ids::RDS_BACKUP),
        &["automated backups off", "at least 7 days"],
    );
    fails_with(
        &seen(&results, name, ids::RDS_MULTI_AZ),
        &["tagged env=prod", "not Multi-AZ"],
    );
    fails_with(
        &seen(&results, name, ids::RDS_TLS),
        &["default.mysql8.0", "require_secure_transport = ON"],
    );
    fails_with(
        &seen(&results, name, ids::RDS_PUBLIC),
        &["publicly accessible"],
    );
}

#[test]
fn a_member_whose_cluster_is_not_linked_is_judged_on_its_own_values() {
    // Linked, the cluster answers for the member's backups, zones and TLS (see the fixture: the
    // member reports 1 day, MultiAZ false and no TLS parameter, as Aurora instances do).
    let mut snapshot = snapshot("stores");
    snapshot
        .rds_databases
        .retain(|db| db.requested != "phi-aurora");
    let results = evaluate(&snapshot, &defaults());
    let member = "phi-aurora-1";
    fails_with(
        &seen(&results, member, ids::RDS_BACKUP),
        &["keeps automated backups 1 days"],
    );
    fails_with(
        &seen(&results, member, ids::RDS_MULTI_AZ),
        &["Environment=Production"],
    );
    fails_with(
        &seen(&results, member, ids::RDS_TLS),
        &["rds.force_ssl = 1"],
    );
    assert_eq!(seen(&results, member, ids::RDS_ENCRYPTION), Seen::Pass);
}

#[test]
fn backup_retention_follows_min_retention_days() {
    let policy = defaults_with(ids::RDS_BACKUP, |p| p.min_retention_days = 30);
    let results = evaluate(&snapshot("stores"), &policy);
    fails_with(
        &seen(&results, "phi-aurora", ids::RDS_BACKUP),
        &["14 days", "minRetentionDays 30"],
    );
    assert_eq!(
        seen(
            &evaluate(&snapshot("stores"), &defaults()),
            "reports-pg",
            ids::RDS_BACKUP
        ),
        Seen::Pass
    );
}

#[test]
fn multi_az_is_required_of_non_production_databases_only_with_require_for_all() {
    let results = evaluate(&snapshot("stores"), &defaults());
    assert_eq!(seen(&results, "reports-pg", ids::RDS_MULTI_AZ), Seen::Pass);
    let policy = defaults_with(ids::RDS_MULTI_AZ, |p| p.require_for_all = true);
    fails_with(
        &seen(
            &evaluate(&snapshot("stores"), &policy),
            "reports-pg",
            ids::RDS_MULTI_AZ,
        ),
        &["requireForAll"],
    );
}

#[test]
fn an_unreadable_parameter_group_errs_only_rds_tls() {
    let results = evaluate(&snapshot("stores"), &defaults());
    errs_with(
        &seen(&results, "reports-pg", ids::RDS_TLS),
        "missing IAM permission rds:DescribeDBParameters",
    );
    for id in [
        ids::RDS_ENCRYPTION,
        ids::RDS_BACKUP,
        ids::RDS_MULTI_AZ,
        ids::RDS_PUBLIC,
    ] {
        assert_eq!(seen(&results, "reports-pg", id), Seen::Pass, "{id}");
    }
}

#[test]
fn tls_turned_off_names_the_postgres_parameter() {
    let mut snapshot = snapshot("stores");
    database_mut(&mut snapshot, "reports-pg").tls_enforced = Ok(Some(false));
    fails_with(
        &seen(
            &evaluate(&snapshot, &defaults()),
            "reports-pg",
            ids::RDS_TLS,
        ),
        &["accepts connections without TLS", "rds.force_ssl = 1"],
    );
}

#[test]
fn a_database_that_could_not_be_looked_up_errs_every_rds_control() {
    let mut snapshot = snapshot("stores");
    snapshot.rds_databases[2].result =
        Err(LookupError::new("AccessDenied", "no").with_action("rds:DescribeDBInstances"));
    let results = evaluate(&snapshot, &defaults());
    for id in RDS {
        errs_with(
            &seen(&results, "legacy-mysql", id),
            "rds:DescribeDBInstances",
        );
    }
}

#[test]
fn dynamodb_needs_a_customer_managed_key_that_kms_vouches_for() {
    let results = evaluate(&snapshot("stores"), &defaults());
    assert_eq!(
        seen(&results, "phi-sessions", ids::DYNAMODB_KMS),
        Seen::Pass
    );
    fails_with(
        &seen(&results, "phi-audit", ids::DYNAMODB_KMS),
        &["AWS-managed KMS key"],
    );
    fails_with(
        &seen(&results, "phi-cache", ids::DYNAMODB_KMS),
        &["AWS-owned default key"],
    );
    errs_with(
        &seen(&results, "phi-orphan", ids::DYNAMODB_KMS),
        "was not looked up in KMS",
    );
}

#[test]
fn dynamodb_point_in_time_recovery() {
    let results = evaluate(&snapshot("stores"), &defaults());
    assert_eq!(
        seen(&results, "phi-sessions", ids::DYNAMODB_PITR),
        Seen::Pass
    );
    fails_with(
        &seen(&results, "phi-audit", ids::DYNAMODB_PITR),
        &["point-in-time recovery off"],
    );
    // The failed DescribeContinuousBackups errs PITR only; KMS is judged (and fails).
    errs_with(
        &seen(&results, "phi-cache", ids::DYNAMODB_PITR),
        "dynamodb:DescribeContinuousBackups",
    );
}

fn database_mut<'a>(
    snapshot: &'a mut AwsSnapshot,
    name: &str,
) -> &'a mut hipaa_controls::aws::RdsDatabase {
    snapshot
        .rds_databases
        .iter_mut()
        .find(|d| d.requested == name)
        .unwrap()
        .result
        .as_mut()
        .unwrap()
}
