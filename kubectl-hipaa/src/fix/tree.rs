//! Where each node of a YAML text is: the documents of a file as trees of mappings, sequences
//! and scalars with their byte spans, from saphyr's parser (which reports positions; the scan's
//! libyaml-based reader does not). `kubectl hipaa fix` edits the text at these spans.

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// One node and the bytes it covers.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    /// The byte where it starts: a block mapping's first key, a block sequence's first `-`, a
    /// flow collection's bracket, a scalar's first character (or quote).
    pub start: usize,
    /// The byte after its last character (a flow collection's closing bracket, a block
    /// collection's last descendant).
    pub end: usize,
    /// Written in flow style (`{...}`, `[...]`).
    pub flow: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// A scalar; `empty` when nothing is written (`key:` with no value).
    Scalar {
        empty: bool,
    },
    Mapping(Vec<Entry>),
    Sequence(Vec<Node>),
    /// An alias (`*name`): never edited.
    Alias,
}

/// A mapping entry: its key's text and span, and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_start: usize,
    pub key_end: usize,
    pub value: Node,
}

impl Node {
    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        match &self.kind {
            NodeKind::Mapping(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// The node at a JSON Pointer's tokens (unescaped).
    pub fn at(&self, tokens: &[String]) -> Option<&Node> {
        let Some((first, rest)) = tokens.split_first() else {
            return Some(self);
        };
        let child = match &self.kind {
            NodeKind::Mapping(_) => &self.get(first)?.value,
            NodeKind::Sequence(items) => items.get(first.parse::<usize>().ok()?)?,
            _ => return None,
        };
        child.at(rest)
    }
}

/// Why a text could not be mapped.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct TreeError {
    pub line: usize,
    pub message: String,
}

/// Byte offsets of character indices (saphyr counts characters).
struct Offsets {
    bytes: Option<Vec<usize>>,
    len: usize,
}

impl Offsets {
    fn new(text: &str) -> Self {
        let bytes = (!text.is_ascii()).then(|| text.char_indices().map(|(b, _)| b).collect());
        Offsets {
            bytes,
            len: text.len(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.bytes {
            None => char_index.min(self.len),
            Some(bytes) => bytes.get(char_index).copied().unwrap_or(self.len),
        }
    }
}

/// A collection being read.
enum Open {
    Mapping {
        start: usize,
        flow: bool,
        entries: Vec<Entry>,
        key: Option<(String, usize, usize)>,
    },
    Sequence {
        start: usize,
        flow: bool,
        items: Vec<Node>,
    },
}

/// The root node of every document of `text`, in order (an empty document is an empty scalar).
pub fn parse(text: &str) -> Result<Vec<Node>, TreeError> {
    let offsets = Offsets::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut documents = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Node> = None;
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|err| TreeError {
            line: err.marker().line(),
            message: err.info().to_string(),
        })?;
        let (start, end) = (
            offsets.byte(span.start.index()),
            offsets.byte(span.end.index()),
        );
        let flow_at = |at: usize| matches!(text.as_bytes().get(at), Some(b'{' | b'['));
        let finished = match event {
            Event::DocumentStart(_) => {
                root = None;
                None
            }
            Event::DocumentEnd => {
                documents.push(root.take().unwrap_or(Node {
                    kind: NodeKind::Scalar { empty: true },
                    start,
                    end: start,
                    flow: false,
                }));
                None
            }
            Event::MappingStart(..) => {
                stack.push(Open::Mapping {
                    start,
                    flow: flow_at(start),
                    entries: Vec::new(),
                    key: None,
                });
                None
            }
            Event::SequenceStart(..) => {
                let flow = flow_at(start);
                stack.push(Open::Sequence {
                    start: if flow {
                        start
                    } else {
                        dash_before(text, start)
                    },
                    flow,
                    items: Vec::new(),
                });
                None
            }
            Event::MappingEnd => match stack.pop() {
                Some(Open::Mapping {
                    start: open,
                    flow,
                    entries,
                    ..
                }) => {
                    let last = entries.last().map_or(open, |e| e.value.end.max(e.key_end));
                    let end = if flow { end.max(last) } else { last };
                    Some(Node {
                        kind: NodeKind::Mapping(entries),
                        start: open,
                        end,
                        flow,
                    })
                }
                _ => return Err(unbalanced(span)),
            },
            Event::SequenceEnd => match stack.pop() {
                Some(Open::Sequence {
                    start: open,
                    flow,
                    items,
                }) => {
                    let last = items.last().map_or(open, |i| i.end);
                    let end = if flow { end.max(last) } else { last };
                    Some(Node {
                        kind: NodeKind::Sequence(items),
                        start: open,
                        end,
                        flow,
                    })
                }
                _ => return Err(unbalanced(span)),
            },
            Event::Scalar(value, style, ..) => {
                let key_wanted = matches!(stack.last(), Some(Open::Mapping { key: None, .. }));
                if key_wanted {
                    if let Some(Open::Mapping { key, .. }) = stack.last_mut() {
                        *key = Some((value.into_owned(), start, end));
                    }
                    None
                } else {
                    // Nothing written: saphyr's span then points at the next token.
                    let empty = style == ScalarStyle::Plain && value.is_empty();
                    // A block scalar's span runs over its line breaks to the next token's line:
                    // it ends at its last character, so that what is inserted after its line
                    // does not land after the next one. (Under keep chomping, `|+`, its kept
                    // empty lines then follow the insertion; reading back refuses that edit.)
                    let end = match style {
                        _ if empty => start,
                        ScalarStyle::Literal | ScalarStyle::Folded => {
                            start
                                + text.get(start..end).map_or(0, |s| {
                                    s.trim_end_matches([' ', '\t', '\r', '\n']).len()
                                })
                        }
                        _ => end,
                    };
                    Some(Node {
                        kind: NodeKind::Scalar { empty },
                        start,
                        end,
                        flow: false,
                    })
                }
            }
            Event::Alias(_) => Some(Node {
                kind: NodeKind::Alias,
                start,
                end,
                flow: false,
            }),
            _ => None,
        };
        if let Some(node) = finished {
            attach(&mut stack, &mut root, node, span)?;
        }
    }
    Ok(documents)
}

/// Puts a finished node where it belongs: the pending key's value, the next item, or the root.
fn attach(
    stack: &mut [Open],
    root: &mut Option<Node>,
    node: Node,
    span: Span,
) -> Result<(), TreeError> {
    match stack.last_mut() {
        None => *root = Some(node),
        Some(Open::Sequence { items, .. }) => items.push(node),
        Some(Open::Mapping { entries, key, .. }) => match key.take() {
            Some((key, key_start, key_end)) => {
                let mut value = node;
                if matches!(value.kind, NodeKind::Scalar { empty: true }) {
                    (value.start, value.end) = (key_end, key_end);
                }
                entries.push(Entry {
                    key,
                    key_start,
                    key_end,
                    value,
                })
            }
            // A mapping or sequence as a key: nothing a Kubernetes object has.
            None => {
                return Err(TreeError {
                    line: span.start.line(),
                    message: "a mapping key that is not a scalar".to_string(),
                });
            }
        },
    }
    Ok(())
}

/// The `-` that opens a block sequence whose first item saphyr places at `at` (after the `- `).
fn dash_before(text: &str, at: usize) -> usize {
    let before = text.get(..at).unwrap_or("");
    let trimmed = before.trim_end_matches([' ', '\t']);
    if trimmed.ends_with('-') {
        trimmed.len() - 1
    } else {
        at
    }
}

fn unbalanced(span: Span) -> TreeError {
    TreeError {
        line: span.start.line(),
        message: "unbalanced collection".to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn slice(text: &str, node: &Node) -> String {
        text[node.start..node.end].to_string()
    }

    #[test]
    fn spans_cover_scalars_and_collections_in_every_document() {
        let text =
            "# c\na: 1 # one\nb:\n  c: [x, y]\n  d:\n  - e: ü\n    f: 'g'\n---\n---\nh: {i: j}\n";
        let docs = parse(text).unwrap();
        assert_eq!(docs.len(), 3);
        let a = &docs[0].get("a").unwrap().value;
        assert_eq!(slice(text, a), "1");
        let c = docs[0].at(&["b".into(), "c".into()]).unwrap();
        assert!(c.flow);
        assert_eq!(slice(text, c), "[x, y]");
        let f = docs[0]
            .at(&["b".into(), "d".into(), "0".into(), "f".into()])
            .unwrap();
        assert_eq!(slice(text, f), "'g'");
        let d = docs[0].at(&["b".into(), "d".into()]).unwrap();
        assert_eq!(slice(text, d), "- e: ü\n    f: 'g'");
        assert!(
            matches!(docs[1].kind, NodeKind::Scalar { empty: true }),
            "{:?}",
            docs[1]
        );
        assert_eq!(slice(text, &docs[2].get("h").unwrap().value), "{i: j}");
        let empty = parse("k:\nl: 2\n").unwrap();
        assert!(matches!(
            empty[0].get("k").unwrap().value.kind,
            NodeKind::Scalar { empty: true }
        ));
    }
}
