//! What each control checks at report time, by name: the namespaces each policy selects and the
//! objects in them, asked of the engine (`Evaluation::checked`, the controls that apply to an
//! object). The verdicts the report prints are the statuses', not these.
//!
//! Objects are the ones the operator judges: Pods and Jobs made by a controller, and
//! ReplicaSets owned by a Deployment, are judged through their owner.

use std::collections::BTreeMap;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use hipaa_controls::object::KINDS;
use hipaa_controls::{ClusterContext, EffectivePolicy, HipaaPolicy, Mode, Object, evaluate};
use kube::api::DynamicObject;
use kube::{Api, Client};

use super::model::CheckedResources;
use crate::cluster::read::{api_resource, list_all, live_context};
use crate::scan::context::build_context;
use crate::scan::manifests::Manifests;

/// The inventory: the namespaces each policy selects, and what each control checks.
pub struct Inventory {
    pub selected_namespaces: BTreeMap<String, Vec<String>>,
    pub checked: CheckedResources,
}

/// Reads the cluster and asks the engine which controls apply to each in-scope object.
/// With `only_namespace`, objects of other namespaces are left out.
pub async fn read(
    client: &Client,
    policies: &[HipaaPolicy],
    only_namespace: Option<&str>,
    now: DateTime<Utc>,
) -> anyhow::Result<Inventory> {
    let live = live_context(client).await?;
    let ctx = build_context(&Manifests::default(), Some(&live));
    let objects = workload_objects(client).await?;
    Ok(inventory(policies, &ctx, &objects, only_namespace, now))
}

/// The pure part of [`read`]: given the context and the objects, what each control checks.
pub fn inventory(
    policies: &[HipaaPolicy],
    ctx: &ClusterContext,
    objects: &[Object],
    only_namespace: Option<&str>,
    now: DateTime<Utc>,
) -> Inventory {
    let mut selected_namespaces = BTreeMap::new();
    let mut checked: CheckedResources = BTreeMap::new();
    for policy in policies {
        let name = policy.metadata.name.clone().unwrap_or_default();
        let mut per_namespace: BTreeMap<String, EffectivePolicy> = BTreeMap::new();
        for ns in ctx.namespaces() {
            let ns_name = ns.metadata.name.clone().unwrap_or_default();
            if only_namespace.is_some_and(|only| only != ns_name) {
                continue;
            }
            if let Some(effective) = EffectivePolicy::for_namespace(std::iter::once(policy), ns) {
                per_namespace.insert(ns_name, effective);
            }
        }
        let by_control = checked.entry(name.clone()).or_default();
        for object in objects {
            let namespace = match object {
                Object::Namespace(_) => object.name(),
                _ => object.effective_namespace().unwrap_or("default"),
            };
            let Some(effective) = per_namespace.get(namespace) else {
                continue;
            };
            let evaluation = evaluate(object, ctx, effective, Mode::Audit, now);
            let resource = object.resource_ref().to_string();
            for control in evaluation.checked {
                by_control
                    .entry(control.id)
                    .or_default()
                    .insert(resource.clone());
            }
        }
        selected_namespaces.insert(name, per_namespace.into_keys().collect());
    }
    Inventory {
        selected_namespaces,
        checked,
    }
}

/// Every object of the kinds the engine judges, as the operator sees them.
async fn workload_objects(client: &Client) -> anyhow::Result<Vec<Object>> {
    // Every kind the engine parses, as the kind table names it.
    let kinds = KINDS.iter().filter(|row| row.object.is_some());
    let mut objects = Vec::new();
    for row in kinds {
        let resource = api_resource(row);
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let items = list_all(&api)
            .await
            .with_context(|| format!("cannot list {}", resource.plural))?;
        for mut item in items.unwrap_or_default() {
            let owners = item.metadata.owner_references.as_deref().unwrap_or(&[]);
            if !row.judged_itself(owners.iter().map(|o| o.controller == Some(true))) {
                continue;
            }
            item.metadata.managed_fields = None;
            let mut value = serde_json::to_value(&item).context("cannot serialize an object")?;
            if let Some(map) = value.as_object_mut() {
                map.insert("apiVersion".into(), resource.api_version.clone().into());
                map.insert("kind".into(), resource.kind.clone().into());
            }
            match Object::from_value(value, None) {
                Ok(object) => objects.push(object),
                Err(err) => {
                    tracing::warn!(kind = %resource.kind, error = %err, "object left out of the inventory")
                }
            }
        }
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use std::sync::Arc;

    fn object(yaml: &str) -> Object {
        Object::from_value(yaml_serde::from_str(yaml).unwrap(), None).unwrap()
    }

    #[test]
    fn lists_what_each_control_checks_in_the_selected_namespaces() {
        let policy: HipaaPolicy = yaml_serde::from_str(
            "apiVersion: hipaaguard.io/v1alpha1\nkind: HipaaPolicy\nmetadata: {name: phi}\nspec:\n  namespaceSelector: {matchLabels: {hipaaguard.io/phi: \"true\"}}\n",
        )
        .unwrap();
        let billing = object(
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: billing, labels: {hipaaguard.io/phi: \"true\"}}\n",
        );
        let tools = object("apiVersion: v1\nkind: Namespace\nmetadata: {name: tools}\n");
        let mut ctx = ClusterContext::new();
        for ns in [&billing, &tools] {
            if let Object::Namespace(ns) = ns {
                ctx.insert_namespace(Arc::new(ns.as_ref().clone()));
            }
        }
        let objects = vec![
            billing.clone(),
            tools,
            object(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: billing}\nspec: {selector: {}, template: {spec: {containers: [{name: a, image: nginx}]}}}\n",
            ),
            object(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ops, namespace: tools}\nspec: {selector: {}, template: {spec: {containers: [{name: a, image: nginx}]}}}\n",
            ),
        ];
        let inventory = inventory(&[policy], &ctx, &objects, None, Utc::now());
        assert_eq!(inventory.selected_namespaces["phi"], ["billing"]);
        let checked = &inventory.checked["phi"];
        assert!(checked["HIPAA-K8S-PRIVILEGED"].contains("Deployment billing/api"));
        assert!(
            !checked
                .values()
                .any(|set| set.iter().any(|r| r.contains("tools")))
        );

        let none = super::inventory(&[], &ctx, &objects, Some("billing"), Utc::now());
        assert!(none.checked.is_empty());
    }
}
