//! HIPAA Guard's control catalog and the one pure engine that judges Kubernetes objects and AWS
//! snapshots against it. No I/O: no client, no runtime, no network, no filesystem.
//!
//! The public API is described in docs/engine-api.md.

pub mod access;
pub mod aws;
pub mod catalog;
mod check;
pub mod context;
pub mod duration;
pub mod engine;
pub mod fix;
pub mod image_ref;
mod json;
mod k8s;
pub mod model;
pub mod object;
pub mod policy;
pub mod redact;
pub mod selector;
pub mod tally;
pub mod validate;

pub use catalog::{catalog, control};
pub use context::{
    BackupSchedule, ClusterContext, Completeness, ContextObjects, DEFAULT_STORAGE_CLASS_ANNOTATION,
};
pub use duration::{DurationError, parse_duration, parse_positive_duration};
pub use engine::{
    Departure, Evaluation, Mode, RBAC_KINDS, evaluate, evaluate_namespace_departures,
    evaluate_network_policy_creation, evaluate_network_policy_deletion,
    evaluate_network_policy_update, evaluate_rbac_change, evaluate_rbac_change_of, evaluate_scale,
};
pub use image_ref::ImageReference;
pub use k8s::secrets_env::{
    CredentialKind, LiteralCredential, credential_in_value, literal_credential, names_credential,
};
pub use k8s::{ENVIRONMENT_LABEL, PHI_LABEL};
pub use model::{
    Control, ExceptionRef, Finding, Outcome, ParameterSpec, ResourceRef, Scope, Severity, Target,
};
pub use object::{Object, ObjectError, PodTemplate};
pub use policy::{
    ControlSetting, EffectivePolicy, Parameters, PolicyError, ScopedException, glob_matches,
    selector_matches,
};
pub use validate::{validate_policy, validate_policy_change};

/// The HipaaPolicy types, re-exported so that callers need not name hipaa-crds separately.
pub use hipaa_crds::{Enforcement, HipaaPolicy, HipaaPolicySpec};
