//! What every rendering of the chart must hold: a safe webhook configuration, hardened pods,
//! least-privilege RBAC. Shared by the tests of the default and the non-default values.

use serde_json::Value;

use super::render::{of_kind, strings};

/// The webhook configuration is safe to run: no side effects, v1 reviews, a bounded timeout, the
/// cluster's and the release's namespaces left out, and rules for every kind the webhook judges.
#[track_caller]
pub fn webhook_configuration_is_safe(docs: &[Value], namespace: &str) -> Value {
    let configurations = of_kind(docs, "ValidatingWebhookConfiguration");
    let [configuration] = configurations.as_slice() else {
        panic!(
            "expected one ValidatingWebhookConfiguration, found {}",
            configurations.len()
        );
    };
    let webhooks = configuration["webhooks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let [webhook] = webhooks.as_slice() else {
        panic!("expected one webhook, found {}", webhooks.len())
    };
    assert_eq!(webhook["sideEffects"], "None");
    assert_eq!(strings(&webhook["admissionReviewVersions"]), ["v1"]);
    let timeout = webhook["timeoutSeconds"].as_i64().unwrap_or(0);
    assert!(
        (1..=10).contains(&timeout),
        "timeoutSeconds {timeout} is outside 1..=10"
    );
    assert!(["Fail", "Ignore"].contains(&webhook["failurePolicy"].as_str().unwrap_or("")));

    let expressions = webhook["namespaceSelector"]["matchExpressions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let excluded = expressions
        .iter()
        .find(|e| e["key"] == "kubernetes.io/metadata.name" && e["operator"] == "NotIn")
        .map(|e| strings(&e["values"]))
        .unwrap_or_default();
    for needed in ["kube-system", namespace] {
        assert!(
            excluded.iter().any(|ns| ns == needed),
            "{needed} is not excluded: {excluded:?}"
        );
    }

    let rules = webhook["rules"].as_array().cloned().unwrap_or_default();
    let covers = |group: &str, resource: &str, operation: &str| {
        rules.iter().any(|rule| {
            strings(&rule["apiGroups"]).iter().any(|g| g == group)
                && strings(&rule["resources"]).iter().any(|r| r == resource)
                && strings(&rule["operations"]).iter().any(|o| o == operation)
        })
    };
    let judged = [
        ("", "pods"),
        ("", "services"),
        ("", "persistentvolumeclaims"),
        ("apps", "deployments"),
        ("apps", "statefulsets"),
        ("apps", "daemonsets"),
        ("apps", "replicasets"),
        ("batch", "jobs"),
        ("batch", "cronjobs"),
        ("networking.k8s.io", "ingresses"),
    ];
    for (group, resource) in judged {
        for operation in ["CREATE", "UPDATE"] {
            assert!(
                covers(group, resource, operation),
                "no rule for {operation} {group}/{resource}"
            );
        }
    }
    for (group, resource) in [("", "namespaces"), ("hipaaguard.io", "hipaapolicies")] {
        for operation in ["CREATE", "UPDATE"] {
            assert!(
                covers(group, resource, operation),
                "no rule for {operation} {group}/{resource}"
            );
        }
    }
    assert!(
        covers("networking.k8s.io", "networkpolicies", "DELETE"),
        "no rule for DELETE networkpolicies"
    );
    webhook.clone()
}

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

/// No rule of any Role or ClusterRole grants a wildcard or touches Secrets; write verbs only on
/// HipaaPolicy status, events and leases.
#[track_caller]
pub fn rbac_is_least_privilege(docs: &[Value]) {
    let writes = ["create", "update", "patch", "delete", "deletecollection"];
    let writable = ["hipaapolicies/status", "events", "leases"];
    let roles = of_kind(docs, "ClusterRole")
        .into_iter()
        .chain(of_kind(docs, "Role"));
    let mut seen = 0;
    for role in roles {
        seen += 1;
        let name = role["metadata"]["name"].as_str().unwrap_or("?");
        for rule in role["rules"].as_array().cloned().unwrap_or_default() {
            let (groups, resources, verbs) = (
                strings(&rule["apiGroups"]),
                strings(&rule["resources"]),
                strings(&rule["verbs"]),
            );
            for field in groups.iter().chain(&resources).chain(&verbs) {
                assert!(!field.contains('*'), "{name} grants a wildcard: {rule}");
            }
            assert!(
                !resources.iter().any(|r| r == "secrets"),
                "{name} grants access to Secrets: {rule}"
            );
            if verbs.iter().any(|v| writes.contains(&v.as_str())) {
                for resource in &resources {
                    assert!(
                        writable.contains(&resource.as_str()),
                        "{name} may write {resource}: {rule}"
                    );
                }
            }
        }
    }
    assert!(
        seen >= 2,
        "expected the operator's and the webhook's roles, found {seen}"
    );
}
