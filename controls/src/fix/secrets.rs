//! HIPAA-K8S-SECRETS-IN-ENV: each literal credential moves to a `secretKeyRef` on a Secret named
//! `<object>-credentials`, and a skeleton of that Secret is proposed with a placeholder in place
//! of every value: the fix never copies a value out of the object.
//!
//! Which variables move is read from the finding (`container C sets VAR ...`), so that the fix
//! follows whatever the control judged a credential (by name or by value) and depends only on
//! each variable's container and name. When the message lists only the first few problems
//! (`... and N more`), the variables the control's naming rule marks are moved too, and the
//! others the message left out are found on the next run.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::pointer::{self, Pointer};
use super::{Change, PatchOp};
use crate::k8s::secrets_env::names_credential;
use crate::object::Object;

/// The value every key of the Secret skeleton holds until someone sets the real one.
pub const PLACEHOLDER: &str = "REPLACE_ME";

pub(crate) fn fix(object: &Object, message: &str) -> Option<Change> {
    let template = object.pod_template()?;
    let spec = template.spec?;
    let spec_at = pointer::pod_spec(object)?;
    let named = named_variables(message);
    let truncated = message.ends_with(" more");
    let secret = format!("{}-credentials", object.name());
    let mut keys: BTreeMap<String, Value> = BTreeMap::new();
    let mut patch = Vec::new();
    let mut moved = Vec::new();
    for (at, container) in pointer::containers(&spec_at, spec) {
        for (index, var) in container.env.iter().flatten().enumerate() {
            let Some(value) = var.value.as_deref() else {
                continue;
            };
            let listed = named
                .iter()
                .any(|(c, v)| *c == container.name && *v == var.name);
            let by_rule = truncated && names_credential(&var.name) && looks_set(value);
            if !listed && !by_rule {
                continue;
            }
            let key = unique_key(&keys, &container.name, &var.name);
            keys.insert(key.clone(), Value::String(PLACEHOLDER.to_string()));
            move_variable(&mut patch, &at.key("env").index(index), &secret, &key);
            moved.push(format!("{} ({})", var.name, container.name));
        }
    }
    if moved.is_empty() {
        return None;
    }
    let namespace = object.effective_namespace().unwrap_or("default");
    let literals: Vec<String> = keys
        .keys()
        .map(|k| format!("--from-literal={k}=..."))
        .collect();
    let skeleton = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": { "name": secret, "namespace": namespace },
        "type": "Opaque",
        "stringData": keys,
    });
    Some(Change {
        description: format!(
            "read {} from Secret {secret} (secretKeyRef); create that Secret outside version control, e.g. kubectl create secret generic {secret} -n {namespace} {}",
            moved.join(", "),
            literals.join(" ")
        ),
        patch,
        create: vec![skeleton],
        unfixed: Vec::new(),
    })
}

/// `(container, variable)` for each `container C sets VAR` in a finding's message.
fn named_variables(message: &str) -> Vec<(&str, &str)> {
    let mut named = Vec::new();
    let mut rest = message;
    while let Some(at) = rest.find("container ") {
        let after = rest.get(at + "container ".len()..).unwrap_or("");
        let mut words = after.split(' ');
        if let (Some(container), Some("sets"), Some(variable)) =
            (words.next(), words.next(), words.next())
        {
            named.push((container, variable.trim_end_matches(',')));
        }
        rest = after;
    }
    named
}

/// The control's own reading of a value that may be a credential: not blank, not a boolean.
fn looks_set(value: &str) -> bool {
    let value = value.trim();
    !value.is_empty() && !value.eq_ignore_ascii_case("true") && !value.eq_ignore_ascii_case("false")
}

/// A Secret key for the variable: its name where that is a valid key not used yet, else prefixed
/// with its container (two containers may set the same variable to different values).
fn unique_key(keys: &BTreeMap<String, Value>, container: &str, variable: &str) -> String {
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let clean: String = variable
        .chars()
        .map(|c| if valid(c) { c } else { '_' })
        .collect();
    if !keys.contains_key(&clean) {
        return clean;
    }
    let mut key = format!("{container}.{clean}");
    let mut n = 2;
    while keys.contains_key(&key) {
        key = format!("{container}.{clean}.{n}");
        n += 1;
    }
    key
}

/// `valueFrom.secretKeyRef` in place of `value`.
fn move_variable(patch: &mut Vec<PatchOp>, var_at: &Pointer, secret: &str, key: &str) {
    patch.push(PatchOp::Add {
        path: var_at.key("valueFrom").into_string(),
        value: json!({ "secretKeyRef": { "name": secret, "key": key } }),
    });
    patch.push(PatchOp::Remove {
        path: var_at.key("value").into_string(),
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn the_message_names_the_variables() {
        let message = "Deployment a/b: container app sets DB_PASSWORD to a literal value, container init sets TOKEN to a value that looks like a JWT and 2 more";
        assert_eq!(
            named_variables(message),
            [("app", "DB_PASSWORD"), ("init", "TOKEN")]
        );
        assert!(named_variables("Deployment a/b: nothing").is_empty());
    }

    #[test]
    fn keys_stay_unique_and_valid() {
        let mut keys = BTreeMap::new();
        assert_eq!(unique_key(&keys, "app", "DB PASSWORD"), "DB_PASSWORD");
        keys.insert("DB_PASSWORD".to_string(), Value::Null);
        assert_eq!(unique_key(&keys, "app", "DB_PASSWORD"), "app.DB_PASSWORD");
    }
}
