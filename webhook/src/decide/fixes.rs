//! The automatic fix a denial carries: for the Enforce failures that have one, the
//! `kubectl hipaa fix` line that applies it to the user's manifest and the same fix as one
//! compact RFC 6902 patch (plus the objects to create), after the readable lines. Warnings never
//! carry it: the API server cuts warnings short once they pass 4 KiB in total.

use hipaa_controls::fix::{FixOptions, propose};
use hipaa_controls::model::{Finding, Outcome};
use hipaa_controls::policy::EffectivePolicy;
use hipaa_controls::{ClusterContext, Object};
use hipaa_crds::Enforcement;
use serde_json::Value;

/// The fix section of a denial of `object`, or None when no denying finding has a fix.
pub(crate) fn section(
    object: &Object,
    findings: &[Finding],
    ctx: &ClusterContext,
    policy: &EffectivePolicy,
) -> Option<String> {
    let fixes: Vec<_> = findings
        .iter()
        .filter(|f| f.outcome == Outcome::Fail && f.enforcement == Enforcement::Enforce)
        .filter_map(|f| propose(object, f, ctx, policy, &FixOptions::default()))
        .collect();
    if fixes.is_empty() {
        return None;
    }
    let ids: Vec<&str> = fixes.iter().map(|f| f.control).collect();
    let patch: Vec<_> = fixes.iter().flat_map(|f| &f.patch).collect();
    let mut text = format!(
        "Automatic fix for {}: run `kubectl hipaa fix -f <your-file> --write` on the manifest, or apply this JSON patch to it: {}",
        ids.join(", "),
        serde_json::to_string(&patch).unwrap_or_default()
    );
    for fix in &fixes {
        text.push_str(&format!("\n- {}: {}", fix.control, fix.description));
        if !fix.is_complete() {
            text.push_str(&format!(" (left to do: {})", fix.unfixed.join("; ")));
        }
    }
    // A Secret skeleton is described (how to create it) rather than shown.
    for created in fixes
        .iter()
        .flat_map(|f| &f.create)
        .filter(|c| c.get("kind").and_then(Value::as_str) != Some("Secret"))
    {
        text.push_str(&format!(
            "\nCreate too: {}",
            serde_json::to_string(created).unwrap_or_default()
        ));
    }
    Some(text)
}
