//! The one table of every Kubernetes kind HIPAA Guard reads: how the API serves it (group,
//! versions, plural, scope), whether the engine judges it, which admission requests the webhook
//! asks for, and which watch caches the webhook and the operator keep of it (and which kinds the
//! webhook counts per namespace). The webhook's rules, the operator's caches and its webhook
//! registration, `kubectl hipaa report`'s listing and the chart's RBAC all follow from here;
//! `tests/tests/kind_table.rs` fails when the chart says otherwise. A row's fields are described
//! in [`super::info`].
//!
//! Adding a kind is one row here (and, when the engine judges it, a variant of [`ObjectKind`] and
//! [`crate::Object`]).

use super::ObjectKind;
use super::admission::Admission;
use super::info::{KindInfo, OperatorUse, Owners};
use crate::model::Target;

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

/// A row for an RBAC kind: the webhook keeps a cache of it (the access model) and judges its
/// writes (what access they add in a governed namespace). Deletions are not asked for: RBAC only
/// adds, so removing an object can never grant anything.
const fn rbac(kind: &'static str, plural: &'static str, namespaced: bool) -> KindInfo {
    KindInfo {
        kind,
        api_versions: RBAC,
        plural,
        namespaced,
        object: None,
        targets: &[],
        admission: Admission::WRITES,
        context: true,
        webhook_watches: true,
        webhook_counts: false,
        // The operator's access model reads every one (the access controls' audits).
        operator: OperatorUse::Watched,
        optional: false,
    }
}

const POD_TEMPLATE: &[Target] = &[Target::PodTemplate];
const CORE: &[&str] = &["v1"];
const APPS: &[&str] = &["apps/v1"];
const BATCH: &[&str] = &["batch/v1"];
const NETWORKING: &[&str] = &["networking.k8s.io/v1"];
const RBAC: &[&str] = &["rbac.authorization.k8s.io/v1"];
/// external-secrets.io, newest first.
const EXTERNAL_SECRETS: &[&str] = &["external-secrets.io/v1", "external-secrets.io/v1beta1"];

use ObjectKind as K;

/// Every kind HIPAA Guard reads. The rows for the engine's kinds come first, in
/// [`ObjectKind::ALL`]'s order ([`ObjectKind::info`] relies on it; a test checks it).
pub static KINDS: [KindInfo; 25] = [
    KindInfo {
        // `kubectl debug` adds ephemeral containers through this subresource: judged like the
        // pod they join.
        admission: Admission::writes_and(&["ephemeralcontainers"]),
        ..workload(
            K::Pod,
            "Pod",
            CORE,
            "pods",
            POD_TEMPLATE,
            Owners::NoController,
        )
    },
    KindInfo {
        // `kubectl scale` writes the replica count through this subresource (HIPAA-K8S-HA).
        admission: Admission::writes_and(&["scale"]),
        ..workload(
            K::Deployment,
            "Deployment",
            APPS,
            "deployments",
            &[Target::PodTemplate, Target::Deployment],
            Owners::Any,
        )
    },
    KindInfo {
        admission: Admission::writes_and(&["scale"]),
        ..workload(
            K::StatefulSet,
            "StatefulSet",
            APPS,
            "statefulsets",
            &[Target::PodTemplate, Target::StatefulSet],
            Owners::Any,
        )
    },
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
        // HIPAA-K8S-NETPOL weighs what a change uncovers: a deletion, an update that narrows
        // what it restricts, a new or changed rule that lets everything in.
        admission: Admission::WRITES_AND_DELETIONS,
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
    KindInfo {
        // HIPAA-K8S-HA: the replica count of a workload an autoscaler scales is the
        // autoscaler's, and its scale writes are the autoscaler's too.
        kind: "HorizontalPodAutoscaler",
        api_versions: &["autoscaling/v2"],
        plural: "horizontalpodautoscalers",
        namespaced: true,
        object: None,
        targets: &[],
        admission: Admission::NONE,
        context: true,
        webhook_watches: true,
        webhook_counts: false,
        operator: OperatorUse::Watched,
        optional: false,
    },
    rbac("Role", "roles", true),
    rbac("ClusterRole", "clusterroles", false),
    rbac("RoleBinding", "rolebindings", true),
    rbac("ClusterRoleBinding", "clusterrolebindings", false),
    KindInfo {
        // HIPAA-K8S-SA-TOKEN reads whether a ServiceAccount mounts its token.
        kind: "ServiceAccount",
        api_versions: CORE,
        plural: "serviceaccounts",
        namespaced: true,
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
