//! What a scan read and did not judge: objects of kinds HIPAA Guard does not judge, counted by
//! kind, and documents found in directory walks that are not Kubernetes objects, each with why;
//! and the sentences that say so once.

use std::collections::BTreeMap;

use serde::Serialize;

/// Objects not judged, by kind; and documents found in directory walks that are not Kubernetes
/// objects.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SkippedSummary {
    pub objects: usize,
    /// `apiVersion/kind` (or `kind` for the core group) to count.
    pub kinds: BTreeMap<String, usize>,
    /// Documents (or whole files: Helm templates) found in directory walks that are not
    /// Kubernetes objects, skipped.
    #[serde(rename = "notObjects", skip_serializing_if = "is_zero")]
    pub not_objects: usize,
    /// Each of them, in input order, with why.
    #[serde(rename = "notObjectDocuments", skip_serializing_if = "Vec::is_empty")]
    pub not_object_documents: Vec<SkippedDocument>,
}

/// A document found in a directory walk that is not a Kubernetes object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SkippedDocument {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl SkippedSummary {
    pub fn add(&mut self, kind: String) {
        self.objects += 1;
        *self.kinds.entry(kind).or_default() += 1;
    }

    /// Counts and lists a document found in a walk that is not a Kubernetes object.
    pub fn add_not_object(&mut self, file: String, line: usize, reason: String) {
        self.not_objects += 1;
        self.not_object_documents
            .push(SkippedDocument { file, line, reason });
    }

    /// `skipped 3 documents found in directories that are not Kubernetes objects ...`; None
    /// when there was none.
    pub fn not_objects_sentence(&self) -> Option<String> {
        let noun = match self.not_objects {
            0 => return None,
            1 => "document",
            _ => "documents",
        };
        Some(format!(
            "skipped {} {noun} found in directories that are not Kubernetes objects (Helm charts' files and templates, kustomize and application configuration, invalid YAML): --verbose lists them, --strict refuses them",
            self.not_objects
        ))
    }

    /// One line per document of [`Self::not_objects_sentence`]: `skipped FILE:LINE: why`.
    pub fn not_object_lines(&self) -> impl Iterator<Item = String> + '_ {
        self.not_object_documents
            .iter()
            .map(|d| format!("skipped {}:{}: {}", d.file, d.line, d.reason))
    }

    /// `skipped 3 objects of kinds ConfigMap (2), ServiceAccount`; None when nothing was skipped.
    pub fn sentence(&self) -> Option<String> {
        if self.objects == 0 {
            return None;
        }
        let kinds: Vec<String> = self
            .kinds
            .iter()
            .map(|(kind, n)| {
                if *n == 1 {
                    kind.clone()
                } else {
                    format!("{kind} ({n})")
                }
            })
            .collect();
        let noun = if self.objects == 1 {
            "object"
        } else {
            "objects"
        };
        let label = if self.kinds.len() == 1 {
            "kind"
        } else {
            "kinds"
        };
        Some(format!(
            "skipped {} {noun} of {label} HIPAA Guard does not judge: {}",
            self.objects,
            kinds.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn documents_that_are_not_objects_are_counted_and_listed() {
        let mut skipped = SkippedSummary::default();
        assert_eq!(skipped.not_objects_sentence(), None);
        let json = serde_json::to_value(&skipped).unwrap();
        assert!(json.get("notObjects").is_none(), "{json}");
        skipped.add_not_object("a/values.yaml".into(), 1, "no kind".into());
        assert!(skipped.not_objects_sentence().unwrap().starts_with(
            "skipped 1 document found in directories that are not Kubernetes objects"
        ));
        skipped.add_not_object("a/t.yaml".into(), 4, "invalid YAML".into());
        assert!(
            skipped
                .not_objects_sentence()
                .unwrap()
                .starts_with("skipped 2 documents")
        );
        let lines: Vec<String> = skipped.not_object_lines().collect();
        assert_eq!(
            lines,
            [
                "skipped a/values.yaml:1: no kind",
                "skipped a/t.yaml:4: invalid YAML"
            ]
        );
        let json = serde_json::to_value(&skipped).unwrap();
        assert_eq!(json["notObjects"], 2);
        assert_eq!(json["notObjectDocuments"][1]["line"], 4);
        assert_eq!(json["notObjectDocuments"][1]["reason"], "invalid YAML");
    }

    #[test]
    fn skipped_sentence_counts_kinds() {
        let mut skipped = SkippedSummary::default();
        assert_eq!(skipped.sentence(), None);
        skipped.add("ConfigMap".into());
        assert_eq!(
            skipped.sentence().unwrap(),
            "skipped 1 object of kind HIPAA Guard does not judge: ConfigMap"
        );
        skipped.add("ConfigMap".into());
        skipped.add("example.com/v1 Widget".into());
        assert_eq!(
            skipped.sentence().unwrap(),
            "skipped 3 objects of kinds HIPAA Guard does not judge: ConfigMap (2), example.com/v1 Widget"
        );
    }
}
