//! Positions in a text and splices of it: line starts and ends, columns, the colon after a key.

/// The byte after the `:` that follows a key.
pub(super) fn colon_after(text: &str, key_end: usize) -> usize {
    text.get(key_end..)
        .and_then(|rest| rest.find(':'))
        .map_or(key_end, |at| key_end + at + 1)
}

pub(super) fn line_start(text: &str, at: usize) -> usize {
    text.get(..at)
        .and_then(|before| before.rfind('\n'))
        .map_or(0, |newline| newline + 1)
}

/// The byte after the newline that ends the line holding `at` (the text's end if none).
pub(super) fn line_end(text: &str, at: usize) -> usize {
    text.get(at..)
        .and_then(|rest| rest.find('\n'))
        .map_or(text.len(), |newline| at + newline + 1)
}

/// The column (in bytes: indentation is spaces) of `at`.
pub(super) fn column(text: &str, at: usize) -> usize {
    at - line_start(text, at)
}

/// `line` (ending in a newline) inserted after the line that holds `at`.
pub(super) fn insert_after_line(text: &str, at: usize, line: &str) -> String {
    let at = line_end(text, at);
    if at == text.len() && !text.ends_with('\n') && !text.is_empty() {
        return format!("{text}\n{line}");
    }
    splice(text, at, at, line)
}

pub(super) fn splice(text: &str, start: usize, end: usize, with: &str) -> String {
    let before = text.get(..start).unwrap_or(text);
    let after = text.get(end..).unwrap_or("");
    format!("{before}{with}{after}")
}
