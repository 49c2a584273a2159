//! The chart's alerts and dashboard (prometheusRule, grafanaDashboard): the rendered rules pass
//! `promtool check rules` and their unit tests (tests/alerts/rules-test.yaml) under
//! `promtool test rules`; every alert has a severity, a runbook section in docs/alerts.md and a
//! firing and a quiet case; the values shape the rules; the dashboard parses, queries through its
//! datasource variable and ships in the sidecar's ConfigMap; and every metric the rules and the
//! dashboard read is one the real binaries expose (exposed.rs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod alerts_e2e {
    pub mod chart;
    pub mod exposed;
    pub mod promql;
}
// The running webhook and operator of the exposure test, as their own tests start them.
#[path = "operator_support/mod.rs"]
mod operator_support;
#[path = "webhook_e2e/support.rs"]
mod webhook_support;

use std::collections::BTreeSet;

use alerts_e2e::chart::*;
use serde_json::Value;

const TEST_FILE: &str = "tests/alerts/rules-test.yaml";

#[test]
fn rules_pass_promtool_check_and_their_unit_tests() {
    let groups = rule_groups(&[]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The whole rules, annotations included: promtool checks their templates too.
    std::fs::write(
        dir.path().join("full.yaml"),
        rule_file(&groups, true).unwrap(),
    )
    .unwrap();
    let checked = promtool(dir.path(), &["check", "rules", "full.yaml"]).unwrap();
    assert!(checked.stdout.contains("SUCCESS"), "{checked}");

    std::fs::write(
        dir.path().join("rules.yaml"),
        rule_file(&groups, false).unwrap(),
    )
    .unwrap();
    std::fs::copy(
        repo_root().join(TEST_FILE),
        dir.path().join("rules-test.yaml"),
    )
    .unwrap();
    let tested = promtool(dir.path(), &["test", "rules", "rules-test.yaml"]).unwrap();
    assert!(tested.stdout.contains("SUCCESS"), "{tested}");
}

/// The alert names of the unit tests' cases that expect it to fire, and that expect silence.
fn tested_cases() -> (BTreeSet<String>, BTreeSet<String>) {
    let text = std::fs::read_to_string(repo_root().join(TEST_FILE)).unwrap();
    let file: Value = yaml_serde::from_str(&text).unwrap();
    let (mut firing, mut quiet) = (BTreeSet::new(), BTreeSet::new());
    for test in file["tests"].as_array().unwrap() {
        for case in test["alert_rule_test"].as_array().into_iter().flatten() {
            let name = case["alertname"].as_str().unwrap().to_string();
            let expected = case["exp_alerts"].as_array().map_or(0, Vec::len);
            if expected > 0 {
                firing.insert(name);
            } else {
                quiet.insert(name);
            }
        }
    }
    (firing, quiet)
}

#[test]
fn every_alert_has_a_severity_a_runbook_and_a_firing_and_a_quiet_case() {
    let groups = rule_groups(&[]).unwrap();
    let alerts = alerts(&groups);
    assert!(alerts.len() >= 12, "{groups:#}");
    let runbooks = runbooks().unwrap();
    let (firing, quiet) = tested_cases();
    let base = "https://github.com/hipaa-guard/hipaa-guard/blob/main/docs/alerts.md";
    let mut names = BTreeSet::new();
    for alert in &alerts {
        let name = alert["alert"].as_str().unwrap();
        assert!(names.insert(name.to_string()), "{name} twice");
        let severity = alert["labels"]["severity"].as_str().unwrap_or("");
        assert!(
            ["critical", "warning", "info"].contains(&severity),
            "{name}: {severity}"
        );
        let annotations = &alert["annotations"];
        let runbook = format!("{base}#{}", name.to_lowercase());
        assert_eq!(annotations["runbook_url"], runbook.as_str(), "{name}");
        for key in ["summary", "description"] {
            let text = annotations[key].as_str().unwrap_or("");
            assert!(text.len() > 20, "{name} has no {key}: {alert:#}");
        }
        let (_, body) = runbooks
            .iter()
            .find(|(heading, _)| heading == name)
            .unwrap_or_else(|| panic!("docs/alerts.md has no section `## {name}`"));
        for part in ["**Meaning**", "**Check**", "**Fix**"] {
            assert!(body.contains(part), "the runbook of {name} lacks {part}");
        }
        assert!(
            firing.contains(name),
            "{TEST_FILE} has no case where {name} fires"
        );
        assert!(
            quiet.contains(name),
            "{TEST_FILE} has no case where {name} stays quiet"
        );
    }
    let documented: BTreeSet<String> = runbooks.into_iter().map(|(name, _)| name).collect();
    assert_eq!(
        documented, names,
        "docs/alerts.md's runbooks and the chart's alerts differ"
    );
}

#[test]
fn values_shape_the_rules() {
    let groups = rule_groups(&[
        "--set",
        "prometheusRule.disabledAlerts={HipaaGuardAwsAccessDenied}",
        "--set",
        "prometheusRule.webhookSelector=job=\"admission\"",
        "--set",
        "prometheusRule.certificateExpiryDays=30",
        "--set",
        "prometheusRule.additionalAlertLabels.team=platform",
        "--set",
        "prometheusRule.for.webhookUnavailable=2m",
        "--set",
        "prometheusRule.runbookBaseUrl=https://wiki.example/alerts",
    ])
    .unwrap();
    let alerts = alerts(&groups);
    let find = |name: &str| alerts.iter().find(|a| a["alert"] == name).copied();
    assert!(find("HipaaGuardAwsAccessDenied").is_none(), "{groups:#}");
    let unavailable = find("HipaaGuardWebhookUnavailable").unwrap();
    let expr = unavailable["expr"].as_str().unwrap();
    assert!(expr.contains(r#"up{job="admission"}"#), "{expr}");
    assert_eq!(unavailable["for"], "2m");
    assert_eq!(unavailable["labels"]["team"], "platform");
    assert_eq!(
        unavailable["annotations"]["runbook_url"],
        "https://wiki.example/alerts#hipaaguardwebhookunavailable"
    );
    let certificate = find("HipaaGuardWebhookCertificateExpiring").unwrap();
    assert!(
        certificate["expr"].as_str().unwrap().ends_with("< 2592000"),
        "{certificate:#}"
    );
    // The operator's selector is untouched: the ServiceMonitor's job in the release namespace.
    let leader = find("HipaaGuardNoOperatorLeader").unwrap()["expr"]
        .as_str()
        .unwrap();
    assert!(
        leader.contains(r#"{job="hipaa-guard-operator",namespace="hipaa-guard"}"#),
        "{leader}"
    );

    // A component run outside the cluster (deployment.enabled=false, no selector) is never
    // scraped here: no alert on its absence.
    let outside = rule_groups(&[
        "--set",
        "webhook.deployment.enabled=false",
        "--set",
        "operator.deployment.enabled=false",
        "--set",
        "admission.enabled=false",
    ])
    .unwrap();
    let names: Vec<&str> = alerts_e2e::chart::alerts(&outside)
        .iter()
        .filter_map(|a| a["alert"].as_str())
        .collect();
    assert!(
        !names.contains(&"HipaaGuardWebhookUnavailable"),
        "{names:?}"
    );
    assert!(!names.contains(&"HipaaGuardNoOperatorLeader"), "{names:?}");
    assert!(
        names.contains(&"HipaaGuardNewCriticalViolation"),
        "{names:?}"
    );

    // Off by default, and labelled for the Prometheus that selects rules.
    let docs = render(&[]).unwrap();
    assert!(
        docs.iter()
            .all(|d| d["kind"] != "PrometheusRule" && d["kind"] != "ConfigMap")
    );
    let docs = render(&[
        "--set",
        "prometheusRule.enabled=true",
        "--set",
        "prometheusRule.labels.release=kps",
    ])
    .unwrap();
    let rule = only(&docs, "PrometheusRule").unwrap();
    assert_eq!(rule["metadata"]["labels"]["release"], "kps");
    assert_eq!(rule["metadata"]["namespace"], RELEASE);
}

#[test]
fn the_dashboard_parses_and_every_panel_queries_through_the_datasource_variable() {
    let dashboard = dashboard_file().unwrap();
    assert_eq!(dashboard["uid"], "hipaa-guard");
    assert!(dashboard["schemaVersion"].as_u64().unwrap() >= 36);
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    let datasource = variables
        .iter()
        .find(|v| v["type"] == "datasource")
        .unwrap();
    assert_eq!(datasource["query"], "prometheus");
    let reference = format!("${{{}}}", datasource["name"].as_str().unwrap());
    let mut ids = BTreeSet::new();
    let mut titles = Vec::new();
    for panel in panels(&dashboard) {
        let title = panel["title"].as_str().unwrap_or("");
        assert!(
            ids.insert(panel["id"].as_u64().unwrap()),
            "panel id twice: {title}"
        );
        assert!(panel["gridPos"]["w"].as_u64().unwrap() > 0, "{title}");
        if panel["type"] == "row" {
            continue;
        }
        titles.push(title.to_string());
        assert_eq!(panel["datasource"]["uid"], reference.as_str(), "{title}");
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{title} has no query");
        for target in targets {
            assert_eq!(target["datasource"]["uid"], reference.as_str(), "{title}");
            assert!(
                !target["expr"].as_str().unwrap_or("").trim().is_empty(),
                "{title}"
            );
        }
    }
    for wanted in [
        "Compliance by policy",
        "Compliance by 45 CFR section",
        "Denials by control",
        "Review latency",
        "Audit duration",
    ] {
        assert!(
            titles.iter().any(|t| t == wanted),
            "no panel {wanted}: {titles:?}"
        );
    }
}

#[test]
fn the_dashboard_ships_in_a_configmap_the_grafana_sidecar_finds() {
    let docs = render(&[
        "--set",
        "grafanaDashboard.enabled=true",
        "--set",
        "grafanaDashboard.folder=Compliance",
    ])
    .unwrap();
    let map = only(&docs, "ConfigMap").unwrap();
    assert_eq!(map["metadata"]["labels"]["grafana_dashboard"], "1");
    assert_eq!(
        map["metadata"]["annotations"]["grafana_folder"],
        "Compliance"
    );
    let shipped: Value =
        serde_json::from_str(map["data"]["hipaa-guard.json"].as_str().unwrap()).unwrap();
    assert_eq!(shipped, dashboard_file().unwrap());

    let docs = render(&[
        "--set",
        "grafanaDashboard.enabled=true",
        "--set",
        "grafanaDashboard.label=dashboards",
        "--set",
        "grafanaDashboard.labelValue=hipaa",
        "--set",
        "grafanaDashboard.namespace=monitoring",
    ])
    .unwrap();
    let map = only(&docs, "ConfigMap").unwrap();
    assert_eq!(map["metadata"]["labels"]["dashboards"], "hipaa");
    assert_eq!(map["metadata"]["namespace"], "monitoring");
    assert!(map["metadata"]["annotations"].is_null(), "{map:#}");
}
