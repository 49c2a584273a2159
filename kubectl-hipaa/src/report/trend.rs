//! A policy's compliance over time, as the evidence history records it, and its chart for the
//! HTML report: the score and the violations by severity laid out as inline SVG (numbers only;
//! the template escapes every text), so the report stays one file with no external resource.

use serde::Serialize;

/// One audit of the history: when, and where the policy stood.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrendPoint {
    /// RFC 3339.
    pub at: String,
    /// The compliance score, 0 to 100.
    pub score: u32,
    pub violations: u32,
    pub critical: u32,
    pub high: u32,
}

/// Chart size in SVG units (the SVG scales to the page's width).
pub const WIDTH: f64 = 720.0;
pub const HEIGHT: f64 = 220.0;
/// Room for the axis labels.
const LEFT: f64 = 44.0;
const RIGHT: f64 = 44.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 30.0;

/// What the template draws: polylines as SVG `points`, and the axis labels.
#[derive(Clone, Debug, PartialEq)]
pub struct TrendChart {
    pub score: String,
    pub violations: String,
    pub critical: String,
    /// Labels of the left axis (score) and the right one (violations), with their heights.
    pub left_ticks: Vec<(f64, String)>,
    pub right_ticks: Vec<(f64, String)>,
    /// The first and last times, under the axis.
    pub first: String,
    pub last: String,
    /// A sentence that says what the chart shows, for screen readers and printouts.
    pub description: String,
}

/// The chart of `points` (in time order); None with fewer than two, where there is no trend.
pub fn chart(points: &[TrendPoint]) -> Option<TrendChart> {
    let (first, last) = match points {
        [first, .., last] => (first, last),
        _ => return None,
    };
    let most = points
        .iter()
        .map(|p| p.violations)
        .max()
        .unwrap_or(0)
        .max(1);
    let x = |i: usize| LEFT + (WIDTH - LEFT - RIGHT) * i as f64 / (points.len() - 1) as f64;
    let plot = HEIGHT - TOP - BOTTOM;
    let y_score = |score: u32| TOP + plot * (1.0 - f64::from(score.min(100)) / 100.0);
    let y_count = |count: u32| TOP + plot * (1.0 - f64::from(count) / f64::from(most));
    let line = |y: &dyn Fn(&TrendPoint) -> f64| {
        points
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    Some(TrendChart {
        score: line(&|p| y_score(p.score)),
        violations: line(&|p| y_count(p.violations)),
        critical: line(&|p| y_count(p.critical)),
        left_ticks: [0, 50, 100]
            .into_iter()
            .map(|s| (y_score(s), s.to_string()))
            .collect(),
        right_ticks: {
            let mut counts = vec![0, most / 2, most];
            counts.dedup();
            counts
                .into_iter()
                .map(|c| (y_count(c), c.to_string()))
                .collect()
        },
        first: first.at.clone(),
        last: last.at.clone(),
        description: format!(
            "{} audits from {} to {}: score {} then {}, violations {} then {} ({} critical then {}).",
            points.len(),
            first.at,
            last.at,
            first.score,
            last.score,
            first.violations,
            last.violations,
            first.critical,
            last.critical
        ),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn point(at: &str, score: u32, violations: u32, critical: u32) -> TrendPoint {
        TrendPoint {
            at: at.into(),
            score,
            violations,
            critical,
            high: 0,
        }
    }

    #[test]
    fn one_audit_is_no_trend() {
        assert_eq!(chart(&[]), None);
        assert_eq!(chart(&[point("2026-03-14T00:00:00Z", 80, 2, 0)]), None);
    }

    #[test]
    fn the_lines_span_the_plot_and_scale_to_the_largest_count() {
        let points = [
            point("2026-03-01T00:00:00Z", 100, 0, 0),
            point("2026-03-02T00:00:00Z", 50, 4, 2),
            point("2026-03-03T00:00:00Z", 75, 2, 0),
        ];
        let chart = chart(&points).unwrap();
        // Score 100 at the top of the plot, 50 in the middle, at the left, middle and right.
        assert_eq!(chart.score, "44.0,14.0 360.0,102.0 676.0,58.0");
        // Four violations, the most, reach the top; none sit on the axis.
        assert_eq!(chart.violations, "44.0,190.0 360.0,14.0 676.0,102.0");
        assert_eq!(chart.critical, "44.0,190.0 360.0,102.0 676.0,190.0");
        assert_eq!(chart.right_ticks[2], (14.0, "4".to_string()));
        assert_eq!(
            (chart.first.as_str(), chart.last.as_str()),
            ("2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z")
        );
        assert!(
            chart
                .description
                .starts_with("3 audits from 2026-03-01T00:00:00Z")
        );
    }

    #[test]
    fn no_violations_at_all_still_draws_a_flat_line() {
        let points = [point("a", 100, 0, 0), point("b", 100, 0, 0)];
        let chart = chart(&points).unwrap();
        // The right axis says 0 and 1 once each.
        let labels: Vec<&str> = chart.right_ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["0", "1"]);
        assert_eq!(chart.violations, "44.0,190.0 676.0,190.0");
        assert!(chart.score.split(' ').all(|xy| xy.ends_with(",14.0")));
    }
}
