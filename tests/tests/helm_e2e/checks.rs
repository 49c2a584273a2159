//! What every rendering of the chart must hold: hardened pods, least-privilege RBAC. Shared by
//! the tests of the default and the non-default values (admission has its own, admission.rs).

use serde_json::Value;

use super::render::{of_kind, strings};

/// Every rendered pod runs hardened: non-root, read-only root filesystem, no capabilities, no
/// privilege escalation, seccomp RuntimeDefault, with resources and both probes.
#[track_caller]
pub fn pods_are_hardened(docs: &[Value]) {
    for deployment in of_kind(docs, "Deployment") {
        let name = deployment["metadata"]["name"].as_str().unwrap_or("?");
        let pod = &deployment["spec"]["template"]["spec"];
        assert_eq!(
            pod["securityContext"]["runAsNonRoot"], true,
            "{name}: pod runAsNonRoot"
        );
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
            "{name}: pod seccomp"
        );
        let containers = pod["containers"].as_array().cloned().unwrap_or_default();
        assert!(!containers.is_empty(), "{name} has no containers");
        for container in &containers {
            let security = &container["securityContext"];
            assert_eq!(security["runAsNonRoot"], true, "{name}: runAsNonRoot");
            assert_eq!(
                security["readOnlyRootFilesystem"], true,
                "{name}: readOnlyRootFilesystem"
            );
            assert_eq!(
                security["allowPrivilegeEscalation"], false,
                "{name}: allowPrivilegeEscalation"
            );
            assert_eq!(
                strings(&security["capabilities"]["drop"]),
                ["ALL"],
                "{name}: capabilities"
            );
            assert_eq!(
                security["seccompProfile"]["type"], "RuntimeDefault",
                "{name}: seccomp"
            );
            assert!(
                container["resources"]["limits"]["memory"].is_string(),
                "{name}: memory limit"
            );
            assert!(
                container["resources"]["requests"]["cpu"].is_string(),
                "{name}: cpu request"
            );
            assert_eq!(
                container["livenessProbe"]["httpGet"]["path"], "/healthz",
                "{name}: liveness"
            );
            assert_eq!(
                container["readinessProbe"]["httpGet"]["path"], "/readyz",
                "{name}: readiness"
            );
        }
    }
}

/// No rule of any Role or ClusterRole grants a wildcard; Secrets only in a namespaced Role and by
/// name (the webhook certificates the operator manages or reads), except `create`, which cannot
/// name its object and grants nothing else; RBAC objects are only read (listed and watched for the
/// access model, or got by name); write verbs only
/// on HipaaPolicy status, events, leases, the operator's Secrets and the webhook configuration
/// the operator registers (admission.rs checks those rules exactly).
#[track_caller]
pub fn rbac_is_least_privilege(docs: &[Value]) {
    let writes = ["create", "update", "patch", "delete", "deletecollection"];
    // The operator's own reports (PolicyReport and OpenReports) besides.
    let writable = [
        "hipaapolicies/status",
        "events",
        "leases",
        "policyreports",
        "clusterpolicyreports",
        "reports",
        "clusterreports",
    ];
    let roles = of_kind(docs, "ClusterRole")
        .into_iter()
        .chain(of_kind(docs, "Role"));
    let mut seen = 0;
    for role in roles {
        seen += 1;
        let name = role["metadata"]["name"].as_str().unwrap_or("?");
        let namespaced = role["kind"] == "Role";
        for rule in role["rules"].as_array().cloned().unwrap_or_default() {
            let (groups, resources, verbs) = (
                strings(&rule["apiGroups"]),
                strings(&rule["resources"]),
                strings(&rule["verbs"]),
            );
            let named = !strings(&rule["resourceNames"]).is_empty();
            for field in groups.iter().chain(&resources).chain(&verbs) {
                assert!(!field.contains('*'), "{name} grants a wildcard: {rule}");
            }
            if resources.iter().any(|r| r == "secrets") {
                let create_only = verbs.iter().all(|v| v == "create");
                assert!(
                    namespaced && resources.len() == 1 && (named || create_only),
                    "{name} grants access to Secrets beyond the named ones: {rule}"
                );
                continue;
            }
            if groups.iter().any(|g| g == "rbac.authorization.k8s.io") {
                // By name (the operator's own ClusterRole), or read-only watches of every RBAC
                // object (the access model is computed from all of them): never a write.
                let watches = verbs == ["list", "watch"] || verbs == ["get", "list", "watch"];
                assert!(
                    (named && verbs == ["get"]) || (!named && watches),
                    "{name} may do more with RBAC than read it: {rule}"
                );
            }
            if !verbs.iter().any(|v| writes.contains(&v.as_str())) {
                continue;
            }
            for resource in &resources {
                if resource == "validatingwebhookconfigurations" {
                    // Deliberate: the operator registers the webhook configuration itself, and
                    // server-side apply of an absent object needs `create`, which RBAC checks
                    // before the object has a name, so it cannot be limited to one. It is
                    // granted alone; every other write names the configuration, and nothing may
                    // delete it (the ClusterRole owns it, so uninstalling collects it).
                    assert!(
                        name.ends_with("-operator") && role["kind"] == "ClusterRole",
                        "only the operator registers admission: {name} {rule}"
                    );
                    assert!(
                        verbs == ["create"] || (named && verbs.iter().all(|v| v != "create")),
                        "{name}: create alone, other writes by name: {rule}"
                    );
                    assert!(
                        !verbs
                            .iter()
                            .any(|v| v.starts_with("delete") || v == "update"),
                        "{name} may replace or delete webhook configurations: {rule}"
                    );
                    continue;
                }
                assert!(
                    writable.contains(&resource.as_str()),
                    "{name} may write {resource}: {rule}"
                );
            }
        }
    }
    assert!(
        seen >= 2,
        "expected the operator's and the webhook's roles, found {seen}"
    );
}
