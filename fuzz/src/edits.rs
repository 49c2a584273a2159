//! Structure-aware edits of a JSON object, driven by the fuzzer's bytes: replace, add or remove a
//! field anywhere in the tree, with values chosen to break assumptions (wrong types, extreme
//! numbers, empty and huge strings, deep nesting, subtrees grafted elsewhere). The result is always
//! valid JSON, so the fuzzer's time goes to the decoders and the engine, not to JSON syntax.

use arbitrary::{Result, Unstructured};
use serde_json::{Map, Value, json};

/// Field names the decoders and the controls read (and some they must ignore).
const KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "generateName",
    "namespace",
    "labels",
    "annotations",
    "ownerReferences",
    "controller",
    "managedFields",
    "finalizers",
    "deletionTimestamp",
    "spec",
    "template",
    "jobTemplate",
    "replicas",
    "selector",
    "matchLabels",
    "matchExpressions",
    "key",
    "operator",
    "values",
    "containers",
    "initContainers",
    "ephemeralContainers",
    "image",
    "imagePullPolicy",
    "securityContext",
    "privileged",
    "allowPrivilegeEscalation",
    "runAsNonRoot",
    "runAsUser",
    "readOnlyRootFilesystem",
    "capabilities",
    "add",
    "drop",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "volumes",
    "volumeMounts",
    "mountPath",
    "hostPath",
    "path",
    "secret",
    "secretName",
    "projected",
    "sources",
    "csi",
    "driver",
    "volumeAttributes",
    "persistentVolumeClaim",
    "claimName",
    "ephemeral",
    "volumeClaimTemplate",
    "volumeClaimTemplates",
    "storageClassName",
    "env",
    "value",
    "valueFrom",
    "secretKeyRef",
    "configMapKeyRef",
    "envFrom",
    "secretRef",
    "serviceAccountName",
    "automountServiceAccountToken",
    "affinity",
    "podAntiAffinity",
    "topologySpreadConstraints",
    "ports",
    "type",
    "loadBalancerClass",
    "tls",
    "hosts",
    "rules",
    "ingress",
    "egress",
    "podSelector",
    "namespaceSelector",
    "policyTypes",
    "from",
    "to",
    "ipBlock",
    "cidr",
    "enforcement",
    "controls",
    "id",
    "disabled",
    "parameters",
    "allowedRegistries",
    "requireEgress",
    "minReplicas",
    "minVersion",
    "failOn",
    "maxAgeDays",
    "exceptions",
    "match",
    "kinds",
    "names",
    "namespaces",
    "justification",
    "approvedBy",
    "expires",
    "auditInterval",
    "hipaaguard.io/phi",
    "hipaaguard.io/environment",
    "sidecar.istio.io/inject",
    "linkerd.io/inject",
    "service.beta.kubernetes.io/aws-load-balancer-ssl-cert",
];

/// String values the controls compare against.
const STRINGS: &[&str] = &[
    "",
    "true",
    "false",
    "0",
    "-1",
    "latest",
    "nginx",
    "nginx:latest",
    "docker.io/library/nginx:1.27",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
    "registry.example.com/app:1.0",
    "Always",
    "IfNotPresent",
    "LoadBalancer",
    "ClusterIP",
    "NodePort",
    "Enforce",
    "Warn",
    "Audit",
    "Ingress",
    "Egress",
    "In",
    "NotIn",
    "Exists",
    "DoesNotExist",
    "production",
    "billing",
    "kube-system",
    "NET_ADMIN",
    "SYS_ADMIN",
    "ALL",
    "/var/run/docker.sock",
    "/",
    "HIPAA-K8S-IMAGE-REGISTRY",
    "HIPAA-K8S-PHI-SCOPE",
    "*",
    "legacy-*",
    "2099-01-01T00:00:00Z",
    "2020-01-01T00:00:00Z",
    "not a date",
    "1.33",
    "1.x",
    "10s",
    "0s",
    "1h",
    "-5m",
    "0.0.0.0/0",
    "10.0.0.0/8",
    "\u{0}",
    "é\u{301}",
    "\u{feff}",
];

/// How large (about its JSON length) an edited object may grow: past the webhook's 4 MiB body cap,
/// so that oversized reviews are still made, but bounded. Without it, grafts and repeats compound
/// (8 edits, each up to 64 copies or a copy of the whole tree) into objects of hundreds of
/// megabytes: the fuzz process, not the webhook (which refuses them by their length), ran out of
/// memory after a million executions.
pub const MAX_WEIGHT: usize = 6 << 20;

/// Applies up to 8 edits to `object`, stopping once it weighs more than [`MAX_WEIGHT`]; an edit
/// at most doubles it (a graft is a copy of one of its subtrees; repeats are capped to the same).
pub fn edit(object: &mut Value, u: &mut Unstructured<'_>) -> Result<()> {
    let count = u.int_in_range(0..=8)?;
    for _ in 0..count {
        if weight(object) > MAX_WEIGHT {
            break;
        }
        let graft = pick_subtree(object, u)?;
        edit_at(object, u, 0, &graft)?;
    }
    Ok(())
}

/// About the length of `value` as JSON, counted without serializing it.
pub fn weight(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => 8,
        Value::String(text) => text.len() + 2,
        Value::Array(items) => 2 + items.iter().map(|item| weight(item) + 1).sum::<usize>(),
        Value::Object(map) => {
            2 + map
                .iter()
                .map(|(key, item)| key.len() + 4 + weight(item))
                .sum::<usize>()
        }
    }
}

/// How deeply nested `value` is (a scalar is 0).
pub fn depth(value: &Value) -> usize {
    match value {
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn pick_subtree(root: &Value, u: &mut Unstructured<'_>) -> Result<Value> {
    let mut node = root;
    while u.ratio(3, 4)? {
        let next = match node {
            Value::Object(map) if !map.is_empty() => map.values().nth(u.choose_index(map.len())?),
            Value::Array(items) if !items.is_empty() => items.get(u.choose_index(items.len())?),
            _ => None,
        };
        match next {
            Some(child) => node = child,
            None => break,
        }
    }
    Ok(node.clone())
}

fn edit_at(node: &mut Value, u: &mut Unstructured<'_>, level: usize, graft: &Value) -> Result<()> {
    if level < 48 && u.ratio(4, 5)? {
        let child = match node {
            Value::Object(map) if !map.is_empty() => {
                let index = u.choose_index(map.len())?;
                map.values_mut().nth(index)
            }
            Value::Array(items) if !items.is_empty() => {
                let index = u.choose_index(items.len())?;
                items.get_mut(index)
            }
            _ => None,
        };
        if let Some(child) = child {
            return edit_at(child, u, level + 1, graft);
        }
    }
    match u.choose_index(5)? {
        0 => *node = value(u, graft)?,
        1 => match node {
            Value::Object(map) => {
                let key = key(u)?;
                map.insert(key, value(u, graft)?);
            }
            Value::Array(items) => items.push(value(u, graft)?),
            _ => *node = value(u, graft)?,
        },
        2 => match node {
            Value::Object(map) if !map.is_empty() => {
                let index = u.choose_index(map.len())?;
                if let Some(key) = map.keys().nth(index).cloned() {
                    map.remove(&key);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                let index = u.choose_index(items.len())?;
                items.remove(index);
            }
            _ => *node = Value::Null,
        },
        3 => match node {
            Value::Array(items) if !items.is_empty() => {
                let copies = u.int_in_range(1..=64)?;
                let index = u.choose_index(items.len())?;
                if let Some(item) = items.get(index).cloned() {
                    // No more copies than add MAX_WEIGHT: with the check in `edit`, the object
                    // at most doubles past it.
                    let copies = copies.min(MAX_WEIGHT / weight(&item).max(1)).max(1);
                    items.extend(std::iter::repeat_n(item, copies));
                }
            }
            _ => *node = json!([node.take()]),
        },
        _ => *node = graft.clone(),
    }
    Ok(())
}

fn key(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(7, 8)? {
        Ok((*u.choose(KEYS)?).to_owned())
    } else {
        Ok(text(u)?)
    }
}

/// A string made of the fuzzer's bytes.
fn text(u: &mut Unstructured<'_>) -> Result<String> {
    let text: &str = u.arbitrary()?;
    Ok(text.to_owned())
}

fn value(u: &mut Unstructured<'_>, graft: &Value) -> Result<Value> {
    Ok(match u.choose_index(12)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => json!(*u.choose(&[
            0i64,
            1,
            -1,
            2,
            3,
            i64::from(i32::MAX),
            i64::from(i32::MIN),
            i64::MAX,
            i64::MIN
        ])?),
        3 => json!(*u.choose(&[u64::MAX, 1u64 << 53, 1u64 << 31])?),
        4 => json!(*u.choose(&[0.5f64, -0.0, 1e308, -1e308, 2.5e-320])?),
        5 | 6 => Value::String((*u.choose(STRINGS)?).to_owned()),
        7 => Value::String(text(u)?),
        8 => Value::String("a".repeat(u.int_in_range(1..=70_000)?)),
        9 => Value::Object(Map::new()),
        10 => {
            let levels = u.int_in_range(1..=40)?;
            let mut nested = value_leaf(u)?;
            for level in 0..levels {
                nested = if level % 2 == 0 {
                    json!([nested])
                } else {
                    json!({ "spec": nested })
                };
            }
            nested
        }
        _ => graft.clone(),
    })
}

fn value_leaf(u: &mut Unstructured<'_>) -> Result<Value> {
    Ok(match u.choose_index(3)? {
        0 => Value::Null,
        1 => Value::String((*u.choose(STRINGS)?).to_owned()),
        _ => json!({}),
    })
}
