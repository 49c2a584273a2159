//! Turns parsed documents into located objects: checks that each is a Kubernetes object, expands
//! `List` objects (`v1/List`, `DeploymentList`, ...) into their items, and finds the line each
//! item starts on. A document that is not an object at all (a scalar, a sequence, a mapping
//! without apiVersion or kind, kustomize's configuration) is [`InputError::NotAnObject`]; an
//! item of a List that is not an object makes the List invalid ([`InputError::Invalid`]).

use std::sync::Arc;

use serde_json::Value;

use super::InputError;
use super::documents::RawDocument;

/// One object of the input, with where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct ManifestObject {
    /// The file as findings name it (`k8s/app.yaml`, `<stdin>`).
    pub file: Arc<str>,
    /// The 1-based line the object starts on.
    pub line: usize,
    pub value: Value,
}

/// The objects of one document: the document itself, or the items of a List.
pub fn objects_of_document(
    file: &Arc<str>,
    document: &RawDocument<'_>,
    value: Value,
) -> Result<Vec<ManifestObject>, InputError> {
    let line = document.content_line;
    let Value::Object(mut map) = value else {
        if value.is_null() {
            return Ok(Vec::new());
        }
        return Err(InputError::not_an_object(
            file,
            line,
            format!(
                "expected a Kubernetes object (a mapping with apiVersion and kind), found {}",
                json_type(&value)
            ),
        ));
    };
    let kind = map
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let api_version = map
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if kind.is_empty() || api_version.is_empty() {
        return Err(InputError::not_an_object(
            file,
            line,
            "the object has no apiVersion or kind (every Kubernetes object needs both)",
        ));
    }
    if api_version.starts_with(KUSTOMIZE_GROUP) {
        return Err(InputError::not_an_object(
            file,
            line,
            format!(
                "{kind} ({api_version}) is kustomize's configuration, not a Kubernetes object: scan the output of `kustomize build` (or `kubectl kustomize`)"
            ),
        ));
    }
    let is_list = kind.ends_with("List") && map.get("items").is_some_and(Value::is_array);
    if !is_list {
        return Ok(vec![ManifestObject {
            file: file.clone(),
            line,
            value: Value::Object(map),
        }]);
    }
    let Some(Value::Array(items)) = map.remove("items") else {
        return Ok(Vec::new());
    };
    let item_kind = kind.strip_suffix("List").unwrap_or_default();
    let lines = item_lines(document, items.len());
    let mut objects = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let item_line = lines
            .as_ref()
            .and_then(|l| l.get(index).copied())
            .unwrap_or(line);
        let Value::Object(mut item_map) = item else {
            return Err(InputError::invalid(
                file,
                item_line,
                format!("{kind} item {index} is {}, not an object", json_type(&item)),
            ));
        };
        // Typed lists (`DeploymentList`) may leave kind and apiVersion off their items.
        if !item_kind.is_empty() {
            item_map
                .entry("kind")
                .or_insert_with(|| Value::String(item_kind.to_string()));
            item_map
                .entry("apiVersion")
                .or_insert_with(|| Value::String(api_version.clone()));
        }
        let item_value = Value::Object(item_map);
        let nested = RawDocument {
            text: "",
            first_line: item_line,
            content_line: item_line,
        };
        objects.extend(
            objects_of_document(file, &nested, item_value).map_err(InputError::into_invalid)?,
        );
    }
    Ok(objects)
}

/// The API group of kustomize's own files (`kustomization.yaml`'s Kustomization, Component): read
/// by kustomize, never sent to the API server.
const KUSTOMIZE_GROUP: &str = "kustomize.config.k8s.io/";

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
    }
}

/// The file lines on which a List's items start, when they can be found in the text (block
/// YAML or JSON); None otherwise, and then every item gets the List's line.
fn item_lines(document: &RawDocument<'_>, count: usize) -> Option<Vec<usize>> {
    let first_content = document
        .text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && *l != "---");
    let lines = if first_content.is_some_and(|l| l.starts_with('{')) {
        json_item_lines(document.text, document.first_line)
    } else {
        yaml_item_lines(document.text, document.first_line)
    };
    (lines.len() == count).then_some(lines)
}

/// Block YAML: the `- ` entries of the top-level `items:` sequence.
fn yaml_item_lines(text: &str, first_line: usize) -> Vec<usize> {
    let mut lines = Vec::new();
    let mut in_items = false;
    let mut item_indent: Option<usize> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if !in_items {
            let key = line.split('#').next().unwrap_or("").trim_end();
            in_items = key == "items:";
            continue;
        }
        let is_entry = trimmed == "-" || trimmed.starts_with("- ");
        match item_indent {
            None if is_entry => item_indent = Some(indent),
            None => break,
            Some(expected) if indent < expected || (indent == expected && !is_entry) => break,
            Some(_) => {}
        }
        if is_entry && Some(indent) == item_indent {
            lines.push(first_line + index);
        }
    }
    lines
}

/// JSON: the objects of the top-level object's `"items"` array.
fn json_item_lines(text: &str, first_line: usize) -> Vec<usize> {
    let mut lines = Vec::new();
    let mut line = first_line;
    let mut depth = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    let mut string_start = 0;
    let mut last_key_is_items = false;
    let mut items_depth: Option<usize> = None;
    for (index, byte) in text.bytes().enumerate() {
        if byte == b'\n' {
            line += 1;
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
                if depth == 1 {
                    last_key_is_items = text.get(string_start..index) == Some("items");
                }
            }
            continue;
        }
        match byte {
            b'"' => {
                in_string = true;
                string_start = index + 1;
            }
            b'{' | b'[' => {
                if byte == b'{' && items_depth == Some(depth) {
                    lines.push(line);
                }
                depth += 1;
                if byte == b'[' && depth == 2 && last_key_is_items && items_depth.is_none() {
                    items_depth = Some(2);
                }
            }
            b'}' | b']' => {
                if byte == b']' && items_depth == Some(depth) {
                    return lines;
                }
                depth = depth.saturating_sub(1);
            }
            b',' if depth == 1 => last_key_is_items = false,
            _ => {}
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::input::documents::{parse_document, split_documents};

    fn objects(text: &str) -> Result<Vec<(usize, String)>, InputError> {
        let file: Arc<str> = Arc::from("f.yaml");
        let mut out = Vec::new();
        for doc in split_documents(text) {
            let value = parse_document(&file, &doc)?;
            for object in objects_of_document(&file, &doc, value)? {
                let kind = object.value["kind"].as_str().unwrap().to_string();
                let name = object.value["metadata"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                out.push((object.line, format!("{kind}/{name}")));
            }
        }
        Ok(out)
    }

    #[test]
    fn yaml_list_items_get_their_own_lines_and_kinds() {
        let text = "apiVersion: apps/v1\nkind: DeploymentList\nitems:\n# first\n- metadata:\n    name: a\n  spec: {}\n-   metadata: {name: b}\nmetadata: {}\n";
        assert_eq!(
            objects(text).unwrap(),
            vec![(5, "Deployment/a".into()), (8, "Deployment/b".into())]
        );
    }

    #[test]
    fn indented_yaml_list_of_mixed_kinds() {
        let text = "---\napiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Service\n    metadata: {name: s}\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: c}\n";
        assert_eq!(
            objects(text).unwrap(),
            vec![(5, "Service/s".into()), (8, "ConfigMap/c".into())]
        );
    }

    #[test]
    fn json_list_items_get_their_own_lines() {
        let text = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"metadata\": {\"x\": [\"items\"]},\n  \"items\": [\n    {\"apiVersion\": \"v1\", \"kind\": \"Pod\",\n     \"metadata\": {\"name\": \"p\", \"annotations\": {\"a\": \"}{\\\"\"}}},\n    {\n      \"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"s\"}\n    }\n  ]\n}\n";
        assert_eq!(
            objects(text).unwrap(),
            vec![(6, "Pod/p".into()), (8, "Service/s".into())]
        );
    }

    #[test]
    fn flow_style_lists_fall_back_to_the_list_line() {
        let text = "# c\napiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: Pod, metadata: {name: p}}]\n";
        assert_eq!(objects(text).unwrap(), vec![(2, "Pod/p".into())]);
    }

    #[test]
    fn non_objects_and_objects_without_kind_are_errors_with_lines() {
        let err = objects("a: 1\n---\n- x\n").unwrap_err().to_string();
        assert_eq!(
            err,
            "f.yaml:1: the object has no apiVersion or kind (every Kubernetes object needs both)"
        );
        let err = objects("apiVersion: v1\nkind: A\n---\n\n- x\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("f.yaml:5: expected a Kubernetes object"),
            "{err}"
        );
        assert!(objects("---\n~\n").unwrap().is_empty());
    }

    #[test]
    fn what_is_not_an_object_is_told_apart_from_an_invalid_list() {
        let not_object = |text: &str| matches!(objects(text), Err(InputError::NotAnObject { .. }));
        assert!(not_object(
            "cluster_name: 'Test Cluster'\nnum_tokens: 256\n"
        ));
        assert!(not_object("- a\n- b\n"));
        assert!(not_object("just text\n"));
        assert!(not_object("apiVersion: v2\nname: chart\nversion: 0.1.0\n"));
        let kustomization = objects(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n",
        )
        .unwrap_err();
        assert!(
            matches!(kustomization, InputError::NotAnObject { .. })
                && kustomization.to_string().contains("kustomize build"),
            "{kustomization}"
        );
        // A List is an object: an item in it that is not one makes the List invalid.
        let list = objects("apiVersion: v1\nkind: List\nitems:\n- {a: 1}\n").unwrap_err();
        assert!(matches!(list, InputError::Invalid { .. }), "{list:?}");
        let list = objects("apiVersion: v1\nkind: List\nitems:\n- 3\n").unwrap_err();
        assert!(matches!(list, InputError::Invalid { .. }), "{list:?}");
    }
}
