//! What a judged review leaves behind: its counters (reviews by decision, findings by control)
//! and, for anything but a plain allow, one structured log line. Runs on every review, so it
//! allocates nothing: labels are `&'static str` and the control list is formatted straight into
//! the log line.

use std::fmt;

use hipaa_controls::model::Finding;

use crate::decide::{Decision, Judgement, Review};
use crate::kinds::Judged;
use crate::metrics::{ControlLabels, Metrics, ReviewLabels, flag, outcome_label};

/// The review as the record names it.
#[derive(Debug)]
pub struct Reviewed<'r> {
    pub uid: &'r str,
    /// `request.kind.kind` as the API server sent it (also for kinds the webhook does not judge).
    pub requested_kind: &'r str,
    pub review: &'r Review<'r>,
    pub dry_run: bool,
}

/// Counts the review and its findings; logs denials, warnings, audits and errors at info (allows
/// at debug). The line goes to the log's writer, which never waits for stdout
/// (`hipaa_runtime::log`).
pub fn record(metrics: &Metrics, reviewed: &Reviewed<'_>, judgement: &Judgement) {
    let review = reviewed.review;
    let kind_label = review.kind.map_or("other", Judged::as_str);
    let dry_run = flag(reviewed.dry_run);
    let labels = ReviewLabels {
        kind: kind_label,
        operation: review.operation.as_str(),
        decision: judgement.decision.as_str(),
        dry_run,
    };
    metrics.reviews.get_or_create(&labels).inc();
    for finding in &judgement.findings {
        let labels = ControlLabels {
            control: finding.control.id,
            kind: kind_label,
            outcome: outcome_label(finding.outcome),
            enforcement: finding.enforcement.as_str(),
            dry_run,
        };
        metrics.control_findings.get_or_create(&labels).inc();
    }
    match judgement.decision {
        Decision::Allowed | Decision::Unselected | Decision::Exempt | Decision::Skipped => {
            tracing::debug!(
                uid = reviewed.uid,
                kind = reviewed.requested_kind,
                namespace = review.namespace,
                name = review.name,
                operation = review.operation.as_str(),
                dry_run = reviewed.dry_run,
                decision = judgement.decision.as_str(),
                "review"
            );
        }
        _ => {
            tracing::info!(
                uid = reviewed.uid,
                kind = reviewed.requested_kind,
                namespace = review.namespace,
                name = review.name,
                operation = review.operation.as_str(),
                dry_run = reviewed.dry_run,
                decision = judgement.decision.as_str(),
                controls = %ControlIds(&judgement.findings),
                "review"
            );
        }
    }
}

/// The findings' control IDs, comma-separated, written without building a string first.
struct ControlIds<'f>(&'f [Finding]);

impl fmt::Display for ControlIds<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, finding) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(finding.control.id)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use hipaa_controls::model::{Outcome, ResourceRef};
    use hipaa_crds::Enforcement;

    use super::*;
    use crate::review::Answer;
    use hipaa_controls::object::Operation;

    fn finding(id: &str, enforcement: Enforcement) -> Finding {
        Finding {
            control: hipaa_controls::control(id).unwrap(),
            outcome: Outcome::Fail,
            resource: ResourceRef::new("Deployment", Some("billing"), "api"),
            message: "failed".into(),
            enforcement,
            exception: None,
        }
    }

    #[test]
    fn control_ids_are_listed_comma_separated() {
        let findings = [
            finding("HIPAA-K8S-NETPOL", Enforcement::Enforce),
            finding("HIPAA-K8S-PRIVILEGED", Enforcement::Warn),
        ];
        assert_eq!(
            ControlIds(&findings).to_string(),
            "HIPAA-K8S-NETPOL,HIPAA-K8S-PRIVILEGED"
        );
        assert_eq!(ControlIds(&[]).to_string(), "");
    }

    #[test]
    fn counts_the_review_and_each_finding() {
        let metrics = Metrics::new();
        let review = Review {
            kind: Some(Judged::Object(
                hipaa_controls::object::ObjectKind::Deployment,
            )),
            operation: Operation::Create,
            namespace: "billing",
            name: "api",
            sub_resource: "",
            object: None,
            old_object: None,
        };
        let judgement = Judgement {
            decision: Decision::Denied,
            answer: Answer::deny(403, "denied".into()),
            findings: vec![finding("HIPAA-K8S-NETPOL", Enforcement::Enforce)],
        };
        let reviewed = Reviewed {
            uid: "u-1",
            requested_kind: "Deployment",
            review: &review,
            dry_run: true,
        };
        record(&metrics, &reviewed, &judgement);
        let text = metrics.encode();
        assert!(text.contains("hipaaguard_webhook_reviews_total{kind=\"Deployment\",operation=\"CREATE\",decision=\"denied\",dry_run=\"true\"} 1"), "{text}");
        assert!(text.contains("control=\"HIPAA-K8S-NETPOL\",kind=\"Deployment\",outcome=\"fail\",enforcement=\"Enforce\",dry_run=\"true\"} 1"), "{text}");
    }
}
