//! The context that context-dependent controls are judged against: the inputs' own Namespaces,
//! NetworkPolicies, PVCs, StorageClasses and Velero Schedules, on top of the live cluster's with
//! `--cluster` (an input replaces the cluster object of the same name: it is what is about to
//! be applied).
//!
//! Offline, what the context is taken to know (`Completeness`), and so whether a check says
//! Fail or "cannot evaluate" (Error):
//! - NetworkPolicies and PVCs: the inputs are the whole truth. A workload without a
//!   NetworkPolicy among the inputs fails HIPAA-K8S-NETPOL; `--cluster` counts the cluster's.
//! - Namespaces: only those among the inputs are known. Checks that need the labels of a
//!   namespace that is not (HIPAA-K8S-HA, HIPAA-K8S-DEV-PHI, mesh injection) report Error.
//! - StorageClasses and Velero Schedules, which platforms rather than applications ship: known
//!   only when the inputs hold at least one object of the kind; otherwise the checks that need
//!   them report Error.

use std::sync::Arc;

use hipaa_controls::{BackupSchedule, ClusterContext, Completeness, HipaaPolicy};
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::storage::v1::StorageClass;

use super::manifests::Manifests;

/// What `--cluster` read from the live cluster.
#[derive(Clone, Debug, Default)]
pub struct LiveContext {
    pub namespaces: Vec<Arc<Namespace>>,
    pub network_policies: Vec<Arc<NetworkPolicy>>,
    pub pvcs: Vec<Arc<PersistentVolumeClaim>>,
    pub storage_classes: Vec<Arc<StorageClass>>,
    pub backup_schedules: Vec<BackupSchedule>,
    pub policies: Vec<HipaaPolicy>,
}

/// Builds the context from the inputs, on top of `live` when given.
pub fn build_context(manifests: &Manifests, live: Option<&LiveContext>) -> ClusterContext {
    let mut ctx = ClusterContext::new();
    if let Some(live) = live {
        insert_all(
            &mut ctx,
            &live.namespaces,
            &live.network_policies,
            &live.pvcs,
            &live.storage_classes,
            &live.backup_schedules,
        );
    }
    insert_all(
        &mut ctx,
        &manifests.namespaces,
        &manifests.network_policies,
        &manifests.pvcs,
        &manifests.storage_classes,
        &manifests.backup_schedules,
    );
    ctx.completeness = match live {
        Some(_) => Completeness::default(),
        None => Completeness {
            namespaces: false,
            network_policies: true,
            pvcs: true,
            storage_classes: !manifests.storage_classes.is_empty(),
            backup_schedules: !manifests.backup_schedules.is_empty(),
        },
    };
    ctx
}

fn insert_all(
    ctx: &mut ClusterContext,
    namespaces: &[Arc<Namespace>],
    network_policies: &[Arc<NetworkPolicy>],
    pvcs: &[Arc<PersistentVolumeClaim>],
    storage_classes: &[Arc<StorageClass>],
    backup_schedules: &[BackupSchedule],
) {
    for ns in namespaces {
        ctx.insert_namespace(ns.clone());
    }
    for np in network_policies {
        ctx.insert_network_policy(np.clone());
    }
    for pvc in pvcs {
        ctx.insert_pvc(pvc.clone());
    }
    for class in storage_classes {
        ctx.insert_storage_class(class.clone());
    }
    for schedule in backup_schedules {
        if !ctx
            .backup_schedules()
            .iter()
            .any(|s| s.name == schedule.name)
        {
            ctx.insert_backup_schedule(schedule.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use std::collections::BTreeMap;

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
            .storage_classes
            .push(Arc::new(StorageClass::default()));
        assert!(build_context(&manifests, None).completeness.storage_classes);
    }

    #[test]
    fn with_the_cluster_everything_is_known_and_inputs_win() {
        let mut manifests = Manifests::default();
        manifests
            .namespaces
            .push(namespace("billing", "development"));
        let live = LiveContext {
            namespaces: vec![
                namespace("billing", "production"),
                namespace("tools", "production"),
            ],
            backup_schedules: vec![BackupSchedule {
                name: "daily".into(),
                ..BackupSchedule::default()
            }],
            ..LiveContext::default()
        };
        manifests.backup_schedules.push(BackupSchedule {
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
