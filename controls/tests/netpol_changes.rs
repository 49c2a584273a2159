//! HIPAA-K8S-NETPOL on NetworkPolicy creations and updates: a rule open to everything fails,
//! whatever else selects the pods (policies add up), and an update that uncovers pods fails as a
//! deletion would (netpol_deletion.rs has the selector proofs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use hipaa_controls::catalog::ids;
use hipaa_controls::{
    ClusterContext, EffectivePolicy, Evaluation, Outcome, evaluate_network_policy_creation,
    evaluate_network_policy_update,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;

const DENY_ALL: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: default-deny, namespace: billing}\nspec: {podSelector: {}, policyTypes: [Ingress]}";

/// A policy for the api pods with one ingress rule, `rule`.
fn api_policy(rule: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: api, namespace: billing}}\nspec:\n  podSelector: {{matchLabels: {{app: api}}}}\n  policyTypes: [Ingress]\n  ingress:\n    - {rule}"
    )
}

const FROM_WEB: &str = "{from: [{podSelector: {matchLabels: {app: web}}}]}";

fn np(yaml: &str) -> NetworkPolicy {
    yaml_serde::from_str(yaml).unwrap()
}

fn netpol_finding(eval: &Evaluation) -> Option<(Outcome, String)> {
    assert!(eval.checked.iter().any(|c| c.id == ids::K8S_NETPOL));
    eval.findings
        .iter()
        .find(|f| f.control.id == ids::K8S_NETPOL)
        .map(|f| (f.outcome, f.message.clone()))
}

fn create(yaml: &str, ctx: &ClusterContext, policy: &EffectivePolicy) -> Option<(Outcome, String)> {
    netpol_finding(&evaluate_network_policy_creation(
        &np(yaml),
        ctx,
        policy,
        common::now(),
    ))
}

#[test]
fn creating_a_rule_open_to_everyone_fails_even_under_a_default_deny() {
    let ctx = common::context(DENY_ALL);
    let policy = EffectivePolicy::defaults();
    for (rule, why) in [
        ("{}", "ingress rule 1 has no from"),
        ("{from: []}", "ingress rule 1 has no from"),
        (
            "{from: [{namespaceSelector: {}}]}",
            "ingress rule 1 has namespaceSelector: {}",
        ),
        (
            "{from: [{namespaceSelector: {}, podSelector: {}}]}",
            "ingress rule 1 has namespaceSelector: {}",
        ),
        (
            "{from: [{ipBlock: {cidr: 0.0.0.0/0}}]}",
            "ingress rule 1 has ipBlock 0.0.0.0/0",
        ),
        (
            "{from: [{ipBlock: {cidr: \"::/0\", except: [\"fd00::/8\"]}}]}",
            "ingress rule 1 has ipBlock ::/0",
        ),
    ] {
        let (outcome, message) =
            create(&api_policy(rule), &ctx, &policy).unwrap_or_else(|| panic!("{rule} passed"));
        assert_eq!(outcome, Outcome::Fail, "{rule}");
        assert_eq!(
            message,
            format!(
                "creating NetworkPolicy billing/api lets all ingress reach the pods it selects ({why})"
            ),
            "{rule}"
        );
    }
}

#[test]
fn creating_rules_that_name_their_sources_or_ports_passes() {
    let ctx = common::context(DENY_ALL);
    let policy = EffectivePolicy::defaults();
    for rule in [
        FROM_WEB,
        "{from: [{namespaceSelector: {matchLabels: {team: web}}}]}",
        "{from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: web}}}]}",
        "{from: [{ipBlock: {cidr: 10.0.0.0/8}}]}",
        "{ports: [{port: 8443}]}",
    ] {
        assert_eq!(create(&api_policy(rule), &ctx, &policy), None, "{rule}");
    }
    // A new default-deny, or a policy that only governs egress, uncovers nothing.
    assert_eq!(create(DENY_ALL, &ClusterContext::new(), &policy), None);
    let egress_open = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: egress, namespace: billing}\nspec: {podSelector: {}, policyTypes: [Egress], egress: [{}], ingress: [{}]}";
    assert_eq!(create(egress_open, &ctx, &policy), None);
}

#[test]
fn an_open_egress_rule_fails_only_when_egress_is_required() {
    let egress_open = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: egress, namespace: billing}\nspec: {podSelector: {}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}}]}]}";
    let ctx = common::context(DENY_ALL);
    assert_eq!(
        create(egress_open, &ctx, &EffectivePolicy::defaults()),
        None
    );
    let strict = common::defaults_with(ids::K8S_NETPOL, |p| p.require_egress = true);
    let (outcome, message) = create(egress_open, &ctx, &strict).unwrap();
    assert_eq!(outcome, Outcome::Fail);
    assert!(
        message.ends_with(
            "lets all egress reach the pods it selects (egress rule 1 has ipBlock 0.0.0.0/0)"
        ),
        "{message}"
    );
}

#[test]
fn an_update_that_opens_a_rule_fails_although_a_default_deny_still_selects_the_pods() {
    let old = api_policy(FROM_WEB);
    let ctx = common::context(&format!("{DENY_ALL}\n---\n{old}"));
    let policy = EffectivePolicy::defaults();
    let update = |new: &str| {
        netpol_finding(&evaluate_network_policy_update(
            &np(&old),
            &np(new),
            &ctx,
            &policy,
            common::now(),
        ))
    };
    let (outcome, message) = update(&api_policy("{}")).unwrap();
    assert_eq!(outcome, Outcome::Fail);
    assert_eq!(
        message,
        "updating NetworkPolicy billing/api lets all ingress reach the pods it selects (ingress rule 1 has no from)"
    );
    // A second rule added next to a narrow one opens as much.
    let two_rules = format!("{}\n    - {{}}", api_policy(FROM_WEB));
    assert!(
        update(&two_rules)
            .unwrap()
            .1
            .contains("ingress rule 2 has no from")
    );
    // Changing the allowed source to another named one passes.
    let from_batch = api_policy("{from: [{podSelector: {matchLabels: {app: batch}}}]}");
    assert_eq!(update(&from_batch), None);
}

#[test]
fn an_update_that_opens_and_uncovers_lists_both() {
    let old = api_policy(FROM_WEB);
    let ctx = common::context(&old);
    let opened_and_narrowed =
        api_policy("{}").replace("{app: api}", "{app: api, canary: \"true\"}");
    let eval = evaluate_network_policy_update(
        &np(&old),
        &np(&opened_and_narrowed),
        &ctx,
        &EffectivePolicy::defaults(),
        common::now(),
    );
    let (outcome, message) = netpol_finding(&eval).unwrap();
    assert_eq!(outcome, Outcome::Fail);
    assert!(message.contains("lets all ingress reach"), "{message}");
    assert!(
        message
            .contains("leaves the pods it selects without a NetworkPolicy that restricts ingress"),
        "{message}"
    );
}

#[test]
fn an_exception_waives_a_creation_and_unknown_policies_are_an_error() {
    let policy = common::policy(
        r#"
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: phi}
spec:
  namespaceSelector: {matchLabels: {hipaaguard.io/phi: "true"}}
  exceptions:
    - controls: [HIPAA-K8S-NETPOL]
      match: {namespaces: [billing], kinds: [NetworkPolicy], names: [api]}
      justification: the public health check endpoint
      approvedBy: security@example.com
      expires: "2027-01-01T00:00:00Z"
"#,
    );
    let effective = EffectivePolicy::from_policy(&policy).unwrap();
    let (outcome, _) = create(&api_policy("{}"), &ClusterContext::new(), &effective).unwrap();
    assert_eq!(outcome, Outcome::Excepted);

    let mut unknown = ClusterContext::new();
    unknown.completeness.network_policies = false;
    let (outcome, message) = create(
        &api_policy(FROM_WEB),
        &unknown,
        &EffectivePolicy::defaults(),
    )
    .unwrap();
    assert_eq!(outcome, Outcome::Error);
    assert!(message.contains("are not known"), "{message}");
}
