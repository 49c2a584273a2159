//! Applies a JSON patch operation to one document of a YAML text as a splice of the text, so that
//! comments, key order and formatting elsewhere stay as written: a scalar's span is replaced; a
//! new key goes after the mapping's last entry at the mapping's indentation (a new sequence item
//! after the last item); a removed key's lines go. A change inside a flow collection (`{...}`,
//! `[...]`) rewrites that collection, in flow style, from its new value.

use serde_json::Value;

use hipaa_controls::fix::PatchOp;

use super::flow::{Flow, flow_edit};
use super::render;
use super::text::{colon_after, column, insert_after_line, line_end, line_start, splice};
use super::tree::{self, Entry, Node, NodeKind};

/// Why an operation could not be applied to the text.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("the file no longer parses: {0}")]
    Tree(#[from] tree::TreeError),
    #[error("{0} is not in the document")]
    Missing(String),
    #[error("{0} cannot be edited in place ({1})")]
    Unsupported(String, &'static str),
}

/// The tokens of a JSON Pointer, unescaped (`~1` is `/`, `~0` is `~`).
pub fn tokens(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Applies `op` (its path relative to the object at `prefix` in document `document` of `text`)
/// to the text and to `value`, the document's JSON; returns the new text.
pub fn apply(
    text: &str,
    document: usize,
    prefix: &[String],
    op: &PatchOp,
    value: &mut Value,
) -> Result<String, EditError> {
    let path = op.path();
    let mut full: Vec<String> = prefix.to_vec();
    full.extend(tokens(path));
    let missing = || EditError::Missing(path.to_string());
    let documents = tree::parse(text)?;
    let root = documents.get(document).ok_or_else(missing)?;
    let (last, parent_tokens) = full.split_last().ok_or_else(missing)?;
    json_apply(value, parent_tokens, last, op).ok_or_else(missing)?;

    let mut parent = root;
    for token in parent_tokens {
        parent = child(parent, token).ok_or_else(missing)?;
    }
    // A scalar replaced by a scalar keeps its place, in flow style as in block style.
    if let (
        NodeKind::Mapping(entries),
        PatchOp::Add { value: new, .. } | PatchOp::Replace { value: new, .. },
    ) = (&parent.kind, op)
        && let Some(entry) = entries.iter().find(|e| e.key == *last)
        && let Some(scalar) = render::inline_scalar(new)
        && matches!(
            entry.value.kind,
            NodeKind::Scalar { empty: false } | NodeKind::Alias
        )
    {
        return Ok(splice(text, entry.value.start, entry.value.end, &scalar));
    }
    // Inside a flow collection the entry itself is inserted, replaced or cut, in flow style: as
    // JSON in a JSON document (which must stay JSON), in YAML flow style otherwise.
    if parent.flow {
        let style = if root.flow { Flow::Json } else { Flow::Yaml };
        return flow_edit(text, parent, last, op, style)
            .ok_or_else(|| EditError::Unsupported(path.to_string(), "an unusual flow collection"));
    }
    match (&parent.kind, op) {
        (NodeKind::Mapping(entries), PatchOp::Remove { .. }) => {
            let index = entries
                .iter()
                .position(|e| e.key == *last)
                .ok_or_else(missing)?;
            Ok(remove_entry(text, entries, index))
        }
        (
            NodeKind::Mapping(entries),
            PatchOp::Add { value: new, .. } | PatchOp::Replace { value: new, .. },
        ) => match entries.iter().find(|e| e.key == *last) {
            Some(entry) => Ok(replace_value(text, entry, new)),
            None if matches!(op, PatchOp::Add { .. }) => {
                let indent = column(text, parent.start);
                let line = format!(
                    "{}{}:{}\n",
                    " ".repeat(indent),
                    render::string(last),
                    render::after_colon(new, indent)
                );
                Ok(insert_after_line(text, parent.end, &line))
            }
            None => Err(missing()),
        },
        (NodeKind::Sequence(items), PatchOp::Add { value: new, .. })
            if last == "-" || last.parse::<usize>().ok() == Some(items.len()) =>
        {
            let indent = column(text, parent.start);
            let line = format!(
                "{}- {}\n",
                " ".repeat(indent),
                render::item_body(new, indent + 2)
            );
            Ok(insert_after_line(text, parent.end, &line))
        }
        (NodeKind::Sequence(items), PatchOp::Replace { value: new, .. }) => {
            let item = last
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i))
                .ok_or_else(missing)?;
            match render::inline_scalar(new) {
                Some(scalar) if matches!(item.kind, NodeKind::Scalar { .. }) => {
                    Ok(splice(text, item.start, item.end, &scalar))
                }
                _ => Err(EditError::Unsupported(
                    path.to_string(),
                    "a collection in a sequence",
                )),
            }
        }
        _ => Err(EditError::Unsupported(
            path.to_string(),
            "not a mapping member or a sequence end",
        )),
    }
}

fn child<'n>(node: &'n Node, token: &str) -> Option<&'n Node> {
    node.at(std::slice::from_ref(&token.to_string()))
}

/// The value of an existing key replaced: a scalar in its span, anything else after the colon.
fn replace_value(text: &str, entry: &Entry, new: &Value) -> String {
    let old = &entry.value;
    let scalar_written = matches!(
        old.kind,
        NodeKind::Scalar { empty: false } | NodeKind::Alias
    );
    if let (Some(scalar), true) = (render::inline_scalar(new), scalar_written) {
        return splice(text, old.start, old.end, &scalar);
    }
    let colon = colon_after(text, entry.key_end);
    let end = if matches!(old.kind, NodeKind::Scalar { empty: true }) {
        colon
    } else {
        old.end.max(colon)
    };
    let indent = column(text, entry.key_start);
    splice(text, colon, end, &render::after_colon(new, indent))
}

/// A key removed with its value: its whole lines when it starts its line; when it follows a
/// sequence item's `- `, up to the next key (which moves up), or `{}` when it was the only one.
fn remove_entry(text: &str, entries: &[Entry], index: usize) -> String {
    let Some(entry) = entries.get(index) else {
        return text.to_string();
    };
    let end = entry.value.end.max(entry.key_end);
    if entries.len() == 1 {
        return splice(text, entry.key_start, end, "{}");
    }
    let line_start = line_start(text, entry.key_start);
    let alone = text
        .get(line_start..entry.key_start)
        .is_some_and(|before| before.trim().is_empty());
    if alone {
        return splice(text, line_start, line_end(text, end), "");
    }
    match entries.get(index + 1) {
        Some(next) => splice(text, entry.key_start, next.key_start, ""),
        // Two block keys on one line do not occur; drop the text of this one.
        None => splice(text, entry.key_start, end, ""),
    }
}

/// Applies the operation to the JSON value; None when its parent is missing.
fn json_apply(value: &mut Value, parent: &[String], last: &str, op: &PatchOp) -> Option<()> {
    let mut node = value;
    for token in parent {
        node = match node {
            Value::Object(map) => map.get_mut(token)?,
            Value::Array(items) => items.get_mut(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match (node, op) {
        (Value::Object(map), PatchOp::Add { value, .. }) => {
            map.insert(last.to_string(), value.clone());
        }
        (Value::Object(map), PatchOp::Replace { value, .. }) => {
            *map.get_mut(last)? = value.clone();
        }
        (Value::Object(map), PatchOp::Remove { .. }) => {
            map.remove(last)?;
        }
        (Value::Array(items), PatchOp::Add { value, .. }) if last == "-" => {
            items.push(value.clone())
        }
        (Value::Array(items), PatchOp::Add { value, .. }) => {
            let index = last.parse::<usize>().ok().filter(|i| *i <= items.len())?;
            items.insert(index, value.clone());
        }
        (Value::Array(items), PatchOp::Replace { value, .. }) => {
            *items.get_mut(last.parse::<usize>().ok()?)? = value.clone();
        }
        (Value::Array(items), PatchOp::Remove { .. }) => {
            let index = last.parse::<usize>().ok().filter(|i| *i < items.len())?;
            items.remove(index);
        }
        _ => return None,
    }
    Some(())
}
