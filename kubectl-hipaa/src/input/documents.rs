//! Splits a manifest file into its YAML documents, keeping the line each starts on, and parses
//! each into JSON. yaml_serde reports no document positions, so the split happens here, on
//! `---` and `...` marker lines at column 0 (which YAML reserves for markers, even inside block
//! scalars).

use super::InputError;
use super::shape::{MAX_DEPTH, check_shape};

/// One document of a file: its text and the 1-based line of the file its text starts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawDocument<'a> {
    pub text: &'a str,
    /// The file line of the first line of `text`.
    pub first_line: usize,
    /// The file line of the first line with content (not blank, not a comment, not a marker):
    /// where the object starts, and what findings point at.
    pub content_line: usize,
}

/// Splits `text` into documents; documents that hold only comments, blank lines, markers or
/// directives are left out (Helm writes such documents for templates that render to nothing).
pub fn split_documents(text: &str) -> Vec<RawDocument<'_>> {
    let mut documents = Vec::new();
    let mut start_offset = 0;
    let mut start_line = 1;
    let mut content_line: Option<usize> = None;
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let line_number = index + 1;
        let bare = line.trim_end_matches(['\n', '\r']);
        if is_document_start(bare) || is_document_end(bare) {
            push_document(
                &mut documents,
                text,
                start_offset,
                offset,
                start_line,
                content_line,
            );
            content_line = None;
            if is_document_end(bare) {
                start_offset = offset + line.len();
                start_line = line_number + 1;
            } else {
                // The document includes its own `---` line, so that inline content after the
                // marker (`--- {kind: ...}`) parses and yaml_serde's line numbers stay aligned.
                start_offset = offset;
                start_line = line_number;
                if has_inline_content(bare) {
                    content_line = Some(line_number);
                }
            }
        } else if content_line.is_none() && is_content(bare) {
            content_line = Some(line_number);
        }
        offset += line.len();
    }
    push_document(
        &mut documents,
        text,
        start_offset,
        text.len(),
        start_line,
        content_line,
    );
    documents
}

fn push_document<'a>(
    documents: &mut Vec<RawDocument<'a>>,
    text: &'a str,
    start: usize,
    end: usize,
    first_line: usize,
    content_line: Option<usize>,
) {
    if let (Some(content_line), Some(slice)) = (content_line, text.get(start..end)) {
        documents.push(RawDocument {
            text: slice,
            first_line,
            content_line,
        });
    }
}

fn is_document_start(line: &str) -> bool {
    line == "---" || line.starts_with("--- ") || line.starts_with("---\t")
}

fn is_document_end(line: &str) -> bool {
    line == "..." || line.starts_with("... ") || line.starts_with("...\t")
}

/// `--- {a: 1}` or `--- |` carry content on the marker line; `--- # comment` does not.
fn has_inline_content(marker_line: &str) -> bool {
    let rest = marker_line.get(3..).unwrap_or("").trim();
    !rest.is_empty() && !rest.starts_with('#')
}

fn is_content(line: &str) -> bool {
    let trimmed = line.trim();
    !trimmed.is_empty() && !trimmed.starts_with('#') && !line.starts_with('%')
}

/// Refuses a document too deep or too large to parse in bounded time and memory (see
/// `shape`), naming the file line where the limit is crossed.
pub fn check_document(file: &str, document: &RawDocument<'_>) -> Result<(), InputError> {
    check_shape(document.text).map_err(|err| {
        InputError::invalid(file, err.line() + document.first_line - 1, err.to_string())
    })
}

/// Parses one document into JSON, after [`check_document`]. Errors name the file line:
/// yaml_serde's positions are relative to the document, so they are moved by the document's
/// first line.
pub fn parse_document(
    file: &str,
    document: &RawDocument<'_>,
) -> Result<serde_json::Value, InputError> {
    check_document(file, document)?;
    yaml_serde::from_str::<serde_json::Value>(document.text)
        .map_err(|err| yaml_error(file, document, &err))
}

/// A yaml_serde error as `file:line: invalid YAML: ...`; its recursion limit (block nesting,
/// which the shape check leaves to it) in the words of the shape check.
fn yaml_error(file: &str, document: &RawDocument<'_>, err: &yaml_serde::Error) -> InputError {
    let line = err
        .location()
        .map(|location| location.line() + document.first_line - 1)
        .unwrap_or(document.content_line);
    let text = err.to_string();
    if text.starts_with("recursion limit exceeded") {
        return InputError::invalid(
            file,
            line,
            format!("nesting deeper than {MAX_DEPTH} levels (the limit)"),
        );
    }
    if text.starts_with("repetition limit exceeded") {
        return InputError::invalid(
            file,
            line,
            "YAML aliases expand to more nodes than the reader's limit allows (an alias bomb?)",
        );
    }
    let message = rebase_line_numbers(&text, document.first_line - 1);
    InputError::not_an_object(file, line, format!("invalid YAML: {message}"))
}

/// Rewrites every `line N` in a yaml_serde message to `line N + offset`.
fn rebase_line_numbers(message: &str, offset: usize) -> String {
    const NEEDLE: &str = "line ";
    let mut out = String::with_capacity(message.len() + 8);
    let mut rest = message;
    while let Some(position) = rest.find(NEEDLE) {
        let (before, after_before) = rest.split_at(position);
        out.push_str(before);
        out.push_str(NEEDLE);
        let after = after_before.get(NEEDLE.len()..).unwrap_or("");
        let digits_len = after.bytes().take_while(u8::is_ascii_digit).count();
        let (digits, tail) = after.split_at(digits_len);
        match digits.parse::<usize>() {
            Ok(number) => out.push_str(&(number + offset).to_string()),
            Err(_) => out.push_str(digits),
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn lines(text: &str) -> Vec<(usize, usize)> {
        split_documents(text)
            .iter()
            .map(|d| (d.first_line, d.content_line))
            .collect()
    }

    #[test]
    fn splits_on_markers_and_keeps_lines() {
        let text = "# Source: chart/a.yaml\napiVersion: v1\nkind: A\n---\n# only a comment\n---\n\n# Source: b\napiVersion: v1\nkind: B\n";
        assert_eq!(lines(text), vec![(1, 2), (6, 9)]);
        let docs = split_documents(text);
        assert!(docs[1].text.starts_with("---\n"));
        assert!(docs[1].text.ends_with("kind: B\n"));
    }

    #[test]
    fn leading_marker_end_marker_and_crlf() {
        let text = "---\r\napiVersion: v1\r\nkind: A\r\n...\r\n--- # next\r\nkind: B\r\n";
        assert_eq!(lines(text), vec![(1, 2), (5, 6)]);
    }

    #[test]
    fn inline_content_on_the_marker_line_counts() {
        let text = "--- {apiVersion: v1, kind: A}\n";
        assert_eq!(lines(text), vec![(1, 1)]);
        let value = parse_document("f", &split_documents(text)[0]).unwrap();
        assert_eq!(value["kind"], "A");
    }

    #[test]
    fn markers_must_start_at_column_zero() {
        let text = "a: |\n  ---\n  text\nb: 1\n";
        assert_eq!(lines(text), vec![(1, 1)]);
    }

    #[test]
    fn empty_and_comment_only_input_has_no_documents() {
        assert!(split_documents("").is_empty());
        assert!(split_documents("# nothing\n---\n---\n").is_empty());
    }

    #[test]
    fn errors_name_the_file_line_of_the_problem() {
        let text = "apiVersion: v1\nkind: A\n---\napiVersion: v1\nkind: B\nmetadata:\n  name: x\n   bad: indentation\n";
        let docs = split_documents(text);
        assert_eq!(docs.len(), 2);
        parse_document("m.yaml", &docs[0]).unwrap();
        let err = parse_document("m.yaml", &docs[1]).unwrap_err().to_string();
        assert!(err.starts_with("m.yaml:8: invalid YAML: "), "{err}");
        // Not a Kubernetes object (a walk skips it), where the limits below are errors.
        let skippable = parse_document("m.yaml", &docs[1]).unwrap_err();
        assert!(
            matches!(skippable, InputError::NotAnObject { .. }),
            "{skippable:?}"
        );
        assert!(err.contains("line 8"), "{err}");
        assert!(!err.contains("line 6 "), "{err}");
    }

    #[test]
    fn deep_documents_are_refused_with_the_limit_and_their_file_line() {
        let flow = format!(
            "apiVersion: v1\n---\nkind: A\nx: {}{}\n",
            "[".repeat(200),
            "]".repeat(200)
        );
        let docs = split_documents(&flow);
        let err = parse_document("deep.yaml", &docs[1])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("deep.yaml:4: nesting deeper than 128 levels"),
            "{err}"
        );
        let limit = parse_document("deep.yaml", &docs[1]).unwrap_err();
        assert!(matches!(limit, InputError::Invalid { .. }), "{limit:?}");
        // Block nesting is linear to parse: the parser's own limit refuses it, in the same words.
        let block = format!("kind: A\nx:\n{}y\n", "- ".repeat(200));
        let err = parse_document("block.yaml", &split_documents(&block)[0])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("block.yaml:3: nesting deeper than 128 levels (the limit)"),
            "{err}"
        );
        // Within the limit, both parse.
        let fine = format!("x: {}{}\n", "[".repeat(100), "]".repeat(100));
        parse_document("ok.yaml", &split_documents(&fine)[0]).unwrap();
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let name = (b'a' + level) as char;
            let previous = (b'a' + level - 1) as char;
            bomb.push_str(&format!("{name}: &{name} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"));
        }
        let err = parse_document("bomb.yaml", &split_documents(&bomb)[0])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("bomb.yaml:"), "{err}");
        assert!(
            err.contains("YAML aliases expand to more nodes than the reader's limit allows"),
            "{err}"
        );
        let limit = parse_document("bomb.yaml", &split_documents(&bomb)[0]).unwrap_err();
        assert!(matches!(limit, InputError::Invalid { .. }), "{limit:?}");
    }

    #[test]
    fn rebases_every_line_number() {
        assert_eq!(
            rebase_line_numbers("x at line 3 column 5, while parsing at line 2 column 1", 10),
            "x at line 13 column 5, while parsing at line 12 column 1"
        );
        assert_eq!(rebase_line_numbers("no numbers", 4), "no numbers");
    }
}
