//! deploy/krew/hipaa.yaml renders, as krew-release-bot would render it for a release, into a
//! valid krew Plugin manifest for the `kubectl-hipaa` binary, which installs the repository's
//! LICENSE beside it (krew-index asks every plugin to ship its licence).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use serde_json::Value;

const TEMPLATE: &str = "../deploy/krew/hipaa.yaml";

/// Renders `{{ .TagName }}` and `{{addURIAndSha "URL" .TagName }}` (uri plus a sha256).
fn render(template: &str, tag: &str) -> String {
    let mut out = String::new();
    for line in template.lines() {
        let line = line.replace("{{ .TagName }}", tag);
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("{{addURIAndSha \"") {
            let indent = &line[..line.len() - trimmed.len()];
            let url = rest.split('"').next().unwrap();
            out.push_str(&format!(
                "{indent}uri: {url}\n{indent}sha256: {}\n",
                "ab".repeat(32)
            ));
        } else {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn the_template_renders_to_a_krew_plugin_for_every_platform() {
    let template = std::fs::read_to_string(TEMPLATE).unwrap();
    let tag = format!("v{}", env!("CARGO_PKG_VERSION"));
    let rendered = render(&template, &tag);
    assert!(
        !rendered.contains("{{"),
        "unrendered template left:\n{rendered}"
    );
    let plugin: Value = yaml_serde::from_str(&rendered).unwrap();
    assert_eq!(
        plugin["apiVersion"],
        "krew.googlecontainertools.github.com/v1alpha2"
    );
    assert_eq!(plugin["kind"], "Plugin");
    assert_eq!(
        plugin["metadata"]["name"], "hipaa",
        "kubectl hipaa needs the plugin name hipaa"
    );
    assert_eq!(plugin["spec"]["version"], tag.as_str());
    assert!(plugin["spec"]["shortDescription"].as_str().unwrap().len() <= 50);
    let platforms = plugin["spec"]["platforms"].as_array().unwrap();
    let mut seen = Vec::new();
    for platform in platforms {
        let os = platform["selector"]["matchLabels"]["os"].as_str().unwrap();
        let arch = platform["selector"]["matchLabels"]["arch"]
            .as_str()
            .unwrap();
        assert_eq!(platform["bin"], "kubectl-hipaa");
        let uri = platform["uri"].as_str().unwrap();
        assert!(uri.starts_with("https://"), "{uri}");
        assert!(
            uri.ends_with(&format!("kubectl-hipaa_{tag}_{os}_{arch}.tar.gz")),
            "{uri}"
        );
        assert_eq!(platform["sha256"].as_str().unwrap().len(), 64);
        let files: Vec<(&str, &str)> = platform["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["from"].as_str().unwrap(), f["to"].as_str().unwrap()))
            .collect();
        assert_eq!(files, [("kubectl-hipaa", "."), ("LICENSE", ".")]);
        seen.push(format!("{os}/{arch}"));
    }
    seen.sort();
    assert_eq!(
        seen,
        ["darwin/amd64", "darwin/arm64", "linux/amd64", "linux/arm64"]
    );
}

#[test]
fn the_licence_krew_installs_is_the_one_cargo_declares() {
    // Cargo.toml says Apache-2.0; the archive's LICENSE is the repository's.
    assert_eq!(env!("CARGO_PKG_LICENSE"), "Apache-2.0");
    let licence = std::fs::read_to_string("../LICENSE").unwrap();
    assert!(
        licence.contains("Apache License\n                           Version 2.0, January 2004")
    );
    assert!(licence.contains("END OF TERMS AND CONDITIONS"));
}
