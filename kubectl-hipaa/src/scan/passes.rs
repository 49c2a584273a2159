//! The scan's two passes over its inputs, so that memory does not grow with the objects judged:
//! the first reads only the context (Namespaces, NetworkPolicies, PVCs, StorageClasses,
//! HorizontalPodAutoscalers, Velero Schedules: documents whose kind lines name another kind are
//! not parsed), the second judges each object as soon as it is read, against the whole context,
//! and drops it. Files are read twice, one at a time; standard input, which can be read only
//! once, is kept as text (at most `--max-input-size`) between the passes.

use std::io::Read;
use std::sync::Arc;

use crate::input::{
    self, InputError, InputPath, RawDocument, ReadLimits, STDIN_NAME, for_each_document,
};

use super::manifests::{JudgedObject, Manifests};
use super::typed;

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

    /// Hands every document of every input, in order, to `on_document`.
    fn for_each_document(
        &self,
        on_document: &mut impl FnMut(&Arc<str>, &RawDocument<'_>) -> Result<(), InputError>,
    ) -> Result<(), InputError> {
        let mut no_stdin: &[u8] = &[];
        for input in &self.inputs {
            let name: Arc<str> = Arc::from(input.display_name());
            match (input, &self.stdin_text) {
                (InputPath::Stdin, Some(text)) => for_each_document(&name, text, on_document)?,
                _ => {
                    let text = input::read_text(input, &name, &mut no_stdin, &self.limits)?;
                    for_each_document(&name, &text, on_document)?;
                }
            }
        }
        Ok(())
    }
}

/// The first pass: the context objects among the inputs.
pub fn read_context(sources: &Sources, default_namespace: &str) -> Result<Manifests, InputError> {
    let mut context = Manifests::for_context();
    sources.for_each_document(&mut |file, document| {
        if !typed::may_hold_context(document.text) {
            return Ok(());
        }
        read_objects(file, document, default_namespace, &mut context, &mut |_| {})
    })?;
    Ok(context)
}

/// The second pass: hands every judged object to `on_object` as soon as it is read; returns the
/// counts of what was read and skipped.
pub fn read_judged(
    sources: &Sources,
    default_namespace: &str,
    on_object: &mut impl FnMut(JudgedObject),
) -> Result<Manifests, InputError> {
    let mut manifests = Manifests::default();
    sources.for_each_document(&mut |file, document| {
        read_objects(file, document, default_namespace, &mut manifests, on_object)
    })?;
    Ok(manifests)
}

/// The objects of one document, sorted by `manifests`; the judged ones go to `on_object`.
fn read_objects(
    file: &Arc<str>,
    document: &RawDocument<'_>,
    default_namespace: &str,
    manifests: &mut Manifests,
    on_object: &mut impl FnMut(JudgedObject),
) -> Result<(), InputError> {
    if let Some(object) = typed::typed_object(document.text, default_namespace) {
        on_object(manifests.add_object(object, file.clone(), document.content_line));
        return Ok(());
    }
    let value = input::parse_document(file, document)?;
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
    objects_read: usize,
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
    Err(InputError::usage(format!(
        "no Kubernetes object in {given}: nothing to scan (did the command that produced the input fail?); pass --allow-empty to accept empty input"
    )))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn no_object_at_all_is_refused_unless_allowed() {
        let stdin = [InputPath::Stdin];
        let err = check_not_empty(0, &stdin, false).unwrap_err().to_string();
        assert!(
            err.starts_with("no Kubernetes object in <stdin>: nothing to scan"),
            "{err}"
        );
        assert!(err.contains("--allow-empty"), "{err}");
        check_not_empty(0, &stdin, true).unwrap();
        check_not_empty(1, &stdin, false).unwrap();
        let files: Vec<InputPath> = (0..5)
            .map(|i| InputPath::File(format!("{i}.yaml").into()))
            .collect();
        let err = check_not_empty(0, &files, false).unwrap_err().to_string();
        assert!(err.contains("0.yaml, 1.yaml, 2.yaml, and 2 more"), "{err}");
        let err = check_not_empty(0, &[], false).unwrap_err().to_string();
        assert!(err.contains("no manifest file found"), "{err}");
    }

    #[test]
    fn both_passes_see_standard_input_and_comment_only_input_holds_nothing() {
        let text = "# only a comment\n---\n---\n";
        let mut stdin: &[u8] = text.as_bytes();
        let sources =
            Sources::new(vec![InputPath::Stdin], &mut stdin, ReadLimits::default()).unwrap();
        let context = read_context(&sources, "default").unwrap();
        let read = read_judged(&sources, "default", &mut |_| {}).unwrap();
        assert_eq!((context.objects_read, read.objects_read), (0, 0));

        let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: b}\n";
        let mut stdin: &[u8] = text.as_bytes();
        let sources =
            Sources::new(vec![InputPath::Stdin], &mut stdin, ReadLimits::default()).unwrap();
        let context = read_context(&sources, "default").unwrap();
        assert_eq!(context.context.namespaces.len(), 1);
        let mut judged = Vec::new();
        let read = read_judged(&sources, "default", &mut |o| {
            judged.push(o.object.kind().to_string())
        })
        .unwrap();
        assert_eq!(judged, ["Namespace", "Deployment"]);
        assert_eq!(read.objects_read, 2);
        assert!(read.context.namespaces.is_empty());
    }
}
