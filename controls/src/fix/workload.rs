//! Fixes on a workload's own fields and its pod template's metadata: HIPAA-K8S-HA (replicas up
//! to the policy's minimum, a zone topologySpreadConstraint) and HIPAA-K8S-TLS-WORKLOAD (mesh
//! injection for the pods).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::pointer::{self, Pointer};
use super::{Change, Mesh, PatchOp};
use crate::context::ClusterContext;
use crate::object::{Object, ObjectKind};
use crate::policy::Parameters;

/// The zone key the added constraint spreads over (the well-known label every cloud sets).
const ZONE_KEY: &str = "topology.kubernetes.io/zone";
const ISTIO_INJECT: &str = "sidecar.istio.io/inject";
const LINKERD_INJECT: &str = "linkerd.io/inject";

/// HIPAA-K8S-HA: at least `minReplicas` replicas and a zone spread. The spread is
/// `ScheduleAnyway`, so that a cluster with one zone still schedules the pods; the control reads
/// only that a zone constraint exists. Its selector is the pod template's labels, which the
/// workload's selector must match, so it counts exactly the workload's pods. A replica count
/// that a HorizontalPodAutoscaler owns is the autoscaler's to change: left, and said.
pub(crate) fn fix_replicas_and_spread(
    object: &Object,
    ctx: &ClusterContext,
    parameters: &Parameters,
) -> Option<Change> {
    let kind = object.object_kind();
    if !matches!(kind, ObjectKind::Deployment | ObjectKind::StatefulSet) {
        return None;
    }
    let workload = object.workload()?;
    let template = object.pod_template()?;
    let min = parameters.min_replicas;
    let mut patch = Vec::new();
    let mut done = Vec::new();
    let mut unfixed = Vec::new();
    let namespace = object.effective_namespace().unwrap_or("default");
    let autoscaler =
        ctx.autoscaler_of(namespace, kind.info().group(), kind.as_str(), object.name());
    match autoscaler {
        Some(hpa) => {
            let floor = hpa.spec.as_ref().and_then(|s| s.min_replicas).unwrap_or(1);
            if floor < min {
                unfixed.push(format!(
                    "HorizontalPodAutoscaler {} owns the replica count: set its minReplicas to at least {min}",
                    hpa.metadata.name.as_deref().unwrap_or("")
                ));
            }
        }
        None if workload.replicas.unwrap_or(1) < min => {
            let path = Pointer::at("/spec/replicas").into_string();
            patch.push(match workload.replicas {
                Some(_) => PatchOp::Replace {
                    path,
                    value: json!(min),
                },
                None => PatchOp::Add {
                    path,
                    value: json!(min),
                },
            });
            done.push(format!("set replicas to {min}"));
        }
        None => {}
    }
    if let Some(spec) = template.spec
        && !spreads_across_zones(object)
    {
        let labels = template.labels.filter(|l| !l.is_empty());
        match (labels, pointer::pod_spec(object)) {
            (Some(labels), Some(spec_at)) => {
                let constraint = json!({
                    "maxSkew": 1,
                    "topologyKey": ZONE_KEY,
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": labels},
                });
                let at = spec_at.key("topologySpreadConstraints");
                patch.push(match spec.topology_spread_constraints {
                    Some(_) => PatchOp::Add {
                        path: at.end().into_string(),
                        value: constraint,
                    },
                    None => PatchOp::Add {
                        path: at.into_string(),
                        value: json!([constraint]),
                    },
                });
                done.push(format!("spread the pods across zones ({ZONE_KEY})"));
            }
            _ => unfixed.push(
                "the pod template has no labels to spread by: add a topologySpreadConstraint on topology.kubernetes.io/zone".to_string(),
            ),
        }
    }
    Some(Change {
        description: done.join(" and "),
        patch,
        create: Vec::new(),
        unfixed,
    })
}

/// Whether the control already sees a zone spread (its own test, through the engine).
fn spreads_across_zones(object: &Object) -> bool {
    object
        .pod_template()
        .and_then(|t| t.spec)
        .is_some_and(crate::k8s::ha::spreads_across_zones)
}

/// HIPAA-K8S-TLS-WORKLOAD: asks the mesh to inject its proxy into the pods. A pod template that
/// opts out of a mesh explicitly (`sidecar.istio.io/inject: "false"`, `linkerd.io/inject:
/// disabled`) made a choice this fix does not overrule.
pub(crate) fn fix_mesh(object: &Object, mesh: Mesh) -> Option<Change> {
    let template = object.pod_template()?;
    let pod_says = |key: &str| template.label(key).or_else(|| template.annotation(key));
    if pod_says(ISTIO_INJECT).is_some() || pod_says(LINKERD_INJECT).is_some() {
        return None;
    }
    let (field, key, value, current, name) = match mesh {
        Mesh::Istio => ("labels", ISTIO_INJECT, "true", template.labels, "Istio"),
        Mesh::Linkerd => (
            "annotations",
            LINKERD_INJECT,
            "enabled",
            template.annotations,
            "Linkerd",
        ),
    };
    let metadata_at = pointer::pod_metadata(object)?;
    let op = set_string_in_map(
        &metadata_at,
        metadata_present(object),
        field,
        current,
        key,
        value,
    );
    Some(Change {
        description: format!(
            "ask {name} to inject its proxy into the pods ({key}: \"{value}\"); the cluster must run {name}"
        ),
        patch: vec![op],
        create: Vec::new(),
        unfixed: Vec::new(),
    })
}

/// Whether the metadata the pods get is present (a Pod's always is).
fn metadata_present(object: &Object) -> bool {
    match object.object_kind() {
        ObjectKind::Pod => true,
        _ => object
            .workload()
            .and_then(|w| w.template.as_ref())
            .is_some_and(|t| t.metadata.is_some()),
    }
}

/// The operation that sets `key: value` in the string map `field` of the metadata at
/// `metadata_at`, creating the map or the metadata where absent.
pub(crate) fn set_string_in_map(
    metadata_at: &Pointer,
    metadata_present: bool,
    field: &str,
    current: Option<&BTreeMap<String, String>>,
    key: &str,
    value: &str,
) -> PatchOp {
    if !metadata_present {
        return PatchOp::Add {
            path: metadata_at.clone().into_string(),
            value: json!({ field: { key: value } }),
        };
    }
    let map_at = metadata_at.key(field);
    match current {
        None => PatchOp::Add {
            path: map_at.into_string(),
            value: json!({ key: value }),
        },
        Some(map) if map.contains_key(key) => PatchOp::Replace {
            path: map_at.key(key).into_string(),
            value: Value::String(value.to_string()),
        },
        Some(_) => PatchOp::Add {
            path: map_at.key(key).into_string(),
            value: Value::String(value.to_string()),
        },
    }
}
