//! Reading manifests: which files, how they split into documents, and the objects in them, each
//! with its file and line. Any problem here is bad input (exit status 2), reported as
//! `file:line: what is wrong`; a document that is not a Kubernetes object
//! ([`InputError::NotAnObject`]) is the one problem a directory walk skips instead (see
//! `scan::passes`), never one of the hostile-input limits.

mod documents;
mod limits;
mod objects;
mod paths;
mod shape;

use std::io::Read;
use std::sync::Arc;

pub use documents::{RawDocument, check_document, parse_document, split_documents};
pub use limits::{DEFAULT_MAX_INPUT_BYTES, ReadLimits, format_size, parse_size, read_capped};
pub use objects::{ManifestObject, objects_of_document};
pub use paths::{InputPath, STDIN_NAME, expand};
pub use shape::{MAX_DEPTH, MAX_NODES, ShapeError, check_shape};

/// Why the input cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The arguments make no sense.
    #[error("{0}")]
    Usage(String),
    /// A file or directory cannot be read.
    #[error("{file}: {message}")]
    Unreadable { file: String, message: String },
    /// A document is not a valid Kubernetes object, or crosses a limit of the reader.
    #[error("{file}:{line}: {message}")]
    Invalid {
        file: String,
        line: usize,
        message: String,
    },
    /// A document is not a Kubernetes object at all: not UTF-8, not valid YAML, not a mapping,
    /// no apiVersion or kind, or a tool's own configuration. Bad input in a file named on the
    /// command line; skipped in a file found in a directory walk (unless --strict).
    #[error("{file}:{line}: {message}")]
    NotAnObject {
        file: String,
        line: usize,
        message: String,
    },
}

impl InputError {
    pub fn usage(message: impl Into<String>) -> Self {
        InputError::Usage(message.into())
    }

    pub fn unreadable(file: &str, message: &str) -> Self {
        InputError::Unreadable {
            file: file.to_string(),
            message: message.to_string(),
        }
    }

    pub fn invalid(file: &str, line: usize, message: impl Into<String>) -> Self {
        InputError::Invalid {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }

    pub fn not_an_object(file: &str, line: usize, message: impl Into<String>) -> Self {
        InputError::NotAnObject {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }

    /// A [`InputError::NotAnObject`] as an [`InputError::Invalid`] (inside a List, an item that
    /// is not an object makes the List invalid).
    pub fn into_invalid(self) -> Self {
        match self {
            InputError::NotAnObject {
                file,
                line,
                message,
            } => InputError::Invalid {
                file,
                line,
                message,
            },
            other => other,
        }
    }
}

/// Reads every input in order and hands each object to `on_object` as soon as its document is
/// parsed, so that only one file's text is in memory at a time. The default [`ReadLimits`].
pub fn read_objects<E>(
    inputs: &[InputPath],
    stdin: &mut dyn Read,
    on_object: impl FnMut(ManifestObject) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<InputError>,
{
    read_objects_with(inputs, stdin, &ReadLimits::default(), on_object)
}

/// [`read_objects`] under `limits`.
pub fn read_objects_with<E>(
    inputs: &[InputPath],
    stdin: &mut dyn Read,
    limits: &ReadLimits,
    mut on_object: impl FnMut(ManifestObject) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<InputError>,
{
    read_documents(inputs, stdin, limits, |name, document| {
        let value = parse_document(name, document)?;
        for object in objects_of_document(name, document, value)? {
            on_object(object)?;
        }
        Ok(())
    })
}

/// Reads every input in order and hands each document's text, unparsed but checked against the
/// shape limits ([`check_document`]), to `on_document` (which may parse it faster than
/// [`parse_document`] when it knows what to expect).
pub fn read_documents<E>(
    inputs: &[InputPath],
    stdin: &mut dyn Read,
    limits: &ReadLimits,
    mut on_document: impl FnMut(&Arc<str>, &RawDocument<'_>) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<InputError>,
{
    for input in inputs {
        let name: Arc<str> = Arc::from(input.display_name());
        let text = read_text(input, &name, stdin, limits)?;
        for_each_document(&name, &text, &mut on_document)?;
    }
    Ok(())
}

/// Hands each document of `text` (one input's) to `on_document`, after [`check_document`].
pub fn for_each_document<E>(
    name: &Arc<str>,
    text: &str,
    on_document: &mut impl FnMut(&Arc<str>, &RawDocument<'_>) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<InputError>,
{
    for document in split_documents(text) {
        check_document(name, &document)?;
        on_document(name, &document)?;
    }
    Ok(())
}

/// The text of one input, read through the size cap.
pub fn read_text(
    input: &InputPath,
    name: &str,
    stdin: &mut dyn Read,
    limits: &ReadLimits,
) -> Result<String, InputError> {
    let limit = limits.max_input_bytes;
    let bytes = match input {
        InputPath::Stdin => read_capped(stdin, name, limit)?,
        InputPath::File(path) | InputPath::Found(path) | InputPath::HelmTemplate(path) => {
            let mut file = std::fs::File::open(path)
                .map_err(|err| InputError::unreadable(name, &err.to_string()))?;
            // Refused before reading when the file says it is too large; read through the cap
            // anyway, as a file may grow (or be a pipe) while it is read.
            if file
                .metadata()
                .is_ok_and(|m| m.is_file() && m.len() > limit)
            {
                return Err(limits::too_large(name, limit));
            }
            read_capped(&mut file, name, limit)?
        }
    };
    String::from_utf8(bytes).map_err(|err| {
        let line = err
            .as_bytes()
            .get(..err.utf8_error().valid_up_to())
            .map_or(1, |valid| valid.iter().filter(|&&b| b == b'\n').count() + 1);
        InputError::not_an_object(name, line, "not UTF-8 text")
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn reads_stdin_and_files_in_order_with_locations() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.yaml");
        std::fs::write(
            &file,
            "apiVersion: v1\nkind: A\n---\napiVersion: v1\nkind: B\n",
        )
        .unwrap();
        let inputs = vec![InputPath::Stdin, InputPath::File(file.clone())];
        let mut stdin: &[u8] = b"\n\napiVersion: v1\nkind: S\n";
        let mut seen = Vec::new();
        read_objects::<InputError>(&inputs, &mut stdin, |o| {
            seen.push((
                o.file.to_string(),
                o.line,
                o.value["kind"].as_str().unwrap().to_string(),
            ));
            Ok(())
        })
        .unwrap();
        let name = InputPath::File(file).display_name();
        assert_eq!(
            seen,
            vec![
                ("<stdin>".to_string(), 3, "S".to_string()),
                (name.clone(), 1, "A".to_string()),
                (name, 4, "B".to_string()),
            ]
        );
    }

    #[test]
    fn non_utf8_input_names_the_line() {
        let mut stdin: &[u8] = b"a: 1\nb: \xff\n";
        let err =
            read_objects::<InputError>(&[InputPath::Stdin], &mut stdin, |_| Ok(())).unwrap_err();
        assert_eq!(err.to_string(), "<stdin>:2: not UTF-8 text");
    }
}
