//! An object in its JSON form: its `apiVersion` and `kind`, and the typed, shared object, for the
//! readers that sort mixed objects by kind (the context's and the RBAC set's).

use std::sync::Arc;

/// The `apiVersion` and `kind` of an object in its JSON form ("" when absent).
pub(crate) fn api_version_and_kind(value: &serde_json::Value) -> (&str, &str) {
    let field = |name: &str| value.get(name).and_then(serde_json::Value::as_str);
    (
        field("apiVersion").unwrap_or(""),
        field("kind").unwrap_or(""),
    )
}

/// An object of a context kind from its JSON form, shared.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<Arc<T>, serde_json::Error> {
    serde_json::from_value(value).map(Arc::new)
}
