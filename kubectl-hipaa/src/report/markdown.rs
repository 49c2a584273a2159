//! The evidence report as Markdown: identity and summary, then 164.308 and 164.312 section by
//! section, the AWS data stores, then each control's evidence, then the exceptions.

use std::fmt::Write as _;

use super::access::{self, AccessReview};
use super::data_stores::{self, DataStores};
use super::eks_access;
use super::model::{ControlEvidence, EvidenceReport};
use super::tables::{EXCEPTION_HEADERS, POLICY_HEADERS, exception_row, policy_row, result_text};

/// Renders the report.
pub fn render(report: &EvidenceReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# HIPAA Guard evidence report\n");
    let _ = writeln!(out, "- Generated: {}", report.generated_at);
    let _ = writeln!(
        out,
        "- Cluster: {} ({})",
        report.cluster.server,
        version(report)
    );
    if let Some(ns) = &report.namespace {
        let _ = writeln!(out, "- Limited to namespace: {ns}");
    }
    let _ = writeln!(
        out,
        "- Standard: 45 CFR Part 164 Subpart C (Security Rule), sections 164.308 and 164.312\n"
    );

    let _ = writeln!(out, "## Policies\n");
    if report.policies.is_empty() {
        let _ = writeln!(
            out,
            "No HipaaPolicy was found: no namespace is in HIPAA scope.\n"
        );
    } else {
        table(
            &mut out,
            &POLICY_HEADERS,
            report.policies.iter().map(policy_row),
        );
        out.push('\n');
    }

    for part in &report.parts {
        let _ = writeln!(out, "## {} {}\n", part.part, part.title);
        for section in &part.sections {
            let _ = writeln!(out, "### {} {}\n", section.section, section.title);
            let _ = writeln!(out, "| Control | Severity | Result | Violations |");
            let _ = writeln!(out, "|---|---|---|---|");
            for control in &section.controls {
                let _ = writeln!(
                    out,
                    "| [{id}](#{anchor}) {title} | {} | {} | {} |",
                    control.severity,
                    result_text(control.result),
                    control.violations,
                    id = control.id,
                    anchor = control.id.to_ascii_lowercase(),
                    title = cell(&control.title)
                );
            }
            out.push('\n');
        }
    }

    write_data_stores(&mut out, &report.data_stores);

    let _ = writeln!(out, "## Control evidence\n");
    for control in &report.controls {
        write_control(&mut out, control);
    }

    let _ = writeln!(out, "## Exceptions\n");
    if report.exceptions.is_empty() {
        let _ = writeln!(out, "No exception is declared.");
    } else {
        table(
            &mut out,
            &EXCEPTION_HEADERS,
            report.exceptions.iter().map(exception_row),
        );
    }
    write_access_review(&mut out, &report.access_review);
    out
}

/// Each section's stores, then the paths to each store.
fn write_data_stores(out: &mut String, stores: &DataStores) {
    let _ = writeln!(out, "## AWS data stores\n\n{}\n", data_stores::INTRODUCTION);
    if stores.stores.is_empty() {
        let _ = writeln!(out, "{}\n", data_stores::NONE_LINKED);
        return;
    }
    for section in &stores.sections {
        let _ = writeln!(out, "### {} {}\n", section.section, section.title);
        let _ = writeln!(out, "| Store | Policy | Result | Failed controls |");
        let _ = writeln!(out, "|---|---|---|---|");
        for store in &section.stores {
            let _ = writeln!(
                out,
                "| {} {} | {} | {} | {} |",
                store.kind,
                cell(&store.name),
                cell(&store.policy),
                result_text(store.result),
                control_links(&store.failed_controls)
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "### Paths to the data stores\n");
    for store in &stores.stores {
        let failed = if store.failed_controls.is_empty() {
            String::new()
        } else {
            format!(" ({})", control_links(&store.failed_controls))
        };
        let _ = writeln!(
            out,
            "- **{}**: {}{failed}",
            store.heading(),
            result_text(store.result),
        );
        if store.paths.is_empty() && store.more_text().is_none() {
            let _ = writeln!(out, "  - {}", data_stores::NO_PATH);
        }
        for path in &store.paths {
            let _ = writeln!(out, "  - {}", path.path);
        }
        if let Some(more) = store.more_text() {
            let _ = writeln!(out, "  - {more}");
        }
    }
    out.push('\n');
}

/// Control IDs linked to their evidence below; `—` for none.
fn control_links(ids: &[String]) -> String {
    if ids.is_empty() {
        return "—".to_string();
    }
    ids.iter()
        .map(|id| format!("[{id}](#{})", id.to_ascii_lowercase()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The IAM principals of each linked EKS cluster, after the namespaces.
fn write_eks_principals(out: &mut String, review: &AccessReview) {
    for cluster in &review.eks_clusters {
        let _ = writeln!(out, "### {}\n", eks_access::heading(cluster));
        let rows = eks_access::principal_rows(&cluster.access);
        if rows.is_empty() {
            let _ = writeln!(out, "No IAM principal is mapped into the cluster.\n");
        } else {
            table(out, &eks_access::PRINCIPAL_HEADERS, rows.into_iter());
            out.push('\n');
        }
        for gap in eks_access::gaps(&cluster.access) {
            let _ = writeln!(out, "- Incomplete: {}", cell(&gap));
        }
    }
}

fn write_access_review(out: &mut String, review: &AccessReview) {
    let _ = writeln!(out, "\n## Access review\n\n{}\n", access::introduction());
    if let Some(reason) = &review.unavailable {
        let _ = writeln!(out, "Not available: {}\n", cell(reason));
        write_eks_principals(out, review);
        return;
    }
    if review.namespaces.is_empty() {
        let _ = writeln!(out, "No PHI namespace to review.");
    }
    for namespace in &review.namespaces {
        let _ = writeln!(out, "### Namespace {}\n", access::heading(namespace));
        if namespace.grants.is_empty() {
            let _ = writeln!(out, "No subject has any of the reviewed accesses.\n");
        } else {
            table(
                out,
                &access::ACCESS_HEADERS,
                namespace.grants.iter().map(access::access_row),
            );
            out.push('\n');
        }
        for problem in &namespace.problems {
            let _ = writeln!(
                out,
                "- Incomplete: {}: {}",
                problem.binding,
                cell(&problem.message)
            );
        }
        if !namespace.problems.is_empty() {
            out.push('\n');
        }
    }
    write_eks_principals(out, review);
}

fn write_control(out: &mut String, control: &ControlEvidence) {
    let _ = writeln!(out, "### {}\n", control.id);
    let _ = writeln!(
        out,
        "**{}** ({}; 45 CFR {})\n",
        control.title,
        control.severity,
        control.sections.join(", ")
    );
    let _ = writeln!(out, "- Passes when: {}", control.description);
    let _ = writeln!(out, "- Result: **{}**", result_text(control.result));
    for result in &control.results {
        let message = result
            .message
            .as_deref()
            .map(|m| format!(" — {m}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  - policy {}: {}, {} violations, checked {}{message}",
            result.policy,
            result_text(result.result),
            result.violations,
            result.checked_at.as_deref().unwrap_or("never")
        );
    }
    if control.kubernetes_resources.is_empty() {
        let _ = writeln!(out, "- Kubernetes resources checked: none in scope");
    } else {
        let _ = writeln!(
            out,
            "- Kubernetes resources checked ({}): {}",
            control.kubernetes_resources.len(),
            control.kubernetes_resources.join(", ")
        );
    }
    if !control.aws_resources.is_empty() {
        let _ = writeln!(out, "- AWS resources checked:");
        for aws in &control.aws_resources {
            let _ = writeln!(
                out,
                "  - {} {}: {} (checked {}, policy {})",
                aws.kind,
                aws.name,
                result_text(aws.result),
                aws.checked_at.as_deref().unwrap_or("unknown"),
                aws.policy
            );
        }
    }
    if !control.findings.is_empty() {
        let _ = writeln!(out, "- Findings:");
        for finding in &control.findings {
            let _ = writeln!(out, "  - {} (policy {})", finding.message, finding.policy);
        }
    }
    let _ = writeln!(out, "- Remediation: {}\n", control.remediation);
}

fn version(report: &EvidenceReport) -> String {
    match (&report.cluster.version, &report.cluster.platform) {
        (Some(v), Some(p)) => format!("Kubernetes {v}, {p}"),
        (Some(v), None) => format!("Kubernetes {v}"),
        _ => "version unknown".to_string(),
    }
}

/// A table: the header, its rule, then one line per row.
fn table<const N: usize>(
    out: &mut String,
    headers: &[&str; N],
    rows: impl Iterator<Item = [String; N]>,
) {
    let _ = writeln!(out, "| {} |", headers.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(N));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}
