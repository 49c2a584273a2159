//! The pod spec as the controls read it: the fields of `PodSpec` (and of the containers and
//! volumes in it) that some control judges, named and typed as in k8s-openapi, parsed straight
//! from an object's JSON or YAML. Every other field is skipped while parsing, without
//! allocating: a workload's probes, resources, ports and the like cost nothing but the scan.
//!
//! A control may only read what is here, so a control that needs another field adds it here,
//! and the parity test (`tests/lean_parity.rs`) compares these against k8s-openapi's parse.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;

/// A field whose presence matters and whose content no control reads (e.g. `hostPath`).
pub type Present = Option<IgnoredAny>;

/// `PodSpec`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodSpec {
    pub containers: Vec<Container>,
    pub init_containers: Option<Vec<Container>>,
    /// Ephemeral containers have the fields the controls read under the same names.
    pub ephemeral_containers: Option<Vec<Container>>,
    pub volumes: Option<Vec<Volume>>,
    pub host_network: Option<bool>,
    #[serde(rename = "hostPID")]
    pub host_pid: Option<bool>,
    #[serde(rename = "hostIPC")]
    pub host_ipc: Option<bool>,
    pub security_context: Option<PodSecurityContext>,
    pub affinity: Option<Affinity>,
    pub topology_spread_constraints: Option<Vec<TopologySpreadConstraint>>,
    pub service_account_name: Option<String>,
    /// The deprecated alias of serviceAccountName, still honoured by the API server when the
    /// other is empty.
    pub service_account: Option<String>,
    pub automount_service_account_token: Option<bool>,
}

/// `Container` (and `EphemeralContainer`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Container {
    pub name: String,
    pub image: Option<String>,
    pub env: Option<Vec<EnvVar>>,
    pub env_from: Option<Vec<EnvFromSource>>,
    pub security_context: Option<SecurityContext>,
    pub volume_mounts: Option<Vec<VolumeMount>>,
}

/// `EnvVar`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EnvVar {
    pub name: String,
    pub value: Option<String>,
    pub value_from: Option<EnvVarSource>,
}

/// `EnvVarSource`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EnvVarSource {
    pub secret_key_ref: Option<NameRef>,
}

/// `EnvFromSource`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EnvFromSource {
    pub secret_ref: Option<NameRef>,
}

/// The `name` of a reference to a Secret (`secretKeyRef`, `secretRef`, a projected `secret`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct NameRef {
    pub name: String,
}

/// `SecurityContext` of a container.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SecurityContext {
    pub privileged: Option<bool>,
    pub allow_privilege_escalation: Option<bool>,
    pub run_as_user: Option<i64>,
    pub run_as_non_root: Option<bool>,
}

/// `PodSecurityContext`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodSecurityContext {
    pub run_as_user: Option<i64>,
    pub run_as_non_root: Option<bool>,
}

/// `VolumeMount`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct VolumeMount {
    pub name: String,
}

/// `Affinity`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Affinity {
    pub pod_anti_affinity: Option<PodAntiAffinity>,
}

/// `PodAntiAffinity`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodAntiAffinity {
    pub required_during_scheduling_ignored_during_execution: Option<Vec<PodAffinityTerm>>,
    pub preferred_during_scheduling_ignored_during_execution: Option<Vec<WeightedPodAffinityTerm>>,
}

/// `PodAffinityTerm`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodAffinityTerm {
    pub topology_key: String,
}

/// `WeightedPodAffinityTerm`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WeightedPodAffinityTerm {
    pub pod_affinity_term: PodAffinityTerm,
}

/// `TopologySpreadConstraint`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopologySpreadConstraint {
    pub topology_key: String,
}

/// `Volume`: its name, the sources the controls look into, and the presence of the others.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Volume {
    pub name: String,
    pub secret: Option<SecretVolumeSource>,
    pub projected: Option<ProjectedVolumeSource>,
    pub csi: Option<CsiVolumeSource>,
    pub persistent_volume_claim: Option<PersistentVolumeClaimVolumeSource>,
    pub ephemeral: Option<EphemeralVolumeSource>,
    pub host_path: Present,
    pub aws_elastic_block_store: Present,
    pub nfs: Present,
    pub iscsi: Present,
    pub fc: Present,
    pub rbd: Present,
    pub cephfs: Present,
    pub glusterfs: Present,
    pub azure_disk: Present,
    pub azure_file: Present,
    pub gce_persistent_disk: Present,
    pub cinder: Present,
    pub flocker: Present,
    pub portworx_volume: Present,
    #[serde(rename = "scaleIO")]
    pub scale_io: Present,
    pub storageos: Present,
    pub vsphere_volume: Present,
    pub quobyte: Present,
    pub photon_persistent_disk: Present,
}

/// `SecretVolumeSource`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SecretVolumeSource {
    pub secret_name: Option<String>,
}

/// `ProjectedVolumeSource`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ProjectedVolumeSource {
    pub sources: Option<Vec<VolumeProjection>>,
}

/// `VolumeProjection`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct VolumeProjection {
    pub secret: Option<NameRef>,
}

/// `CSIVolumeSource`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CsiVolumeSource {
    pub driver: String,
    pub volume_attributes: Option<BTreeMap<String, String>>,
}

/// `PersistentVolumeClaimVolumeSource`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PersistentVolumeClaimVolumeSource {
    pub claim_name: String,
}

/// `EphemeralVolumeSource`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EphemeralVolumeSource {
    pub volume_claim_template: Option<ClaimTemplate>,
}

/// A claim template (`PersistentVolumeClaimTemplate`, or an entry of a StatefulSet's
/// `volumeClaimTemplates`): its name and storage class.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ClaimTemplate {
    pub metadata: Option<TemplateMetadata>,
    pub spec: Option<ClaimSpec>,
}

/// The part of a `PersistentVolumeClaimSpec` the controls read.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClaimSpec {
    pub storage_class_name: Option<String>,
}

/// The metadata of a template: name, labels and annotations.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct TemplateMetadata {
    pub name: Option<String>,
    pub labels: Option<BTreeMap<String, String>>,
    pub annotations: Option<BTreeMap<String, String>>,
}
