//! Sorts the objects read from the inputs: objects the engine judges (typed, with their file and
//! line, handed back to be judged at once), the context they are judged against (Namespaces,
//! NetworkPolicies, PVCs, StorageClasses, HorizontalPodAutoscalers, Velero Schedules: kept when
//! `keep_context` is set, in the first of the scan's two passes), and the kinds that are skipped.
//! An object of a kind HIPAA Guard reads at an `apiVersion` Kubernetes does not serve is invalid
//! input (see `served`); under `--strict`, so is a judged object with unknown fields (`strict`),
//! checked in the second pass.

use std::sync::Arc;

use hipaa_controls::context::autoscaler_from_v1;
use hipaa_controls::object::ObjectKind;
use hipaa_controls::{BackupSchedule, ContextObjects, Object, ObjectError};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::storage::v1::StorageClass;
use serde_json::Value;

use crate::input::{InputError, ManifestObject};
use crate::scan::model::SkippedSummary;
use crate::scan::served::ServedApis;
use crate::scan::strict;

/// An object to judge and where it is written.
#[derive(Clone, Debug)]
pub struct JudgedObject {
    pub object: Object,
    pub file: Arc<str>,
    pub line: usize,
}

/// What was read from the inputs, sorted; judged objects are handed back, not kept.
#[derive(Debug, Default)]
pub struct Manifests {
    /// Whether to keep copies of the context kinds in `context`.
    pub keep_context: bool,
    /// Copies of the context kinds among the inputs (Namespaces, NetworkPolicies and PVCs are
    /// judged too), when `keep_context` is set.
    pub context: ContextObjects,
    /// Objects of kinds that are neither judged nor context.
    pub skipped: SkippedSummary,
    /// HipaaPolicy objects among the inputs (not used as policy; `--policy` is).
    pub policies_among_inputs: usize,
    /// Every object read (List items count one each).
    pub objects_read: usize,
    /// `--strict`: judged objects with unknown fields are refused (in the second pass).
    pub strict: bool,
    /// Which `apiVersion`s are served.
    pub served: ServedApis,
}

impl Manifests {
    /// The sorter of the first pass, which keeps the context.
    pub fn for_context() -> Self {
        Manifests {
            keep_context: true,
            ..Manifests::default()
        }
    }

    /// Whether judged objects' fields are checked (`--strict`, in the second pass).
    pub fn checks_fields(&self) -> bool {
        self.strict && !self.keep_context
    }

    /// Sorts one object and hands it back when the engine judges it. `default_namespace` is
    /// given to namespaced objects that name none.
    pub fn add(
        &mut self,
        manifest: ManifestObject,
        default_namespace: &str,
    ) -> Result<Option<JudgedObject>, InputError> {
        self.objects_read += 1;
        let ManifestObject { file, line, value } = manifest;
        let api_version = value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        self.served
            .check(api_version, kind)
            .map_err(|message| InputError::invalid(&file, line, message))?;
        match (api_version, kind) {
            ("storage.k8s.io/v1", "StorageClass") => {
                let class = parse::<StorageClass>(value, &file, line, "StorageClass")?;
                if self.keep_context {
                    self.context.storage_classes.push(Arc::new(class));
                }
                return Ok(None);
            }
            // The replica count of the workload it names is the autoscaler's (HIPAA-K8S-HA).
            ("autoscaling/v2", "HorizontalPodAutoscaler") => {
                let hpa = parse::<HorizontalPodAutoscaler>(
                    value,
                    &file,
                    line,
                    "HorizontalPodAutoscaler",
                )?;
                if self.keep_context {
                    self.context.autoscalers.push(Arc::new(hpa));
                }
                return Ok(None);
            }
            // Still common in manifests; the API server serves it as v2, and so it is read.
            ("autoscaling/v1", "HorizontalPodAutoscaler") => {
                let hpa = parse::<k8s_openapi::api::autoscaling::v1::HorizontalPodAutoscaler>(
                    value,
                    &file,
                    line,
                    "HorizontalPodAutoscaler",
                )?;
                if self.keep_context {
                    self.context
                        .autoscalers
                        .push(Arc::new(autoscaler_from_v1(hpa)));
                }
                return Ok(None);
            }
            ("velero.io/v1", "Schedule") => {
                if self.keep_context {
                    let schedule = BackupSchedule::from_value(&value);
                    self.context.backup_schedules.push(schedule);
                }
                return Ok(None);
            }
            // Who can reach the namespaces: the access controls judge them (scan/context.rs).
            (
                "rbac.authorization.k8s.io/v1",
                "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding",
            )
            | ("v1", "ServiceAccount") => {
                if self.keep_context {
                    let label = kind.to_owned();
                    self.context.rbac.push_value(value).map_err(|err| {
                        InputError::invalid(&file, line, format!("{label} does not parse: {err}"))
                    })?;
                }
                return Ok(None);
            }
            ("hipaaguard.io/v1alpha1", "HipaaPolicy") => {
                self.policies_among_inputs += 1;
                self.skipped.add(skipped_kind(api_version, kind));
                return Ok(None);
            }
            _ => {}
        }
        let kind_label = skipped_kind(api_version, kind);
        let fields = match ObjectKind::of(api_version, kind) {
            Some(kind) if self.checks_fields() => strict::unknown_fields(kind, &value),
            _ => Vec::new(),
        };
        match Object::from_value(value, Some(default_namespace)) {
            Ok(object) if !fields.is_empty() => {
                let message =
                    strict::message(object.kind(), object.namespace(), object.name(), &fields);
                Err(InputError::invalid(&file, line, message))
            }
            Ok(object) => Ok(Some(self.keep(object, file, line))),
            Err(ObjectError::UnsupportedKind { .. }) => {
                self.skipped.add(kind_label);
                Ok(None)
            }
            Err(err) => Err(InputError::invalid(&file, line, err.to_string())),
        }
    }
}

impl Manifests {
    /// Adds an object already typed (see `typed`), keeping its context copy if it has one, and
    /// hands it back to be judged.
    pub fn add_object(&mut self, object: Object, file: Arc<str>, line: usize) -> JudgedObject {
        self.objects_read += 1;
        self.keep(object, file, line)
    }

    fn keep(&mut self, object: Object, file: Arc<str>, line: usize) -> JudgedObject {
        if !self.keep_context {
            return JudgedObject { object, file, line };
        }
        match &object {
            Object::Namespace(ns) => self.context.namespaces.push(Arc::new(ns.as_ref().clone())),
            Object::NetworkPolicy(np) => {
                let np = Arc::new(np.as_ref().clone());
                self.context.network_policies.push(np);
            }
            Object::PersistentVolumeClaim(pvc) => {
                let pvc = Arc::new(pvc.as_ref().clone());
                self.context.pvcs.push(pvc);
            }
            _ => {}
        }
        JudgedObject { object, file, line }
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    value: Value,
    file: &str,
    line: usize,
    kind: &str,
) -> Result<T, InputError> {
    serde_json::from_value(value)
        .map_err(|err| InputError::invalid(file, line, format!("{kind} does not parse: {err}")))
}

/// `ConfigMap` for the core group, `Widget (example.com/v1)` otherwise.
fn skipped_kind(api_version: &str, kind: &str) -> String {
    if api_version == "v1" {
        kind.to_string()
    } else {
        format!("{kind} ({api_version})")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;

    fn manifest(value: Value) -> ManifestObject {
        ManifestObject {
            file: Arc::from("m.yaml"),
            line: 3,
            value,
        }
    }

    #[test]
    fn sorts_judged_context_and_skipped_objects() {
        let mut m = Manifests::for_context();
        let inputs = [
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "billing"}}),
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "billing"}, "spec": {"podSelector": {}}}),
            json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "gp3"}, "provisioner": "ebs.csi.aws.com"}),
            json!({"apiVersion": "velero.io/v1", "kind": "Schedule", "metadata": {"name": "daily"}, "spec": {"template": {"includedNamespaces": ["billing"]}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}),
            json!({"apiVersion": "hipaaguard.io/v1alpha1", "kind": "HipaaPolicy", "metadata": {"name": "p"}}),
        ];
        let mut judged = Vec::new();
        for value in inputs {
            judged.extend(m.add(manifest(value), "apps").unwrap());
        }
        assert_eq!(m.objects_read, 8);
        let kinds: Vec<&str> = judged.iter().map(|o| o.object.kind()).collect();
        assert_eq!(kinds, ["Deployment", "Namespace", "NetworkPolicy"]);
        assert_eq!(judged[0].object.namespace(), Some("apps"));
        assert_eq!(
            (
                m.context.namespaces.len(),
                m.context.network_policies.len(),
                m.context.storage_classes.len()
            ),
            (1, 1, 1)
        );
        assert_eq!(
            m.context.backup_schedules[0].included_namespaces,
            ["billing"]
        );
        assert_eq!(m.policies_among_inputs, 1);
        assert_eq!(m.skipped.objects, 3);
        assert!(m.skipped.kinds.contains_key("Widget (example.com/v1)"));
        assert!(m.skipped.kinds.contains_key("ConfigMap"));

        // The second pass counts and hands back the same, without copying the context again.
        let mut second = Manifests::default();
        let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "b"}});
        assert!(second.add(manifest(namespace), "apps").unwrap().is_some());
        assert!(second.context.namespaces.is_empty());
    }

    #[test]
    fn fields_no_control_reads_do_not_stop_a_scan() {
        // YAML 1.2 reads `0440` as a string where Kubernetes (YAML 1.1) reads a number; the
        // engine skips file modes, probes, resources and the like, so such documents are judged.
        let mut m = Manifests::default();
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: i, resources: {limits: {cpu: 1}}}]\n  volumes:\n  - name: s\n    secret:\n      secretName: s\n      defaultMode: 0440\n      items: [{key: k, path: p, mode: 0400}]\n";
        let value: Value = yaml_serde::from_str(yaml).unwrap();
        assert_eq!(value["spec"]["volumes"][0]["secret"]["defaultMode"], "0440");
        let judged = m.add(manifest(value), "default").unwrap().unwrap();
        let template = judged.object.pod_template().unwrap();
        let volume = &template.spec.unwrap().volumes.as_ref().unwrap()[0];
        let secret = volume.secret.as_ref().unwrap();
        assert_eq!(secret.secret_name.as_deref(), Some("s"));
    }

    #[test]
    fn a_version_kubernetes_does_not_serve_is_an_error_naming_the_one_it_does() {
        let mut m = Manifests::default();
        let v1 = json!({"apiVersion": "v1", "kind": "Deployment", "metadata": {"name": "api"}});
        let err = m.add(manifest(v1), "default").unwrap_err().to_string();
        assert_eq!(
            err,
            "m.yaml:3: Deployment has apiVersion v1; Kubernetes 1.35 serves it as apps/v1"
        );
        let old = json!({"apiVersion": "extensions/v1beta1", "kind": "NetworkPolicy", "metadata": {"name": "deny"}});
        let err = Manifests::for_context()
            .add(manifest(old), "default")
            .unwrap_err()
            .to_string();
        assert!(err.contains("removed in 1.16"), "{err}");
        // Another group's kind of the same name is a CRD, skipped as before.
        let calico = json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy", "metadata": {"name": "deny"}});
        assert!(m.add(manifest(calico), "default").unwrap().is_none());
        assert_eq!(m.skipped.objects, 1);
    }

    #[test]
    fn under_strict_unknown_fields_of_judged_kinds_are_errors_in_the_second_pass() {
        let typo = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "billing"},
            "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "i", "securityContex": {}}]}}}});
        let strict = |keep_context| Manifests {
            strict: true,
            keep_context,
            ..Manifests::default()
        };
        let err = strict(false)
            .add(manifest(typo.clone()), "default")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "m.yaml:3: Deployment billing/api: unknown field spec.template.spec.containers[0].securityContex"
        );
        assert!(strict(true).add(manifest(typo.clone()), "d").is_ok());
        assert!(Manifests::default().add(manifest(typo), "d").is_ok());
        // Kinds not judged are not checked.
        let config =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "dta": {}});
        assert!(strict(false).add(manifest(config), "d").unwrap().is_none());
    }

    #[test]
    fn an_object_that_does_not_parse_is_an_error_at_its_line() {
        let mut m = Manifests::default();
        let bad = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {"replicas": "two"}});
        let err = m.add(manifest(bad), "default").unwrap_err().to_string();
        assert!(
            err.starts_with("m.yaml:3: Deployment does not parse"),
            "{err}"
        );
    }
}
