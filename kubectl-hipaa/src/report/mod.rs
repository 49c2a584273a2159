//! `kubectl hipaa report`: an evidence report organised by HIPAA section (164.308, 164.312).
//! For each control: the result (from the HipaaPolicy statuses), what was checked (Kubernetes
//! resources and AWS resources, by name), when, and the finding messages; then the exceptions
//! with justification, approver and expiry; the cluster's identity and the report's time.

pub mod access;
pub mod data_stores;
pub mod eks_access;
pub mod exceptions;
#[cfg(feature = "history")]
pub mod history;
pub mod html;
pub mod inventory;
pub mod markdown;
pub mod model;
pub mod sections;
pub mod tables;
pub mod trend;

use std::io::Write;

use anyhow::Context as _;
use chrono::Utc;
use hipaa_controls::EffectivePolicy;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;

use crate::cli::{GlobalArgs, ReportArgs, ReportFormat};
use crate::cluster;
use crate::status::read_policies;
use model::{ClusterIdentity, EvidenceReport, ReportInputs};

/// Reads the cluster, builds the report and writes it to `--output-file` or `out`.
pub fn run(args: &ReportArgs, global: &GlobalArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let report = match &args.history {
        #[cfg(feature = "history")]
        Some(uri) => history::read(args, global, uri)?,
        #[cfg(not(feature = "history"))]
        Some(_) => anyhow::bail!(crate::NO_HISTORY),
        None => read_live(args, global)?,
    };
    let text = render(&report, args.format)?;
    match &args.output_file {
        Some(path) => {
            std::fs::write(path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        None => out.write_all(text.as_bytes())?,
    }
    Ok(())
}

/// The report of the live cluster's policies.
fn read_live(args: &ReportArgs, global: &GlobalArgs) -> anyhow::Result<EvidenceReport> {
    let now = Utc::now();
    let runtime = cluster::runtime()?;
    let report = runtime.block_on(async {
        let connection = cluster::connect(global).await?;
        let client = &connection.client;
        let version = client
            .apiserver_version()
            .await
            .context("cannot read the cluster's /version")?;
        let mut policies = read_policies(client, args.policy.as_deref()).await?;
        if let Some(name) = &global.namespace {
            let ns = Api::<Namespace>::all(client.clone())
                .get(name)
                .await
                .with_context(|| format!("cannot read namespace {name}"))?;
            policies.retain(|p| EffectivePolicy::selects(p, &ns));
        }
        let inventory =
            inventory::read(client, &policies, global.namespace.as_deref(), now).await?;
        let access_review = access::read(client, &policies, global.namespace.as_deref()).await;
        anyhow::Ok(model::build(&ReportInputs {
            policies: &policies,
            selected_namespaces: &inventory.selected_namespaces,
            checked: &inventory.checked,
            cluster: ClusterIdentity {
                server: connection.server_url.clone(),
                version: Some(version.git_version),
                platform: Some(version.platform),
            },
            namespace: global.namespace.clone(),
            now,
            access_review: &access_review,
        }))
    })?;
    Ok(report)
}

/// The report in `format`.
pub fn render(report: &EvidenceReport, format: ReportFormat) -> anyhow::Result<String> {
    Ok(match format {
        ReportFormat::Markdown => markdown::render(report),
        ReportFormat::Html => html::render(report)?,
        ReportFormat::Json => serde_json::to_string_pretty(report)? + "\n",
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use std::collections::{BTreeMap, BTreeSet};

    use chrono::{DateTime, Utc};
    use hipaa_controls::HipaaPolicy;
    use hipaa_crds::ControlResult;

    use super::model::{CheckedResources, ClusterIdentity, ReportInputs, build};
    use super::*;

    pub(super) fn report() -> EvidenceReport {
        let policy: HipaaPolicy =
            yaml_serde::from_str(include_str!("../../tests/fixtures/policy-with-status.yaml"))
                .unwrap();
        let mut checked: CheckedResources = BTreeMap::new();
        let worker = BTreeSet::from([
            "Deployment billing/api".to_string(),
            "Deployment billing/worker".to_string(),
        ]);
        checked
            .entry("production-phi".into())
            .or_default()
            .insert("HIPAA-K8S-PRIVILEGED", worker);
        let namespaces =
            BTreeMap::from([("production-phi".to_string(), vec!["billing".to_string()])]);
        let now = DateTime::parse_from_rfc3339("2026-11-28T12:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        build(&ReportInputs {
            policies: &[policy],
            selected_namespaces: &namespaces,
            checked: &checked,
            cluster: ClusterIdentity {
                server: "https://127.0.0.1:6443".into(),
                version: Some("v1.35.4".into()),
                platform: Some("linux/amd64".into()),
            },
            namespace: None,
            now,
            access_review: &access_review(),
        })
    }

    /// The access review of the access command's fixture cluster (billing and claims).
    fn access_review() -> access::AccessReview {
        let cluster = crate::access::tests::cluster();
        let document = crate::access::access_document(
            &cluster.policies,
            &cluster.namespaces,
            &cluster.rbac,
            None,
            None,
        )
        .unwrap();
        access::AccessReview {
            unavailable: None,
            namespaces: document.namespaces,
            eks_clusters: eks_access::eks_principals(&[eks_access::tests::policy_with(
                "production-phi",
                Some(eks_access::tests::prod_access()),
            )]),
        }
    }

    #[test]
    fn the_access_review_lists_each_namespace_with_its_paths_and_gaps() {
        let report = report();
        let markdown = markdown::render(&report);
        let review = &markdown[markdown.find("## Access review").unwrap()..];
        assert!(
            review.contains("### Namespace billing (HipaaPolicy production-phi)"),
            "{review}"
        );
        assert!(
            review.contains("| User alice | read-secrets | yes | get, list | secrets | RoleBinding billing/auditors → Role billing/secret-reader, rule 0 |"),
            "{review}"
        );
        assert!(
            review.contains("- Incomplete: RoleBinding claims/legacy: it names Role claims/gone, which does not exist"),
            "{review}"
        );
        let html = html::render(&report).unwrap();
        assert!(
            html.contains("<h3>Namespace claims (HipaaPolicy production-phi)</h3>"),
            "{html}"
        );
        assert!(
            html.contains("<td>Group oncall</td><td>exec</td><td>NO</td>"),
            "{html}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render(&report, ReportFormat::Json).unwrap()).unwrap();
        assert_eq!(
            json["accessReview"]["namespaces"][0]["namespace"],
            "billing"
        );
        assert!(
            review.contains("### EKS cluster prod (authentication mode API_AND_CONFIG_MAP; HipaaPolicy production-phi)"),
            "{review}"
        );
        assert!(
            review.contains("| arn:aws:iam::111122223333:role/platform-admin | access entry (STANDARD) | platform-admin | — | AmazonEKSClusterAdminPolicy (cluster) |"),
            "{review}"
        );
        assert!(
            html.contains(
                "<td>arn:aws:iam::111122223333:user/alice</td><td>aws-auth mapUsers</td>"
            ),
            "{html}"
        );
        assert_eq!(
            json["accessReview"]["eksClusters"][0]["accessEntries"][0]["principalArn"],
            "arn:aws:iam::111122223333:role/platform-admin"
        );

        let mut denied = report;
        denied.access_review = access::AccessReview {
            unavailable: Some("not allowed to list rolebindings in every namespace".into()),
            namespaces: Vec::new(),
            eks_clusters: denied.access_review.eks_clusters.clone(),
        };
        let markdown = markdown::render(&denied);
        assert!(
            markdown.contains("Not available: not allowed to list rolebindings"),
            "{markdown}"
        );
        assert!(
            markdown.contains("## Control evidence"),
            "the rest of the report is still there"
        );
        assert!(
            markdown.contains(
                "| arn:aws:iam::111122223333:role/platform-admin | access entry (STANDARD) |"
            ),
            "the IAM principals come from the status, not RBAC: {markdown}"
        );
    }

    #[test]
    fn the_model_takes_results_from_the_status_and_groups_them_by_section() {
        let report = report();
        let control = |id: &str| report.controls.iter().find(|c| c.id == id).unwrap();
        assert_eq!(control("HIPAA-K8S-NETPOL").result, ControlResult::Fail);
        assert_eq!(control("HIPAA-K8S-TLS-LB").result, ControlResult::Excepted);
        assert_eq!(
            control("HIPAA-K8S-HA").result,
            ControlResult::NotEvaluated,
            "absent from the status"
        );
        assert_eq!(
            control("HIPAA-K8S-PRIVILEGED").kubernetes_resources.len(),
            2
        );
        assert_eq!(control("HIPAA-K8S-PRIVILEGED").findings.len(), 1);
        let kms = control("HIPAA-EKS-SECRETS-KMS");
        assert_eq!(
            (
                kms.aws_resources[0].name.as_str(),
                kms.aws_resources[0].result
            ),
            ("prod", ControlResult::Error)
        );
        let logging = control("HIPAA-EKS-AUDIT-LOGGING");
        assert_eq!(
            logging.aws_resources[0].result,
            ControlResult::Pass,
            "fails another control, not this one"
        );
        let parts: Vec<&str> = report.parts.iter().map(|p| p.part.as_str()).collect();
        assert_eq!(parts, ["164.308", "164.312", "164.316"]);
        let transmission = report.parts[1]
            .sections
            .iter()
            .find(|s| s.section == "164.312(e)(1)")
            .unwrap();
        assert_eq!(transmission.title, "Transmission security");
        assert!(
            transmission
                .controls
                .iter()
                .any(|c| c.id == "HIPAA-K8S-NETPOL" && c.violations == 1)
        );
        assert_eq!(report.exceptions[0].matched, Some(1));
        assert_eq!(report.policies[0].namespaces, ["billing"]);
    }

    #[test]
    fn the_html_report_draws_each_policy_trend_from_its_history() {
        use super::trend::{TrendPoint, chart};
        let point = |at: &str, score, violations, critical| TrendPoint {
            at: at.into(),
            score,
            violations,
            critical,
            high: 0,
        };
        let live = render(&report(), ReportFormat::Html).unwrap();
        assert!(!live.contains("<svg"), "no history, no trend");
        let mut report = report();
        report.policies[0].name = "phi <prod>".into();
        report.policies[0].trend = vec![
            point("2026-03-12T00:00:00Z", 90, 1, 0),
            point("2026-03-13T00:00:00Z", 61, 4, 1),
        ];
        let html = render(&report, ReportFormat::Html).unwrap();
        let drawn = chart(&report.policies[0].trend).unwrap();
        assert!(html.contains("<svg class=\"trend\""), "{html}");
        assert!(html.contains(&format!(
            "<polyline class=\"score\" points=\"{}\"/>",
            drawn.score
        )));
        assert!(html.contains(&format!("points=\"{}\"", drawn.violations)));
        assert!(
            html.contains("Trend of policy phi &#60;prod&#62;"),
            "escaped"
        );
        assert!(html.contains("2 audits from 2026-03-12T00:00:00Z to 2026-03-13T00:00:00Z"));
        // The JSON carries the points too.
        let json: serde_json::Value =
            serde_json::from_str(&render(&report, ReportFormat::Json).unwrap()).unwrap();
        assert_eq!(json["policies"][0]["trend"][1]["score"], 61);
    }

    #[test]
    fn markdown_html_and_json_carry_the_evidence() {
        let report = report();
        let markdown = render(&report, ReportFormat::Markdown).unwrap();
        assert!(markdown.contains("## 164.308 Administrative safeguards"));
        assert!(markdown.contains("### 164.312(a)(2)(iv) Encryption and decryption"));
        assert!(markdown.contains(
            "Kubernetes resources checked (2): Deployment billing/api, Deployment billing/worker"
        ));
        assert!(markdown.contains("cannot describe EKS cluster prod: AccessDenied"));
        assert!(markdown.contains("| production-phi | 0 | HIPAA-K8S-TLS-LB |"));
        let html = render(&report, ReportFormat::Html).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>") && html.contains("@media print"));
        assert!(
            html.contains("TLS ends at the CDN &#60;edge&#62;"),
            "escaped"
        );
        assert!(!html.contains("<edge>"));
        // Both formats carry the same tables.
        assert!(markdown.contains("| Policy | Enforcement | Compliant | Score |"));
        assert!(html.contains("<tr><th>Policy</th><th>Enforcement</th><th>Compliant</th>"));
        assert!(html.contains("<tr><td>production-phi</td><td>0</td><td>HIPAA-K8S-TLS-LB</td>"));
        assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("src="));
        let json: serde_json::Value =
            serde_json::from_str(&render(&report, ReportFormat::Json).unwrap()).unwrap();
        assert_eq!(json["generatedAt"], "2026-11-28T12:30:00Z");
        assert_eq!(json["policies"][0]["summary"]["score"], 61);
    }
}
