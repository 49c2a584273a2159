//! The few figures of a record that a trend needs (the score and the violations by severity),
//! also stored as the S3 object's metadata when the record is written: a report draws a policy's
//! trend from one HEAD request per record instead of reading every record whole.

use std::collections::HashMap;

use hipaa_crds::HipaaPolicyStatus;

/// Metadata keys (S3 sends them as `x-amz-meta-<key>`).
pub const SCORE: &str = "hipaaguard-score";
pub const VIOLATIONS: &str = "hipaaguard-violations";
pub const CRITICAL: &str = "hipaaguard-critical";
pub const HIGH: &str = "hipaaguard-high";

/// Where a policy stood at one audit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrendFigures {
    pub score: u32,
    pub violations: u32,
    pub critical: u32,
    pub high: u32,
}

impl TrendFigures {
    /// The figures of a status; None before its first audit (no summary).
    pub fn of_status(status: &HipaaPolicyStatus) -> Option<TrendFigures> {
        status.summary.as_ref().map(|summary| TrendFigures {
            score: u32::from(summary.score),
            violations: summary.violations,
            critical: summary.critical,
            high: summary.high,
        })
    }

    /// The object metadata that carries them.
    pub fn metadata(&self) -> HashMap<String, String> {
        HashMap::from([
            (SCORE.to_owned(), self.score.to_string()),
            (VIOLATIONS.to_owned(), self.violations.to_string()),
            (CRITICAL.to_owned(), self.critical.to_string()),
            (HIGH.to_owned(), self.high.to_string()),
        ])
    }

    /// The figures an object's metadata carries; None when any is missing or not a number (the
    /// reader then reads the record itself).
    pub fn of_metadata(metadata: &HashMap<String, String>) -> Option<TrendFigures> {
        let number = |key: &str| metadata.get(key)?.parse::<u32>().ok();
        Some(TrendFigures {
            score: number(SCORE)?,
            violations: number(VIOLATIONS)?,
            critical: number(CRITICAL)?,
            high: number(HIGH)?,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use hipaa_crds::ComplianceSummary;

    #[test]
    fn figures_go_through_the_metadata_and_a_missing_one_means_none() {
        let status = HipaaPolicyStatus {
            summary: Some(ComplianceSummary {
                score: 61,
                violations: 4,
                critical: 1,
                high: 2,
                ..Default::default()
            }),
            ..Default::default()
        };
        let figures = TrendFigures::of_status(&status).unwrap();
        assert_eq!(
            figures,
            TrendFigures {
                score: 61,
                violations: 4,
                critical: 1,
                high: 2
            }
        );
        let mut metadata = figures.metadata();
        assert_eq!(TrendFigures::of_metadata(&metadata), Some(figures));
        metadata.insert(HIGH.to_owned(), "many".to_owned());
        assert_eq!(TrendFigures::of_metadata(&metadata), None);
        metadata.remove(HIGH);
        assert_eq!(TrendFigures::of_metadata(&metadata), None);
        assert_eq!(TrendFigures::of_status(&HipaaPolicyStatus::default()), None);
    }
}
