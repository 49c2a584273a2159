//! Generated RBAC for the access model's comparison with the API server: Roles, ClusterRoles
//! (aggregated ones among them, one aggregating another) and bindings built from small
//! vocabularies chosen to hit RBAC's corners (`*` everywhere, `*/exec`, `pods/*` which is not a
//! wildcard, resourceNames, ServiceAccounts without a namespace, missing roles), from a seed.

use serde_json::{Value, json};

pub const NAMESPACES: [&str; 3] = ["access-a", "access-b", "access-c"];
pub const USERS: [&str; 5] = ["ana", "ben", "cy", "dee", "eli"];
pub const GROUPS: [&str; 4] = ["oncall", "auditors", "devs", "contractors"];
pub const SERVICE_ACCOUNTS: [&str; 3] = ["api", "backup", "ci"];
/// The label the generated ClusterRoles aggregate by.
pub const AGGREGATE_LABEL: &str = "access-e2e.hipaaguard.io/aggregate-to";
pub const NAMED: [&str; 2] = ["name-a", "name-b"];

const VERBS: [&str; 9] = [
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "*",
    "deletecollection",
];
const API_GROUPS: [&str; 5] = ["", "", "apps", "batch", "*"];
const RESOURCES: [&str; 20] = [
    "secrets",
    "secrets",
    "pods",
    "pods/exec",
    "pods/attach",
    "pods/portforward",
    "pods/ephemeralcontainers",
    "*/exec",
    "*/attach",
    "pods/*",
    "deployments",
    "statefulsets",
    "daemonsets",
    "replicasets",
    "jobs",
    "cronjobs",
    "*",
    "configmaps",
    "deployments/scale",
    "pods/log",
];

/// splitmix64: a deterministic generator, so that a failing seed can be replayed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items
            .get(self.below(items.len()))
            .copied()
            .unwrap_or_default()
    }

    /// 1 to `most` distinct items.
    fn some<'a>(&mut self, items: &[&'a str], most: usize) -> Vec<&'a str> {
        let mut chosen: Vec<&str> = (0..1 + self.below(most))
            .map(|_| self.pick(items))
            .collect();
        chosen.sort_unstable();
        chosen.dedup();
        chosen
    }
}

fn rule(rng: &mut Rng) -> Value {
    let mut rule = json!({
        "verbs": rng.some(&VERBS, 3),
        "apiGroups": rng.some(&API_GROUPS, 2),
        "resources": rng.some(&RESOURCES, 3),
    });
    if rng.chance(5) {
        rule["resourceNames"] = json!(rng.some(&NAMED, 2));
    }
    rule
}

fn rules(rng: &mut Rng) -> Value {
    Value::Array((0..1 + rng.below(3)).map(|_| rule(rng)).collect())
}

fn subjects(rng: &mut Rng, namespace: Option<&str>) -> Value {
    let subjects: Vec<Value> = (0..1 + rng.below(3))
        .map(|_| match rng.below(5) {
            0 | 1 => json!({"kind": "User", "apiGroup": "rbac.authorization.k8s.io",
                "name": rng.pick(&USERS)}),
            2 => json!({"kind": "Group", "apiGroup": "rbac.authorization.k8s.io",
                "name": rng.pick(&GROUPS)}),
            3 => {
                let own = rng.pick(&NAMESPACES);
                json!({"kind": "Group", "apiGroup": "rbac.authorization.k8s.io",
                    "name": format!("system:serviceaccounts:{own}")})
            }
            _ => {
                let name = rng.pick(&SERVICE_ACCOUNTS);
                // A RoleBinding's ServiceAccount may leave its namespace to the binding's.
                match namespace {
                    Some(_) if rng.chance(2) => json!({"kind": "ServiceAccount", "name": name}),
                    _ => json!({"kind": "ServiceAccount", "name": name,
                        "namespace": rng.pick(&NAMESPACES)}),
                }
            }
        })
        .collect();
    Value::Array(subjects)
}

/// Every generated object, in an order the API server accepts.
pub fn objects(seed: u64) -> Vec<Value> {
    let mut rng = Rng::new(seed);
    let mut objects = Vec::new();
    let mut cluster_roles = Vec::new();
    for i in 0..10 {
        let name = format!("access-e2e-plain-{i}");
        let mut labels = json!({});
        if !rng.chance(3) {
            labels[AGGREGATE_LABEL] = json!(if rng.chance(2) { "oncall" } else { "readers" });
        }
        objects.push(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": labels}, "rules": rules(&mut rng)}),
        );
        cluster_roles.push(name);
    }
    // Aggregated: the controller overwrites whatever rules they are created with.
    let aggregated = [
        (
            "access-e2e-oncall",
            json!({"matchLabels": {AGGREGATE_LABEL: "oncall"}}),
            "everything",
        ),
        (
            "access-e2e-readers",
            json!({"matchExpressions": [{"key": AGGREGATE_LABEL,
            "operator": "In", "values": ["readers"]}]}),
            "everything",
        ),
        (
            "access-e2e-everything",
            json!({"matchLabels": {AGGREGATE_LABEL: "everything"}}),
            "",
        ),
    ];
    for (name, selector, label) in aggregated {
        let labels = if label.is_empty() {
            json!({})
        } else {
            json!({AGGREGATE_LABEL: label})
        };
        objects.push(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": labels},
            "aggregationRule": {"clusterRoleSelectors": [selector]},
            "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}]}),
        );
        cluster_roles.push(name.to_owned());
    }
    let cluster_roles: Vec<&str> = cluster_roles.iter().map(String::as_str).collect();
    for (i, namespace) in NAMESPACES.into_iter().enumerate() {
        objects.extend(corners(namespace, USERS[i]));
        for i in 0..5 {
            objects.push(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": format!("role-{i}"), "namespace": namespace},
                "rules": rules(&mut rng)}),
            );
        }
        for i in 0..6 {
            let role_ref = match rng.below(6) {
                0..=2 => json!({"kind": "Role", "name": format!("role-{}", rng.below(5))}),
                3 | 4 => json!({"kind": "ClusterRole", "name": rng.pick(&cluster_roles)}),
                _ => json!({"kind": "Role", "name": "missing"}),
            };
            let mut binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": format!("binding-{i}"), "namespace": namespace},
                "roleRef": role_ref, "subjects": subjects(&mut rng, Some(namespace))});
            binding["roleRef"]["apiGroup"] = json!("rbac.authorization.k8s.io");
            objects.push(binding);
        }
    }
    for i in 0..3 {
        objects.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding", "metadata": {"name": format!("access-e2e-{i}")},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                "name": rng.pick(&cluster_roles)},
            "subjects": subjects(&mut rng, None)}));
    }
    objects
}

/// A Role with RBAC's corners bound in every namespace, so that a seed cannot miss them: names,
/// `pods/*` (no wildcard), `*/portforward`, a subresource of a workload, `*` groups, and a
/// ServiceAccount that takes the binding's namespace.
fn corners(namespace: &str, user: &str) -> [Value; 2] {
    [
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "corners", "namespace": namespace},
        "rules": [
            {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"],
                "resourceNames": [NAMED[0]]},
            {"verbs": ["create"], "apiGroups": [""], "resources": ["pods/*"]},
            {"verbs": ["create"], "apiGroups": [""], "resources": ["*/portforward"]},
            {"verbs": ["patch"], "apiGroups": ["apps"], "resources": ["deployments/scale"]},
            {"verbs": ["update"], "apiGroups": ["*"], "resources": ["cronjobs"]},
            {"verbs": ["*"], "apiGroups": [""], "resources": ["pods/exec"],
                "resourceNames": [NAMED[1]]},
        ]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "corners", "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "corners"},
        "subjects": [
            {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": user},
            {"kind": "ServiceAccount", "name": "ci"},
        ]}),
    ]
}

/// The identities asked about: each user in some groups, every ServiceAccount, and a user in
/// none.
pub fn identities(seed: u64) -> Vec<(String, Vec<String>)> {
    let mut rng = Rng::new(seed ^ 0x5eed);
    let mut identities = Vec::new();
    for user in USERS {
        let mut groups: Vec<String> = GROUPS
            .iter()
            .filter(|_| rng.chance(2))
            .map(|g| (*g).to_owned())
            .collect();
        groups.push("system:authenticated".to_owned());
        identities.push((user.to_owned(), groups));
    }
    for namespace in NAMESPACES {
        for name in SERVICE_ACCOUNTS {
            identities.push((
                format!("system:serviceaccount:{namespace}:{name}"),
                vec![
                    "system:serviceaccounts".to_owned(),
                    format!("system:serviceaccounts:{namespace}"),
                    "system:authenticated".to_owned(),
                ],
            ));
        }
    }
    identities.push(("nobody".to_owned(), vec!["system:authenticated".to_owned()]));
    identities
}
