//! The human form of `kubectl hipaa status`: one overview row per policy, then each policy's
//! failing controls, worst violations and exceptions needing attention.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use hipaa_controls::Severity;
use hipaa_crds::ExceptionState;

use super::StatusDocument;
use super::view::PolicyView;
use crate::output::Style;
use crate::output::columns::write_columns;

/// Writes the table.
pub fn write(
    document: &StatusDocument,
    style: Style,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> io::Result<()> {
    if document.policies.is_empty() {
        match &document.namespace {
            Some(ns) => writeln!(
                out,
                "No HipaaPolicy selects namespace {ns}: it is out of HIPAA scope."
            )?,
            None => writeln!(
                out,
                "No HipaaPolicy found. Create one to bring namespaces into HIPAA scope."
            )?,
        }
        return Ok(());
    }
    let headers = [
        "POLICY",
        "ENFORCEMENT",
        "COMPLIANT",
        "SCORE",
        "VIOLATIONS",
        "CRITICAL",
        "HIGH",
        "MEDIUM",
        "LOW",
        "LAST AUDIT",
    ];
    let rows: Vec<Vec<String>> = document
        .policies
        .iter()
        .map(|p| overview_row(p, now))
        .collect();
    write_columns(&headers, &rows, style, out)?;
    if let Some(ns) = &document.namespace {
        writeln!(
            out,
            "(policies selecting namespace {ns}; counts are policy-wide, violations below are {ns}'s)"
        )?;
    }
    for policy in &document.policies {
        write_details(policy, style, out)?;
    }
    Ok(())
}

fn overview_row(policy: &PolicyView, now: DateTime<Utc>) -> Vec<String> {
    let summary = policy.summary.as_ref();
    let number = |pick: fn(&hipaa_crds::ComplianceSummary) -> u32| {
        summary.map_or("-".to_string(), |s| pick(s).to_string())
    };
    vec![
        policy.name.clone(),
        policy.enforcement.clone(),
        policy
            .compliant
            .clone()
            .unwrap_or_else(|| "Unknown".to_string()),
        summary.map_or("-".to_string(), |s| s.score.to_string()),
        number(|s| s.violations),
        number(|s| s.critical),
        number(|s| s.high),
        number(|s| s.medium),
        number(|s| s.low),
        policy
            .last_audit_time
            .as_deref()
            .map_or("never".to_string(), |t| format!("{t} ({})", ago(t, now))),
    ]
}

fn write_details(policy: &PolicyView, style: Style, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "{}", style.bold(&policy.name))?;
    if policy.summary.is_none() {
        writeln!(
            out,
            "  Not audited yet: the operator has not written a status."
        )?;
    }
    if let Some(message) = &policy.ready_message {
        writeln!(out, "  Not ready: {message}")?;
    }
    if policy.stale {
        writeln!(
            out,
            "  The status describes an older version of the policy; the operator has not caught up yet."
        )?;
    }
    if let Some(summary) = &policy.summary {
        writeln!(
            out,
            "  {} resources evaluated, {} violations, {} excepted, {} could not be evaluated.",
            summary.resources_evaluated, summary.violations, summary.excepted, summary.errors
        )?;
    }
    if !policy.failing_controls.is_empty() {
        writeln!(out, "  Failing controls:")?;
        for control in &policy.failing_controls {
            let severity = Severity::parse(&control.severity).unwrap_or(Severity::Low);
            let detail = match &control.message {
                Some(message) => format!("{} violations; {message}", control.violations),
                None => format!("{} violations", control.violations),
            };
            writeln!(
                out,
                "    {:<28} {}  {:<5}  {}  ({})",
                control.id,
                style.severity(severity, &format!("{:<8}", control.severity)),
                control.result.as_str(),
                detail,
                control.sections.join(", ")
            )?;
        }
    }
    if !policy.worst_violations.is_empty() {
        let more = if policy.truncated {
            " (the status lists only the first)"
        } else {
            ""
        };
        writeln!(out, "  Worst violations{more}:")?;
        for violation in &policy.worst_violations {
            let severity = Severity::parse(&violation.severity).unwrap_or(Severity::Low);
            let object = match &violation.namespace {
                Some(ns) => format!("{} {ns}/{}", violation.kind, violation.name),
                None => format!("{} {}", violation.kind, violation.name),
            };
            writeln!(
                out,
                "    {} {:<28} {object}: {}",
                style.severity(severity, &format!("{:<8}", violation.severity)),
                violation.control,
                violation.message
            )?;
        }
    }
    if !policy.exceptions_needing_attention.is_empty() {
        writeln!(out, "  Exceptions expired or expiring within 14 days:")?;
        for exception in &policy.exceptions_needing_attention {
            let when = match (exception.state, &exception.expires_in) {
                (ExceptionState::Expired, _) => {
                    style.severity(Severity::High, &format!("expired {}", exception.expires))
                }
                (_, Some(left)) => style.severity(
                    Severity::Medium,
                    &format!("expires {} (in {left})", exception.expires),
                ),
                (_, None) => format!("expires {}", exception.expires),
            };
            writeln!(
                out,
                "    #{} {}: {when}; approved by {}; {}",
                exception.index,
                exception.controls.join(", "),
                exception.approved_by,
                exception.justification
            )?;
        }
    }
    Ok(())
}

/// `5m ago`, `3h ago`, `2d ago`; the text itself when it is not a time.
pub fn ago(rfc3339: &str, now: DateTime<Utc>) -> String {
    let Ok(then) = DateTime::parse_from_rfc3339(rfc3339) else {
        return rfc3339.to_string();
    };
    let seconds = (now - then.with_timezone(&Utc)).num_seconds();
    match seconds {
        s if s < 0 => "in the future".to_string(),
        s if s < 120 => format!("{s}s ago"),
        s if s < 7200 => format!("{}m ago", s / 60),
        s if s < 172_800 => format!("{}h ago", s / 3600),
        s => format!("{}d ago", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        let now = DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
            .unwrap_or_default()
            .with_timezone(&Utc);
        assert_eq!(ago("2026-11-28T11:59:30Z", now), "30s ago");
        assert_eq!(ago("2026-11-28T11:00:00Z", now), "60m ago");
        assert_eq!(ago("2026-11-27T00:00:00Z", now), "36h ago");
        assert_eq!(ago("2026-11-20T12:00:00Z", now), "8d ago");
        assert_eq!(ago("soon", now), "soon");
    }
}
