//! A failure's automatic fix as the scan's outputs carry it: serialized once, as compact JSON,
//! while its object is at hand. Keeping the fix's value trees until the output and
//! pretty-printing them cost the JSON scan about 7% of its speed and up to 22 MiB on 10,000
//! objects (docs/benchmarks.md); a string costs neither.

use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use hipaa_controls::fix::Fix;

/// The fix as `kubectl hipaa fix -o patch` prints it: `control`, `description`, `patch` (RFC
/// 6902), `create` and `unfixed` when not empty.
#[derive(Clone, Debug)]
pub struct FixJson(Box<RawValue>);

/// What JUnit quotes of a fix.
#[derive(Deserialize)]
struct Quoted<'a> {
    description: String,
    #[serde(borrow)]
    patch: &'a RawValue,
}

impl FixJson {
    /// The fix serialized; None only if it cannot be (its values are JSON already, so never in
    /// practice): the finding is then printed without a fix rather than with a wrong one.
    pub fn new(fix: &Fix) -> Option<Self> {
        serde_json::value::to_raw_value(fix).ok().map(FixJson)
    }

    /// The compact JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// The description and the compact patch (`[{"op":...}]`), for the formats that quote them.
    pub fn description_and_patch(&self) -> Option<(String, &str)> {
        let quoted: Quoted<'_> = serde_json::from_str(self.0.get()).ok()?;
        Some((quoted.description, quoted.patch.get()))
    }
}

impl Serialize for FixJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use hipaa_controls::fix::PatchOp;
    use serde_json::{Value, json};

    use super::*;

    fn fix() -> Fix {
        Fix {
            control: "HIPAA-K8S-PRIVILEGED",
            description: "turn hostIPC off".to_string(),
            patch: vec![PatchOp::Replace {
                path: "/spec/hostIPC".to_string(),
                value: json!(false),
            }],
            create: Vec::new(),
            unfixed: Vec::new(),
        }
    }

    #[test]
    fn the_fix_is_embedded_as_the_same_json_it_serializes_to() {
        let fix = fix();
        let embedded = FixJson::new(&fix).unwrap();
        let pretty = serde_json::to_string_pretty(
            &json!({ "fix": serde_json::to_value(&embedded).unwrap() }),
        )
        .unwrap();
        let back: Value = serde_json::from_str(&pretty).unwrap();
        assert_eq!(back["fix"], serde_json::to_value(&fix).unwrap());
        assert!(!embedded.get().contains('\n'));
    }

    #[test]
    fn junit_quotes_the_description_and_the_compact_patch() {
        let embedded = FixJson::new(&fix()).unwrap();
        let (description, patch) = embedded.description_and_patch().unwrap();
        assert_eq!(description, "turn hostIPC off");
        assert_eq!(patch, fix().patch_json());
    }
}
