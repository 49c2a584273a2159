//! What the fuzz targets share: the repository's fixtures, a webhook judging against the fixture
//! cluster, and structure-aware edits of Kubernetes objects. Built only by `scripts/fuzz.sh`
//! (the instrumented nightly build); see docs/reliability.md (Fuzzing).

pub mod admission;
pub mod edits;
pub mod fixtures;
