//! Effective policies: one policy, several merged, validation, exceptions, selectors (durations:
//! `controls/src/duration.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use hipaa_controls::catalog::ids;
use hipaa_controls::{
    EffectivePolicy, Enforcement, Mode, Outcome, PolicyError, Severity, catalog, evaluate,
    glob_matches, selector_matches, validate_policy,
};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

fn namespace(yaml: &str) -> Namespace {
    yaml_serde::from_str(yaml).unwrap()
}

const PHI_PROD: &str = "metadata: {name: billing, labels: {hipaaguard.io/phi: \"true\", hipaaguard.io/environment: production}}";

const POLICY_A: &str = r#"
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: a-phi}
spec:
  enforcement: Warn
  namespaceSelector: {matchLabels: {hipaaguard.io/phi: "true"}}
  controls:
    - {id: HIPAA-K8S-HA, disabled: true}
    - {id: HIPAA-K8S-NETPOL, parameters: {requireEgress: true}}
    - {id: HIPAA-K8S-IMAGE-REGISTRY, parameters: {allowedRegistries: ["registry.a.example"]}}
    - {id: HIPAA-SM-ROTATION, parameters: {maxAgeDays: 30}}
"#;

const POLICY_B: &str = r#"
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: b-production}
spec:
  enforcement: Enforce
  namespaceSelector:
    matchExpressions: [{key: hipaaguard.io/environment, operator: In, values: [production]}]
  controls:
    - {id: HIPAA-K8S-PRIVILEGED, enforcement: Audit}
    - {id: HIPAA-K8S-HA, enforcement: Warn, parameters: {minReplicas: 3}}
    - {id: HIPAA-K8S-IMAGE-REGISTRY, parameters: {allowedRegistries: ["registry.b.example"]}}
    - {id: HIPAA-K8S-TLS-LB, disabled: true}
    - {id: HIPAA-SM-ROTATION, parameters: {maxAgeDays: 60}}
    - {id: HIPAA-ECR-SCAN, parameters: {failOn: HIGH}}
"#;

#[test]
fn defaults_apply_every_control_but_the_opt_in_ones_enforced_with_default_parameters() {
    let policy = EffectivePolicy::defaults();
    let applied = catalog().iter().filter(|c| !c.opt_in).count();
    assert_eq!(policy.controls.len(), applied);
    for control in catalog().iter().filter(|c| !c.opt_in) {
        let setting = policy.setting(control.id).unwrap();
        assert_eq!(setting.enforcement, Enforcement::Enforce);
        assert_eq!(setting.parameters.min_replicas, 2);
        assert_eq!(setting.parameters.max_age_days, 90);
        assert_eq!(setting.parameters.fail_on, Severity::Critical);
        assert_eq!(setting.parameters.allowed_registries, None);
        assert!(!setting.parameters.require_egress);
    }
}

#[test]
fn one_policy_applies_its_overrides() {
    let policy = EffectivePolicy::from_policy(&common::policy(POLICY_B)).unwrap();
    assert_eq!(policy.policies, vec!["b-production".to_string()]);
    assert!(policy.setting(ids::K8S_TLS_LB).is_none(), "disabled");
    assert_eq!(
        policy.setting(ids::K8S_PRIVILEGED).unwrap().enforcement,
        Enforcement::Audit
    );
    assert_eq!(
        policy.setting(ids::K8S_NETPOL).unwrap().enforcement,
        Enforcement::Enforce
    );
    let ha = policy.setting(ids::K8S_HA).unwrap();
    assert_eq!(
        (ha.enforcement, ha.parameters.min_replicas),
        (Enforcement::Warn, 3)
    );
    assert_eq!(
        policy.setting(ids::ECR_SCAN).unwrap().parameters.fail_on,
        Severity::High
    );
}

#[test]
fn two_policies_on_one_namespace_merge_strictest_first() {
    let a = common::policy(POLICY_A);
    let b = common::policy(POLICY_B);
    let ns = namespace(PHI_PROD);
    // Order of the input does not matter.
    let merged = EffectivePolicy::for_namespace([&b, &a], &ns).unwrap();
    assert_eq!(
        merged,
        EffectivePolicy::for_namespace([&a, &b], &ns).unwrap()
    );
    assert_eq!(
        merged.policies,
        vec!["a-phi".to_string(), "b-production".to_string()]
    );

    // Strictest enforcement wins: A says Warn, B Audit for PRIVILEGED => Warn.
    assert_eq!(
        merged.setting(ids::K8S_PRIVILEGED).unwrap().enforcement,
        Enforcement::Warn
    );
    // A control applies if any policy applies it: A disables HA, B applies it (Warn, 3 replicas).
    let ha = merged.setting(ids::K8S_HA).unwrap();
    assert_eq!(
        (ha.enforcement, ha.parameters.min_replicas),
        (Enforcement::Warn, 3)
    );
    // B disables TLS-LB but A applies it (Warn).
    assert_eq!(
        merged.setting(ids::K8S_TLS_LB).unwrap().enforcement,
        Enforcement::Warn
    );
    // Enforce from B beats Warn from A.
    assert_eq!(
        merged.setting(ids::K8S_NETPOL).unwrap().enforcement,
        Enforcement::Enforce
    );
    // Parameters: strictest values; registries from the first policy by name that sets them.
    let netpol = &merged.setting(ids::K8S_NETPOL).unwrap().parameters;
    assert!(netpol.require_egress);
    let registries = &merged
        .setting(ids::K8S_IMAGE_REGISTRY)
        .unwrap()
        .parameters
        .allowed_registries;
    assert_eq!(
        registries.as_deref(),
        Some(&["registry.a.example".to_string()][..])
    );
    assert_eq!(
        merged
            .setting(ids::SM_ROTATION)
            .unwrap()
            .parameters
            .max_age_days,
        30
    );
    assert_eq!(
        merged.setting(ids::ECR_SCAN).unwrap().parameters.fail_on,
        Severity::High
    );
}

#[test]
fn only_selecting_policies_merge() {
    let a = common::policy(POLICY_A);
    let b = common::policy(POLICY_B);
    let dev =
        namespace("metadata: {name: sandbox, labels: {hipaaguard.io/environment: development}}");
    assert!(EffectivePolicy::for_namespace([&a, &b], &dev).is_none());
    let phi_only = namespace("metadata: {name: claims, labels: {hipaaguard.io/phi: \"true\"}}");
    let merged = EffectivePolicy::for_namespace([&a, &b], &phi_only).unwrap();
    assert_eq!(merged.policies, vec!["a-phi".to_string()]);
    assert!(merged.setting(ids::K8S_HA).is_none());
    assert!(EffectivePolicy::selects(&a, &phi_only));
    assert!(!EffectivePolicy::selects(&b, &phi_only));
}

#[test]
fn an_empty_namespace_selector_selects_nothing() {
    let p = common::policy(
        "apiVersion: hipaaguard.io/v1alpha1\nkind: HipaaPolicy\nmetadata: {name: everything}\nspec: {namespaceSelector: {}}",
    );
    assert!(!EffectivePolicy::selects(&p, &namespace(PHI_PROD)));
    let errors = validate_policy(&p.spec).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| matches!(e, PolicyError::InvalidSelector { .. })),
        "{errors:?}"
    );
}

#[test]
fn validation_reports_every_problem() {
    let p = common::policy(
        r#"
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: broken}
spec:
  namespaceSelector:
    matchExpressions: [{key: team, operator: Like, values: [x]}]
  auditInterval: 5s
  controls:
    - {id: HIPAA-K8S-NOPE}
    - {id: HIPAA-K8S-HA, parameters: {minReplicas: 0, requireEgress: true}}
    - {id: HIPAA-EKS-VERSION, parameters: {minVersion: "one.two"}}
    - {id: HIPAA-ECR-SCAN, parameters: {failOn: URGENT}}
    - {id: HIPAA-K8S-IMAGE-REGISTRY, parameters: {allowedRegistries: []}}
    - {id: HIPAA-K8S-HA}
  exceptions:
    - controls: [HIPAA-K8S-MISSING]
      justification: " "
      approvedBy: sec@example.com
      expires: "2027-01-01T00:00:00Z"
"#,
    );
    let errors = validate_policy(&p.spec).unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let has = |needle: &str| text.iter().any(|t| t.contains(needle));
    assert!(
        has("spec.controls[0]: unknown control HIPAA-K8S-NOPE"),
        "{text:#?}"
    );
    assert!(
        has("spec.controls[1]: HIPAA-K8S-HA does not take the parameter requireEgress"),
        "{text:#?}"
    );
    assert!(has("minReplicas must be at least 1"), "{text:#?}");
    assert!(has("minVersion must look like 1.33"), "{text:#?}");
    assert!(
        has("failOn must be CRITICAL, HIGH, MEDIUM or LOW"),
        "{text:#?}"
    );
    assert!(
        has("allowedRegistries must list at least one registry"),
        "{text:#?}"
    );
    assert!(
        has("spec.controls[5]: HIPAA-K8S-HA is overridden more than once"),
        "{text:#?}"
    );
    assert!(
        has("spec.exceptions[0]: unknown control HIPAA-K8S-MISSING"),
        "{text:#?}"
    );
    assert!(has("an exception needs a justification"), "{text:#?}");
    assert!(has("unknown operator Like"), "{text:#?}");
    assert!(
        has("spec.auditInterval: 5s is shorter than the minimum of 10s"),
        "{text:#?}"
    );
    assert!(EffectivePolicy::from_policy(&p).is_err());
}

#[test]
fn a_valid_policy_validates() {
    assert_eq!(validate_policy(&common::policy(POLICY_A).spec), Ok(()));
    assert_eq!(validate_policy(&common::policy(POLICY_B).spec), Ok(()));
}

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: batch-export, namespace: legacy-billing}
spec:
  selector: {matchLabels: {app: export}}
  template:
    metadata: {labels: {app: export}}
    spec:
      containers: [{name: export, image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/export:1.0"}]
"#;

fn policy_with_exception(kinds: &str, expires: &str) -> hipaa_controls::HipaaPolicy {
    common::policy(&format!(
        r#"
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {{name: legacy}}
spec:
  namespaceSelector: {{matchLabels: {{hipaaguard.io/phi: "true"}}}}
  exceptions:
    - controls: [HIPAA-K8S-PRIVILEGED]
      justification: unrelated
      approvedBy: security@example.com
      expires: "2030-01-01T00:00:00Z"
    - controls: [HIPAA-K8S-NETPOL]
      match: {{namespaces: [legacy-*], kinds: {kinds}, names: ["batch-*"]}}
      justification: "Vendor agent; compensating control: SG-for-pods"
      approvedBy: security@example.com
      expires: "{expires}"
"#
    ))
}

fn netpol_outcome(policy: &hipaa_controls::HipaaPolicy) -> (Outcome, Option<(String, usize)>) {
    let effective = EffectivePolicy::from_policy(policy).unwrap();
    let eval = evaluate(
        &common::object(DEPLOYMENT),
        &common::context(""),
        &effective,
        Mode::Admission,
        common::now(),
    );
    let finding = eval
        .findings
        .iter()
        .find(|f| f.control.id == ids::K8S_NETPOL)
        .unwrap();
    (
        finding.outcome,
        finding
            .exception
            .as_ref()
            .map(|e| (e.policy.clone(), e.index)),
    )
}

#[test]
fn an_active_matching_exception_excepts_the_failure() {
    let (outcome, exception) = netpol_outcome(&policy_with_exception(
        "[Deployment]",
        "2027-03-31T00:00:00Z",
    ));
    assert_eq!(outcome, Outcome::Excepted);
    assert_eq!(exception, Some(("legacy".to_string(), 1)));
}

#[test]
fn an_expired_exception_does_not_apply() {
    // The clock is 2026-06-01; the exception expired the day before.
    let (outcome, exception) = netpol_outcome(&policy_with_exception(
        "[Deployment]",
        "2026-05-31T23:59:59Z",
    ));
    assert_eq!((outcome, exception), (Outcome::Fail, None));
}

#[test]
fn an_exception_for_another_kind_does_not_apply() {
    let (outcome, _) = netpol_outcome(&policy_with_exception(
        "[StatefulSet]",
        "2027-03-31T00:00:00Z",
    ));
    assert_eq!(outcome, Outcome::Fail);
}

#[test]
fn exception_matching_checks_every_list() {
    let policy = EffectivePolicy::from_policy(&policy_with_exception(
        "[Deployment]",
        "2027-03-31T00:00:00Z",
    ))
    .unwrap();
    let now = common::now();
    let waives = |kind: &str, ns: Option<&str>, name: &str| {
        policy
            .exception_for(ids::K8S_NETPOL, kind, ns, name, now)
            .is_some()
    };
    assert!(waives("Deployment", Some("legacy-billing"), "batch-export"));
    assert!(waives("deployment", Some("legacy-claims"), "batch-"));
    assert!(
        !waives("Deployment", Some("billing"), "batch-export"),
        "namespace"
    );
    assert!(!waives("Deployment", Some("legacy-billing"), "api"), "name");
    assert!(
        policy
            .exception_for(
                ids::K8S_TLS_LB,
                "Deployment",
                Some("legacy-billing"),
                "batch-x",
                now
            )
            .is_none()
    );
}

#[test]
fn an_exception_on_a_namespace_object_matches_by_its_own_name() {
    let p = common::policy(
        r#"
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: ns-exception}
spec:
  namespaceSelector: {matchLabels: {hipaaguard.io/phi: "true"}}
  exceptions:
    - controls: [HIPAA-K8S-DEV-PHI]
      match: {namespaces: [sandbox]}
      justification: synthetic data only, reviewed
      approvedBy: privacy@example.com
      expires: "2026-12-31T00:00:00Z"
"#,
    );
    let policy = EffectivePolicy::from_policy(&p).unwrap();
    let ns = common::object(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: sandbox, labels: {hipaaguard.io/environment: development, hipaaguard.io/phi: \"true\"}}",
    );
    let eval = evaluate(
        &ns,
        &common::context(""),
        &policy,
        Mode::Admission,
        common::now(),
    );
    let finding = eval
        .findings
        .iter()
        .find(|f| f.control.id == ids::K8S_DEV_PHI)
        .unwrap();
    assert_eq!(finding.outcome, Outcome::Excepted);
}

#[test]
fn selectors_follow_kubernetes_semantics() {
    let selector = |yaml: &str| -> LabelSelector { yaml_serde::from_str(yaml).unwrap() };
    let labels = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let api = labels(&[("app", "api"), ("tier", "backend")]);
    assert!(selector_matches(&selector("{}"), None));
    assert!(selector_matches(&selector("{}"), Some(&api)));
    assert!(selector_matches(
        &selector("matchLabels: {app: api}"),
        Some(&api)
    ));
    assert!(!selector_matches(
        &selector("matchLabels: {app: web}"),
        Some(&api)
    ));
    assert!(!selector_matches(
        &selector("matchLabels: {app: api}"),
        None
    ));
    let expr = |e: &str| selector(&format!("matchExpressions: [{e}]"));
    assert!(selector_matches(
        &expr("{key: tier, operator: In, values: [backend, worker]}"),
        Some(&api)
    ));
    assert!(!selector_matches(
        &expr("{key: tier, operator: In, values: [worker]}"),
        Some(&api)
    ));
    assert!(
        selector_matches(
            &expr("{key: env, operator: NotIn, values: [dev]}"),
            Some(&api)
        ),
        "NotIn matches an absent label"
    );
    assert!(!selector_matches(
        &expr("{key: tier, operator: NotIn, values: [backend]}"),
        Some(&api)
    ));
    assert!(selector_matches(
        &expr("{key: app, operator: Exists}"),
        Some(&api)
    ));
    assert!(!selector_matches(
        &expr("{key: env, operator: Exists}"),
        Some(&api)
    ));
    assert!(selector_matches(
        &expr("{key: env, operator: DoesNotExist}"),
        Some(&api)
    ));
    assert!(!selector_matches(
        &expr("{key: app, operator: DoesNotExist}"),
        Some(&api)
    ));
    assert!(
        !selector_matches(
            &expr("{key: app, operator: Matches, values: [api]}"),
            Some(&api)
        ),
        "unknown operators fail closed"
    );
}

#[test]
fn globs_match_any_run() {
    assert!(glob_matches("batch-*", "batch-export"));
    assert!(glob_matches("batch-*", "batch-"));
    assert!(!glob_matches("batch-*", "xbatch-export"));
    assert!(glob_matches("*", ""));
    assert!(glob_matches("*-billing", "legacy-billing"));
    assert!(glob_matches("a*b*c", "aXXbYYc"));
    assert!(!glob_matches("a*b*c", "aXXbYY"));
    assert!(glob_matches("exact", "exact"));
    assert!(!glob_matches("exact", "exactly"));
    assert!(!glob_matches("ab*ba", "aba"), "pieces may not overlap");
}

#[test]
fn eks_access_parameters_merge_first_list_by_name_and_config_map_only_if_all_allow() {
    let with = |name: &str, controls: &str| -> hipaa_controls::HipaaPolicy {
        yaml_serde::from_str(&format!(
            "apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {{name: {name}}}
spec:
  namespaceSelector: {{matchLabels: {{hipaaguard.io/phi: \"true\"}}}}
  controls: {controls}
"
        ))
        .unwrap()
    };
    let a = with(
        "a",
        "[{id: HIPAA-EKS-AUTH-MODE, parameters: {allowConfigMap: true}}]",
    );
    let b = with(
        "b",
        "[{id: HIPAA-EKS-ACCESS-ADMIN, parameters: {allowedPrincipals: ['arn:aws:iam::1:role/b']}}, {id: HIPAA-EKS-AUTH-MODE, parameters: {allowConfigMap: true}}]",
    );
    let c = with(
        "c",
        "[{id: HIPAA-EKS-ACCESS-ADMIN, parameters: {allowedPrincipals: ['arn:aws:iam::1:role/c']}}]",
    );
    let ns = namespace(PHI_PROD);
    let merged = EffectivePolicy::for_namespace([&c, &b, &a], &ns).unwrap();
    let admin = &merged.setting(ids::EKS_ACCESS_ADMIN).unwrap().parameters;
    assert_eq!(
        admin.allowed_principals.as_deref(),
        Some(&["arn:aws:iam::1:role/b".to_string()][..])
    );
    // c does not allow the ConfigMap (its default), so the merge does not either.
    let mode = &merged.setting(ids::EKS_AUTH_MODE).unwrap().parameters;
    assert!(!mode.allow_config_map);
    let both = EffectivePolicy::for_namespace([&a, &b], &ns).unwrap();
    assert!(
        both.setting(ids::EKS_AUTH_MODE)
            .unwrap()
            .parameters
            .allow_config_map
    );
    // The parameters belong to their own control, and principals need no spaces.
    let misplaced = with(
        "d",
        "[{id: HIPAA-EKS-VERSION, parameters: {allowConfigMap: true}}, {id: HIPAA-EKS-ACCESS-ADMIN, parameters: {allowedPrincipals: ['arn:aws:iam::1:role/x y', '']}}]",
    );
    let errors = validate_policy(&misplaced.spec).unwrap_err();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        matches!(&errors[0], PolicyError::UnexpectedParameter { parameter, .. } if parameter == "allowConfigMap")
    );
    assert!(
        errors[1].to_string().contains("allowedPrincipals entries"),
        "{errors:?}"
    );
}

#[test]
fn the_entropy_threshold_is_validated_merged_lowest_first_and_applied() {
    let with = |name: &str, controls: &str| -> hipaa_controls::HipaaPolicy {
        common::policy(&format!(
            "apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {{name: {name}}}
spec:
  namespaceSelector: {{matchLabels: {{hipaaguard.io/phi: \"true\"}}}}
  controls: {controls}
"
        ))
    };
    for bad in ["0", "-1", "8.5"] {
        let policy = with(
            "bad",
            &format!(
                "[{{id: HIPAA-K8S-SECRETS-IN-ENV, parameters: {{valueEntropyThreshold: {bad}}}}}]"
            ),
        );
        let errors = validate_policy(&policy.spec).unwrap_err();
        assert!(
            errors[0].to_string().contains("valueEntropyThreshold"),
            "{bad}: {errors:?}"
        );
    }
    let misplaced = with(
        "m",
        "[{id: HIPAA-K8S-NETPOL, parameters: {valueEntropyThreshold: 4}}]",
    );
    assert!(matches!(
        &validate_policy(&misplaced.spec).unwrap_err()[0],
        PolicyError::UnexpectedParameter { parameter, .. } if parameter == "valueEntropyThreshold"
    ));

    let lax = with(
        "a",
        "[{id: HIPAA-K8S-SECRETS-IN-ENV, parameters: {valueEntropyThreshold: 6}}]",
    );
    let strict = with(
        "b",
        "[{id: HIPAA-K8S-SECRETS-IN-ENV, parameters: {valueEntropyThreshold: 4.2}}]",
    );
    let ns = namespace(PHI_PROD);
    let merged = EffectivePolicy::for_namespace([&lax, &strict], &ns).unwrap();
    let threshold = |policy: &EffectivePolicy| {
        policy
            .setting(ids::K8S_SECRETS_IN_ENV)
            .unwrap()
            .parameters
            .value_entropy_threshold
    };
    assert_eq!(threshold(&merged), 4.2);

    // 22 distinct characters: log2(22) = 4.46 bits per character, between the two thresholds.
    let pod = common::object(
        "apiVersion: v1
kind: Pod
metadata: {name: api, namespace: billing}
spec:
  containers: [{name: api, image: api, env: [{name: SEED, value: Zx9Qm2Lk7Vb4Np1Rt8Ws3Y}]}]",
    );
    let outcome = |policy: &EffectivePolicy| {
        evaluate(
            &pod,
            &common::context(""),
            policy,
            Mode::Audit,
            common::now(),
        )
        .findings
        .iter()
        .find(|f| f.control.id == ids::K8S_SECRETS_IN_ENV)
        .map(|f| f.outcome)
    };
    assert_eq!(outcome(&merged), Some(Outcome::Fail));
    let lax_only = EffectivePolicy::for_namespace([&lax], &ns).unwrap();
    assert_eq!(threshold(&lax_only), 6.0);
    assert_ne!(outcome(&lax_only), Some(Outcome::Fail));
}
