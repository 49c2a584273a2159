//! The accesses to PHI the access model looks for, each as the API requests that exercise it
//! (verb, API group, resource, subresource): the same requests a SubjectAccessReview would ask.

use crate::object::kind::ObjectKind;

/// A kind of access to a PHI namespace that the access controls care about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// get, list or watch Secrets: the credentials and keys PHI workloads use.
    ReadSecrets,
    /// A shell or command in a running PHI container (`kubectl exec`).
    Exec,
    /// Attach to a running PHI container's terminal (`kubectl attach`).
    Attach,
    /// Forward a local port into a PHI pod (`kubectl port-forward`).
    PortForward,
    /// Add an ephemeral debug container to a PHI pod (`kubectl debug`).
    Debug,
    /// Create or rewrite PHI workloads (Pods and their controllers): run any image with the
    /// namespace's Secrets and volumes mounted.
    WriteWorkloads,
}

impl Access {
    /// Every access, in the order reports list them.
    pub const ALL: [Access; 6] = [
        Access::ReadSecrets,
        Access::Exec,
        Access::Attach,
        Access::PortForward,
        Access::Debug,
        Access::WriteWorkloads,
    ];

    /// The name reports and `kubectl hipaa access` use.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::ReadSecrets => "read-secrets",
            Access::Exec => "exec",
            Access::Attach => "attach",
            Access::PortForward => "port-forward",
            Access::Debug => "debug",
            Access::WriteWorkloads => "write-workloads",
        }
    }

    /// The requests that exercise this access: any one of them granted grants the access.
    pub fn probes(self) -> impl Iterator<Item = &'static Probe> {
        PROBES.iter().filter(move |probe| probe.access == self)
    }
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One API request in a namespace, as RBAC sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Probe {
    pub access: Access,
    pub verb: &'static str,
    /// The API group ("" for the core group).
    pub group: &'static str,
    pub resource: &'static str,
    /// "" when the request is for the resource itself.
    pub subresource: &'static str,
}

impl Probe {
    /// The resource as RBAC rules name it: `pods/exec`, `secrets`.
    pub fn combined_resource(&self) -> String {
        if self.subresource.is_empty() {
            self.resource.to_owned()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        }
    }

    /// The resource as kubectl names it: `deployments.apps`, `pods/exec`.
    pub fn display_resource(&self) -> String {
        let resource = self.combined_resource();
        if self.group.is_empty() {
            resource
        } else {
            format!("{}.{}", self.resource, self.group) + &resource[self.resource.len()..]
        }
    }
}

const fn probe(
    access: Access,
    verb: &'static str,
    resource: &'static str,
    subresource: &'static str,
) -> Probe {
    Probe {
        access,
        verb,
        group: "",
        resource,
        subresource,
    }
}

const WRITE_VERBS: [&str; 3] = ["create", "update", "patch"];

/// Every request the model checks, in a fixed order.
pub static PROBES: std::sync::LazyLock<Vec<Probe>> = std::sync::LazyLock::new(|| {
    let mut probes = vec![
        probe(Access::ReadSecrets, "get", "secrets", ""),
        probe(Access::ReadSecrets, "list", "secrets", ""),
        probe(Access::ReadSecrets, "watch", "secrets", ""),
        // kubectl exec, attach and port-forward open their streams with a create (POST over
        // WebSockets since 1.31) and, before that, a get (GET with an upgrade): either works.
        probe(Access::Exec, "create", "pods", "exec"),
        probe(Access::Exec, "get", "pods", "exec"),
        probe(Access::Attach, "create", "pods", "attach"),
        probe(Access::Attach, "get", "pods", "attach"),
        probe(Access::PortForward, "create", "pods", "portforward"),
        probe(Access::PortForward, "get", "pods", "portforward"),
        probe(Access::Debug, "update", "pods", "ephemeralcontainers"),
        probe(Access::Debug, "patch", "pods", "ephemeralcontainers"),
    ];
    // The judged kinds that run pods, from the kind table.
    for kind in ObjectKind::ALL.into_iter().filter(|k| k.runs_pods()) {
        let info = kind.info();
        for verb in WRITE_VERBS {
            probes.push(Probe {
                access: Access::WriteWorkloads,
                verb,
                group: info.group(),
                resource: info.plural,
                subresource: "",
            });
        }
    }
    probes
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probes_fit_the_models_bit_sets() {
        // AccessModel keeps a rule's probes as the bits of a u64.
        assert!(PROBES.len() <= 64, "{} probes", PROBES.len());
    }

    #[test]
    fn every_access_has_probes_and_workloads_cover_every_workload_kind() {
        for access in Access::ALL {
            assert!(access.probes().next().is_some(), "{access} has no probe");
        }
        let written: Vec<String> = Access::WriteWorkloads
            .probes()
            .map(Probe::display_resource)
            .collect();
        for resource in [
            "pods",
            "deployments.apps",
            "cronjobs.batch",
            "statefulsets.apps",
        ] {
            assert!(written.iter().any(|r| r == resource), "{resource} missing");
        }
    }

    #[test]
    fn resources_are_named_as_rbac_and_kubectl_name_them() {
        let exec = Access::Exec.probes().next().copied();
        assert_eq!(
            exec.map(|p| p.combined_resource()),
            Some("pods/exec".into())
        );
        let deployment = Probe {
            access: Access::WriteWorkloads,
            verb: "create",
            group: "apps",
            resource: "deployments",
            subresource: "scale",
        };
        assert_eq!(deployment.display_resource(), "deployments.apps/scale");
    }
}
