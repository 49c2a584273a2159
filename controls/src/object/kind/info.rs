//! One row of the kind table ([`super::table::KINDS`]): what HIPAA Guard knows of a kind (API
//! names, scope, the engine's kind, admission, the caches kept of it), and what the operator's
//! audit does with it.

use super::ObjectKind;
use super::admission::Admission;
use crate::model::Target;

/// Which objects of a judged kind the operator's audit judges itself; the others are judged
/// through their owner (a Pod through its ReplicaSet, that ReplicaSet through its Deployment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owners {
    /// Every object.
    Any,
    /// Objects no controller owns (Pods, Jobs).
    NoController,
    /// Objects with no owner at all (ReplicaSets: a Deployment owns them as controller, but one
    /// adopted from another owner is not judged on its own either).
    NoOwner,
}

impl Owners {
    /// Whether an object with these owner references is judged itself. `controllers` says, for
    /// each reference, whether it is the object's controller.
    pub fn judged_itself(self, mut controllers: impl Iterator<Item = bool>) -> bool {
        match self {
            Owners::Any => true,
            Owners::NoController => !controllers.any(|controller| controller),
            Owners::NoOwner => controllers.next().is_none(),
        }
    }
}

/// What the operator does with a kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperatorUse {
    /// Not read.
    None,
    /// Watched, as context of decisions or as links to AWS, not judged itself.
    Watched,
    /// Watched and judged by the audit.
    Judged(Owners),
}

/// One kind HIPAA Guard reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindInfo {
    pub kind: &'static str,
    /// The `apiVersion`s read (`group/version`, the version alone in the core group), preferred
    /// first: an optional CRD may only serve an older one.
    pub api_versions: &'static [&'static str],
    /// The resource name in URLs and RBAC rules.
    pub plural: &'static str,
    pub namespaced: bool,
    /// The engine's kind, when it parses objects of this kind.
    pub object: Option<ObjectKind>,
    /// What the controls that judge this kind look at (empty for kinds not judged).
    pub targets: &'static [Target],
    pub admission: Admission,
    /// Decisions about other objects read it ([`crate::ClusterContext`]).
    pub context: bool,
    /// The webhook keeps a watch cache of it (the context its decisions read).
    pub webhook_watches: bool,
    /// The webhook counts its objects per namespace from a metadata-only watch: whether a
    /// namespace holds workloads decides HIPAA-K8S-PHI-SCOPE on a Namespace's label change.
    pub webhook_counts: bool,
    pub operator: OperatorUse,
    /// A CustomResourceDefinition that may be absent: looked for at start and again later, and
    /// tolerated when missing.
    pub optional: bool,
}

/// The API group of the RBAC kinds.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// The verbs a component needs on a kind it watches.
pub const READ_VERBS: [&str; 3] = ["get", "list", "watch"];

impl KindInfo {
    /// The preferred `apiVersion`.
    pub fn api_version(&self) -> &'static str {
        self.api_versions.first().copied().unwrap_or("v1")
    }

    /// The API group; empty for the core group.
    pub fn group(&self) -> &'static str {
        split(self.api_version()).0
    }

    /// The preferred version.
    pub fn version(&self) -> &'static str {
        split(self.api_version()).1
    }

    /// Every version read, preferred first.
    pub fn versions(&self) -> impl Iterator<Item = &'static str> {
        self.api_versions
            .iter()
            .map(|api_version| split(api_version).1)
    }

    /// Whether it is one of the RBAC kinds (Role, ClusterRole and their bindings): admission
    /// judges their writes by what access they add ([`crate::evaluate_rbac_change`]).
    pub fn is_rbac(&self) -> bool {
        self.group() == RBAC_GROUP
    }

    /// Whether the operator watches it (as context, link or judged object).
    pub fn operator_watches(&self) -> bool {
        self.operator != OperatorUse::None
    }

    /// Whether an object of this kind with these owner references is judged itself rather than
    /// through its owner; `controllers` says, for each reference, whether it is the object's
    /// controller. Kinds the operator does not judge keep every object.
    pub fn judged_itself(&self, controllers: impl Iterator<Item = bool>) -> bool {
        match self.operator {
            OperatorUse::Judged(owners) => owners.judged_itself(controllers),
            OperatorUse::Watched | OperatorUse::None => true,
        }
    }

    /// Whether the operator judges it and keeps it in a compact cache: judged, and not also
    /// context (context kinds are kept as structs, since every decision reads them).
    pub fn operator_compact(&self) -> bool {
        matches!(self.operator, OperatorUse::Judged(_)) && !self.context
    }
}

/// An `apiVersion`'s group and version.
fn split(api_version: &'static str) -> (&'static str, &'static str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}
