//! Agreement with the tools developers know: each manifest of other tools' own test data under
//! tests/fixtures/agreement/<tool>/ (Polaris, kube-score, kubescape; their licences and a SOURCE
//! file beside them) is scanned through the library API, and our verdict on the mapped control is
//! compared with the verdict that tool's tests expect. A case whose verdict differs on purpose
//! says so in its labels.yaml (`ours:` and `why:`, also in docs/controls.md "Agreement with other
//! tools"); any other difference, or a listed difference that no longer holds, fails the test.
//!
//! The expected verdicts are checked against the tools' own data where it holds them: Polaris's
//! file names (`success`/`failure`) and kubescape's expected.json (an empty list passes).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::Utc;
use clap::Parser;
use hipaa_controls::model::Outcome;
use kubectl_hipaa::cli::{Cli, Command};
use kubectl_hipaa::scan::model::ScanReport;
use serde::Deserialize;

const ROOT: &str = "tests/fixtures/agreement";
const TOOLS: [&str; 3] = ["polaris", "kube-score", "kubescape"];

/// One tool's labels.yaml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Labels {
    /// The tool's check name → what it means for us.
    checks: BTreeMap<String, Mapping>,
    cases: Vec<Case>,
}

/// Our counterpart of a check: a control, and the words of its message that name the same
/// problem when the control judges more than the check does (HIPAA-K8S-PRIVILEGED judges host
/// namespaces, privilege, escalation and root at once).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Mapping {
    control: String,
    /// Fragments of the failure message; any one names this check's problem. Empty: any failure.
    #[serde(default)]
    finding: Vec<String>,
    /// The kinds of object the check judges, when a file holds others the control also judges.
    #[serde(default)]
    kinds: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    file: String,
    check: String,
    /// The tool's verdict: pass or fail.
    expected: Verdict,
    /// Where the tool's tests say it (kube-score: the Go test and the grade).
    #[serde(default)]
    source: Option<String>,
    /// Our verdict where it differs on purpose: pass, fail or invalid (the scan refuses the input).
    #[serde(default)]
    ours: Option<Verdict>,
    #[serde(default)]
    why: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Pass,
    Fail,
    /// The control could not evaluate the object.
    Error,
    /// The scan refused the input (exit 2).
    Invalid,
}

fn load(tool: &str) -> Labels {
    let path = Path::new(ROOT).join(tool).join("labels.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Scans one file with explicit options: the catalog's defaults (no policy file), offline,
/// objects without a namespace in `default`, failing at LOW.
fn scan(path: &Path) -> Option<ScanReport> {
    let path = path.to_str().unwrap();
    let argv = [
        "kubectl-hipaa",
        "scan",
        "-f",
        path,
        "-n",
        "default",
        "--fail-on",
        "LOW",
        "-o",
        "json",
    ];
    let cli = Cli::try_parse_from(argv).unwrap();
    let Command::Scan(args) = &cli.command else {
        panic!("not a scan");
    };
    let mut stdin: &[u8] = &[];
    kubectl_hipaa::scan::run(args, &cli.global, &mut stdin, Utc::now()).ok()
}

/// Our verdict on `mapping` for the one object of the file that the check judges.
fn our_verdict(report: Option<&ScanReport>, mapping: &Mapping, file: &str) -> Verdict {
    let Some(report) = report else {
        return Verdict::Invalid;
    };
    let judged: Vec<usize> = report
        .objects
        .iter()
        .enumerate()
        .filter(|(_, o)| o.controls.iter().any(|c| c.id == mapping.control))
        .filter(|(_, o)| mapping.kinds.is_empty() || mapping.kinds.contains(&o.resource.kind))
        .map(|(index, _)| index)
        .collect();
    assert_eq!(
        judged.len(),
        1,
        "{file}: {} objects judged by {} (name the check's kinds)",
        judged.len(),
        mapping.control
    );
    let findings = report
        .findings
        .iter()
        .filter(|f| f.object_index == judged[0] && f.finding.control.id == mapping.control);
    let mut verdict = Verdict::Pass;
    for located in findings {
        let message = &located.finding.message;
        match located.finding.outcome {
            Outcome::Error => return Verdict::Error,
            Outcome::Fail
                if mapping.finding.is_empty()
                    || mapping.finding.iter().any(|f| message.contains(f.as_str())) =>
            {
                verdict = Verdict::Fail;
            }
            _ => {}
        }
    }
    verdict
}

/// The verdict the tool's own data records, where it records one in the files.
fn tools_own_verdict(tool: &str, file: &str) -> Option<Verdict> {
    match tool {
        "polaris" => {
            let name = Path::new(file).file_name()?.to_str()?;
            if name.starts_with("success") {
                Some(Verdict::Pass)
            } else if name.starts_with("failure") {
                Some(Verdict::Fail)
            } else {
                None
            }
        }
        "kubescape" => {
            // <rule>/<case>/input/x.yaml or <rule>/<case>/input.yaml, beside expected.json.
            let case_dir: PathBuf = Path::new(file)
                .ancestors()
                .find(|dir| {
                    Path::new(ROOT)
                        .join(tool)
                        .join(dir)
                        .join("expected.json")
                        .is_file()
                })?
                .to_path_buf();
            let expected = std::fs::read_to_string(
                Path::new(ROOT)
                    .join(tool)
                    .join(case_dir)
                    .join("expected.json"),
            )
            .ok()?;
            let failures: serde_json::Value = serde_json::from_str(&expected).ok()?;
            Some(if failures.as_array()?.is_empty() {
                Verdict::Pass
            } else {
                Verdict::Fail
            })
        }
        _ => None,
    }
}

#[test]
fn our_verdicts_agree_with_other_tools_or_the_difference_is_listed() {
    let mut problems = Vec::new();
    let mut counts = BTreeMap::new();
    for tool in TOOLS {
        let dir = Path::new(ROOT).join(tool);
        for required in ["LICENSE", "SOURCE"] {
            assert!(dir.join(required).is_file(), "{tool}: no {required}");
        }
        let labels = load(tool);
        for case in &labels.cases {
            let at = format!("{tool}/{}", case.file);
            let mapping = labels
                .checks
                .get(&case.check)
                .unwrap_or_else(|| panic!("{at}: check {} is not mapped", case.check));
            if let Some(own) = tools_own_verdict(tool, &case.file) {
                assert_eq!(
                    case.expected, own,
                    "{at}: the label is not what {tool} expects"
                );
            }
            if tool == "kube-score" {
                assert!(
                    case.source.is_some(),
                    "{at}: say which kube-score test expects it"
                );
            }
            let report = scan(&dir.join(&case.file));
            let ours = our_verdict(report.as_ref(), mapping, &at);
            let expected_ours = case.ours.unwrap_or(case.expected);
            if case.ours.is_some() {
                assert_ne!(
                    case.ours,
                    Some(case.expected),
                    "{at}: `ours` equals `expected`"
                );
                assert!(
                    case.why.as_deref().is_some_and(|w| !w.trim().is_empty()),
                    "{at}: a difference needs a `why`"
                );
            }
            let tally = counts.entry(tool).or_insert((0, 0));
            if case.ours.is_some() {
                tally.1 += 1;
            } else {
                tally.0 += 1;
            }
            if ours != expected_ours {
                problems.push(format!(
                    "{at} ({} → {}): {tool} says {:?}, we say {ours:?}{}",
                    case.check,
                    mapping.control,
                    case.expected,
                    if case.ours.is_some() {
                        format!(" but the label lists our verdict as {expected_ours:?}")
                    } else {
                        " (an unlisted difference)".to_string()
                    }
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for tool in TOOLS {
        let (agree, differ) = counts.get(tool).copied().unwrap_or_default();
        assert!(agree > 0, "{tool}: no case agrees");
        println!("{tool}: {agree} agree, {differ} differ on purpose");
    }
}

/// The rows of the table in docs/controls.md "Agreement with other tools": (tool, check) →
/// (agree, differ), a row naming several checks (`a, b`) counting for them together.
fn documented_counts() -> BTreeMap<(String, String), (usize, usize)> {
    let page = std::fs::read_to_string("../docs/controls.md").unwrap();
    let (_, section) = page
        .split_once("## Agreement with other tools")
        .expect("docs/controls.md has the agreement section");
    let mut rows = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Ok(agree), Ok(differ)) = (cells[4].parse(), cells[5].parse()) else {
            continue;
        };
        rows.insert(
            (cells[1].to_lowercase(), cells[2].to_string()),
            (agree, differ),
        );
    }
    rows
}

#[test]
fn the_documented_table_counts_what_the_labels_hold() {
    let documented = documented_counts();
    let mut computed: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    for tool in TOOLS {
        for case in load(tool).cases {
            let row = documented
                .keys()
                .find(|(t, checks)| t == tool && checks.split(", ").any(|c| c == case.check))
                .unwrap_or_else(|| panic!("docs/controls.md has no row for {tool} {}", case.check))
                .clone();
            let count = computed.entry(row).or_default();
            if case.ours.is_some() {
                count.1 += 1;
            } else {
                count.0 += 1;
            }
        }
    }
    assert_eq!(documented, computed);
}

#[test]
fn every_manifest_of_the_set_is_labelled_and_the_set_stays_small() {
    let mut total = 0u64;
    for tool in TOOLS {
        let labels = load(tool);
        let labelled: Vec<&str> = labels.cases.iter().map(|c| c.file.as_str()).collect();
        let dir = Path::new(ROOT).join(tool);
        let mut stack = vec![dir.clone()];
        while let Some(next) = stack.pop() {
            for entry in std::fs::read_dir(next).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                total += std::fs::metadata(&path).unwrap().len();
                let relative = path
                    .strip_prefix(&dir)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string();
                let manifest = relative.ends_with(".yaml") && relative != "labels.yaml";
                assert!(
                    !manifest || labelled.contains(&relative.as_str()),
                    "{tool}/{relative} is not labelled"
                );
            }
        }
    }
    assert!(total < 300 * 1024, "the agreement set is {total} bytes");
}
