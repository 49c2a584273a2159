#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! The data plan and assembly over plain data: what each phase looks up, and what the snapshot
//! says of reached, failed and declared stores.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{Duration, Utc};
use hipaa_controls::aws::{
    AwsSnapshot, IamRole, IdentitySource, LookupError, PolicyDocument, RolePolicy, S3Bucket,
    StoreLinks,
};
use hipaa_controls::model::ResourceRef;

use super::assemble::assemble_data;
use super::declared::{DeclaredName, DeclaredStore};
use super::found::{DataFound, PodIdentity};
use super::link::DataLinks;
use super::plan::{DataJob, first_data_jobs, second_data_jobs, third_data_jobs};
use super::reach::ReachedStores;
use crate::aws::fetched::Fetched;

const ROLE: &str = "arn:aws:iam::123456789012:role/billing-api";
const POD_ROLE: &str = "arn:aws:iam::123456789012:role/billing-worker";

fn workload(name: &str) -> ResourceRef {
    ResourceRef::new("Deployment", Some("billing"), name)
}

fn links() -> DataLinks {
    let mut links = DataLinks {
        cluster: Some("prod".into()),
        account_controls: true,
        scope: BTreeSet::from(["billing".to_string()]),
        ..DataLinks::default()
    };
    let billing = links.accounts.entry("billing".into()).or_default();
    billing.insert("api".into(), BTreeSet::from([Arc::new(workload("api"))]));
    billing.insert(
        "worker".into(),
        BTreeSet::from([Arc::new(workload("worker"))]),
    );
    links.irsa.insert(
        ROLE.into(),
        BTreeSet::from([("billing".to_string(), "api".to_string())]),
    );
    links
}

fn ok<T>(result: T) -> Option<Fetched<T>> {
    Some(Fetched {
        at: Utc::now(),
        result: Ok(result),
    })
}

fn role(arn: &str, policy: &str) -> IamRole {
    IamRole {
        arn: arn.into(),
        name: arn.rsplit('/').next().unwrap().into(),
        policies: vec![RolePolicy {
            name: "data".into(),
            arn: None,
            version: None,
            document: Ok(PolicyDocument::parse(policy).unwrap()),
        }],
        policies_error: None,
        used_by: Vec::new(),
    }
}

fn bucket(name: &str) -> S3Bucket {
    S3Bucket {
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
    }
}

/// The found state after phases 1 and 2: both roles, one bucket each.
fn found() -> DataFound {
    let mut found = DataFound {
        pod_identities: ok(vec![PodIdentity {
            namespace: "billing".into(),
            service_account: "worker".into(),
            role_arn: POD_ROLE.into(),
        }]),
        ..DataFound::default()
    };
    found.roles.insert(
        ROLE.into(),
        ok(role(ROLE, r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::records/*"}}"#)).unwrap(),
    );
    found.roles.insert(
        POD_ROLE.into(),
        ok(role(
            POD_ROLE,
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
        ))
        .unwrap(),
    );
    found.listings.buckets = ok(vec!["records".into(), "exports".into()]);
    found.listings.databases = ok(Vec::new());
    found.listings.tables = ok(Vec::new());
    found
}

#[test]
fn phases_look_up_identities_then_listings_then_what_the_roles_reach() {
    let now = Utc::now();
    let links = links();
    let first = first_data_jobs(&links, &DataFound::default(), now);
    assert!(first.contains(&DataJob::PodIdentities {
        cluster: "prod".into()
    }));
    assert!(first.contains(&DataJob::Role(ROLE.into())));
    assert!(first.contains(&DataJob::Account {
        cluster: Some("prod".into())
    }));
    assert!(first.contains(&DataJob::Declared));
    assert!(
        !first.contains(&DataJob::LoadBalancers),
        "no Ingress, no load balancer listing"
    );

    let mut found = found();
    found.roles.remove(POD_ROLE);
    found.listings = Default::default();
    let second = second_data_jobs(&links, &found, now);
    assert_eq!(
        second,
        vec![
            DataJob::Role(POD_ROLE.into()),
            DataJob::Buckets,
            DataJob::Databases,
            DataJob::Tables
        ],
        "the Pod Identity role, then the listings wildcards are matched against"
    );

    let found = found_with_all();
    let reached = ReachedStores::compute(&links, &found);
    let third = third_data_jobs(&reached, &found, now);
    assert_eq!(
        third,
        vec![
            DataJob::Bucket("exports".into()),
            DataJob::Bucket("records".into())
        ]
    );
    assert!(
        first_data_jobs(&links, &found, now + Duration::seconds(5))
            .iter()
            .all(|j| matches!(j, DataJob::Account { .. } | DataJob::Declared)),
        "within the cycle a found role is not asked again"
    );
}

fn found_with_all() -> DataFound {
    let mut found = found();
    found.declared = ok(Vec::new());
    found
}

#[test]
fn reached_stores_name_workloads_and_roles_and_failures_stay_errors() {
    let links = links();
    let mut found = found_with_all();
    found
        .buckets
        .insert("records".into(), ok(bucket("records")).unwrap());
    let mut snapshot = AwsSnapshot::empty(Utc::now());
    assemble_data(&mut snapshot, &links, &found);

    assert_eq!(snapshot.roles.len(), 2);
    let pod_role = snapshot
        .roles
        .iter()
        .find(|r| r.requested == POD_ROLE)
        .unwrap();
    let used = &pod_role.result.as_ref().unwrap().used_by;
    assert_eq!(used[0].source, IdentitySource::PodIdentity);
    assert_eq!(used[0].workload, workload("worker"));

    let records = snapshot
        .s3_buckets
        .iter()
        .find(|b| b.requested == "records")
        .unwrap();
    let reached: BTreeMap<_, _> = records
        .result
        .as_ref()
        .unwrap()
        .links
        .reached_by
        .iter()
        .map(|a| (a.workload.name.clone(), a.role_arn.clone()))
        .collect();
    assert_eq!(reached["api"], ROLE);
    assert_eq!(reached["worker"], POD_ROLE);
    let exports = snapshot
        .s3_buckets
        .iter()
        .find(|b| b.requested == "exports")
        .unwrap();
    assert_eq!(
        exports.result.as_ref().unwrap_err().code,
        "NotLookedUp",
        "reached but not described: Error"
    );

    found.listings.buckets = Some(Fetched {
        at: Utc::now(),
        result: Err(LookupError::new("AccessDenied", "no").with_action("s3:ListAllMyBuckets")),
    });
    assemble_data(&mut snapshot, &links, &found);
    let [failed] = snapshot.s3_buckets.as_slice() else {
        panic!("{:?}", snapshot.s3_buckets)
    };
    assert!(failed.result.as_ref().unwrap_err().is_access_denied());
}

#[test]
fn declared_stores_link_without_a_role_and_a_failed_association_list_is_an_error() {
    let mut links = links();
    links.irsa.clear();
    let mut found = DataFound {
        pod_identities: Some(Fetched {
            at: Utc::now(),
            result: Err(LookupError::new("AccessDeniedException", "no")),
        }),
        declared: ok(vec![DeclaredStore {
            object: ResourceRef::new("Bucket.s3.services.k8s.aws", Some("billing"), "records"),
            store: DeclaredName::Bucket("records".into()),
        }]),
        ..DataFound::default()
    };
    found.listings.buckets = ok(vec!["records".into()]);
    found.listings.databases = ok(Vec::new());
    found.listings.tables = ok(Vec::new());
    found
        .buckets
        .insert("records".into(), ok(bucket("records")).unwrap());
    let mut snapshot = AwsSnapshot::empty(Utc::now());
    assemble_data(&mut snapshot, &links, &found);
    let [roles_failed] = snapshot.roles.as_slice() else {
        panic!("{:?}", snapshot.roles)
    };
    assert!(
        roles_failed
            .requested
            .contains("Pod Identity associations of cluster prod")
    );
    let [records] = snapshot.s3_buckets.as_slice() else {
        panic!()
    };
    let records = records.result.as_ref().unwrap();
    assert_eq!(records.links.declared_by[0].name, "records");
    assert!(records.links.reached_by.is_empty());
}
