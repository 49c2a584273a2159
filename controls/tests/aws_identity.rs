//! The identity side of data-store linking over the `identity` fixture: the IAM data-service
//! wildcard controls on roles (a least-privilege role passes, `s3:*` on `*` fails both, an
//! unreadable policy is an Error), and the status's `linkedBy` naming who reaches a store, by
//! which role and how the role is bound, within its bound.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::aws::{Seen, errs_with, evaluate, fails_with, seen, snapshot};
use hipaa_controls::aws::add_resource_links;
use hipaa_controls::catalog::ids;
use hipaa_controls::policy::EffectivePolicy;
use hipaa_crds::{AwsResourceStatus, ControlResult};

const BILLING: &str = "arn:aws:iam::123456789012:role/billing-api";
const CLAIMS: &str = "arn:aws:iam::123456789012:role/claims-batch";

#[test]
fn roles_are_judged_for_wildcards_on_data_services() {
    let results = evaluate(&snapshot("identity"), &EffectivePolicy::defaults());
    for id in [
        ids::IAM_DATA_WILDCARD_ACTION,
        ids::IAM_DATA_WILDCARD_RESOURCE,
    ] {
        assert_eq!(seen(&results, BILLING, id), Seen::Pass, "{id}");
        fails_with(&seen(&results, CLAIMS, id), &["claims-batch", "everything"]);
        errs_with(
            &seen(&results, "arn:aws:iam::123456789012:role/unreadable", id),
            "AccessDenied",
        );
    }
}

fn status(kind: &str, name: &str) -> AwsResourceStatus {
    AwsResourceStatus {
        kind: kind.into(),
        name: name.into(),
        result: ControlResult::Pass,
        failed_controls: Vec::new(),
        checked_at: None,
        linked_by: Vec::new(),
        linked_by_total: None,
    }
}

#[test]
fn the_status_names_who_reaches_a_store_by_which_role_and_how() {
    let snapshot = snapshot("identity");
    let mut statuses = vec![
        status("S3Bucket", "billing-records"),
        status("IAMRole", CLAIMS),
    ];
    add_resource_links(&mut statuses, &snapshot);

    let bucket = &statuses[0];
    let seen: Vec<(String, Option<&str>, &str)> = bucket
        .linked_by
        .iter()
        .map(|l| {
            (
                format!("{}/{}", l.namespace.as_deref().unwrap_or(""), l.name),
                l.role.as_deref(),
                l.via.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("billing/api".to_string(), Some(BILLING), "IRSA"),
            ("billing/records".to_string(), None, "ACK"),
            ("claims/export".to_string(), Some(CLAIMS), "PodIdentity"),
        ]
    );
    assert_eq!(
        bucket.linked_by_total,
        Some(61),
        "60 workload × role paths (the snapshot keeps the first) and one ACK object"
    );

    let role = &statuses[1];
    assert_eq!(role.linked_by.len(), 1);
    assert_eq!(role.linked_by[0].name, "export");
    assert_eq!(role.linked_by[0].via, "PodIdentity");
    assert_eq!(role.linked_by_total, None, "every link listed");
}
