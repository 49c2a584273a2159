//! HIPAA-K8S-VOLUME-ENCRYPTION: every persistent volume of a pod, a PVC or a StatefulSet claim
//! template comes from an encrypting StorageClass, and no pod uses hostPath.
//!
//! A pod volume naming a PVC that does not exist yet passes here: the PVC is judged on its own
//! when it is created (failing here would block `kubectl apply` of a directory whose Deployment
//! sorts before its PVC). A claim without storageClassName takes the default class; with no
//! default class it fails, since whatever it binds later cannot be verified.

use crate::object::pod_spec::Volume;

use crate::check::{Check, Verdict};
use crate::context::ClusterContext;
use crate::k8s::storage::{ClassLookup, class_for_claim, encryption_problem};
use crate::k8s::verdict_from;
use crate::object::Object;

/// Problems that fail the control, and gaps in the context that prevent judging.
#[derive(Default)]
struct Findings {
    problems: Vec<String>,
    unknown: Vec<String>,
}

impl Findings {
    /// Judges a claim (or claim template) by its `storageClassName`.
    fn claim(&mut self, ctx: &ClusterContext, what: &str, storage_class_name: Option<&str>) {
        match class_for_claim(ctx, storage_class_name) {
            ClassLookup::Found(class) => {
                if let Some(problem) = encryption_problem(class) {
                    self.problems.push(format!("{what} uses {problem}"));
                }
            }
            ClassLookup::Problem(problem) => self.problems.push(format!("{what} {problem}")),
            ClassLookup::Unknown(reason) => self.unknown.push(format!("{what}: {reason}")),
        }
    }
}

pub(crate) fn check(check: &Check<'_>) -> Verdict {
    let ctx = check.ctx;
    let mut found = Findings::default();
    match check.object {
        Object::PersistentVolumeClaim(pvc) => {
            let class = pvc
                .spec
                .as_ref()
                .and_then(|s| s.storage_class_name.as_deref());
            found.claim(ctx, "the claim", class);
        }
        Object::StatefulSet(set) => {
            for template in set.volume_claim_templates.iter().flatten() {
                let name = template.metadata.as_ref().and_then(|m| m.name.as_deref());
                let class = template
                    .spec
                    .as_ref()
                    .and_then(|s| s.storage_class_name.as_deref());
                found.claim(
                    ctx,
                    &format!("claim template {}", name.unwrap_or("")),
                    class,
                );
            }
        }
        _ => {}
    }
    let Some(template) = check.template else {
        return if matches!(check.object, Object::PersistentVolumeClaim(_)) {
            conclude(check, found)
        } else {
            Verdict::NotApplicable
        };
    };
    let namespace = check.subject.namespace.unwrap_or("default");
    for volume in template
        .spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
    {
        let name = &volume.name;
        if volume.host_path.is_some() {
            found.problems.push(format!("volume {name} is a hostPath"));
        } else if let Some(kind) = inline_persistent_kind(volume) {
            found.problems.push(format!(
                "volume {name} is an inline {kind} volume whose encryption cannot be verified"
            ));
        } else if let Some(claim) = &volume.persistent_volume_claim {
            let claim_name = claim.claim_name.as_str();
            if !ctx.completeness.pvcs {
                found.unknown.push(format!(
                    "volume {name}: the PVCs of namespace {namespace} are not known"
                ));
            } else if let Some(pvc) = ctx.pvc(namespace, claim_name) {
                let class = pvc
                    .spec
                    .as_ref()
                    .and_then(|s| s.storage_class_name.as_deref());
                found.claim(ctx, &format!("volume {name} (PVC {claim_name})"), class);
            }
        } else if let Some(ephemeral) = &volume.ephemeral {
            let class = ephemeral
                .volume_claim_template
                .as_ref()
                .and_then(|t| t.spec.as_ref()?.storage_class_name.as_deref());
            found.claim(ctx, &format!("ephemeral volume {name}"), class);
        }
    }
    conclude(check, found)
}

fn conclude(check: &Check<'_>, found: Findings) -> Verdict {
    if found.problems.is_empty() && !found.unknown.is_empty() {
        return Verdict::Error(format!(
            "cannot evaluate {}: {}",
            check.subject,
            found.unknown.join(", ")
        ));
    }
    verdict_from(check.subject, found.problems)
}

/// The kind of an inline volume that stores data outside the pod without a StorageClass.
fn inline_persistent_kind(volume: &Volume) -> Option<&'static str> {
    let kinds: [(bool, &'static str); 17] = [
        (
            volume.aws_elastic_block_store.is_some(),
            "awsElasticBlockStore",
        ),
        (volume.nfs.is_some(), "nfs"),
        (volume.iscsi.is_some(), "iscsi"),
        (volume.fc.is_some(), "fc"),
        (volume.rbd.is_some(), "rbd"),
        (volume.cephfs.is_some(), "cephfs"),
        (volume.glusterfs.is_some(), "glusterfs"),
        (volume.azure_disk.is_some(), "azureDisk"),
        (volume.azure_file.is_some(), "azureFile"),
        (volume.gce_persistent_disk.is_some(), "gcePersistentDisk"),
        (volume.cinder.is_some(), "cinder"),
        (volume.flocker.is_some(), "flocker"),
        (volume.portworx_volume.is_some(), "portworxVolume"),
        (volume.scale_io.is_some(), "scaleIO"),
        (volume.storageos.is_some(), "storageos"),
        (volume.vsphere_volume.is_some(), "vsphereVolume"),
        (
            volume.quobyte.is_some() || volume.photon_persistent_disk.is_some(),
            "legacy in-tree",
        ),
    ];
    kinds
        .into_iter()
        .find_map(|(present, kind)| present.then_some(kind))
}
