//! Inputs the fuzz targets (fuzz/, docs/reliability.md "Fuzzing") turned up, read the ways the
//! scan reads them: each is refused with a message, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;

use kubectl_hipaa::input::{InputError, InputPath, read_objects};
use kubectl_hipaa::scan::typed::typed_object;

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read(text: &str) -> Result<usize, InputError> {
    let mut stdin = text.as_bytes();
    let mut objects = 0;
    read_objects::<InputError>(&[InputPath::Stdin], &mut stdin, |_| {
        objects += 1;
        Ok(())
    })
    .map(|()| objects)
}

/// yaml_serde 0.10.7 panics when a document from its multi-document iterator holds an undefined
/// alias and is deserialized into a struct; the scan reads one document at a time and refuses it.
#[test]
fn an_undefined_alias_is_refused_not_a_panic() {
    for name in ["undefined-alias.yaml", "undefined-alias-deployment.yaml"] {
        let text = fixture(name);
        let err = read(&text).expect_err(name);
        assert!(err.to_string().starts_with("<stdin>:"), "{name}: {err}");
        assert!(typed_object(&text, "default").is_none(), "{name}");
    }
}
