//! The one table of every Kubernetes kind HIPAA Guard reads: how the API serves it (group,
//! versions, plural, scope), whether the engine judges it, which admission requests the webhook
//! asks for, and which watch caches the webhook and the operator keep of it (and which kinds the
//! webhook counts per namespace). The webhook's rules,
//! the operator's caches, `kubectl hipaa report`'s listing and the chart's RBAC all follow from
//! here; `tests/tests/kind_table.rs` fails when the chart says otherwise.
//!
//! Adding a kind is one row here (and, when the engine judges it, a variant of [`ObjectKind`] and
//! [`crate::Object`]).

use super::ObjectKind;
use super::admission::{Admission, Operation};
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

/// A row for a kind the engine judges, served at `v1`, namespaced, with no context role.
const fn judged(
    object: ObjectKind,
    kind: &'static str,
    api_version: &'static [&'static str],
    plural: &'static str,
    targets: &'static [Target],
    owners: Owners,
) -> KindInfo {
    KindInfo {
        kind,
        api_versions: api_version,
        plural,
        namespaced: true,
        object: Some(object),
        targets,
        admission: Admission::WRITES,
        context: false,
        webhook_watches: false,
        webhook_counts: false,
        operator: OperatorUse::Judged(owners),
        optional: false,
    }
}

/// A row for a kind that runs pods: judged, and counted per namespace by the webhook.
const fn workload(
    object: ObjectKind,
    kind: &'static str,
    api_version: &'static [&'static str],
    plural: &'static str,
    targets: &'static [Target],
    owners: Owners,
) -> KindInfo {
    KindInfo {
        webhook_counts: true,
        ..judged(object, kind, api_version, plural, targets, owners)
    }
}

/// A row for an optional CRD the operator watches as links or context.
const fn optional(
    kind: &'static str,
    api_versions: &'static [&'static str],
    plural: &'static str,
    namespaced: bool,
    context: bool,
) -> KindInfo {
    KindInfo {
        kind,
        api_versions,
        plural,
        namespaced,
        object: None,
        targets: &[],
        admission: Admission::NONE,
        context,
        webhook_watches: false,
        webhook_counts: false,
        operator: OperatorUse::Watched,
        optional: true,
    }
}

const POD_TEMPLATE: &[Target] = &[Target::PodTemplate];
const CORE: &[&str] = &["v1"];
const APPS: &[&str] = &["apps/v1"];
const BATCH: &[&str] = &["batch/v1"];
const NETWORKING: &[&str] = &["networking.k8s.io/v1"];
/// external-secrets.io, newest first.
const EXTERNAL_SECRETS: &[&str] = &["external-secrets.io/v1", "external-secrets.io/v1beta1"];

use ObjectKind as K;

/// Every kind HIPAA Guard reads. The rows for the engine's kinds come first, in
/// [`ObjectKind::ALL`]'s order ([`ObjectKind::info`] relies on it; a test checks it).
pub static KINDS: [KindInfo; 19] = [
    workload(
        K::Pod,
        "Pod",
        CORE,
        "pods",
        POD_TEMPLATE,
        Owners::NoController,
    ),
    workload(
        K::Deployment,
        "Deployment",
        APPS,
        "deployments",
        &[Target::PodTemplate, Target::Deployment],
        Owners::Any,
    ),
    workload(
        K::StatefulSet,
        "StatefulSet",
        APPS,
        "statefulsets",
        &[Target::PodTemplate, Target::StatefulSet],
        Owners::Any,
    ),
    workload(
        K::DaemonSet,
        "DaemonSet",
        APPS,
        "daemonsets",
        POD_TEMPLATE,
        Owners::Any,
    ),
    workload(
        K::ReplicaSet,
        "ReplicaSet",
        APPS,
        "replicasets",
        POD_TEMPLATE,
        Owners::NoOwner,
    ),
    workload(
        K::Job,
        "Job",
        BATCH,
        "jobs",
        POD_TEMPLATE,
        Owners::NoController,
    ),
    workload(
        K::CronJob,
        "CronJob",
        BATCH,
        "cronjobs",
        POD_TEMPLATE,
        Owners::Any,
    ),
    judged(
        K::Service,
        "Service",
        CORE,
        "services",
        &[Target::LoadBalancerService],
        Owners::Any,
    ),
    judged(
        K::Ingress,
        "Ingress",
        NETWORKING,
        "ingresses",
        &[Target::Ingress],
        Owners::Any,
    ),
    KindInfo {
        context: true,
        webhook_watches: true,
        ..judged(
            K::PersistentVolumeClaim,
            "PersistentVolumeClaim",
            CORE,
            "persistentvolumeclaims",
            &[Target::PersistentVolumeClaim],
            Owners::Any,
        )
    },
    KindInfo {
        // Judged when created or relabelled: HIPAA-K8S-DEV-PHI on the new labels, and
        // HIPAA-K8S-PHI-SCOPE on a change that leaves a policy's namespaceSelector.
        namespaced: false,
        context: true,
        webhook_watches: true,
        ..judged(
            K::Namespace,
            "Namespace",
            CORE,
            "namespaces",
            &[Target::Namespace],
            Owners::Any,
        )
    },
    KindInfo {
        // Judged on deletion only: HIPAA-K8S-NETPOL weighs what removing it uncovers.
        admission: Admission {
            operations: &[Operation::Delete],
            subresources: &[],
        },
        context: true,
        webhook_watches: true,
        operator: OperatorUse::Watched,
        ..judged(
            K::NetworkPolicy,
            "NetworkPolicy",
            NETWORKING,
            "networkpolicies",
            &[Target::NetworkPolicy],
            Owners::Any,
        )
    },
    KindInfo {
        kind: "StorageClass",
        api_versions: &["storage.k8s.io/v1"],
        plural: "storageclasses",
        namespaced: false,
        object: None,
        targets: &[],
        admission: Admission::NONE,
        context: true,
        webhook_watches: true,
        webhook_counts: false,
        operator: OperatorUse::Watched,
        optional: false,
    },
    HIPAA_POLICY,
    VELERO_SCHEDULE,
    SECRET_PROVIDER_CLASS,
    EXTERNAL_SECRET,
    SECRET_STORE,
    CLUSTER_SECRET_STORE,
];

/// HIPAA Guard's own kind: admission validates each policy written (the operator's checks, and
/// exceptions that expire in the future). Not an engine kind, so no [`ObjectKind`]. Both
/// components watch it outside this table, with rights it does not describe (the operator writes
/// its status), so its row says nothing about caches.
pub const HIPAA_POLICY: KindInfo = KindInfo {
    kind: "HipaaPolicy",
    api_versions: &["hipaaguard.io/v1alpha1"],
    plural: "hipaapolicies",
    namespaced: false,
    object: None,
    targets: &[],
    admission: Admission::WRITES,
    context: false,
    webhook_watches: false,
    webhook_counts: false,
    operator: OperatorUse::None,
    optional: false,
};

/// Velero's backup schedules: HIPAA-K8S-BACKUP reads which namespaces each covers.
pub const VELERO_SCHEDULE: KindInfo =
    optional("Schedule", &["velero.io/v1"], "schedules", true, true);

/// The Secrets Store CSI driver's classes: links from workloads to AWS Secrets Manager.
pub const SECRET_PROVIDER_CLASS: KindInfo = optional(
    "SecretProviderClass",
    &["secrets-store.csi.x-k8s.io/v1"],
    "secretproviderclasses",
    true,
    false,
);

/// External Secrets Operator's kinds: links from workloads to AWS Secrets Manager.
pub const EXTERNAL_SECRET: KindInfo = optional(
    "ExternalSecret",
    EXTERNAL_SECRETS,
    "externalsecrets",
    true,
    false,
);
pub const SECRET_STORE: KindInfo =
    optional("SecretStore", EXTERNAL_SECRETS, "secretstores", true, false);
pub const CLUSTER_SECRET_STORE: KindInfo = optional(
    "ClusterSecretStore",
    EXTERNAL_SECRETS,
    "clustersecretstores",
    false,
    false,
);
