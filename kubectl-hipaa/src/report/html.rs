//! The evidence report as one self-contained HTML file (inline CSS, no script, no external
//! resource) that prints well: page breaks between parts, tables that do not split rows, and
//! result colours that survive black-and-white printing as text.

use std::fmt::Write as _;

use hipaa_crds::ControlResult;

use super::access::{self, AccessReview};
use super::eks_access;
use super::model::{ControlEvidence, EvidenceReport};
use super::tables::{EXCEPTION_HEADERS, POLICY_HEADERS, exception_row, policy_row, result_text};

const STYLE: &str = r#"
:root { --fail: #b3261e; --error: #8e24aa; --pass: #1b7f3b; --muted: #5f6368; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #202124; max-width: 1100px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.8em; margin-bottom: .2em; } h2 { border-bottom: 2px solid #dadce0; padding-bottom: .2em; margin-top: 2em; }
h3 { margin-top: 1.4em; } table { border-collapse: collapse; width: 100%; margin: .6em 0 1.2em; }
th, td { border: 1px solid #dadce0; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #f1f3f4; } .meta { color: var(--muted); } code { font-size: .95em; }
.Fail { color: var(--fail); font-weight: 600; } .Error { color: var(--error); font-weight: 600; }
.Pass { color: var(--pass); font-weight: 600; } .Excepted, .NotEvaluated, .Disabled { color: var(--muted); }
.control { border: 1px solid #dadce0; border-radius: 6px; padding: .2em 1em .6em; margin: 1em 0; }
ul.resources { columns: 2; font-size: .92em; }
@media print {
  body { margin: 0; max-width: none; font-size: 10.5pt; }
  h2 { break-before: page; } h2.first { break-before: auto; }
  tr, .control { break-inside: avoid; } a { color: inherit; text-decoration: none; }
  th { background: none; } .control { border-color: #999; }
}
@page { margin: 15mm; }
"#;

/// Renders the report.
pub fn render(report: &EvidenceReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
    );
    let _ = writeln!(
        out,
        "<title>HIPAA Guard evidence report {}</title>",
        esc(&report.generated_at)
    );
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(out, "<h1>HIPAA Guard evidence report</h1>");
    let version = report
        .cluster
        .version
        .as_deref()
        .unwrap_or("version unknown");
    let _ = writeln!(
        out,
        "<p class=\"meta\">Generated {} · Cluster <code>{}</code> (Kubernetes {}{}) · 45 CFR Part 164 Subpart C, sections 164.308 and 164.312{}</p>",
        esc(&report.generated_at),
        esc(&report.cluster.server),
        esc(version),
        report
            .cluster
            .platform
            .as_deref()
            .map(|p| format!(", {}", esc(p)))
            .unwrap_or_default(),
        report
            .namespace
            .as_deref()
            .map(|ns| format!(" · limited to namespace <code>{}</code>", esc(ns)))
            .unwrap_or_default()
    );

    let _ = writeln!(out, "<h2 class=\"first\">Policies</h2>");
    if report.policies.is_empty() {
        let _ = writeln!(
            out,
            "<p>No HipaaPolicy was found: no namespace is in HIPAA scope.</p>"
        );
    } else {
        table(
            &mut out,
            &POLICY_HEADERS,
            report.policies.iter().map(policy_row),
        );
    }

    for part in &report.parts {
        let _ = writeln!(out, "<h2>{} {}</h2>", esc(&part.part), esc(&part.title));
        for section in &part.sections {
            let _ = writeln!(
                out,
                "<h3>{} {}</h3>",
                esc(&section.section),
                esc(&section.title)
            );
            let _ = writeln!(
                out,
                "<table><tr><th>Control</th><th>Severity</th><th>Result</th><th>Violations</th></tr>"
            );
            for control in &section.controls {
                let _ = writeln!(
                    out,
                    "<tr><td><a href=\"#{id}\">{id}</a> {}</td><td>{}</td>{}<td>{}</td></tr>",
                    esc(&control.title),
                    esc(&control.severity),
                    result_cell(control.result),
                    control.violations,
                    id = esc(&control.id)
                );
            }
            let _ = writeln!(out, "</table>");
        }
    }

    let _ = writeln!(out, "<h2>Control evidence</h2>");
    for control in &report.controls {
        write_control(&mut out, control);
    }

    let _ = writeln!(out, "<h2>Exceptions</h2>");
    if report.exceptions.is_empty() {
        let _ = writeln!(out, "<p>No exception is declared.</p>");
    } else {
        table(
            &mut out,
            &EXCEPTION_HEADERS,
            report.exceptions.iter().map(exception_row),
        );
    }
    write_access_review(&mut out, &report.access_review);
    let _ = writeln!(out, "</body>\n</html>");
    out
}

fn write_control(out: &mut String, control: &ControlEvidence) {
    let _ = writeln!(out, "<div class=\"control\" id=\"{}\">", esc(&control.id));
    let _ = writeln!(
        out,
        "<h3>{} <span class=\"{}\">{}</span></h3>",
        esc(&control.id),
        class(control.result),
        result_text(control.result)
    );
    let _ = writeln!(
        out,
        "<p><strong>{}</strong> · {} · 45 CFR {}</p>\n<p>Passes when: {}</p>\n<ul>",
        esc(&control.title),
        esc(&control.severity),
        esc(&control.sections.join(", ")),
        esc(&control.description)
    );
    for result in &control.results {
        let message = result
            .message
            .as_deref()
            .map(|m| format!(" — {}", esc(m)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<li>Policy {}: <span class=\"{}\">{}</span>, {} violations, checked {}{message}</li>",
            esc(&result.policy),
            class(result.result),
            result_text(result.result),
            result.violations,
            esc(result.checked_at.as_deref().unwrap_or("never"))
        );
    }
    let _ = writeln!(out, "</ul>");
    if control.kubernetes_resources.is_empty() {
        let _ = writeln!(out, "<p>Kubernetes resources checked: none in scope.</p>");
    } else {
        let _ = writeln!(
            out,
            "<p>Kubernetes resources checked ({}):</p><ul class=\"resources\">",
            control.kubernetes_resources.len()
        );
        for resource in &control.kubernetes_resources {
            let _ = writeln!(out, "<li><code>{}</code></li>", esc(resource));
        }
        let _ = writeln!(out, "</ul>");
    }
    if !control.aws_resources.is_empty() {
        let _ = writeln!(out, "<p>AWS resources checked:</p><ul>");
        for aws in &control.aws_resources {
            let _ = writeln!(
                out,
                "<li>{} <code>{}</code>: <span class=\"{}\">{}</span> (checked {}, policy {})</li>",
                esc(&aws.kind),
                esc(&aws.name),
                class(aws.result),
                result_text(aws.result),
                esc(aws.checked_at.as_deref().unwrap_or("unknown")),
                esc(&aws.policy)
            );
        }
        let _ = writeln!(out, "</ul>");
    }
    if !control.findings.is_empty() {
        let _ = writeln!(out, "<p>Findings:</p><ul>");
        for finding in &control.findings {
            let _ = writeln!(
                out,
                "<li>{} (policy {})</li>",
                esc(&finding.message),
                esc(&finding.policy)
            );
        }
        let _ = writeln!(out, "</ul>");
    }
    let _ = writeln!(
        out,
        "<p>Remediation: {}</p>\n</div>",
        esc(&control.remediation)
    );
}

/// The IAM principals of each linked EKS cluster, after the namespaces.
fn write_eks_principals(out: &mut String, review: &AccessReview) {
    for cluster in &review.eks_clusters {
        let _ = writeln!(out, "<h3>{}</h3>", esc(&eks_access::heading(cluster)));
        let rows = eks_access::principal_rows(&cluster.access);
        if rows.is_empty() {
            let _ = writeln!(out, "<p>No IAM principal is mapped into the cluster.</p>");
        } else {
            table(out, &eks_access::PRINCIPAL_HEADERS, rows.into_iter());
        }
        for gap in eks_access::gaps(&cluster.access) {
            let _ = writeln!(out, "<p class=\"Error\">Incomplete: {}</p>", esc(&gap));
        }
    }
}

fn write_access_review(out: &mut String, review: &AccessReview) {
    let _ = writeln!(
        out,
        "<h2>Access review</h2>\n<p>{}</p>",
        esc(&access::introduction())
    );
    if let Some(reason) = &review.unavailable {
        let _ = writeln!(out, "<p class=\"Error\">Not available: {}</p>", esc(reason));
        write_eks_principals(out, review);
        return;
    }
    if review.namespaces.is_empty() {
        let _ = writeln!(out, "<p>No PHI namespace to review.</p>");
    }
    for namespace in &review.namespaces {
        let _ = writeln!(
            out,
            "<h3>Namespace {}</h3>",
            esc(&access::heading(namespace))
        );
        if namespace.grants.is_empty() {
            let _ = writeln!(out, "<p>No subject has any of the reviewed accesses.</p>");
        } else {
            table(
                out,
                &access::ACCESS_HEADERS,
                namespace.grants.iter().map(access::access_row),
            );
        }
        for problem in &namespace.problems {
            let _ = writeln!(
                out,
                "<p class=\"Error\">Incomplete: {}: {}</p>",
                esc(&problem.binding.to_string()),
                esc(&problem.message)
            );
        }
    }
    write_eks_principals(out, review);
}

/// A table: the header row, then one row per item.
fn table<const N: usize>(
    out: &mut String,
    headers: &[&str; N],
    rows: impl Iterator<Item = [String; N]>,
) {
    out.push_str("<table><tr>");
    for header in headers {
        let _ = write!(out, "<th>{}</th>", esc(header));
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in &row {
            let _ = write!(out, "<td>{}</td>", esc(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn class(result: ControlResult) -> &'static str {
    result.as_str()
}

fn result_cell(result: ControlResult) -> String {
    format!(
        "<td class=\"{}\">{}</td>",
        class(result),
        result_text(result)
    )
}

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
