//! The chart's PrometheusRule and dashboard as helm renders them, the runbooks of
//! docs/alerts.md, and running promtool on rule files.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use hipaa_testkit::{CmdOutput, run};
use serde::Deserialize;
use serde_json::Value;

/// The release and namespace the unit tests (tests/alerts/rules-test.yaml) are written for: the
/// jobs are `hipaa-guard-webhook` and `hipaa-guard-operator`.
pub const RELEASE: &str = "hipaa-guard";

pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = manifest
        .canonicalize()
        .unwrap_or_else(|_| manifest.to_path_buf());
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// A binary of the control-plane cache (`helm`, `promtool`), built by tests/controlplane/build.sh.
pub fn tool(name: &str) -> anyhow::Result<PathBuf> {
    let path = hipaa_testkit::bin_dir()?.join(name);
    if !path.is_file() {
        bail!(
            "{} is missing; run `bash tests/controlplane/build.sh`, which builds it",
            path.display()
        );
    }
    Ok(path)
}

/// `helm template hipaa-guard charts/hipaa-guard -n hipaa-guard <args>`, as JSON documents.
pub fn render(args: &[&str]) -> anyhow::Result<Vec<Value>> {
    let home = std::env::temp_dir().join(format!("hipaa-guard-alerts-e2e-{}", std::process::id()));
    let mut helm = Command::new(tool("helm")?);
    helm.env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env_remove("KUBECONFIG")
        .arg("template")
        .arg(RELEASE)
        .arg(repo_root().join("charts/hipaa-guard"))
        .args(["--namespace", RELEASE])
        .args(args);
    let out = run(&mut helm, None)?;
    if !out.success() {
        bail!("helm template {args:?} failed:\n{out}");
    }
    let mut docs = Vec::new();
    for document in yaml_serde::Deserializer::from_str(&out.stdout) {
        let value = Value::deserialize(document).context("helm's output does not parse")?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

/// The one rendered object of `kind`.
pub fn only<'a>(docs: &'a [Value], kind: &str) -> anyhow::Result<&'a Value> {
    let found: Vec<&Value> = docs.iter().filter(|d| d["kind"] == kind).collect();
    match found.as_slice() {
        [one] => Ok(one),
        _ => bail!("{} objects of kind {kind} rendered", found.len()),
    }
}

/// The rule groups of the PrometheusRule rendered with `args` (and prometheusRule.enabled).
pub fn rule_groups(args: &[&str]) -> anyhow::Result<Value> {
    let mut all = vec!["--set", "prometheusRule.enabled=true"];
    all.extend_from_slice(args);
    let docs = render(&all)?;
    Ok(only(&docs, "PrometheusRule")?["spec"]["groups"].clone())
}

/// Every alerting rule of `groups`.
pub fn alerts(groups: &Value) -> Vec<&Value> {
    groups
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|group| group["rules"].as_array().into_iter().flatten())
        .filter(|rule| rule["alert"].is_string())
        .collect()
}

/// `groups` as a Prometheus rule file, with or without the rules' annotations.
pub fn rule_file(groups: &Value, annotations: bool) -> anyhow::Result<String> {
    let mut groups = groups.clone();
    if !annotations {
        for group in groups.as_array_mut().into_iter().flatten() {
            for rule in group["rules"].as_array_mut().into_iter().flatten() {
                if let Some(rule) = rule.as_object_mut() {
                    rule.remove("annotations");
                }
            }
        }
    }
    Ok(yaml_serde::to_string(
        &serde_json::json!({ "groups": groups }),
    )?)
}

/// `promtool <args>` in `dir`, failing with its output unless it succeeds.
pub fn promtool(dir: &Path, args: &[&str]) -> anyhow::Result<CmdOutput> {
    let mut cmd = Command::new(tool("promtool")?);
    cmd.current_dir(dir).args(args);
    let out = run(&mut cmd, None)?;
    if !out.success() {
        bail!("promtool {args:?} failed:\n{out}");
    }
    Ok(out)
}

/// docs/alerts.md's runbooks: each `## HipaaGuard...` heading and the text up to the next one.
pub fn runbooks() -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(repo_root().join("docs/alerts.md"))?;
    let mut sections: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("## ") {
            sections.push((name.trim().to_string(), String::new()));
        } else if let Some((_, body)) = sections.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    sections.retain(|(name, _)| name.starts_with("HipaaGuard"));
    Ok(sections)
}

/// The dashboard file the chart ships.
pub fn dashboard_file() -> anyhow::Result<Value> {
    let path = repo_root().join("charts/hipaa-guard/files/dashboards/hipaa-guard.json");
    let text = std::fs::read_to_string(&path)?;
    serde_json::from_str(&text).with_context(|| format!("{} does not parse", path.display()))
}

/// Every panel of `dashboard`, those in collapsed rows included.
pub fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    for panel in dashboard["panels"].as_array().into_iter().flatten() {
        all.push(panel);
        all.extend(panel["panels"].as_array().into_iter().flatten());
    }
    all
}

/// The PromQL of every query of `dashboard`: panel targets and query variables.
pub fn dashboard_queries(dashboard: &Value) -> Vec<String> {
    let mut queries: Vec<String> = panels(dashboard)
        .iter()
        .flat_map(|panel| panel["targets"].as_array().into_iter().flatten())
        .filter_map(|target| target["expr"].as_str().map(str::to_string))
        .collect();
    for variable in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(query) = variable["query"]["query"].as_str() {
            // label_values(<metric>, <label>): the metric is the first argument.
            let inner = query
                .strip_prefix("label_values(")
                .and_then(|rest| rest.split(',').next())
                .unwrap_or(query);
            queries.push(inner.to_string());
        }
    }
    queries
}
