//! The scan's two passes over its inputs, so that memory does not grow with the objects judged:
//! the first reads only the context (Namespaces, NetworkPolicies, PVCs, StorageClasses,
//! HorizontalPodAutoscalers, Velero Schedules: documents whose kind lines name another kind are
//! not parsed), the second judges each object as soon as it is read, against the whole context,
//! and drops it. Files are read twice, one at a time; standard input, which can be read only
//! once, is kept as text (at most `--max-input-size`) between the passes.
//!
//! Files found in a directory walk are what a repository holds, not only manifests: a document
//! in one that is not a Kubernetes object (a Helm chart's Chart.yaml or values.yaml, an
//! application's configuration, invalid YAML), and a chart's templates as a whole, are skipped
//! and listed (`SkippedSummary::not_object_documents`) by the second pass, the first ignoring
//! them. The rule is per document: a file's other documents are still judged. A document whose
//! `apiVersion:` and `kind:` lines name a kind but that does not parse, and holds no template
//! braces, is a broken manifest: an error, found or named. In a file named on
//! the command line or standard input, and with `--strict` everywhere, such a document is bad
//! input (exit 2). What crosses a limit of the reader (size, nesting, nodes, aliases), or cannot
//! be read, is an error everywhere.

use std::io::Read;
use std::sync::Arc;

use crate::input::{
    self, InputError, InputPath, RawDocument, ReadLimits, STDIN_NAME, for_each_document,
};

use super::manifests::{JudgedObject, Manifests};
use super::served::ServedApis;
use super::{strict, typed};

/// How the passes read the inputs (the scan's flags).
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// The namespace of namespaced objects that name none.
    pub default_namespace: String,
    /// `--strict`: nothing in a directory walk is skipped, unknown fields of judged kinds are
    /// errors.
    pub strict: bool,
    /// Which `apiVersion`s are served (the built-in table, or the cluster's discovery).
    pub served: ServedApis,
}

impl ReadOptions {
    /// The defaults: namespace `default`, not strict, Kubernetes 1.35's table.
    pub fn offline(default_namespace: &str) -> Self {
        ReadOptions {
            default_namespace: default_namespace.to_string(),
            strict: false,
            served: ServedApis::BuiltIn,
        }
    }

    fn manifests(&self, keep_context: bool) -> Manifests {
        Manifests {
            keep_context,
            strict: self.strict,
            served: self.served.clone(),
            ..Manifests::default()
        }
    }
}

/// What the passes are handed, input by input.
enum Unit<'a, 'd> {
    /// A document of an input; `found`: the input was found in a directory walk.
    Document {
        file: &'a Arc<str>,
        found: bool,
        document: &'a RawDocument<'d>,
    },
    /// A found input that is not a Kubernetes object as a whole (a Helm template, not UTF-8).
    FoundNotObject(InputError),
}

/// The inputs of a scan, with standard input read once.
pub struct Sources {
    inputs: Vec<InputPath>,
    stdin_text: Option<String>,
    limits: ReadLimits,
}

impl Sources {
    /// Reads standard input now (through the cap) if it is among `inputs`.
    pub fn new(
        inputs: Vec<InputPath>,
        stdin: &mut dyn Read,
        limits: ReadLimits,
    ) -> Result<Self, InputError> {
        let stdin_text = if inputs.contains(&InputPath::Stdin) {
            Some(input::read_text(
                &InputPath::Stdin,
                STDIN_NAME,
                stdin,
                &limits,
            )?)
        } else {
            None
        };
        Ok(Sources {
            inputs,
            stdin_text,
            limits,
        })
    }

    /// The inputs, in order.
    pub fn inputs(&self) -> &[InputPath] {
        &self.inputs
    }

    /// Hands every document of every input, in order, to `on_unit`; a found input that is not
    /// YAML as a whole, as one unit.
    fn for_each_unit(
        &self,
        on_unit: &mut impl FnMut(Unit<'_, '_>) -> Result<(), InputError>,
    ) -> Result<(), InputError> {
        let mut no_stdin: &[u8] = &[];
        for input in &self.inputs {
            let name: Arc<str> = Arc::from(input.display_name());
            let found = input.is_found();
            let mut on_document = |file: &Arc<str>, document: &RawDocument<'_>| {
                on_unit(Unit::Document {
                    file,
                    found,
                    document,
                })
            };
            match (input, &self.stdin_text) {
                (InputPath::Stdin, Some(text)) => for_each_document(&name, text, &mut on_document)?,
                (InputPath::HelmTemplate(_), _) => on_unit(Unit::FoundNotObject(
                    InputError::not_an_object(&name, 1, HELM_TEMPLATE),
                ))?,
                _ => match input::read_text(input, &name, &mut no_stdin, &self.limits) {
                    Ok(text) => for_each_document(&name, &text, &mut on_document)?,
                    Err(err @ InputError::NotAnObject { .. }) if found => {
                        on_unit(Unit::FoundNotObject(err))?;
                    }
                    Err(err) => return Err(err),
                },
            }
        }
        Ok(())
    }
}

/// Why a chart's template is skipped.
const HELM_TEMPLATE: &str =
    "a Helm chart's template, YAML only once rendered: scan the output of `helm template`";

/// The first pass: the context objects among the inputs. What a walk skips is left to the
/// second pass, which lists it (or, under --strict, refuses the first in input order).
pub fn read_context(sources: &Sources, options: &ReadOptions) -> Result<Manifests, InputError> {
    let mut context = options.manifests(true);
    sources.for_each_unit(&mut |unit| {
        let Unit::Document {
            file,
            found,
            document,
        } = unit
        else {
            return Ok(());
        };
        if !typed::may_hold_context(document.text) {
            return Ok(());
        }
        match read_objects(file, document, options, &mut context, &mut |_| {}) {
            Err(InputError::NotAnObject { .. }) if found => Ok(()),
            other => other,
        }
    })?;
    Ok(context)
}

/// The second pass: hands every judged object to `on_object` as soon as it is read; returns the
/// counts of what was read and skipped.
pub fn read_judged(
    sources: &Sources,
    options: &ReadOptions,
    on_object: &mut impl FnMut(JudgedObject),
) -> Result<Manifests, InputError> {
    let mut manifests = options.manifests(false);
    sources.for_each_unit(&mut |unit| {
        let result = match unit {
            Unit::Document {
                file,
                found,
                document,
            } => {
                let result = read_objects(file, document, options, &mut manifests, on_object);
                if found {
                    result
                } else {
                    result.map_err(InputError::into_invalid)
                }
            }
            Unit::FoundNotObject(error) => Err(error),
        };
        match result {
            Err(InputError::NotAnObject {
                file,
                line,
                message,
            }) if options.strict => Err(InputError::invalid(
                &file,
                line,
                format!("{message} (--strict: a directory walk skips nothing)"),
            )),
            Err(InputError::NotAnObject {
                file,
                line,
                message,
            }) => {
                manifests.skipped.add_not_object(file, line, message);
                Ok(())
            }
            other => other,
        }
    })?;
    Ok(manifests)
}

/// Whether a document that is not valid YAML is a manifest broken by a mistake rather than
/// someone's other YAML: its top-level `apiVersion:` and `kind:` lines name a kind, and it holds
/// no template braces (`{{`) that would make it a template. Such a document is an error even in
/// a walk: a typo must not turn a manifest into a note.
pub(crate) fn is_broken_manifest(document: &RawDocument<'_>) -> bool {
    typed::names_a_kind(document.text) && !document.text.contains("{{")
}

/// The objects of one document, sorted by `manifests`; the judged ones go to `on_object`.
fn read_objects(
    file: &Arc<str>,
    document: &RawDocument<'_>,
    options: &ReadOptions,
    manifests: &mut Manifests,
    on_object: &mut impl FnMut(JudgedObject),
) -> Result<(), InputError> {
    let default_namespace = options.default_namespace.as_str();
    if let Some(object) = typed::typed_object(document.text, default_namespace) {
        let line = document.content_line;
        if manifests.checks_fields() {
            let fields = yaml_serde::Deserializer::from_str(document.text);
            strict::check_object(&object, fields, file, line)?;
        }
        on_object(manifests.add_object(object, file.clone(), line));
        return Ok(());
    }
    let value = match input::parse_document(file, document) {
        Err(err) if is_broken_manifest(document) => return Err(err.into_invalid()),
        other => other?,
    };
    for object in input::objects_of_document(file, document, value)? {
        if let Some(judged) = manifests.add(object, default_namespace)? {
            on_object(judged);
        }
    }
    Ok(())
}

/// Refuses a scan that read no object at all (empty standard input, empty or comment-only
/// files): a pipeline whose first command failed (`helm template ... | kubectl hipaa scan -f -`)
/// must not pass. `allow_empty` (`--allow-empty`) accepts it.
pub fn check_not_empty(
    manifests: &Manifests,
    inputs: &[InputPath],
    allow_empty: bool,
) -> Result<(), InputError> {
    check_read(
        manifests.objects_read,
        manifests.skipped.not_objects,
        inputs,
        allow_empty,
    )
}

/// [`check_not_empty`] from the counts: `objects_read` objects, `not_objects` documents found
/// in directories skipped as not Kubernetes objects.
pub fn check_read(
    objects_read: usize,
    not_objects: usize,
    inputs: &[InputPath],
    allow_empty: bool,
) -> Result<(), InputError> {
    if objects_read > 0 || allow_empty {
        return Ok(());
    }
    const SHOWN: usize = 3;
    let mut names: Vec<String> = inputs
        .iter()
        .take(SHOWN)
        .map(InputPath::display_name)
        .collect();
    if inputs.len() > SHOWN {
        names.push(format!("and {} more", inputs.len() - SHOWN));
    }
    let given = if names.is_empty() {
        "the inputs (no manifest file found)".to_string()
    } else {
        names.join(", ")
    };
    let skipped = match not_objects {
        0 => String::new(),
        1 => "; 1 document found in a directory was skipped as not a Kubernetes object (--strict names it)".to_string(),
        n => format!("; {n} documents found in directories were skipped as not Kubernetes objects (--strict names the first)"),
    };
    Err(InputError::usage(format!(
        "no Kubernetes object in {given}: nothing to scan (did the command that produced the input fail?); pass --allow-empty to accept empty input{skipped}"
    )))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn no_object_at_all_is_refused_unless_allowed() {
        let stdin = [InputPath::Stdin];
        let read = |objects_read| Manifests {
            objects_read,
            ..Manifests::default()
        };
        let err = check_not_empty(&read(0), &stdin, false)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("no Kubernetes object in <stdin>: nothing to scan"),
            "{err}"
        );
        assert!(err.contains("--allow-empty"), "{err}");
        check_not_empty(&read(0), &stdin, true).unwrap();
        check_not_empty(&read(1), &stdin, false).unwrap();
        let files: Vec<InputPath> = (0..5)
            .map(|i| InputPath::File(format!("{i}.yaml").into()))
            .collect();
        let err = check_not_empty(&read(0), &files, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("0.yaml, 1.yaml, 2.yaml, and 2 more"), "{err}");
        let err = check_not_empty(&read(0), &[], false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no manifest file found"), "{err}");
        // What a walk skipped is said, so that a directory of charts does not look empty.
        let mut skipped = read(0);
        skipped
            .skipped
            .add_not_object("c/values.yaml".into(), 1, "no kind".into());
        skipped
            .skipped
            .add_not_object("c/Chart.yaml".into(), 1, "no kind".into());
        let err = check_not_empty(&skipped, &files, false)
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("; 2 documents found in directories were skipped as not Kubernetes objects (--strict names the first)"),
            "{err}"
        );
    }

    #[test]
    fn both_passes_see_standard_input_and_comment_only_input_holds_nothing() {
        let text = "# only a comment\n---\n---\n";
        let mut stdin: &[u8] = text.as_bytes();
        let sources =
            Sources::new(vec![InputPath::Stdin], &mut stdin, ReadLimits::default()).unwrap();
        let context = read_context(&sources, &ReadOptions::offline("default")).unwrap();
        let read = read_judged(&sources, &ReadOptions::offline("default"), &mut |_| {}).unwrap();
        assert_eq!((context.objects_read, read.objects_read), (0, 0));

        let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: b}\n";
        let mut stdin: &[u8] = text.as_bytes();
        let sources =
            Sources::new(vec![InputPath::Stdin], &mut stdin, ReadLimits::default()).unwrap();
        let context = read_context(&sources, &ReadOptions::offline("default")).unwrap();
        assert_eq!(context.context.namespaces.len(), 1);
        let mut judged = Vec::new();
        let read = read_judged(&sources, &ReadOptions::offline("default"), &mut |o| {
            judged.push(o.object.kind().to_string())
        })
        .unwrap();
        assert_eq!(judged, ["Namespace", "Deployment"]);
        assert_eq!(read.objects_read, 2);
        assert!(read.context.namespaces.is_empty());
    }
}
