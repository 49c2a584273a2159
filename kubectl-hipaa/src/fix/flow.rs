//! Edits inside a flow collection (`{...}`, `[...]`): a member inserted after the last one, a
//! value replaced in its span, a member cut with its separator; the other entries keep their
//! order, spacing and comments. In a JSON document the new text is JSON, so the file stays JSON.

use serde_json::Value;

use hipaa_controls::fix::PatchOp;

use super::render;
use super::text::{colon_after, splice};
use super::tree::{Node, NodeKind};

/// How values are written into a flow collection.
#[derive(Clone, Copy)]
pub(super) enum Flow {
    Json,
    Yaml,
}

impl Flow {
    fn value(self, value: &Value) -> String {
        match self {
            Flow::Json => serde_json::to_string(value).unwrap_or_default(),
            Flow::Yaml => render::flow(value),
        }
    }

    fn key(self, key: &str) -> String {
        match self {
            Flow::Json => serde_json::to_string(key).unwrap_or_default(),
            Flow::Yaml => render::string(key),
        }
    }
}

/// An operation on a member of a flow mapping or the end of a flow sequence, as a splice that
/// leaves the other entries (their order, spacing, comments) as written.
pub(super) fn flow_edit(
    text: &str,
    parent: &Node,
    last: &str,
    op: &PatchOp,
    style: Flow,
) -> Option<String> {
    let open = parent.start + 1;
    match (&parent.kind, op) {
        (
            NodeKind::Mapping(entries),
            PatchOp::Add { value, .. } | PatchOp::Replace { value, .. },
        ) => {
            if let Some(entry) = entries.iter().find(|e| e.key == last) {
                let colon = colon_after(text, entry.key_end);
                let start = if matches!(entry.value.kind, NodeKind::Scalar { empty: true }) {
                    colon
                } else {
                    entry.value.start
                };
                let lead = if start == colon { " " } else { "" };
                let end = entry.value.end.max(start);
                return Some(splice(
                    text,
                    start,
                    end,
                    &format!("{lead}{}", style.value(value)),
                ));
            }
            if matches!(op, PatchOp::Replace { .. }) {
                return None;
            }
            let member = format!("{}: {}", style.key(last), style.value(value));
            Some(match entries.last() {
                Some(after) => {
                    let at = after.value.end.max(after.key_end);
                    splice(text, at, at, &format!(", {member}"))
                }
                None => splice(text, open, open, &member),
            })
        }
        (NodeKind::Mapping(entries), PatchOp::Remove { .. }) => {
            let index = entries.iter().position(|e| e.key == last)?;
            let entry = entries.get(index)?;
            let end = entry.value.end.max(entry.key_end);
            Some(
                match (
                    index.checked_sub(1).and_then(|i| entries.get(i)),
                    entries.get(index + 1),
                ) {
                    (Some(before), _) => {
                        splice(text, before.value.end.max(before.key_end), end, "")
                    }
                    (None, Some(next)) => splice(text, entry.key_start, next.key_start, ""),
                    (None, None) => splice(text, entry.key_start, end, ""),
                },
            )
        }
        (NodeKind::Sequence(items), PatchOp::Add { value, .. })
            if last == "-" || last.parse::<usize>().ok() == Some(items.len()) =>
        {
            let item = style.value(value);
            Some(match items.last() {
                Some(after) => splice(text, after.end, after.end, &format!(", {item}")),
                None => splice(text, open, open, &item),
            })
        }
        _ => None,
    }
}
