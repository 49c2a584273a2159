//! An `autoscaling/v1` HorizontalPodAutoscaler read as the `autoscaling/v2` one the API server
//! serves for it. In a cluster the webhook and the operator read v2 (the API server converts);
//! manifests are often still written in v1, and HIPAA-K8S-HA must count their replica floor too.

use k8s_openapi::api::autoscaling::v1;
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};

/// The v2 form of `hpa`: the same metadata, target, bounds and CPU target (as the API server's
/// conversion writes it: a `Resource` metric on `cpu` with an average utilisation).
pub fn autoscaler_from_v1(hpa: v1::HorizontalPodAutoscaler) -> HorizontalPodAutoscaler {
    let spec = hpa.spec.map(|spec| HorizontalPodAutoscalerSpec {
        scale_target_ref: CrossVersionObjectReference {
            api_version: spec.scale_target_ref.api_version,
            kind: spec.scale_target_ref.kind,
            name: spec.scale_target_ref.name,
        },
        min_replicas: spec.min_replicas,
        max_replicas: spec.max_replicas,
        metrics: spec.target_cpu_utilization_percentage.map(|percent| {
            vec![MetricSpec {
                type_: "Resource".to_string(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".to_string(),
                    target: MetricTarget {
                        type_: "Utilization".to_string(),
                        average_utilization: Some(percent),
                        ..MetricTarget::default()
                    },
                }),
                ..MetricSpec::default()
            }]
        }),
        behavior: None,
    });
    HorizontalPodAutoscaler {
        metadata: hpa.metadata,
        spec,
        status: None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn the_replica_floor_target_and_cpu_target_carry_over() {
        let v1: v1::HorizontalPodAutoscaler = serde_json::from_value(serde_json::json!({
            "apiVersion": "autoscaling/v1",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "api", "namespace": "billing"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
                "minReplicas": 3,
                "maxReplicas": 10,
                "targetCPUUtilizationPercentage": 70
            }
        }))
        .unwrap();
        let v2 = autoscaler_from_v1(v1);
        assert_eq!(v2.metadata.namespace.as_deref(), Some("billing"));
        let spec = v2.spec.unwrap();
        assert_eq!(spec.scale_target_ref.kind, "Deployment");
        assert_eq!(spec.scale_target_ref.name, "api");
        assert_eq!((spec.min_replicas, spec.max_replicas), (Some(3), 10));
        let metric = &spec.metrics.unwrap()[0];
        assert_eq!(
            metric.resource.as_ref().unwrap().target.average_utilization,
            Some(70)
        );
    }

    #[test]
    fn no_min_replicas_stays_unset_as_in_v2() {
        let v1: v1::HorizontalPodAutoscaler = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "api"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "api"}, "maxReplicas": 4}
        }))
        .unwrap();
        let spec = autoscaler_from_v1(v1).spec.unwrap();
        assert_eq!(spec.min_replicas, None);
        assert_eq!(spec.metrics, None);
    }
}
