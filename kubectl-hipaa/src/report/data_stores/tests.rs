//! The data stores part over a status fixture (tests/fixtures/policy-with-data-stores.yaml) and a
//! catalog of the data controls made here, so that the grouping is proved whatever the real
//! catalog's entries say; one test holds the part to the real catalog generically.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use hipaa_controls::model::{Scope, Severity};
use hipaa_crds::AwsResourceLink;

use super::*;
use crate::cli::ReportFormat;
use crate::report::{html, markdown, render};

const fn control(
    id: &'static str,
    section: &'static [&'static str],
    targets: &'static [Target],
) -> Control {
    Control {
        id,
        title: id,
        severity: Severity::High,
        sections: section,
        description: "",
        remediation: "",
        targets,
        scope: Scope::Aws,
        parameters: &[],
        opt_in: false,
    }
}

const ENCRYPTION: &str = "164.312(a)(2)(iv)";
const TRANSMISSION: &str = "164.312(e)(1)";
const BACKUP: &str = "164.308(a)(7)(ii)(A)";
const AUTHORIZATION: &str = "164.308(a)(4)(ii)(B)";

/// The data controls as issue 19 describes them, and one Kubernetes control that shares a
/// section (it must bring no store into it).
const CATALOG: &[Control] = &[
    control("HIPAA-K8S-NETPOL", &[TRANSMISSION], &[Target::PodTemplate]),
    control("HIPAA-S3-ENCRYPTION", &[ENCRYPTION], &[Target::S3Bucket]),
    control("HIPAA-S3-TLS", &[TRANSMISSION], &[Target::S3Bucket]),
    control(
        "HIPAA-RDS-ENCRYPTION",
        &[ENCRYPTION],
        &[Target::RdsDatabase],
    ),
    control("HIPAA-RDS-BACKUP", &[BACKUP], &[Target::RdsDatabase]),
    control("HIPAA-ALB-TLS", &[TRANSMISSION], &[Target::Alb]),
    control(
        "HIPAA-EFS-ENCRYPTION",
        &[ENCRYPTION],
        &[Target::EfsFileSystem],
    ),
    control(
        "HIPAA-IAM-DATA-WILDCARD-ACTION",
        &[AUTHORIZATION],
        &[Target::IamRole],
    ),
];

fn policy() -> HipaaPolicy {
    yaml_serde::from_str(include_str!(
        "../../../tests/fixtures/policy-with-data-stores.yaml"
    ))
    .unwrap()
}

fn section<'a>(stores: &'a DataStores, citation: &str) -> Vec<(&'a str, ControlResult, String)> {
    stores
        .sections
        .iter()
        .find(|s| s.section == citation)
        .unwrap_or_else(|| panic!("no section {citation}"))
        .stores
        .iter()
        .map(|s| (s.name.as_str(), s.result, s.failed_controls.join(",")))
        .collect()
}

fn store<'a>(stores: &'a DataStores, name: &str) -> &'a DataStore {
    stores.stores.iter().find(|s| s.name == name).unwrap()
}

#[test]
fn each_store_is_listed_under_the_sections_of_the_controls_that_judge_its_kind() {
    let stores = build(&[policy()], CATALOG, None);
    let citations: Vec<&str> = stores.sections.iter().map(|s| s.section.as_str()).collect();
    assert_eq!(citations, [AUTHORIZATION, BACKUP, ENCRYPTION, TRANSMISSION]);
    assert_eq!(stores.sections[2].title, "Encryption and decryption");
    assert_eq!(
        section(&stores, ENCRYPTION),
        [
            (
                "billing-exports",
                ControlResult::Fail,
                "HIPAA-S3-ENCRYPTION".into()
            ),
            ("billing-records", ControlResult::Pass, String::new()),
            // It errors on backups, not on encryption.
            ("claims-db", ControlResult::Pass, String::new()),
            ("fs-0123456789abcdef0", ControlResult::Pass, String::new()),
        ]
    );
    assert_eq!(
        section(&stores, BACKUP),
        [("claims-db", ControlResult::Error, "HIPAA-RDS-BACKUP".into())],
        "a lookup that failed is an Error, never a Pass"
    );
    assert_eq!(
        section(&stores, TRANSMISSION),
        [
            ("billing-exports", ControlResult::Pass, String::new()),
            ("billing-records", ControlResult::Pass, String::new()),
            (
                "k8s-billing-web-0a1b2c3d4e",
                ControlResult::Pass,
                String::new()
            ),
        ],
        "no EFS or RDS control cites it, and the NetworkPolicy control brings no store"
    );
    assert_eq!(
        section(&stores, AUTHORIZATION),
        [(
            "arn:aws:iam::111122223333:role/billing-api",
            ControlResult::Fail,
            "HIPAA-IAM-DATA-WILDCARD-ACTION".into()
        )]
    );
    assert!(
        stores.stores.iter().all(|s| s.kind != "EKSCluster"),
        "an EKS cluster is not a data store"
    );
    let order: Vec<(&str, ControlResult)> = stores
        .stores
        .iter()
        .map(|s| (s.name.as_str(), s.result))
        .collect();
    assert_eq!(
        order[..3],
        [
            ("billing-exports", ControlResult::Fail),
            (
                "arn:aws:iam::111122223333:role/billing-api",
                ControlResult::Fail
            ),
            ("claims-db", ControlResult::Error),
        ],
        "failing first, stores before the roles in front of them"
    );
    assert_eq!(store(&stores, "claims-db").sections, [BACKUP, ENCRYPTION]);
}

#[test]
fn each_store_names_the_paths_to_it_and_counts_those_left_out() {
    let stores = build(&[policy()], CATALOG, None);
    let paths = |name: &str| -> Vec<String> {
        store(&stores, name)
            .paths
            .iter()
            .map(|p| p.path.clone())
            .collect()
    };
    assert_eq!(
        paths("claims-db"),
        [
            "Deployment billing/api → arn:aws:iam::111122223333:role/billing-api (IRSA) → RDSCluster claims-db",
            "StatefulSet claims/ingest → arn:aws:iam::111122223333:role/claims-ingest (PodIdentity) → RDSCluster claims-db",
        ],
        "one database, two workloads, two roles"
    );
    assert_eq!(
        paths("k8s-billing-web-0a1b2c3d4e"),
        ["Ingress billing/web → ALB k8s-billing-web-0a1b2c3d4e (Ingress)"]
    );
    assert_eq!(
        paths("fs-0123456789abcdef0"),
        ["PersistentVolumeClaim claims/scans → EFSFileSystem fs-0123456789abcdef0 (Volume)"]
    );
    assert_eq!(
        paths("arn:aws:iam::111122223333:role/billing-api"),
        ["Deployment billing/api → IAMRole arn:aws:iam::111122223333:role/billing-api (IRSA)"],
        "a role's own links end at the role"
    );
    let exports = store(&stores, "billing-exports");
    assert_eq!((exports.paths.len(), exports.more_paths), (2, 25));
    assert_eq!(exports.more_text().as_deref(), Some("and 25 more"));
    assert_eq!(store(&stores, "billing-records").more_text(), None);
    assert_eq!(
        exports.paths[1].role.as_deref(),
        Some("arn:aws:iam::111122223333:role/claims-backfill")
    );
}

#[test]
fn a_store_reached_by_many_lists_the_first_few() {
    let mut policy = policy();
    let status = policy.status.as_mut().unwrap();
    let records = status
        .aws_resources
        .iter_mut()
        .find(|r| r.name == "billing-records")
        .unwrap();
    records.linked_by = (0..MAX_REPORT_PATHS + 3)
        .map(|i| AwsResourceLink {
            kind: "Deployment".into(),
            namespace: Some("billing".into()),
            name: format!("worker-{i}"),
            role: Some("arn:aws:iam::111122223333:role/billing-api".into()),
            via: "IRSA".into(),
        })
        .collect();
    records.linked_by_total = Some(2);
    let stores = build(&[policy], CATALOG, None);
    let records = store(&stores, "billing-records");
    assert_eq!(records.paths.len(), MAX_REPORT_PATHS);
    assert_eq!(
        records.more_paths, 3,
        "a total below what is listed is not trusted"
    );
}

#[test]
fn limited_to_a_namespace_only_its_paths_and_the_stores_they_reach_are_listed() {
    let stores = build(&[policy()], CATALOG, Some("claims"));
    let names: Vec<&str> = stores.stores.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["billing-exports", "claims-db", "fs-0123456789abcdef0"],
        "billing's bucket, role and ALB are reached from billing only"
    );
    let exports = store(&stores, "billing-exports");
    assert_eq!(exports.paths.len(), 1);
    assert_eq!(exports.paths[0].name, "backfill");
    assert_eq!(
        exports.more_paths, 25,
        "links the status left out may start in claims"
    );
    assert_eq!(store(&stores, "claims-db").paths[0].name, "ingest");
    assert!(
        section(&stores, TRANSMISSION)
            .iter()
            .all(|(name, _, _)| *name == "billing-exports")
    );
}

#[test]
fn a_section_whose_controls_are_all_disabled_says_so() {
    let mut policy = policy();
    let status = policy.status.as_mut().unwrap();
    for control in &mut status.controls {
        if control.id.starts_with("HIPAA-ALB") {
            control.result = ControlResult::Disabled;
        }
    }
    let stores = build(&[policy], CATALOG, None);
    let alb = section(&stores, TRANSMISSION)
        .into_iter()
        .find(|(name, _, _)| name.starts_with("k8s-billing-web"))
        .unwrap();
    assert_eq!(alb.1, ControlResult::Disabled);
}

#[test]
fn with_the_real_catalog_each_store_sits_under_its_kinds_sections() {
    let catalog = hipaa_controls::catalog();
    let stores = build(&[policy()], catalog, None);
    assert_eq!(
        stores.stores.len(),
        6,
        "every data store, whatever the catalog"
    );
    for listed in &stores.stores {
        let target = Target::of_aws_kind(&listed.kind).unwrap();
        let mut expected: Vec<&str> = catalog
            .iter()
            .filter(|c| c.targets.contains(&target))
            .flat_map(|c| c.sections.iter().copied())
            .collect();
        expected.sort_unstable();
        expected.dedup();
        assert_eq!(listed.sections, expected, "{}", listed.name);
        for citation in &expected {
            assert!(
                section(&stores, citation)
                    .iter()
                    .any(|(name, _, _)| *name == listed.name),
                "{} missing under {citation}",
                listed.name
            );
        }
    }
}

#[test]
fn markdown_html_and_json_show_the_stores_and_their_paths() {
    let mut report = crate::report::tests::report();
    report.data_stores = build(&[policy()], CATALOG, None);
    let markdown = markdown::render(&report);
    let part = &markdown[markdown.find("## AWS data stores").unwrap()
        ..markdown.find("## Control evidence").unwrap()];
    assert!(
        part.contains("### 164.312(a)(2)(iv) Encryption and decryption\n\n| Store | Policy | Result | Failed controls |"),
        "{part}"
    );
    assert!(
        part.contains("| S3Bucket billing-exports | phi-data | Fail | [HIPAA-S3-ENCRYPTION](#hipaa-s3-encryption) |"),
        "{part}"
    );
    assert!(
        part.contains(
            "| RDSCluster claims-db | phi-data | Error | [HIPAA-RDS-BACKUP](#hipaa-rds-backup) |"
        ),
        "{part}"
    );
    assert!(
        part.contains("- **S3Bucket billing-exports (policy phi-data)**: Fail ([HIPAA-S3-ENCRYPTION](#hipaa-s3-encryption))\n  - CronJob billing/export → arn:aws:iam::111122223333:role/billing-export (IRSA) → S3Bucket billing-exports\n"),
        "{part}"
    );
    assert!(part.contains("  - and 25 more\n"), "{part}");
    assert!(
        part.contains("- **S3Bucket billing-records (policy phi-data)**: Pass\n"),
        "{part}"
    );

    let html = html::render(&report).unwrap();
    assert!(html.contains("<h2>AWS data stores</h2>"), "{html}");
    assert!(html.contains(
        "<tr><td>RDSCluster <code>claims-db</code></td><td>phi-data</td><td class=\"Error\">Error</td><td><a href=\"#HIPAA-RDS-BACKUP\">HIPAA-RDS-BACKUP</a></td></tr>"
    ), "{html}");
    assert!(
        html.contains(
            "<li><code>Ingress billing/web → ALB k8s-billing-web-0a1b2c3d4e (Ingress)</code></li>"
        ),
        "{html}"
    );
    assert!(html.contains("<li>and 25 more</li>"), "{html}");
    assert!(!html.contains("<script") && !html.contains("src="));

    let json: serde_json::Value =
        serde_json::from_str(&render(&report, ReportFormat::Json).unwrap()).unwrap();
    let exports = &json["dataStores"]["stores"][0];
    assert_eq!(exports["name"], "billing-exports");
    assert_eq!(exports["morePaths"], 25);
    assert_eq!(exports["paths"][1]["via"], "PodIdentity");
    assert_eq!(
        json["dataStores"]["sections"][1]["stores"][0]["failedControls"][0],
        "HIPAA-RDS-BACKUP"
    );
}

#[test]
fn a_store_nothing_listed_reaches_says_so() {
    let mut policy = policy();
    for resource in &mut policy.status.as_mut().unwrap().aws_resources {
        resource.linked_by.clear();
        resource.linked_by_total = None;
    }
    let mut report = crate::report::tests::report();
    report.data_stores = build(&[policy], CATALOG, None);
    let markdown = markdown::render(&report);
    assert!(
        markdown.contains(&format!(
            "- **S3Bucket billing-records (policy phi-data)**: Pass\n  - {NO_PATH}\n"
        )),
        "{markdown}"
    );
    let html = html::render(&report).unwrap();
    assert!(html.contains(&format!("<li>{NO_PATH}</li>")), "{html}");
}

#[test]
fn a_report_without_data_stores_says_so() {
    let report = crate::report::tests::report();
    assert!(report.data_stores.stores.is_empty());
    let markdown = markdown::render(&report);
    assert!(markdown.contains(&format!(
        "## AWS data stores\n\n{INTRODUCTION}\n\n{NONE_LINKED}\n"
    )));
    let html = html::render(&report).unwrap();
    let escaped = NONE_LINKED.replace('\'', "&#39;");
    assert!(html.contains(&format!("<p>{escaped}</p>")), "{html}");
}
