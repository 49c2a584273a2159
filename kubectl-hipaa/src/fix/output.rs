//! What `kubectl hipaa fix` prints: unified diffs of the files (`--- a/FILE`, `+++ b/FILE`),
//! or the JSON patches per object with their kustomize target (`-o patch`); and, on the notes
//! stream, the findings left without an automatic fix and the Secret skeletons to create.

use std::io::Write;

use hipaa_controls::model::Outcome;
use serde::Serialize;
use serde_json::Value;
use similar::TextDiff;

use super::files::Edited;
use super::plan::Plan;
use super::render;

/// A unified diff per changed file, three lines of context.
pub fn write_diffs(edited: &Edited, out: &mut dyn Write) -> std::io::Result<()> {
    for file in edited.files.iter().filter(|f| f.changed()) {
        let diff = TextDiff::from_lines(file.original.as_str(), file.text.as_str());
        let a = format!("a/{}", file.name);
        let b = format!("b/{}", file.name);
        write!(
            out,
            "{}",
            diff.unified_diff().context_radius(3).header(&a, &b)
        )?;
    }
    Ok(())
}

/// The kustomize target of a patch (`patches: [{target: ..., patch: ...}]`).
#[derive(Serialize)]
struct Target<'a> {
    group: &'a str,
    version: &'a str,
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
    name: &'a str,
}

#[derive(Serialize)]
struct FixSummary<'a> {
    control: &'a str,
    description: &'a str,
    complete: bool,
}

#[derive(Serialize)]
struct ObjectPatch<'a> {
    file: &'a str,
    line: usize,
    target: Target<'a>,
    /// The whole object's RFC 6902 patch (`kubectl patch --type=json -p '...'`).
    patch: Vec<&'a hipaa_controls::fix::PatchOp>,
    fixes: Vec<FixSummary<'a>>,
}

#[derive(Serialize)]
struct PatchOutput<'a> {
    objects: Vec<ObjectPatch<'a>>,
    /// Objects to create (a default-deny NetworkPolicy, Secret skeletons with placeholders).
    create: Vec<&'a Value>,
    /// Findings left without an automatic fix.
    remaining: Vec<RemainingOut<'a>>,
}

#[derive(Serialize)]
struct RemainingOut<'a> {
    file: &'a str,
    line: usize,
    control: &'a str,
    message: &'a str,
    advice: &'a str,
}

/// `-o patch`: one JSON document.
pub fn write_patches(plan: &Plan, out: &mut dyn Write) -> std::io::Result<()> {
    let mut objects = Vec::new();
    let mut create: Vec<&Value> = Vec::new();
    for (source, fixed) in plan.sources.iter().zip(&plan.objects) {
        for object in fixed {
            let (group, version) = object
                .api_version
                .split_once('/')
                .unwrap_or(("", object.api_version.as_str()));
            for extra in object.fixes.iter().flat_map(|f| &f.create) {
                if !create.contains(&extra) {
                    create.push(extra);
                }
            }
            objects.push(ObjectPatch {
                file: &source.name,
                line: object.line,
                target: Target {
                    group,
                    version,
                    kind: &object.resource.kind,
                    namespace: object.resource.namespace.as_deref(),
                    name: &object.resource.name,
                },
                patch: object.fixes.iter().flat_map(|f| &f.patch).collect(),
                fixes: object
                    .fixes
                    .iter()
                    .map(|f| FixSummary {
                        control: f.control,
                        description: &f.description,
                        complete: f.is_complete(),
                    })
                    .collect(),
            });
        }
    }
    let remaining = plan
        .remaining
        .iter()
        .map(|r| RemainingOut {
            file: &r.file,
            line: r.line,
            control: r.finding.control.id,
            message: &r.finding.message,
            advice: &r.advice,
        })
        .collect();
    let output = PatchOutput {
        objects,
        create,
        remaining,
    };
    serde_json::to_writer_pretty(&mut *out, &output)?;
    writeln!(out)
}

/// The findings left, the fixes that could not be applied, and the Secrets to create.
pub fn write_notes(plan: &Plan, edited: &Edited, notes: &mut dyn Write) -> std::io::Result<()> {
    // The fixes depend on it (HA and TLS-WORKLOAD apply by the namespace's labels): stated
    // once, as the scan states it.
    if let Some(assumed) = &plan.assumed {
        writeln!(notes, "{}", assumed.sentence())?;
    }
    for left in &plan.remaining {
        let finding = &left.finding;
        if finding.outcome == Outcome::Error {
            writeln!(
                notes,
                "{}:{}: [{}] {} (not evaluated, so not fixed: give the scan what it needs)",
                left.file, left.line, finding.control.id, finding.message
            )?;
            continue;
        }
        writeln!(
            notes,
            "{}:{}: [{}] {}: no automatic fix: {}",
            left.file, left.line, finding.control.id, finding.message, left.advice
        )?;
    }
    for failure in &edited.failures {
        writeln!(notes, "{failure}")?;
    }
    for secret in &edited.secrets {
        let name = secret
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        writeln!(
            notes,
            "create Secret {name} outside version control (the values are placeholders, never the ones removed):\n---\n{}",
            render::block(secret, 0)
        )?;
    }
    Ok(())
}
