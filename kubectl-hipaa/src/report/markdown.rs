//! The evidence report as Markdown: identity and summary, then 164.308 and 164.312 section by
//! section, then each control's evidence, then the exceptions.

use std::fmt::Write as _;

use hipaa_crds::ControlResult;

use super::model::{ControlEvidence, EvidenceReport};

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
        let _ = writeln!(
            out,
            "| Policy | Enforcement | Compliant | Score | Resources | Violations | Critical | High | Medium | Low | Excepted | Errors | Last audit | Namespaces |"
        );
        let _ = writeln!(
            out,
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        );
        for policy in &report.policies {
            let s = policy.summary.as_ref();
            let n = |pick: fn(&hipaa_crds::ComplianceSummary) -> u32| {
                s.map_or("-".into(), |s| pick(s).to_string())
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                cell(&policy.name),
                policy.enforcement,
                policy.compliant.as_deref().unwrap_or("Unknown"),
                s.map_or("-".into(), |s| s.score.to_string()),
                n(|s| s.resources_evaluated),
                n(|s| s.violations),
                n(|s| s.critical),
                n(|s| s.high),
                n(|s| s.medium),
                n(|s| s.low),
                n(|s| s.excepted),
                n(|s| s.errors),
                policy.last_audit_time.as_deref().unwrap_or("never"),
                cell(&policy.namespaces.join(", "))
            );
        }
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

    let _ = writeln!(out, "## Control evidence\n");
    for control in &report.controls {
        write_control(&mut out, control);
    }

    let _ = writeln!(out, "## Exceptions\n");
    if report.exceptions.is_empty() {
        let _ = writeln!(out, "No exception is declared.");
    } else {
        let _ = writeln!(
            out,
            "| Policy | # | Controls | Applies to | Justification | Approved by | Expires | State | Waived |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
        for e in &report.exceptions {
            let state = match &e.expires_in {
                Some(left) => format!("{:?} ({left} left)", e.state),
                None => format!("{:?}", e.state),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                cell(&e.policy),
                e.index,
                e.controls.join(", "),
                cell(&match_text(&e.namespaces, &e.kinds, &e.names)),
                cell(&e.justification),
                cell(&e.approved_by),
                e.expires,
                state,
                e.matched.map_or("-".into(), |m| m.to_string())
            );
        }
    }
    out
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

/// How an exception's match reads: `namespaces legacy-*; kinds Deployment`, or `every object`.
pub fn match_text(namespaces: &[String], kinds: &[String], names: &[String]) -> String {
    let mut parts = Vec::new();
    for (label, values) in [
        ("namespaces", namespaces),
        ("kinds", kinds),
        ("names", names),
    ] {
        if !values.is_empty() {
            parts.push(format!("{label} {}", values.join(", ")));
        }
    }
    if parts.is_empty() {
        "every object in scope".to_string()
    } else {
        parts.join("; ")
    }
}

/// `Not evaluated` rather than `NotEvaluated`.
pub fn result_text(result: ControlResult) -> &'static str {
    match result {
        ControlResult::NotEvaluated => "Not evaluated",
        other => other.as_str(),
    }
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}
