//! The shape check every document passes before the YAML parser sees it: a linear scan that
//! bounds its nesting depth and its number of nodes. libyaml's scanner costs time quadratic in
//! flow nesting (`[[[[...]]]]`: it revisits every open level at every token; 20,000 levels took
//! 6 s), and the parsed events cost about 80 bytes each, so both are refused before parsing.
//!
//! The scan over-estimates rather than under-estimates: every `[` or `{` that can open a flow
//! collection counts a level, quoted scalars and block scalars (`|`, `>`) are skipped, and every
//! line and flow item counts a node. Deeper block nesting (`- - - - x`, which costs linear time)
//! is left to the parser's own limit, reported with the same words (see `documents`).

/// The deepest nesting a document may have: the YAML reader's own recursion limit, so nothing
/// that would parse is refused.
pub const MAX_DEPTH: usize = 128;

/// The most nodes (lines and flow items, an upper bound on YAML nodes) one document may have.
/// Parsed, a node costs up to about 450 bytes (the parser's events, then the JSON value), so
/// this keeps a document's parse near 110 MiB. A Kubernetes object has far fewer (the API
/// server takes at most 3 MiB per request); a `kubectl get -o yaml` List of a few thousand
/// objects may need splitting.
pub const MAX_NODES: usize = 250_000;

/// Why a document is refused before parsing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("nesting deeper than {MAX_DEPTH} levels (the limit)")]
    TooDeep { line: usize },
    #[error("more than 250,000 YAML nodes in one document (the limit)")]
    TooManyNodes { line: usize },
}

impl ShapeError {
    /// The 1-based line of the document where the limit is crossed.
    pub fn line(&self) -> usize {
        match self {
            ShapeError::TooDeep { line } | ShapeError::TooManyNodes { line } => *line,
        }
    }
}

/// Checks `text` (one document) against [`MAX_DEPTH`] and [`MAX_NODES`].
pub fn check_shape(text: &str) -> Result<(), ShapeError> {
    check_shape_with(text, MAX_DEPTH, MAX_NODES)
}

/// [`check_shape`] with other limits (tests).
pub fn check_shape_with(text: &str, max_depth: usize, max_nodes: usize) -> Result<(), ShapeError> {
    let mut scan = Scan {
        max_depth,
        max_nodes,
        depth: 0,
        nodes: 0,
        line: 1,
        quote: None,
        block_scalar_parent: None,
    };
    for line in text.split_inclusive('\n') {
        scan.line_of_text(line)?;
        scan.line += 1;
    }
    Ok(())
}

struct Scan {
    max_depth: usize,
    max_nodes: usize,
    /// Open flow collections.
    depth: usize,
    nodes: usize,
    line: usize,
    /// Inside a quoted scalar that spans lines: its quote character.
    quote: Option<u8>,
    /// Inside a block scalar: the indentation its lines must exceed.
    block_scalar_parent: Option<isize>,
}

impl Scan {
    fn count_node(&mut self) -> Result<(), ShapeError> {
        self.nodes += 1;
        if self.nodes > self.max_nodes {
            return Err(ShapeError::TooManyNodes { line: self.line });
        }
        Ok(())
    }

    fn line_of_text(&mut self, line: &str) -> Result<(), ShapeError> {
        let bytes = line.trim_end_matches(['\n', '\r']).as_bytes();
        let indent = bytes.iter().take_while(|&&b| b == b' ').count();
        let blank = indent == bytes.len();
        if let Some(parent) = self.block_scalar_parent {
            if blank || isize::try_from(indent).unwrap_or(isize::MAX) > parent {
                return Ok(());
            }
            self.block_scalar_parent = None;
        }
        if blank {
            return Ok(());
        }
        self.count_node()?;
        let mut position = 0;
        if let Some(quote) = self.quote {
            match skip_quoted(bytes, 0, quote) {
                Some(end) => {
                    self.quote = None;
                    position = end;
                }
                None => return Ok(()),
            }
        }
        if self.depth > 0 {
            position = self.flow(bytes, position)?;
        } else {
            position = self.node_start(bytes, position, indent)?;
        }
        // After a flow collection closed at block level, a value may follow (`[a]: [b]`).
        while position < bytes.len() && self.depth == 0 && self.quote.is_none() {
            let Some(colon) = find_value_indicator(bytes, position) else {
                break;
            };
            position = self.node_start(bytes, colon + 1, indent)?;
        }
        Ok(())
    }

    /// Block context: the node starting at `from`, after sequence entries, keys and properties.
    fn node_start(
        &mut self,
        bytes: &[u8],
        from: usize,
        indent: usize,
    ) -> Result<usize, ShapeError> {
        let mut position = skip_spaces(bytes, from);
        let mut parent = isize::try_from(indent).unwrap_or(isize::MAX) - 1;
        // `--- [...]` and `--- |`: content on the document marker line is a top-level node.
        if position == 0 && bytes.starts_with(b"---") && is_blank_at(bytes, 3) {
            parent = -1;
            position = skip_spaces(bytes, 3);
        }
        loop {
            match bytes.get(position) {
                Some(b'-' | b'?') if is_blank_at(bytes, position + 1) => {
                    parent = isize::try_from(position).unwrap_or(isize::MAX);
                    position = skip_spaces(bytes, position + 1);
                }
                Some(b'&' | b'!') => position = skip_spaces(bytes, skip_token(bytes, position)),
                Some(b'[' | b'{') => return self.flow(bytes, position),
                Some(b'|' | b'>') => {
                    self.block_scalar_parent = Some(parent);
                    return Ok(bytes.len());
                }
                Some(&quote @ (b'"' | b'\'')) => match skip_quoted(bytes, position + 1, quote) {
                    Some(end) => return Ok(after_quoted_key(bytes, end)),
                    None => {
                        self.quote = Some(quote);
                        return Ok(bytes.len());
                    }
                },
                Some(b'#') | None => return Ok(bytes.len()),
                Some(_) => {
                    // A plain key or scalar: what follows its `: ` is the next node.
                    let Some(colon) = find_value_indicator(bytes, position) else {
                        return Ok(bytes.len());
                    };
                    parent = isize::try_from(position).unwrap_or(isize::MAX);
                    position = skip_spaces(bytes, colon + 1);
                }
            }
        }
    }

    /// Flow context from `from` (at a `[` or `{`, or inside an open collection).
    fn flow(&mut self, bytes: &[u8], from: usize) -> Result<usize, ShapeError> {
        let mut position = from;
        while let Some(&byte) = bytes.get(position) {
            match byte {
                b'[' | b'{' => {
                    self.depth += 1;
                    if self.depth > self.max_depth {
                        return Err(ShapeError::TooDeep { line: self.line });
                    }
                    self.count_node()?;
                }
                b']' | b'}' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return Ok(position + 1);
                    }
                }
                b',' => self.count_node()?,
                b'"' | b'\'' if starts_scalar(bytes, position) => {
                    match skip_quoted(bytes, position + 1, byte) {
                        Some(end) => {
                            position = end;
                            continue;
                        }
                        None => {
                            self.quote = Some(byte);
                            return Ok(bytes.len());
                        }
                    }
                }
                b'#' if position == 0 || is_blank_at(bytes, position - 1) => {
                    return Ok(bytes.len());
                }
                _ => {}
            }
            position += 1;
        }
        Ok(position)
    }
}

/// After a quoted scalar at block level: `end` when a `:` follows (it was a key, and the
/// caller scans its value), the end of the line otherwise.
fn after_quoted_key(bytes: &[u8], end: usize) -> usize {
    if bytes.get(skip_spaces(bytes, end)) == Some(&b':') {
        end
    } else {
        bytes.len()
    }
}

/// Whether a quote at `position` (flow context) opens a quoted scalar rather than sitting
/// inside a plain one: it follows an indicator or blank.
fn starts_scalar(bytes: &[u8], position: usize) -> bool {
    let before = bytes
        .get(..position)
        .and_then(|b| b.iter().rev().find(|&&c| c != b' ' && c != b'\t'));
    matches!(before, None | Some(b'[' | b'{' | b',' | b':' | b'?'))
}

/// The index just after the closing `quote`, starting inside the scalar at `from`; None when
/// the scalar goes on past this line.
fn skip_quoted(bytes: &[u8], from: usize, quote: u8) -> Option<usize> {
    let mut position = from;
    while let Some(&byte) = bytes.get(position) {
        if quote == b'"' && byte == b'\\' {
            position += 2;
            continue;
        }
        if byte == quote {
            if quote == b'\'' && bytes.get(position + 1) == Some(&b'\'') {
                position += 2;
                continue;
            }
            return Some(position + 1);
        }
        position += 1;
    }
    None
}

/// The `:` of `key: value` (followed by a blank or the end of the line) at or after `from`,
/// outside quoted scalars and comments.
fn find_value_indicator(bytes: &[u8], from: usize) -> Option<usize> {
    let mut position = from;
    while let Some(&byte) = bytes.get(position) {
        match byte {
            b':' if is_blank_at(bytes, position + 1) => return Some(position),
            b'#' if position > 0 && is_blank_at(bytes, position - 1) => return None,
            _ => {}
        }
        position += 1;
    }
    None
}

fn is_blank_at(bytes: &[u8], position: usize) -> bool {
    matches!(bytes.get(position), None | Some(b' ' | b'\t'))
}

fn skip_spaces(bytes: &[u8], from: usize) -> usize {
    let mut position = from;
    while matches!(bytes.get(position), Some(b' ' | b'\t')) {
        position += 1;
    }
    position
}

/// Past an anchor or tag (`&name`, `!!map`).
fn skip_token(bytes: &[u8], from: usize) -> usize {
    let mut position = from;
    while bytes
        .get(position)
        .is_some_and(|b| !matches!(b, b' ' | b'\t'))
    {
        position += 1;
    }
    position
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn depth_ok(text: &str, max_depth: usize) -> bool {
        check_shape_with(text, max_depth, usize::MAX).is_ok()
    }

    #[test]
    fn the_limit_names_what_it_is() {
        assert_eq!(MAX_NODES, 250_000, "the error message spells the limit out");
        assert_eq!(
            ShapeError::TooManyNodes { line: 1 }.to_string(),
            "more than 250,000 YAML nodes in one document (the limit)"
        );
    }

    #[test]
    fn flow_nesting_is_counted_in_yaml_and_json() {
        assert!(depth_ok("a: [[[x]]]\n", 3));
        assert!(!depth_ok("a: [[[[x]]]]\n", 3));
        assert!(!depth_ok("{\"a\": {\"b\": [{\"c\": 1}]}}\n", 3));
        assert!(depth_ok("{\"a\": {\"b\": [1]}}\n", 3));
        // Across lines, and on the document marker's line.
        assert!(!depth_ok("a: [\n [\n  [\n   [x]]]]\n", 3));
        assert!(!depth_ok("--- [[[[x]]]]\n", 3));
        assert!(!depth_ok("- - {a: [[[1]]]}\n", 3));
        assert!(!depth_ok("\"key\": [[[[1]]]]\n", 3));
        assert!(!depth_ok("[a]: [[[[1]]]]\n", 3));
        assert_eq!(
            check_shape_with("a: 1\nb:\n  [[[[x]]]]\n", 3, usize::MAX),
            Err(ShapeError::TooDeep { line: 3 })
        );
    }

    #[test]
    fn brackets_that_open_nothing_are_not_counted() {
        // In plain scalars, quoted scalars, block scalars and comments.
        assert!(depth_ok("image: x[[[[[[\ncmd: echo {{{{{{\n", 1));
        assert!(depth_ok("a: \"[[[[[[\"\nb: '{{{{{{'\n", 1));
        assert!(depth_ok("a: [\"]]]]\", '[[[[', \"a\\\"[[[[\"]\n", 1));
        assert!(depth_ok(
            "script: |\n  [[[[[[\n  {{{{{{\nnext: 1 # [[[[[[\n",
            1
        ));
        assert!(depth_ok("- |-\n  [[[[[[\n- x\n", 1));
        assert!(depth_ok("a: \"multi\n  [[[[[[ line\"\n", 1));
    }

    #[test]
    fn quotes_inside_plain_scalars_hide_nothing() {
        // `a"b` is a plain scalar in flow context: the brackets after it are real.
        assert!(!depth_ok("x: [a\"b, [[[1]]]]\n", 3));
        assert!(!depth_ok("x: [a'b, [[[1]]]]\n", 3));
        // A block scalar ends where indentation returns to its parent's.
        assert!(!depth_ok("- a: |\n    text\n  b: [[[[1]]]]\n", 3));
    }

    #[test]
    fn lines_and_flow_items_count_as_nodes() {
        assert!(check_shape_with("a: 1\nb: 2\n", usize::MAX, 2).is_ok());
        assert_eq!(
            check_shape_with("a: 1\nb: 2\nc: 3\n", usize::MAX, 2),
            Err(ShapeError::TooManyNodes { line: 3 })
        );
        // The line, the sequence and two more items after commas.
        assert!(check_shape_with("a: [1, 2, 3]\n", usize::MAX, 4).is_ok());
        assert!(check_shape_with("a: [1, 2, 3]\n", usize::MAX, 3).is_err());
        assert!(check_shape_with("a: |\n  1\n  2\n  3\n", usize::MAX, 1).is_ok());
    }

    #[test]
    fn hostile_depths_are_refused_in_linear_time() {
        let deep = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let started = std::time::Instant::now();
        assert_eq!(check_shape(&deep), Err(ShapeError::TooDeep { line: 1 }));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
