//! The effective policy for a namespace: which controls apply, with which enforcement and
//! parameters, and which exceptions are in force, merged from every HipaaPolicy that selects it.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use hipaa_crds::{Enforcement, HipaaPolicy, HipaaPolicySpec, PolicyException};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::model::Severity;

/// A control's parameters after defaults are applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Parameters {
    /// HIPAA-K8S-IMAGE-REGISTRY; `None` means "any ECR registry".
    pub allowed_registries: Option<Vec<String>>,
    pub require_egress: bool,
    pub min_replicas: i32,
    pub min_version: (u32, u32),
    pub fail_on: Severity,
    pub max_age_days: i64,
}

/// How one control applies.
#[derive(Clone, Debug, PartialEq)]
pub struct ControlSetting {
    pub enforcement: Enforcement,
    pub parameters: Parameters,
}

/// An exception with the policy it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct ScopedException {
    pub policy: String,
    pub index: usize,
    pub exception: PolicyException,
}

/// What applies in one namespace (or for one policy).
#[derive(Clone, Debug, PartialEq)]
pub struct EffectivePolicy {
    /// The names of the policies merged into this one.
    pub policies: Vec<String>,
    /// Controls that apply, by ID; a control absent here is disabled.
    pub controls: HashMap<&'static str, ControlSetting>,
    pub exceptions: Vec<ScopedException>,
}

/// A reason a HipaaPolicy spec is invalid beyond what the CRD's schema catches.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("spec.controls[{index}]: unknown control {id} (see kubectl hipaa controls)")]
    UnknownControl { index: usize, id: String },
    #[error("spec.controls[{index}]: {id} does not take the parameter {parameter}")]
    UnexpectedParameter { index: usize, id: String, parameter: String },
    #[error("spec.controls[{index}]: {id}: {message}")]
    InvalidParameter { index: usize, id: String, message: String },
    #[error("spec.exceptions[{index}]: unknown control {id}")]
    UnknownExceptionControl { index: usize, id: String },
    #[error("spec.namespaceSelector: {message}")]
    InvalidSelector { message: String },
    #[error("spec.auditInterval: {message}")]
    InvalidInterval { message: String },
}
