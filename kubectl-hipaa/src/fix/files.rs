//! The planned fixes applied to the text of each input: each object's patch as splices (see
//! `edit`), checked by reading the edited document back (it must be the patched object, or the
//! object's edits are undone and reported), then the objects to create appended as new
//! documents. Nothing is written here.

use std::collections::BTreeSet;
use std::sync::Arc;

use hipaa_controls::fix::PatchOp;
use serde_json::Value;

use super::edit;
use super::plan::{ObjectFixes, Plan};
use super::render;
use super::tree;
use crate::input::InputPath;

/// One input after the fixes.
pub struct EditedFile {
    pub input: InputPath,
    pub name: Arc<str>,
    pub original: String,
    pub text: String,
    /// Fixes applied to its objects.
    pub fixes: usize,
    /// Objects appended to it.
    pub created: Vec<String>,
}

impl EditedFile {
    pub fn changed(&self) -> bool {
        self.text != self.original
    }

    /// `3 fixes applied, NetworkPolicy shop/default-deny added`.
    pub fn summary(&self) -> String {
        let mut parts = vec![format!(
            "{} fix{} applied",
            self.fixes,
            if self.fixes == 1 { "" } else { "es" }
        )];
        parts.extend(self.created.iter().map(|c| format!("{c} added")));
        parts.join(", ")
    }
}

/// Every input after the fixes, the objects whose fixes could not be applied in place, and the
/// Secret skeletons to print.
pub struct Edited {
    pub files: Vec<EditedFile>,
    pub failures: Vec<String>,
    pub secrets: Vec<Value>,
}

pub fn edit_all(plan: &Plan) -> Edited {
    let mut edited = Edited {
        files: Vec::new(),
        failures: Vec::new(),
        secrets: Vec::new(),
    };
    let mut created: BTreeSet<(String, String, String)> = BTreeSet::new();
    for (source, objects) in plan.sources.iter().zip(&plan.objects) {
        let mut text = source.text.clone();
        let mut fixes = 0;
        let mut appended = Vec::new();
        for object in objects {
            match edit_object(&text, object) {
                Ok(new) => {
                    text = new;
                    fixes += object.fixes.len();
                }
                Err(err) => {
                    edited.failures.push(format!(
                        "{}:{}: {}: the fix cannot be applied in place ({err}); use -o patch",
                        source.name, object.line, object.resource
                    ));
                    continue;
                }
            }
            for extra in object.fixes.iter().flat_map(|f| &f.create) {
                let key = identity(extra);
                if !created.insert(key.clone()) {
                    continue;
                }
                if key.0 == "Secret" {
                    edited.secrets.push(extra.clone());
                    continue;
                }
                let label = format!("{} {}/{}", key.0, key.1, key.2);
                // A List gets it as a new item (a JSON file stays JSON); another document gets
                // it as a new YAML document after the last, which a JSON file cannot hold.
                if !object.prefix.is_empty() {
                    match append_item(&text, object.document, extra) {
                        Ok(new) => {
                            text = new;
                            appended.push(label);
                        }
                        Err(err) => edited.failures.push(format!(
                            "{}:{}: cannot add {label} to the List ({err}); create it (see -o patch)",
                            source.name, object.line
                        )),
                    }
                    continue;
                }
                if source.name.to_ascii_lowercase().ends_with(".json") {
                    edited.failures.push(format!(
                        "{}:{}: a JSON file holds one object: create {label} beside it (see -o patch)",
                        source.name, object.line
                    ));
                    continue;
                }
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                text.push_str("---\n");
                text.push_str(&render::block(extra, 0));
                text.push('\n');
                appended.push(label);
            }
        }
        // Lines written by the edits end as the file's lines do.
        if source.text.contains("\r\n") {
            text = text.replace("\r\n", "\n").replace('\n', "\r\n");
        }
        edited.files.push(EditedFile {
            input: source.input.clone(),
            name: source.name.clone(),
            original: source.text.clone(),
            text,
            fixes,
            created: appended,
        });
    }
    edited
}

/// `(kind, namespace, name)` of an object to create.
fn identity(object: &Value) -> (String, String, String) {
    let text = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (
        text("/kind"),
        text("/metadata/namespace"),
        text("/metadata/name"),
    )
}

/// The object's patches applied to `text`, or why not (then `text` is left as it was).
fn edit_object(text: &str, object: &ObjectFixes) -> Result<String, String> {
    let mut value = document_value(text, object.document)?;
    let mut text = text.to_string();
    for op in object.fixes.iter().flat_map(|f| &f.patch) {
        text = edit::apply(&text, object.document, &object.prefix, op, &mut value)
            .map_err(|err| err.to_string())?;
    }
    let back = document_value(&text, object.document)?;
    if back != value {
        return Err("the edited text does not read back as the fixed object".to_string());
    }
    Ok(text)
}

/// `object` added as the last item of the List that document `document` holds.
fn append_item(text: &str, document: usize, object: &Value) -> Result<String, String> {
    let mut value = document_value(text, document)?;
    let op = PatchOp::Add {
        path: "/items/-".to_string(),
        value: object.clone(),
    };
    let new = edit::apply(text, document, &[], &op, &mut value).map_err(|err| err.to_string())?;
    if document_value(&new, document)? != value {
        return Err("the edited text does not read back as the List".to_string());
    }
    Ok(new)
}

/// The JSON of document `index` of `text`, read from its own span.
fn document_value(text: &str, index: usize) -> Result<Value, String> {
    let roots = tree::parse(text).map_err(|err| err.to_string())?;
    let root = roots.get(index).ok_or("the document is gone")?;
    let slice = text
        .get(root.start..root.end)
        .ok_or("the document is gone")?;
    yaml_serde::from_str(slice).map_err(|err| err.to_string())
}
