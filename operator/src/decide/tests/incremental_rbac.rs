//! A change of RBAC alone, with nothing else changed: the incremental audit re-judges the
//! Namespaces (the access controls) and, when the policy applies HIPAA-K8S-SA-TOKEN, the pod
//! templates, and equals a full audit.

use super::*;

#[test]
fn a_change_of_rbac_alone_re_judges_the_namespaces_and_the_pod_tokens() {
    let mut world = World::new();
    let secrets_result = |audit: &Audit| {
        audit
            .evaluations
            .iter()
            .filter(|e| e.resource.kind == "Namespace" && e.resource.name == "billing")
            .flat_map(|e| e.evaluation.findings.iter())
            .find(|f| f.control.id == "HIPAA-K8S-ACCESS-SECRETS")
            .map(|f| f.outcome)
    };
    for generation in [3, 4] {
        let policy = policy_at(generation);
        let mut cache = EvaluationCache::default();
        let before = audit_of(&policy, &world.inventory, Some(&mut cache), now());
        assert_eq!(
            secrets_result(&before),
            None,
            "nobody reads Secrets: a pass"
        );
        world.put(role(0, true));
        world.put(role_binding(0, true));
        let after = audit_of(&policy, &world.inventory, Some(&mut cache), now());
        assert_eq!(
            secrets_result(&after),
            Some(hipaa_controls::model::Outcome::Fail),
            "generation {generation}: the kept verdict of billing is stale"
        );
        if generation % 3 == 0 {
            assert_eq!(after.reused, 0, "SA-TOKEN reads access: all re-judged");
        } else {
            assert!(after.reused > 0, "the workloads' verdicts are kept");
        }
        let full = audit_of(&policy, &world.inventory, None, now());
        assert_eq!(after.status, full.status);
        world.put(service_account(0, true));
        world.put(writer_binding("billing"));
        let tokens = audit_of(&policy, &world.inventory, Some(&mut cache), now());
        let full = audit_of(&policy, &world.inventory, None, now());
        assert_eq!(tokens.status, full.status, "generation {generation}");
        assert_eq!(sorted(&tokens), sorted(&full), "generation {generation}");
        world.delete(&("RoleBinding".into(), "billing".into(), "readers".into()));
        world.delete(&("ClusterRoleBinding".into(), String::new(), "writers".into()));
    }
}
