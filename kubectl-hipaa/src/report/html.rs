//! The evidence report as one self-contained HTML file (inline CSS, no script, no external
//! resource, a Content-Security-Policy that forbids loading any) that prints well: page breaks
//! between parts, tables that do not split rows, and result colours that survive black-and-white
//! printing as text. The page is `templates/report.html`, rendered by Askama, which escapes every
//! value; this module only gathers the tables and trend charts the template draws.

use askama::Template;
use hipaa_crds::ControlResult;

use super::access::{self, AccessReview};
use super::data_stores;
use super::eks_access;
use super::model::EvidenceReport;
use super::tables::{EXCEPTION_HEADERS, POLICY_HEADERS, exception_row, policy_row, result_text};
use super::trend::{self, TrendChart};

const STYLE: &str = r#"
:root { --fail: #b3261e; --error: #8e24aa; --pass: #1b7f3b; --muted: #5f6368; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #202124; max-width: 1100px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.8em; margin-bottom: .2em; } h2 { border-bottom: 2px solid #dadce0; padding-bottom: .2em; margin-top: 2em; }
h3 { margin-top: 1.4em; } table { border-collapse: collapse; width: 100%; margin: .6em 0 1.2em; }
th, td { border: 1px solid #dadce0; padding: .3em .5em; text-align: left; vertical-align: top; }
td { overflow-wrap: anywhere; }
th { background: #f1f3f4; } .meta { color: var(--muted); } code { font-size: .95em; }
.Fail { color: var(--fail); font-weight: 600; } .Error { color: var(--error); font-weight: 600; }
.Pass { color: var(--pass); font-weight: 600; } .Excepted, .NotEvaluated, .Disabled { color: var(--muted); }
.control { border: 1px solid #dadce0; border-radius: 6px; padding: .2em 1em .6em; margin: 1em 0; }
ul.resources { columns: 2; font-size: .92em; } ul.paths { font-size: .92em; }
svg.trend { width: 100%; max-width: 720px; height: auto; display: block; }
svg.trend polyline { fill: none; stroke-width: 2.5; } svg.trend .grid { stroke: #e8eaed; }
svg.trend .axis { font-size: 11px; fill: var(--muted); }
.score { stroke: var(--pass); color: var(--pass); } .violations { stroke: var(--fail); color: var(--fail); }
.critical { stroke: var(--error); color: var(--error); stroke-dasharray: 5 3; }
.legend { font-size: .9em; } .legend span { margin-right: 1.5em; }
@media print {
  body { margin: 0; max-width: none; font-size: 10.5pt; }
  h2 { break-before: page; } h2.first { break-before: auto; }
  tr, .control, .store, svg.trend { break-inside: avoid; } a { color: inherit; text-decoration: none; }
  th { background: none; } .control { border-color: #999; }
}
@page { margin: 15mm; }
"#;

/// A table of text cells (the template escapes each).
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    fn of<const N: usize>(headers: &[&str; N], rows: impl Iterator<Item = [String; N]>) -> Table {
        Table {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: rows.map(Vec::from).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// One policy's trend chart.
pub struct PolicyTrend {
    pub policy: String,
    pub chart: TrendChart,
}

/// One reviewed namespace, or one EKS cluster's principals.
pub struct AccessPart {
    pub heading: String,
    pub table: Table,
    pub problems: Vec<String>,
}

pub struct AccessView {
    pub introduction: String,
    pub unavailable: Option<String>,
    pub namespaces: Vec<AccessPart>,
    pub eks_clusters: Vec<EksPart>,
}

pub struct EksPart {
    pub heading: String,
    pub table: Table,
    pub gaps: Vec<String>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    report: &'a EvidenceReport,
    style: &'static str,
    version: &'a str,
    policies: Table,
    exceptions: Table,
    trends: Vec<PolicyTrend>,
    width: f64,
    height: f64,
    access: AccessView,
    data_stores_introduction: &'static str,
    data_stores_none: &'static str,
    data_stores_no_path: &'static str,
}

impl Page<'_> {
    /// A result as the report words it ("Not evaluated").
    fn text(&self, result: &ControlResult) -> &'static str {
        result_text(*result)
    }
}

/// Renders the report.
pub fn render(report: &EvidenceReport) -> Result<String, askama::Error> {
    let page = Page {
        report,
        style: STYLE,
        version: report
            .cluster
            .version
            .as_deref()
            .unwrap_or("version unknown"),
        policies: Table::of(&POLICY_HEADERS, report.policies.iter().map(policy_row)),
        exceptions: Table::of(
            &EXCEPTION_HEADERS,
            report.exceptions.iter().map(exception_row),
        ),
        trends: report
            .policies
            .iter()
            .filter_map(|policy| {
                trend::chart(&policy.trend).map(|chart| PolicyTrend {
                    policy: policy.name.clone(),
                    chart,
                })
            })
            .collect(),
        width: trend::WIDTH,
        height: trend::HEIGHT,
        access: access_view(&report.access_review),
        data_stores_introduction: data_stores::INTRODUCTION,
        data_stores_none: data_stores::NONE_LINKED,
        data_stores_no_path: data_stores::NO_PATH,
    };
    page.render()
}

fn access_view(review: &AccessReview) -> AccessView {
    AccessView {
        introduction: access::introduction(),
        unavailable: review.unavailable.clone(),
        namespaces: review
            .namespaces
            .iter()
            .map(|namespace| AccessPart {
                heading: access::heading(namespace),
                table: Table::of(
                    &access::ACCESS_HEADERS,
                    namespace.grants.iter().map(access::access_row),
                ),
                problems: namespace
                    .problems
                    .iter()
                    .map(|problem| format!("{}: {}", problem.binding, problem.message))
                    .collect(),
            })
            .collect(),
        eks_clusters: review
            .eks_clusters
            .iter()
            .map(|cluster| EksPart {
                heading: eks_access::heading(cluster),
                table: Table::of(
                    &eks_access::PRINCIPAL_HEADERS,
                    eks_access::principal_rows(&cluster.access).into_iter(),
                ),
                gaps: eks_access::gaps(&cluster.access),
            })
            .collect(),
    }
}
