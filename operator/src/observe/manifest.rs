//! Building an [`Inventory`] from manifests (JSON values), as fixtures and benchmarks do, with the
//! same filters and forms the watch caches use (controlled Pods, ReplicaSets and Jobs are left
//! out, as the kind table says; judged kinds are kept compact).

use std::fmt::Debug;
use std::sync::Arc;

use hipaa_controls::object::ObjectKind;

use super::Inventory;
use super::compact::{Compact, CompactResource};
use super::judged::{self, CompactVisitor};

/// Why a manifest cannot join an inventory.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("the manifest has no kind")]
    MissingKind,
    #[error("{0} is not a kind the operator caches")]
    UnsupportedKind(String),
    #[error("{kind} does not parse: {}", hipaa_controls::redact::Redacted(.source))]
    Invalid {
        kind: String,
        source: serde_json::Error,
    },
}

impl Inventory {
    /// Adds one object, as the watch caches would hold it.
    pub fn insert_manifest(&mut self, value: serde_json::Value) -> Result<(), ManifestError> {
        let field = |name: &str| value.get(name).and_then(serde_json::Value::as_str);
        let kind = field("kind").ok_or(ManifestError::MissingKind)?.to_owned();
        let api_version = field("apiVersion").unwrap_or_default();
        let invalid = |source| ManifestError::Invalid {
            kind: kind.clone(),
            source,
        };
        if let Some(object_kind) = ObjectKind::of(api_version, &kind)
            && object_kind.info().operator_compact()
        {
            let insert = InsertCompact {
                objects: &mut self.objects,
                value,
            };
            return judged::visit(object_kind, insert)
                .ok_or_else(|| ManifestError::UnsupportedKind(kind.clone()))?
                .map_err(invalid);
        }
        match self.context.push_value(value) {
            Ok(true) => Ok(()),
            Ok(false) => Err(ManifestError::UnsupportedKind(kind.clone())),
            Err(source) => Err(invalid(source)),
        }
    }
}

/// Parses a manifest of a compact kind and keeps it when it is judged itself.
struct InsertCompact<'a> {
    objects: &'a mut Vec<Arc<Compact>>,
    value: serde_json::Value,
}

impl CompactVisitor for InsertCompact<'_> {
    type Output = Result<(), serde_json::Error>;

    fn visit<K: CompactResource + Clone + Debug + Send + Sync + 'static>(self) -> Self::Output {
        let object: K = serde_json::from_value(self.value)?;
        if judged::judged_itself(K::KIND, &object) {
            self.objects.push(Arc::new(Compact::encode(&object)?));
        }
        Ok(())
    }
}
