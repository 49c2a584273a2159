//! HIPAA-K8S-NETPOL: a default-deny NetworkPolicy for a namespace that has none. A namespace
//! that has NetworkPolicies already has its own design: adding a default-deny there would cut
//! off pods that nobody asked about, so that is left to the remediation text.

use serde_json::json;

use super::Change;
use crate::context::ClusterContext;
use crate::object::Object;
use crate::policy::Parameters;

/// The name of the NetworkPolicy the fix creates.
pub const DEFAULT_DENY: &str = "default-deny";

pub(crate) fn fix(
    object: &Object,
    ctx: &ClusterContext,
    parameters: &Parameters,
) -> Option<Change> {
    object.pod_template()?;
    let namespace = object.effective_namespace().unwrap_or("default");
    if !ctx.completeness.network_policies || !ctx.network_policies(namespace).is_empty() {
        return None;
    }
    let mut types = vec!["Ingress"];
    if parameters.require_egress {
        types.push("Egress");
    }
    let policy = json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": { "name": DEFAULT_DENY, "namespace": namespace },
        "spec": { "podSelector": {}, "policyTypes": types },
    });
    let directions = types.join(" and ").to_lowercase();
    Some(Change {
        description: format!(
            "create NetworkPolicy {namespace}/{DEFAULT_DENY}, which denies all {directions} to every pod of namespace {namespace} until NetworkPolicies allow what they need"
        ),
        patch: Vec::new(),
        create: vec![policy],
        unfixed: Vec::new(),
    })
}
