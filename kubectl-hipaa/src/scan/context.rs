//! The context that context-dependent controls are judged against: the inputs' own Namespaces,
//! NetworkPolicies, PVCs, StorageClasses, HorizontalPodAutoscalers and Velero Schedules, on top
//! of the live cluster's with `--cluster` (an input replaces the cluster object of the same name:
//! it is what is about to be applied). HorizontalPodAutoscalers are not listed in `Completeness`:
//! without one, HIPAA-K8S-HA judges the workload's own replicas, the stricter reading.
//!
//! Offline, what the context is taken to know (`Completeness`), and so whether a check says
//! Fail or "cannot evaluate" (Error):
//! - NetworkPolicies and PVCs: the inputs are the whole truth. A workload without a
//!   NetworkPolicy among the inputs fails HIPAA-K8S-NETPOL; `--cluster` counts the cluster's.
//! - Namespaces: only those among the inputs are known. A namespace that is not is judged under
//!   a stated assumption (`super::assumption`, said once in the summary): by default the
//!   strictest, a PHI production namespace without mesh injection that every policy selects;
//!   with `--assume-namespace-labels`, a namespace carrying exactly the given labels, which the
//!   policies' namespaceSelectors are matched against; with `--no-assume-namespace`, nothing:
//!   the checks that need its labels (HIPAA-K8S-HA, HIPAA-K8S-DEV-PHI, mesh injection) report
//!   Error and every policy selects it, as before the assumption existed.
//! - StorageClasses and Velero Schedules, which platforms rather than applications ship: known
//!   only when the inputs hold at least one object of the kind; otherwise the checks that need
//!   them report Error.
//! - Roles, ClusterRoles, their bindings and ServiceAccounts: the inputs are the whole truth when
//!   they hold any; with none, the access controls of namespaces are not judged (the cluster's
//!   access is not what a scan of manifests asks) and HIPAA-K8S-SA-TOKEN reports Error for a pod
//!   that mounts a named ServiceAccount's token.

use hipaa_controls::access::{AccessEvidence, RbacSet};
use hipaa_controls::{ClusterContext, Completeness, ContextObjects};

use super::manifests::Manifests;
pub use crate::cluster::read::LiveContext;

/// Builds the context from the inputs, on top of `live` when given.
pub fn build_context(manifests: &Manifests, live: Option<&LiveContext>) -> ClusterContext {
    let inputs = &manifests.context;
    let completeness = match live {
        Some(_) => Completeness::default(),
        None => Completeness {
            namespaces: false,
            network_policies: true,
            pvcs: true,
            storage_classes: !inputs.storage_classes.is_empty(),
            backup_schedules: !inputs.backup_schedules.is_empty(),
        },
    };
    let mut ctx = match live {
        Some(live) => ClusterContext::from_objects(&live.context, completeness),
        None => ClusterContext::from_objects(&ContextObjects::default(), completeness),
    };
    ctx.add_objects(inputs);
    ctx.set_access(access_evidence(&inputs.rbac, live));
    ctx
}

/// What the scan knows of access: the live cluster's RBAC under the inputs' (an input replaces
/// the cluster's object of the same name), the inputs' alone offline when they hold any, and
/// nothing otherwise (the namespace-wide access controls are then not judged).
fn access_evidence(inputs: &RbacSet, live: Option<&LiveContext>) -> AccessEvidence {
    match live {
        Some(LiveContext {
            rbac_unreadable: Some(reason),
            ..
        }) => AccessEvidence::Unreadable(reason.clone()),
        Some(live) => {
            let mut set = live.context.rbac.clone();
            set.overlay(inputs);
            AccessEvidence::of(&set)
        }
        None if inputs.has_no_rbac() && inputs.service_accounts.is_empty() => {
            AccessEvidence::NotObserved
        }
        None => AccessEvidence::of(inputs),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use hipaa_controls::BackupSchedule;
    use k8s_openapi::api::core::v1::Namespace;
    use k8s_openapi::api::storage::v1::StorageClass;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn namespace(name: &str, env: &str) -> Arc<Namespace> {
        Arc::new(Namespace {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(BTreeMap::from([(
                    "hipaaguard.io/environment".to_string(),
                    env.to_string(),
                )])),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        })
    }

    #[test]
    fn offline_completeness_follows_the_documented_rules() {
        let mut manifests = Manifests::default();
        let ctx = build_context(&manifests, None);
        assert!(!ctx.completeness.namespaces);
        assert!(ctx.completeness.network_policies && ctx.completeness.pvcs);
        assert!(!ctx.completeness.storage_classes && !ctx.completeness.backup_schedules);
        manifests
            .context
            .storage_classes
            .push(Arc::new(StorageClass::default()));
        assert!(build_context(&manifests, None).completeness.storage_classes);
    }

    #[test]
    fn with_the_cluster_everything_is_known_and_inputs_win() {
        let mut manifests = Manifests::default();
        manifests
            .context
            .namespaces
            .push(namespace("billing", "development"));
        let live = LiveContext {
            context: ContextObjects {
                namespaces: vec![
                    namespace("billing", "production"),
                    namespace("tools", "production"),
                ],
                backup_schedules: vec![BackupSchedule {
                    name: "daily".into(),
                    ..BackupSchedule::default()
                }],
                ..ContextObjects::default()
            },
            ..LiveContext::default()
        };
        manifests.context.backup_schedules.push(BackupSchedule {
            name: "daily".into(),
            ..BackupSchedule::default()
        });
        let ctx = build_context(&manifests, Some(&live));
        assert_eq!(ctx.completeness, Completeness::default());
        let env = |name: &str| {
            ctx.namespace(name)
                .unwrap()
                .metadata
                .labels
                .as_ref()
                .unwrap()["hipaaguard.io/environment"]
                .clone()
        };
        assert_eq!(env("billing"), "development");
        assert_eq!(env("tools"), "production");
        assert_eq!(ctx.backup_schedules().len(), 1);
    }
}
