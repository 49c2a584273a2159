//! The machine formats are what their consumers expect: the SARIF log validates against the
//! SARIF 2.1.0 JSON schema and places results at file and line; the JUnit XML parses and its
//! counts agree with the scan; the JSON has exactly the documented finding fields.
//!
//! tests/fixtures/sarif-schema-2.1.0.json is the OASIS SARIF 2.1.0 schema (draft-04, final
//! "rtm.5" revision) as shipped in the MIT-licensed npm package @microsoft/jest-sarif
//! 1.0.0-beta.0 (lib/schemas/sarif-2.1.0-rtm.5.json), vendored with one change: the patterns of
//! the `language` properties, `^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$`, have their lone `]` escaped (`\]`),
//! which is how ECMAScript reads it; Rust regex engines refuse the unescaped form.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use clap::Parser;
use kubectl_hipaa::cli::Cli;
use kubectl_hipaa::run;
use serde_json::Value;

const MANIFESTS: &str = "tests/fixtures/manifests";
const POLICY: &str = "tests/fixtures/policy.yaml";

fn scan(format: &str) -> String {
    let cli = Cli::try_parse_from([
        "kubectl-hipaa",
        "scan",
        "-f",
        MANIFESTS,
        "--policy",
        POLICY,
        "-o",
        format,
    ])
    .unwrap();
    let mut out = Vec::new();
    let mut stdin: &[u8] = &[];
    run(&cli, &mut stdin, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn json_summary() -> Value {
    serde_json::from_str::<Value>(&scan("json")).unwrap()["summary"].clone()
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string("tests/fixtures/sarif-schema-2.1.0.json").unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft4::new(&schema).unwrap();
    let log: Value = serde_json::from_str(&scan("sarif")).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF schema violations:\n{}",
        errors.join("\n")
    );

    // The schema must actually bite: a result without its required message is refused.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn sarif_results_point_at_file_and_line_with_kinds_and_levels_by_result_and_severity() {
    let log: Value = serde_json::from_str(&scan("sarif")).unwrap();
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), hipaa_controls::catalog().len());
    assert!(
        rules
            .iter()
            .all(|r| r["help"]["text"].as_str().is_some_and(|t| !t.is_empty()))
    );
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for result in results {
        let rule = &rules[result["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(rule["id"], result["ruleId"]);
        let severity =
            hipaa_controls::Severity::parse(rule["properties"]["severity"].as_str().unwrap())
                .unwrap();
        // A failure (excepted or not) is "fail" at its severity's level; a check that could not
        // be evaluated is "open", which SARIF allows no level but "none".
        match result["properties"]["result"].as_str().unwrap() {
            "Fail" | "Excepted" => {
                assert_eq!(result["kind"], "fail", "{result}");
                assert_eq!(
                    result["level"],
                    kubectl_hipaa::output::sarif::level(severity)
                );
            }
            "Error" => assert_eq!(
                (&result["kind"], &result["level"]),
                (&"open".into(), &"none".into())
            ),
            other => panic!("unexpected result {other}"),
        }
        let location = &result["locations"][0]["physicalLocation"];
        assert!(
            location["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .starts_with("tests/fixtures/manifests/")
        );
        assert!(location["region"]["startLine"].as_u64().unwrap() >= 1);
    }
    let count = |result: &str| {
        results
            .iter()
            .filter(|r| r["properties"]["result"] == result)
            .count() as u64
    };
    let summary = json_summary();
    assert_eq!(count("Fail"), summary["violations"].as_u64().unwrap());
    assert_eq!(count("Error"), summary["errors"].as_u64().unwrap());
    assert_eq!(count("Excepted"), summary["excepted"].as_u64().unwrap());
    // The notes are the run's notifications, each once.
    let notifications = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    let notes = summary["notes"].as_array().unwrap();
    assert_eq!(
        notifications.len(),
        notes.len() + 1,
        "the notes and the skipped kinds"
    );
    // The api Deployment starts on line 3 of its file (after two comment lines).
    let api = results
        .iter()
        .find(|r| r["ruleId"] == "HIPAA-K8S-SECRETS-IN-ENV")
        .expect("the literal DB_PASSWORD is reported");
    assert_eq!(
        api["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "tests/fixtures/manifests/10-billing-api.yaml"
    );
    assert_eq!(
        api["locations"][0]["physicalLocation"]["region"]["startLine"],
        3
    );
    // The excepted Service carries an accepted suppression with its justification.
    let suppressed: Vec<&Value> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(
        suppressed.len(),
        json_summary()["excepted"].as_u64().unwrap() as usize
    );
    assert!(
        suppressed[0]["suppressions"][0]["justification"]
            .as_str()
            .unwrap()
            .contains("CDN")
    );
}

#[test]
fn junit_parses_and_agrees_with_the_scan() {
    let xml = scan("junit");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let summary = json_summary();
    let attr = |node: roxmltree::Node<'_, '_>, name: &str| {
        node.attribute(name).unwrap().parse::<u64>().unwrap()
    };
    assert_eq!(
        attr(root, "failures"),
        summary["violations"].as_u64().unwrap()
    );
    assert_eq!(attr(root, "errors"), summary["errors"].as_u64().unwrap());
    assert_eq!(attr(root, "skipped"), summary["excepted"].as_u64().unwrap());

    let suites: Vec<roxmltree::Node<'_, '_>> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert!(!suites.is_empty());
    let mut total = 0;
    for suite in &suites {
        let cases: Vec<roxmltree::Node<'_, '_>> = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        assert_eq!(
            attr(*suite, "tests"),
            cases.len() as u64,
            "suite {:?}",
            suite.attribute("name")
        );
        let failures = cases
            .iter()
            .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
            .count();
        assert_eq!(attr(*suite, "failures"), failures as u64);
        // A check that could not be evaluated is an <error>, never a <failure>.
        let errors = cases
            .iter()
            .filter(|c| c.children().any(|n| n.has_tag_name("error")))
            .count();
        assert_eq!(attr(*suite, "errors"), errors as u64);
        for case in &cases {
            assert!(
                case.attribute("file")
                    .unwrap()
                    .starts_with("tests/fixtures/manifests/")
            );
            assert!(attr(*case, "line") >= 1);
            assert_eq!(case.attribute("classname"), suite.attribute("name"));
        }
        total += cases.len() as u64;
    }
    assert_eq!(attr(root, "tests"), total);
    // The notes (skipped kinds, then the summary's) are the properties of a suite of no test.
    let notes: Vec<&str> = suites
        .iter()
        .find(|s| s.attribute("name") == Some("kubectl hipaa scan"))
        .unwrap()
        .descendants()
        .filter(|n| n.has_tag_name("property") && n.attribute("name") == Some("note"))
        .filter_map(|n| n.attribute("value"))
        .collect();
    let expected = summary["notes"].as_array().unwrap();
    assert_eq!(notes.len(), expected.len() + 1);
    assert!(notes[0].starts_with("skipped 2 objects"), "{notes:?}");
    assert_eq!(
        notes[1..],
        expected
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect::<Vec<_>>()
    );
    let netpol = suites
        .iter()
        .find(|s| s.attribute("name") == Some("HIPAA-K8S-NETPOL"))
        .unwrap();
    let failing: Vec<&str> = netpol
        .children()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .filter_map(|c| c.attribute("name"))
        .collect();
    assert_eq!(failing, ["Deployment billing/api"]);
}

#[test]
fn json_findings_have_exactly_the_documented_fields() {
    let document: Value = serde_json::from_str(&scan("json")).unwrap();
    let keys: Vec<&str> = document
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["findings", "summary"]);
    let findings = document["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    for finding in findings {
        let mut fields: Vec<&str> = finding
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "control",
                "file",
                "fix",
                "kind",
                "line",
                "message",
                "name",
                "namespace",
                "remediation",
                "result",
                "sections",
                "severity"
            ]
        );
        assert!(
            ["Fail", "Error"].contains(&finding["result"].as_str().unwrap()),
            "{finding}"
        );
    }
    let results = |result: &str| findings.iter().filter(|f| f["result"] == result).count() as u64;
    assert_eq!(
        results("Fail"),
        document["summary"]["violations"].as_u64().unwrap()
    );
    assert_eq!(
        results("Error"),
        document["summary"]["errors"].as_u64().unwrap()
    );
    // A fixable failure carries its fix (description and RFC 6902 patch); the others null.
    let fixed: Vec<&Value> = findings.iter().filter(|f| !f["fix"].is_null()).collect();
    assert!(!fixed.is_empty(), "{findings:?}");
    for finding in &fixed {
        assert_eq!(finding["fix"]["control"], finding["control"]);
        assert!(
            finding["fix"]["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
        assert!(finding["fix"]["patch"].is_array());
    }
    let summary = &document["summary"];
    let listed = findings.len() as u64;
    assert_eq!(
        listed,
        summary["violations"].as_u64().unwrap() + summary["errors"].as_u64().unwrap()
    );
}
