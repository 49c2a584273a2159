//! Reach over JSON policy fixtures: exact ARNs, globs, `*`, NotAction, NotResource, Deny (plain
//! and conditional), conditional Allow, `rds-db:connect` by resource ID, DynamoDB indexes, and
//! roles whose reach is unknown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::aws::identity::{IdentitySource, PolicyDocument, RolePolicy, RoleUse};
use crate::aws::{LookupError, RdsKind};
use crate::model::ResourceRef;

const ACCOUNT: &str = "111122223333";

fn inventory() -> StoreInventory {
    StoreInventory::new([
        StoreRef::S3Bucket {
            name: "bucket-phi".into(),
        },
        StoreRef::S3Bucket {
            name: "bucket-logs".into(),
        },
        StoreRef::S3Bucket {
            name: "other".into(),
        },
        StoreRef::Rds {
            kind: RdsKind::Instance,
            arn: format!("arn:aws:rds:us-east-1:{ACCOUNT}:db:orders"),
            resource_id: Some("db-ORDERS".into()),
        },
        StoreRef::Rds {
            kind: RdsKind::Cluster,
            arn: format!("arn:aws:rds:us-east-1:{ACCOUNT}:cluster:claims"),
            resource_id: Some("cluster-CLAIMS".into()),
        },
        StoreRef::DynamoTable {
            arn: format!("arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/patients"),
        },
        StoreRef::KmsKey {
            arn: format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/k1"),
        },
    ])
}

const PHI: usize = 0;
const LOGS: usize = 1;
const OTHER: usize = 2;
const ORDERS: usize = 3;
const CLAIMS: usize = 4;
const PATIENTS: usize = 5;
const KEY: usize = 6;

fn role(name: &str, documents: &[&str]) -> LookedUp<IamRole> {
    let arn = format!("arn:aws:iam::{ACCOUNT}:role/{name}");
    LookedUp::found(
        arn.clone(),
        IamRole {
            arn,
            name: name.into(),
            policies: documents
                .iter()
                .enumerate()
                .map(|(i, json)| RolePolicy {
                    name: format!("policy-{i}"),
                    arn: None,
                    version: None,
                    document: PolicyDocument::parse(json)
                        .map_err(|e| LookupError::new("Malformed", e.to_string())),
                })
                .collect(),
            policies_error: None,
            used_by: vec![RoleUse {
                workload: ResourceRef::new("Deployment", Some("billing"), "api"),
                service_account: "api".into(),
                source: IdentitySource::Irsa,
            }],
        },
    )
}

fn allow(action: &str, resource: &str) -> String {
    format!(r#"{{"Statement":{{"Effect":"Allow","Action":{action},"Resource":{resource}}}}}"#)
}

fn first_grant<'r>(reach: &'r Reach<'_>, store: usize) -> RoleGrant<'r> {
    reach.grants(store).next().expect("a grant")
}

/// The stores one role reaches, by inventory index.
fn reached(documents: &[&str]) -> Vec<usize> {
    let roles = [role("app", documents)];
    let inventory = inventory();
    let reach = compute_reach(&roles, &inventory);
    assert!(reach.unknown().is_empty(), "{:?}", reach.unknown());
    reach.reached().collect()
}

#[test]
fn an_exact_arn_reaches_that_bucket_and_its_objects_count_as_it() {
    assert_eq!(
        reached(&[&allow(r#""s3:ListBucket""#, r#""arn:aws:s3:::bucket-phi""#)]),
        vec![PHI]
    );
    assert_eq!(
        reached(&[&allow(
            r#""s3:GetObject""#,
            r#""arn:aws:s3:::other/reports/*""#
        )]),
        vec![OTHER]
    );
    // An S3 action names no DynamoDB table, whatever the resource.
    assert!(reached(&[&allow(r#""s3:*""#, r#""arn:aws:dynamodb:*:*:table/*""#)]).is_empty());
}

#[test]
fn a_glob_reaches_every_bucket_it_matches() {
    assert_eq!(
        reached(&[&allow(r#""s3:Get*""#, r#""arn:aws:s3:::bucket-*""#)]),
        vec![PHI, LOGS]
    );
}

#[test]
fn a_star_resource_reaches_every_store_of_the_action_service() {
    assert_eq!(
        reached(&[&allow(r#""s3:GetObject""#, r#""*""#)]),
        vec![PHI, LOGS, OTHER]
    );
    assert_eq!(
        reached(&[&allow(r#""*""#, r#""*""#)]),
        vec![PHI, LOGS, OTHER, ORDERS, CLAIMS, PATIENTS, KEY]
    );
}

#[test]
fn not_action_grants_every_service_it_does_not_exclude() {
    let document =
        r#"{"Statement":[{"Effect":"Allow","NotAction":["s3:*","iam:*"],"Resource":"*"}]}"#;
    assert_eq!(reached(&[document]), vec![ORDERS, CLAIMS, PATIENTS, KEY]);
    let roles = [role("app", &[document])];
    let inventory = inventory();
    let reach = compute_reach(&roles, &inventory);
    assert_eq!(
        first_grant(&reach, KEY).actions,
        vec!["NotAction [s3:*, iam:*]"]
    );
}

#[test]
fn not_resource_grants_everything_but_the_listed() {
    let document = r#"{"Statement":{"Effect":"Allow","Action":"s3:*","NotResource":["arn:aws:s3:::bucket-phi","arn:aws:s3:::bucket-phi/*"]}}"#;
    assert_eq!(reached(&[document]), vec![LOGS, OTHER]);
    // Excluding the bucket but not its objects leaves the objects granted.
    let partial = r#"{"Statement":{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::bucket-phi"}}"#;
    assert_eq!(reached(&[partial]), vec![PHI, LOGS, OTHER]);
}

#[test]
fn an_unconditional_deny_removes_what_it_covers_only() {
    let grant = allow(r#""s3:*""#, r#""*""#);
    let deny = r#"{"Statement":{"Effect":"Deny","Action":"s3:*","Resource":["arn:aws:s3:::bucket-phi","arn:aws:s3:::bucket-phi/*"]}}"#;
    assert_eq!(reached(&[&grant, deny]), vec![LOGS, OTHER]);
    // Denying the bucket but not its objects leaves object access.
    let bucket_only =
        r#"{"Statement":{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::bucket-phi"}}"#;
    assert_eq!(reached(&[&grant, bucket_only]), vec![PHI, LOGS, OTHER]);
    // A narrower Deny action does not cover `s3:*`.
    let narrow = r#"{"Statement":{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}}"#;
    assert_eq!(reached(&[&grant, narrow]), vec![PHI, LOGS, OTHER]);
    // `Action: *` is denied on S3 by `s3:*`, and a prefix glob covers a narrower one.
    let star = allow(r#""*""#, r#""*""#);
    let all_s3 = r#"{"Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*"}}"#;
    assert_eq!(
        reached(&[&star, all_s3]),
        vec![ORDERS, CLAIMS, PATIENTS, KEY]
    );
    let globbed = allow(r#""s3:Get*""#, r#""arn:aws:s3:::bucket-phi/*""#);
    let prefix =
        r#"{"Statement":{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::bucket-*"}}"#;
    assert!(reached(&[&globbed, prefix]).is_empty());
}

#[test]
fn a_conditional_deny_removes_nothing_and_a_conditional_allow_is_marked() {
    let grant = allow(r#""s3:*""#, r#""arn:aws:s3:::bucket-phi*""#);
    let deny = r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}"#;
    assert_eq!(reached(&[&grant, deny]), vec![PHI]);
    let conditional = r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"a"}}}}"#;
    let roles = [role("app", &[&grant, conditional])];
    let inventory = inventory();
    let reach = compute_reach(&roles, &inventory);
    assert!(!first_grant(&reach, PHI).conditional);
    assert!(first_grant(&reach, OTHER).conditional);
    let accesses = reach.accesses(OTHER);
    assert_eq!(accesses.len(), 1);
    assert!(accesses[0].conditional);
    assert_eq!(accesses[0].actions, vec!["s3:GetObject"]);
    assert_eq!(
        accesses[0].role_arn,
        format!("arn:aws:iam::{ACCOUNT}:role/app")
    );
}

#[test]
fn rds_db_connect_reaches_a_database_through_its_resource_id() {
    let connect = allow(
        r#""rds-db:connect""#,
        &format!(r#""arn:aws:rds-db:us-east-1:{ACCOUNT}:dbuser:db-ORDERS/app_user""#),
    );
    assert_eq!(reached(&[&connect]), vec![ORDERS]);
    let any_user = allow(
        r#""rds-db:connect""#,
        &format!(r#""arn:aws:rds-db:us-east-1:{ACCOUNT}:dbuser:*/app_user""#),
    );
    assert_eq!(reached(&[&any_user]), vec![ORDERS, CLAIMS]);
    // The Data API reaches a cluster by its ARN; the instance is no Data API target.
    let data = allow(r#""rds-data:*""#, r#""arn:aws:rds:us-east-1:*""#);
    assert_eq!(reached(&[&data]), vec![CLAIMS]);
}

#[test]
fn a_dynamodb_index_arn_counts_as_its_table() {
    let index = allow(
        r#"["dynamodb:Query"]"#,
        &format!(r#""arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/patients/index/by-mrn""#),
    );
    assert_eq!(reached(&[&index]), vec![PATIENTS]);
    let streams = allow(
        r#""dynamodb:GetRecords""#,
        &format!(r#""arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/patients/stream/*""#),
    );
    assert_eq!(reached(&[&streams]), vec![PATIENTS]);
    let other_table = allow(
        r#""dynamodb:*""#,
        &format!(r#""arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/patients-archive""#),
    );
    assert!(reached(&[&other_table]).is_empty());
}

#[test]
fn action_patterns_are_deduplicated_per_role_and_store() {
    let first = allow(r#"["s3:GetObject","S3:Get*"]"#, r#""arn:aws:s3:::other/*""#);
    let second = allow(r#""s3:GetObject""#, r#""arn:aws:s3:::other/a/*""#);
    let roles = [role("app", &[&first, &second])];
    let inventory = inventory();
    let reach = compute_reach(&roles, &inventory);
    assert_eq!(
        first_grant(&reach, OTHER).actions,
        vec!["s3:GetObject", "S3:Get*"]
    );
}

#[test]
fn a_role_whose_policies_cannot_be_read_has_unknown_reach() {
    let readable = allow(r#""s3:*""#, r#""*""#);
    let mut roles = vec![role("broken", &[&readable, "not json"])];
    let mut unlisted = role("unlisted", &[&readable]);
    if let Ok(found) = &mut unlisted.result {
        found.policies_error =
            Some(LookupError::new("AccessDenied", "no").with_action("iam:ListRolePolicies"));
    }
    roles.push(unlisted);
    roles.push(LookedUp::failed(
        "arn:aws:iam::111122223333:role/gone",
        LookupError::new("NoSuchEntity", "gone"),
    ));
    let inventory = inventory();
    let reach = compute_reach(&roles, &inventory);
    assert_eq!(
        reach.reached().count(),
        0,
        "unknown reach must not be guessed"
    );
    let unknown: Vec<&str> = reach.unknown().iter().map(|u| u.role.as_str()).collect();
    assert_eq!(
        unknown,
        vec![
            "arn:aws:iam::111122223333:role/broken",
            "arn:aws:iam::111122223333:role/unlisted",
            "arn:aws:iam::111122223333:role/gone"
        ]
    );
    assert!(reach.unknown()[0].reason.contains("policy-1"));
    assert!(reach.unknown()[1].reason.contains("iam:ListRolePolicies"));
}

#[test]
fn link_stores_writes_the_accesses_of_the_stores_in_the_snapshot() {
    use crate::aws::stores::{S3Bucket, StoreLinks};
    let bucket = |name: &str| S3Bucket {
        name: name.into(),
        arn: format!("arn:aws:s3:::{name}"),
        region: None,
        encryption: Ok(None),
        policy: Ok(None),
        public_access_block: Ok(None),
        public_acl_grants: Ok(Vec::new()),
        versioning: Ok(None),
        object_lock: Ok(false),
        links: StoreLinks::default(),
    };
    let mut buckets = vec![
        LookedUp::found("bucket-phi", bucket("bucket-phi")),
        LookedUp::found("other", bucket("other")),
    ];
    let roles = [role(
        "app",
        &[&allow(
            r#""s3:GetObject""#,
            r#""arn:aws:s3:::bucket-phi/*""#,
        )],
    )];
    let inventory = inventory();
    let reach = compute_reach(&roles, &inventory);
    assert_eq!(reach.access_count(PHI), 1);
    reach.link_stores(&inventory, &mut buckets, &mut [], &mut []);
    let [Ok(phi), Ok(other)] = [&buckets[0].result, &buckets[1].result] else {
        panic!("found buckets expected");
    };
    assert_eq!(phi.links.reached_by.len(), 1);
    assert_eq!(
        phi.links.reached_by[0].workload,
        ResourceRef::new("Deployment", Some("billing"), "api")
    );
    assert!(other.links.reached_by.is_empty());
}
