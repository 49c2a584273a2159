//! The access model against the API server's own RBAC authorizer. Generated Roles, ClusterRoles
//! and bindings (tests/tests/access_e2e/generate.rs) are created on the test control plane, with a
//! kube-controller-manager running only its clusterrole-aggregation controller to fill the
//! aggregated ClusterRoles as a real cluster's does. Then, for every generated identity, namespace,
//! modelled request and object name, a SubjectAccessReview asks the API server, and the model built
//! from the listed RBAC objects must give the same answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "access_e2e/generate.rs"]
mod generate;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use hipaa_controls::access::{AccessModel, Identity, PROBES, RbacObjects};
use hipaa_testkit::{
    apply_yaml, cargo_bin, control_plane, run_with_timeout, spawn_guarded, wait_for,
};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use kube::Client;
use kube::api::{Api, ListParams, PostParams};

/// The seed of the generated RBAC; `HIPAA_ACCESS_SEED` replays another.
fn seed() -> u64 {
    std::env::var("HIPAA_ACCESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x041c_ce55)
}

#[tokio::test]
async fn the_access_model_answers_as_the_api_servers_authorizer() {
    let plane = control_plane().await.unwrap();
    let client = plane.client().await.unwrap();
    let seed = seed();
    let mut yaml = String::new();
    for namespace in generate::NAMESPACES {
        yaml.push_str(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {namespace}}}\n---\n"
        ));
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for object in generate::objects(seed) {
        yaml.push_str(&serde_json::to_string(&object).unwrap());
        yaml.push_str("\n---\n");
    }
    apply_yaml(&client, &yaml).await.unwrap();
    assert!(namespaces.get_opt("access-a").await.unwrap().is_some());

    // Only the aggregation controller: no leader election, no serving port.
    let mut controllers = Command::new(plane.bin_dir().join("kube-controller-manager"));
    controllers
        .arg(format!("--kubeconfig={}", plane.kubeconfig().display()))
        .arg("--controllers=clusterrole-aggregation")
        .arg("--leader-elect=false")
        .arg("--secure-port=0");
    let _controllers = spawn_guarded(controllers, "access-kube-controller-manager").unwrap();
    aggregation_settled(&client).await;

    let rbac = Rbac::list(&client).await;
    let model = AccessModel::build(&rbac.objects());

    let reviews: Api<SubjectAccessReview> = Api::all(client.clone());
    let mut asked = Vec::new();
    for (user, groups) in generate::identities(seed) {
        for namespace in generate::NAMESPACES {
            for probe in PROBES.iter() {
                for name in ["", generate::NAMED[0], generate::NAMED[1]] {
                    asked.push((user.clone(), groups.clone(), namespace, probe, name));
                }
            }
        }
    }
    let mut answers = tokio::task::JoinSet::new();
    for chunk in asked.chunks(asked.len().div_ceil(8)) {
        let chunk = chunk.to_vec();
        let reviews = reviews.clone();
        answers.spawn(async move {
            let mut out = Vec::new();
            for (user, groups, namespace, probe, name) in chunk {
                let review = SubjectAccessReview {
                    spec: SubjectAccessReviewSpec {
                        user: Some(user.clone()),
                        groups: Some(groups.clone()),
                        resource_attributes: Some(ResourceAttributes {
                            namespace: Some(namespace.to_owned()),
                            verb: Some(probe.verb.to_owned()),
                            group: Some(probe.group.to_owned()),
                            resource: Some(probe.resource.to_owned()),
                            subresource: Some(probe.subresource.to_owned()),
                            name: Some(name.to_owned()),
                            ..ResourceAttributes::default()
                        }),
                        ..SubjectAccessReviewSpec::default()
                    },
                    ..SubjectAccessReview::default()
                };
                let answer = reviews
                    .create(&PostParams::default(), &review)
                    .await
                    .unwrap();
                let allowed = answer.status.map(|s| s.allowed).unwrap_or(false);
                out.push((user, groups, namespace, probe, name, allowed));
            }
            out
        });
    }
    let (mut allowed, mut denied, mut wrong) = (0, 0, Vec::new());
    while let Some(chunk) = answers.join_next().await {
        for (user, groups, namespace, probe, name, api_server) in chunk.unwrap() {
            let identity = Identity {
                user: user.clone(),
                groups,
            };
            let modelled = model.allows(&identity, namespace, probe, name);
            if api_server {
                allowed += 1
            } else {
                denied += 1
            }
            if modelled != api_server {
                wrong.push(format!(
                    "{user} {} {} in {namespace} (name {name:?}): API server {api_server}, model {modelled}",
                    probe.verb,
                    probe.display_resource()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "seed {seed}: {} of {} answers differ:\n{}",
        wrong.len(),
        allowed + denied,
        wrong.join("\n")
    );
    eprintln!("seed {seed}: {allowed} allowed, {denied} denied, all as the model answered");
    // Not vacuous: both answers are common.
    assert!(
        allowed > 100 && denied > 100,
        "allowed {allowed}, denied {denied}"
    );
}

/// Waits until every aggregated ClusterRole holds exactly the union of the rules of the other
/// ClusterRoles its selectors match: the controller's fixed point, checked on the stored objects.
async fn aggregation_settled(client: &Client) {
    let roles: Api<ClusterRole> = Api::all(client.clone());
    wait_for(
        "the aggregated ClusterRoles to be filled",
        Duration::from_secs(60),
        || async {
            let all = roles.list(&ListParams::default()).await?.items;
            let settled = all
                .iter()
                .filter(|r| r.aggregation_rule.is_some())
                .all(|aggregated| {
                    let selectors = aggregated
                        .aggregation_rule
                        .as_ref()
                        .and_then(|a| a.cluster_role_selectors.clone())
                        .unwrap_or_default();
                    let wanted: BTreeSet<String> = all
                        .iter()
                        .filter(|other| other.metadata.name != aggregated.metadata.name)
                        .filter(|other| {
                            selectors.iter().any(|s| {
                                hipaa_controls::selector_matches(s, other.metadata.labels.as_ref())
                            })
                        })
                        .flat_map(|other| other.rules.iter().flatten().map(rule_key))
                        .collect();
                    let stored: BTreeSet<String> =
                        aggregated.rules.iter().flatten().map(rule_key).collect();
                    wanted == stored
                });
            Ok(settled.then_some(()))
        },
    )
    .await
    .unwrap();
}

fn rule_key(rule: &PolicyRule) -> String {
    serde_json::to_string(rule).unwrap()
}

/// Every RBAC object of the cluster, the generated ones and the API server's bootstrap ones.
struct Rbac {
    roles: Vec<Role>,
    cluster_roles: Vec<ClusterRole>,
    role_bindings: Vec<RoleBinding>,
    cluster_role_bindings: Vec<ClusterRoleBinding>,
}

impl Rbac {
    async fn list(client: &Client) -> Rbac {
        let all = ListParams::default();
        Rbac {
            roles: Api::<Role>::all(client.clone())
                .list(&all)
                .await
                .unwrap()
                .items,
            cluster_roles: Api::<ClusterRole>::all(client.clone())
                .list(&all)
                .await
                .unwrap()
                .items,
            role_bindings: Api::<RoleBinding>::all(client.clone())
                .list(&all)
                .await
                .unwrap()
                .items,
            cluster_role_bindings: Api::<ClusterRoleBinding>::all(client.clone())
                .list(&all)
                .await
                .unwrap()
                .items,
        }
    }

    fn objects(&self) -> RbacObjects<'_> {
        RbacObjects {
            roles: self.roles.iter().collect(),
            cluster_roles: self.cluster_roles.iter().collect(),
            role_bindings: self.role_bindings.iter().collect(),
            cluster_role_bindings: self.cluster_role_bindings.iter().collect(),
            service_accounts: Vec::new(),
        }
    }
}

/// `kubectl hipaa access` on the same API server: the PHI namespace a HipaaPolicy selects is
/// reviewed with exactly the subjects its RoleBindings name (and the bootstrap cluster-admin
/// binding), an unselected one only when asked for with -n.
#[tokio::test]
async fn kubectl_hipaa_access_lists_exactly_the_subjects_that_reach_a_phi_namespace() {
    let plane = control_plane().await.unwrap();
    plane.install_hipaa_crd().await.unwrap();
    let client = plane.client().await.unwrap();
    apply_yaml(&client, ACCESS_REVIEW).await.unwrap();
    let access = |args: &[&str]| {
        let mut cmd = Command::new(cargo_bin("kubectl-hipaa"));
        cmd.arg("access")
            .args(args)
            .env("KUBECONFIG", plane.kubeconfig());
        let out = run_with_timeout(&mut cmd, None, Duration::from_secs(60)).unwrap();
        assert_eq!(out.status, 0, "{out}");
        out.stdout
    };
    let review: serde_json::Value = serde_json::from_str(&access(&["-o", "json"])).unwrap();
    let reviewed: Vec<&str> = review["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ns| ns["namespace"].as_str().unwrap())
        .collect();
    assert!(reviewed.contains(&"access-phi"), "{reviewed:?}");
    assert!(!reviewed.contains(&"access-tools"), "{reviewed:?}");
    let phi = review["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|ns| ns["namespace"] == "access-phi")
        .unwrap();
    assert_eq!(phi["policies"], serde_json::json!(["access-review"]));
    let local: BTreeSet<String> = phi["grants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["binding"]["kind"] == "RoleBinding")
        .map(|g| {
            format!(
                "{} {} {}",
                g["subject"]["kind"], g["subject"]["name"], g["access"]
            )
        })
        .map(|line| line.replace('"', ""))
        .collect();
    let expected: BTreeSet<String> = [
        "User reviewer-1 read-secrets",
        "ServiceAccount app read-secrets",
        "ServiceAccount app exec",
    ]
    .map(String::from)
    .into();
    assert_eq!(local, expected);
    // Under the default allowedSubjects, the test's subjects are not allowed, and every access
    // the API server's own bootstrap bindings grant is: a fresh cluster passes the controls.
    // (Other tests' ClusterRoleBindings on the shared control plane reach this namespace too.)
    for grant in phi["grants"].as_array().unwrap() {
        let binding = grant["binding"]["name"].as_str().unwrap();
        let ours = grant["binding"]["kind"] == "RoleBinding";
        let bootstrap = binding == "cluster-admin" || binding.starts_with("system:");
        if grant["access"] != "write-workloads" && (ours || bootstrap) {
            assert_eq!(grant["allowed"], bootstrap, "{grant}");
        }
    }
    assert!(
        phi["grants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["subject"]["name"] == "system:masters"
                && g["binding"]["name"] == "cluster-admin"),
        "the bootstrap cluster-admin binding is missing: {phi}"
    );

    let table = access(&["-n", "access-tools", "--subject", "tools-only"]);
    assert!(
        table.contains(
            "access-tools  User tools-only  read-secrets  -        get,list,watch  secrets    \
             RoleBinding access-tools/tools → ClusterRole access-review-reader, rule 0"
        ),
        "{table}"
    );
    assert!(
        table.contains("note: no HipaaPolicy selects access-tools"),
        "{table}"
    );
}

const ACCESS_REVIEW: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: access-phi, labels: {access-review/phi: "true"}}
---
apiVersion: v1
kind: Namespace
metadata: {name: access-tools}
---
apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: access-review}
spec:
  enforcement: Audit
  namespaceSelector:
    matchLabels: {access-review/phi: "true"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: access-review-reader}
rules:
  - {apiGroups: [""], resources: [secrets], verbs: [get, list, watch]}
  - {apiGroups: [""], resources: [configmaps], verbs: ["*"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: app, namespace: access-phi}
rules:
  - {apiGroups: [""], resources: [secrets], resourceNames: [app-db], verbs: [get]}
  - {apiGroups: [""], resources: [pods/exec], verbs: [create]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reviewers, namespace: access-phi}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: access-review-reader}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: reviewer-1}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: app, namespace: access-phi}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: app}
subjects:
  - {kind: ServiceAccount, name: app}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: tools, namespace: access-tools}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: access-review-reader}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: tools-only}
"#;
