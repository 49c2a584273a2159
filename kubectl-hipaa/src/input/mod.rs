//! Reading manifests: which files, how they split into documents, and the objects in them, each
//! with its file and line. Any problem here is bad input (exit status 2), reported as
//! `file:line: what is wrong`.

mod documents;
mod objects;
mod paths;

use std::io::Read;
use std::sync::Arc;

pub use documents::{RawDocument, parse_document, split_documents};
pub use objects::{ManifestObject, objects_of_document};
pub use paths::{InputPath, STDIN_NAME, expand};

/// Why the input cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The arguments make no sense.
    #[error("{0}")]
    Usage(String),
    /// A file or directory cannot be read.
    #[error("{file}: {message}")]
    Unreadable { file: String, message: String },
    /// A document is not valid YAML or not a Kubernetes object.
    #[error("{file}:{line}: {message}")]
    Invalid {
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
}

/// Reads every input in order and hands each object to `on_object` as soon as its document is
/// parsed, so that only one file's text is in memory at a time.
pub fn read_objects<E>(
    inputs: &[InputPath],
    stdin: &mut dyn Read,
    mut on_object: impl FnMut(ManifestObject) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<InputError>,
{
    read_documents(inputs, stdin, |name, document| {
        let value = parse_document(name, document)?;
        for object in objects_of_document(name, document, value)? {
            on_object(object)?;
        }
        Ok(())
    })
}

/// Reads every input in order and hands each document's text, unparsed, to `on_document`
/// (which may parse it faster than [`parse_document`] when it knows what to expect).
pub fn read_documents<E>(
    inputs: &[InputPath],
    stdin: &mut dyn Read,
    mut on_document: impl FnMut(&Arc<str>, &RawDocument<'_>) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<InputError>,
{
    for input in inputs {
        let name: Arc<str> = Arc::from(input.display_name());
        let text = read_text(input, &name, stdin)?;
        for document in split_documents(&text) {
            on_document(&name, &document)?;
        }
    }
    Ok(())
}

fn read_text(input: &InputPath, name: &str, stdin: &mut dyn Read) -> Result<String, InputError> {
    let mut bytes = Vec::new();
    let result = match input {
        InputPath::Stdin => stdin.read_to_end(&mut bytes).map(|_| ()),
        InputPath::File(path) => std::fs::read(path).map(|read| bytes = read),
    };
    result.map_err(|err| InputError::unreadable(name, &err.to_string()))?;
    String::from_utf8(bytes).map_err(|err| {
        let line = err
            .as_bytes()
            .get(..err.utf8_error().valid_up_to())
            .map_or(1, |valid| valid.iter().filter(|&&b| b == b'\n').count() + 1);
        InputError::invalid(name, line, "not UTF-8 text")
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
