//! The report's tables and wordings as plain text, shared by the Markdown and HTML writers: each
//! writer only frames and escapes the cells, so both formats always say the same thing.

use hipaa_crds::{ComplianceSummary, ControlResult};

use super::model::{ExceptionEvidence, PolicyEvidence};

/// The policies table's columns.
pub const POLICY_HEADERS: [&str; 14] = [
    "Policy",
    "Enforcement",
    "Compliant",
    "Score",
    "Resources",
    "Violations",
    "Critical",
    "High",
    "Medium",
    "Low",
    "Excepted",
    "Errors",
    "Last audit",
    "Namespaces",
];

/// One policy's row; counts are `-` before its first audit.
pub fn policy_row(policy: &PolicyEvidence) -> [String; 14] {
    let s = policy.summary.as_ref();
    let n = |pick: fn(&ComplianceSummary) -> u32| s.map_or("-".into(), |s| pick(s).to_string());
    [
        policy.name.clone(),
        policy.enforcement.clone(),
        policy.compliant.clone().unwrap_or_else(|| "Unknown".into()),
        s.map_or("-".into(), |s| s.score.to_string()),
        n(|s| s.resources_evaluated),
        n(|s| s.violations),
        n(|s| s.critical),
        n(|s| s.high),
        n(|s| s.medium),
        n(|s| s.low),
        n(|s| s.excepted),
        n(|s| s.errors),
        policy
            .last_audit_time
            .clone()
            .unwrap_or_else(|| "never".into()),
        policy.namespaces.join(", "),
    ]
}

/// The exceptions table's columns.
pub const EXCEPTION_HEADERS: [&str; 9] = [
    "Policy",
    "#",
    "Controls",
    "Applies to",
    "Justification",
    "Approved by",
    "Expires",
    "State",
    "Waived",
];

/// One exception's row: its state with the time left when it expires soon, and how many failures
/// it waived in the last audit (`-` when the status does not say).
pub fn exception_row(e: &ExceptionEvidence) -> [String; 9] {
    let state = match &e.expires_in {
        Some(left) => format!("{:?} ({left} left)", e.state),
        None => format!("{:?}", e.state),
    };
    [
        e.policy.clone(),
        e.index.to_string(),
        e.controls.join(", "),
        match_text(&e.namespaces, &e.kinds, &e.names),
        e.justification.clone(),
        e.approved_by.clone(),
        e.expires.clone(),
        state,
        e.matched.map_or("-".into(), |m| m.to_string()),
    ]
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn an_exception_that_matches_nothing_in_particular_covers_every_object() {
        assert_eq!(match_text(&[], &[], &[]), "every object in scope");
        let ns = vec!["legacy-*".to_string()];
        let kinds = vec!["Deployment".to_string(), "Job".to_string()];
        assert_eq!(
            match_text(&ns, &kinds, &[]),
            "namespaces legacy-*; kinds Deployment, Job"
        );
    }

    #[test]
    fn a_policy_never_audited_shows_dashes_not_zeros() {
        let policy = PolicyEvidence {
            name: "p".into(),
            enforcement: "Enforce".into(),
            compliant: None,
            summary: None,
            last_audit_time: None,
            namespaces: vec!["a".into(), "b".into()],
            violations_truncated: false,
            trend: Vec::new(),
        };
        let row = policy_row(&policy);
        assert_eq!(row[2], "Unknown");
        assert!(row[3..12].iter().all(|c| c == "-"), "{row:?}");
        assert_eq!((row[12].as_str(), row[13].as_str()), ("never", "a, b"));
    }
}
