//! What `kubectl hipaa fix` will change: the inputs read as the scan reads them (the same
//! documents, Lists, limits and errors), the context and policies built as the scan builds them,
//! every object judged, and for each failed finding the engine's fix, or the finding kept as one
//! without an automatic fix.

use std::io::Read;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use hipaa_controls::fix::{Fix, FixOptions, propose};
use hipaa_controls::model::{Finding, Outcome, ResourceRef};
use hipaa_controls::{ClusterContext, Mode, evaluate};
use serde_json::Value;

use crate::input::{
    self, InputError, InputPath, ManifestObject, RawDocument, ReadLimits, objects_of_document,
    parse_document, split_documents,
};
use crate::scan::assumption::{AssumedNamespaces, NamespaceAssumer, NamespaceAssumption};
use crate::scan::context::build_context;
use crate::scan::manifests::Manifests;
use crate::scan::passes::is_broken_manifest;
use crate::scan::policies::PolicyScope;

use super::tree;

/// One input, read once.
pub struct Source {
    pub input: InputPath,
    pub name: Arc<str>,
    pub text: String,
}

/// The fixes of one object and where it is written.
#[derive(Debug)]
pub struct ObjectFixes {
    pub resource: ResourceRef,
    /// `apiVersion` of the object (its patch's target).
    pub api_version: String,
    pub line: usize,
    /// The index of its document among the file's YAML documents (as the position parser
    /// counts them).
    pub document: usize,
    /// The pointer tokens from the document to the object (`items`, N for a List's item).
    pub prefix: Vec<String>,
    pub fixes: Vec<Fix>,
}

/// A finding that stays after the fixes: no automatic fix, or only part of one.
#[derive(Debug)]
pub struct Remaining {
    pub file: Arc<str>,
    pub line: usize,
    pub finding: Finding,
    /// What is left to do by hand.
    pub advice: String,
}

/// Everything the fix command found, per input.
pub struct Plan {
    pub sources: Vec<Source>,
    /// Per source (same index), its objects with fixes.
    pub objects: Vec<Vec<ObjectFixes>>,
    pub remaining: Vec<Remaining>,
    /// Objects read (List items count one each), as the scan counts them.
    pub objects_read: usize,
    /// Documents found in directory walks and skipped as not Kubernetes objects, as the scan
    /// skips them (Helm templates, other YAML).
    pub not_objects: usize,
    /// The namespaces judged under the scan's assumption, stated once in the notes.
    pub assumed: Option<AssumedNamespaces>,
}

/// Reads every input once (standard input included) through the scan's limits. A found input
/// that is not a Kubernetes object as a whole (a Helm template, not UTF-8) is skipped and
/// counted, as the scan skips it.
pub fn read_sources(
    inputs: Vec<InputPath>,
    stdin: &mut dyn Read,
    limits: &ReadLimits,
) -> Result<(Vec<Source>, usize), InputError> {
    let mut sources = Vec::with_capacity(inputs.len());
    let mut skipped = 0;
    for input in inputs {
        let name: Arc<str> = Arc::from(input.display_name());
        if matches!(input, InputPath::HelmTemplate(_)) {
            skipped += 1;
            continue;
        }
        match input::read_text(&input, &name, stdin, limits) {
            Ok(text) => sources.push(Source { input, name, text }),
            Err(InputError::NotAnObject { .. }) if input.is_found() => skipped += 1,
            Err(err) => return Err(err),
        }
    }
    Ok((sources, skipped))
}

/// How the plan judges: the scan's namespace, assumption and fix options.
pub struct PlanOptions<'a> {
    pub default_namespace: &'a str,
    pub assumption: NamespaceAssumption,
    pub fix: &'a FixOptions,
    pub now: DateTime<Utc>,
}

/// Judges every object of `sources` and proposes the fixes.
pub fn plan(
    sources: Vec<Source>,
    scope: &mut PolicyScope,
    options: PlanOptions<'_>,
) -> Result<Plan, InputError> {
    let default_namespace = options.default_namespace;
    let mut ctx = context(&sources, default_namespace)?;
    let mut assumer = NamespaceAssumer::new(options.assumption);
    let mut objects = Vec::with_capacity(sources.len());
    let mut remaining = Vec::new();
    let mut objects_read = 0;
    let mut not_objects = 0;
    for source in &sources {
        let mut fixed = Vec::new();
        let found = source.input.is_found();
        let roots = match tree::parse(&source.text) {
            Ok(roots) => roots,
            // Not YAML as a whole, found in a walk: its documents are read as the scan reads
            // them (a broken manifest is an error, other YAML is skipped). A file that also
            // holds objects cannot be edited without its positions: an error, never objects
            // silently left unfixed.
            Err(err) if found => {
                for raw in split_documents(&source.text) {
                    match read_document(&source.name, &raw, found)? {
                        None => not_objects += 1,
                        Some((_, _, read)) if read.is_empty() => {}
                        Some(_) => {
                            return Err(InputError::invalid(
                                &source.name,
                                err.line,
                                format!(
                                    "{}: a file that holds invalid YAML beside Kubernetes objects cannot be fixed; correct or move the invalid document",
                                    err.message
                                ),
                            ));
                        }
                    }
                }
                objects.push(fixed);
                continue;
            }
            Err(err) => return Err(InputError::invalid(&source.name, err.line, err.message)),
        };
        let root_lines: Vec<usize> = roots
            .iter()
            .map(|r| line_of(&source.text, r.start))
            .collect();
        let mut manifests = Manifests::default();
        for raw in split_documents(&source.text) {
            let (list, api_versions, read) = match read_document(&source.name, &raw, found) {
                Ok(Some(document)) => document,
                Ok(None) => {
                    not_objects += 1;
                    continue;
                }
                Err(err) => return Err(err),
            };
            for (index, manifest) in read.into_iter().enumerate() {
                let line = manifest.line;
                let Some(judged) = manifests.add(manifest, default_namespace)? else {
                    continue;
                };
                let selection = assumer.select(&judged.object, scope.has_policies(), &mut ctx);
                let Some(policy) = scope.policy_for(&judged.object, &ctx, selection) else {
                    continue;
                };
                let evaluation = evaluate(&judged.object, &ctx, &policy, Mode::Audit, options.now);
                let mut fixes = Vec::new();
                for finding in evaluation.findings {
                    if finding.outcome == Outcome::Excepted {
                        continue;
                    }
                    let fix = propose(&judged.object, &finding, &ctx, &policy, options.fix);
                    let advice = match &fix {
                        Some(fix) if fix.is_complete() => None,
                        Some(fix) => Some(fix.unfixed.join("; ")),
                        None => Some(finding.control.remediation.to_string()),
                    };
                    if let Some(advice) = advice {
                        remaining.push(Remaining {
                            file: source.name.clone(),
                            line,
                            finding,
                            advice,
                        });
                    }
                    fixes.extend(fix);
                }
                if fixes.is_empty() {
                    continue;
                }
                let document = root_lines
                    .iter()
                    .position(|l| *l == raw.content_line)
                    .ok_or_else(|| {
                        InputError::invalid(
                            &source.name,
                            raw.content_line,
                            "cannot locate the object in the file to fix it",
                        )
                    })?;
                fixed.push(ObjectFixes {
                    resource: judged.object.resource_ref(),
                    api_version: api_versions.get(index).cloned().unwrap_or_default(),
                    line,
                    document,
                    prefix: if list {
                        vec!["items".to_string(), index.to_string()]
                    } else {
                        Vec::new()
                    },
                    fixes,
                });
            }
        }
        objects_read += manifests.objects_read;
        objects.push(fixed);
    }
    Ok(Plan {
        sources,
        objects,
        remaining,
        objects_read,
        not_objects,
        assumed: assumer.summary(scope.has_policies()),
    })
}

/// One document: whether it is a List, each object's `apiVersion`, and its objects; None for a
/// document of a found input that is not a Kubernetes object (skipped, as the scan skips it).
/// A named input's, or a manifest broken by a mistake, is an error.
fn read_document(
    file: &Arc<str>,
    raw: &RawDocument<'_>,
    found: bool,
) -> Result<Option<DocumentObjects>, InputError> {
    let read = || -> Result<DocumentObjects, InputError> {
        input::check_document(file, raw)?;
        let value = match parse_document(file, raw) {
            Err(err) if is_broken_manifest(raw) => return Err(err.into_invalid()),
            other => other?,
        };
        let list = is_list(&value);
        let api_versions = api_versions(&value, list);
        Ok((list, api_versions, objects_of_document(file, raw, value)?))
    };
    match read() {
        Ok(document) => Ok(Some(document)),
        Err(InputError::NotAnObject { .. }) if found => Ok(None),
        Err(err) => Err(err.into_invalid()),
    }
}

/// What [`read_document`] returns: List or not, the `apiVersion`s, the objects.
type DocumentObjects = (bool, Vec<String>, Vec<ManifestObject>);

/// The scan's offline context: the context kinds among all inputs.
fn context(sources: &[Source], default_namespace: &str) -> Result<ClusterContext, InputError> {
    let mut manifests = Manifests::for_context();
    for source in sources {
        let found = source.input.is_found();
        for raw in split_documents(&source.text) {
            let Some((_, _, read)) = read_document(&source.name, &raw, found)? else {
                continue;
            };
            for manifest in read {
                manifests.add(manifest, default_namespace)?;
            }
        }
    }
    Ok(build_context(&manifests, None))
}

fn is_list(value: &Value) -> bool {
    value
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"))
        && value.get("items").is_some_and(Value::is_array)
}

/// The `apiVersion` of the document's object, or of each item of a List.
fn api_versions(value: &Value, list: bool) -> Vec<String> {
    let of = |v: &Value| {
        v.get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    if list {
        value
            .get("items")
            .and_then(Value::as_array)
            .map(|items| items.iter().map(of).collect())
            .unwrap_or_default()
    } else {
        vec![of(value)]
    }
}

/// The 1-based line of byte `at`.
pub fn line_of(text: &str, at: usize) -> usize {
    text.get(..at)
        .map_or(1, |before| before.matches('\n').count() + 1)
}
