//! Automatic fixes: for a failed finding on a Kubernetes object, the smallest change that makes
//! the control pass, as RFC 6902 JSON Patch operations on the object (plus, where the fix needs
//! them, objects to create). Pure: the fix is decided from the engine's typed object and the
//! context it was judged in, and never copies a value out of the object that could be a secret.
//!
//! Only safe, deterministic fixes are offered; anything else (`propose` returns None) keeps the
//! control's remediation text. A fix that covers only some of a finding's problems says what it
//! leaves (`unfixed`), so callers know the finding will remain.

mod ingress;
mod network;
mod pointer;
mod secrets;
mod security;
mod workload;

use serde::Serialize;
use serde_json::Value;

use crate::catalog::ids;
use crate::context::ClusterContext;
use crate::model::{Finding, Outcome};
use crate::object::Object;
use crate::policy::EffectivePolicy;

pub use pointer::escape_token;

/// One RFC 6902 operation (only the three the fixes need).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum PatchOp {
    /// Sets a member (creating it, or replacing it when present) or inserts into an array.
    Add {
        path: String,
        value: Value,
    },
    /// Replaces a value that is present.
    Replace {
        path: String,
        value: Value,
    },
    Remove {
        path: String,
    },
}

impl PatchOp {
    /// The JSON Pointer the operation targets.
    pub fn path(&self) -> &str {
        match self {
            PatchOp::Add { path, .. }
            | PatchOp::Replace { path, .. }
            | PatchOp::Remove { path } => path,
        }
    }
}

/// The meshes whose injection HIPAA-K8S-TLS-WORKLOAD reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mesh {
    /// The pod label `sidecar.istio.io/inject: "true"`.
    #[default]
    Istio,
    /// The pod annotation `linkerd.io/inject: enabled`.
    Linkerd,
}

/// Choices a fix cannot derive from the object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FixOptions {
    /// The mesh to enable for HIPAA-K8S-TLS-WORKLOAD.
    pub mesh: Mesh,
}

/// An automatic fix for one finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fix {
    /// The control it fixes.
    pub control: &'static str,
    /// What the change does, for a human.
    pub description: String,
    /// The operations on the object, in order.
    pub patch: Vec<PatchOp>,
    /// Objects to create beside it (a default-deny NetworkPolicy, a Secret skeleton).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub create: Vec<Value>,
    /// The finding's problems this fix leaves (the finding remains after it); empty when the fix
    /// makes the control pass.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unfixed: Vec<String>,
}

impl Fix {
    /// Whether applying the fix makes the control pass.
    pub fn is_complete(&self) -> bool {
        self.unfixed.is_empty()
    }

    /// The patch as compact JSON (`[{"op":"add",...}]`), as `kubectl patch --type=json` takes it.
    pub fn patch_json(&self) -> String {
        serde_json::to_string(&self.patch).unwrap_or_else(|_| "[]".to_string())
    }
}

/// What a fix builder returns before it is named after its control.
pub(crate) struct Change {
    pub description: String,
    pub patch: Vec<PatchOp>,
    pub create: Vec<Value>,
    pub unfixed: Vec<String>,
}

impl Change {
    /// None when the change does nothing (nothing could be fixed).
    fn into_fix(self, control: &'static str) -> Option<Fix> {
        if self.patch.is_empty() && self.create.is_empty() {
            return None;
        }
        Some(Fix {
            control,
            description: self.description,
            patch: self.patch,
            create: self.create,
            unfixed: self.unfixed,
        })
    }
}

/// The controls that have automatic fixes.
pub const FIXABLE_CONTROLS: &[&str] = &[
    ids::K8S_PRIVILEGED,
    ids::K8S_HA,
    ids::K8S_TLS_INGRESS,
    ids::K8S_NETPOL,
    ids::K8S_TLS_WORKLOAD,
    ids::K8S_SECRETS_IN_ENV,
];

/// The automatic fix for `finding` on `object`, judged in `ctx` under `policy`; None when the
/// finding is not a failure or has no safe automatic fix (its control's remediation says how).
pub fn propose(
    object: &Object,
    finding: &Finding,
    ctx: &ClusterContext,
    policy: &EffectivePolicy,
    options: &FixOptions,
) -> Option<Fix> {
    if finding.outcome != Outcome::Fail {
        return None;
    }
    let id = finding.control.id;
    let parameters = &policy.setting(id)?.parameters;
    let change = match id {
        ids::K8S_PRIVILEGED => security::fix(object)?,
        ids::K8S_HA => workload::fix_replicas_and_spread(object, ctx, parameters)?,
        ids::K8S_TLS_WORKLOAD => workload::fix_mesh(object, options.mesh)?,
        ids::K8S_TLS_INGRESS => ingress::fix(object)?,
        ids::K8S_NETPOL => network::fix(object, ctx, parameters)?,
        ids::K8S_SECRETS_IN_ENV => secrets::fix(object, &finding.message)?,
        _ => return None,
    };
    change.into_fix(finding.control.id)
}
