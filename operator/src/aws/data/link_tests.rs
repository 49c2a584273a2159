#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
use std::collections::BTreeMap;

use super::*;
use crate::aws::data::found::{DataFound, TaggedLoadBalancer};
use crate::aws::data::matching::{
    file_system_of_handle, file_systems_in_use, matched_load_balancers,
};
use crate::aws::fetched::Fetched;
use crate::observe::aws_inputs::AwsInputs;
use chrono::Utc;
use hipaa_controls::aws::LoadBalancer;

fn cached<K: crate::observe::compact::CompactResource>(yaml: &str) -> Cached {
    let object: K = yaml_serde::from_str(yaml).unwrap();
    Cached::compact(&object).unwrap()
}

fn deployment(name: &str, account: Option<&str>) -> Cached {
    let account = account
        .map(|a| format!("      serviceAccountName: {a}\n"))
        .unwrap_or_default();
    cached::<k8s_openapi::api::apps::v1::Deployment>(&format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: billing}}\nspec:\n  selector: {{matchLabels: {{app: x}}}}\n  template:\n    metadata: {{labels: {{app: x}}}}\n    spec:\n{account}      containers: [{{name: a, image: app}}]\n"
    ))
}

fn ingress(name: &str, extra: &str) -> Cached {
    cached::<Ingress>(&format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: {name}, namespace: billing{extra}}}\nspec: {{ingressClassName: alb}}\nstatus: {{loadBalancer: {{ingress: [{{hostname: k8s-billing-0123.us-east-1.elb.amazonaws.com}}]}}}}\n"
    ))
}

fn claim(name: &str, class: &str, volume: Option<&str>) -> Cached {
    let volume = volume
        .map(|v| format!(", volumeName: {v}"))
        .unwrap_or_default();
    let claim: k8s_openapi::api::core::v1::PersistentVolumeClaim = yaml_serde::from_str(&format!(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: {name}, namespace: billing}}\nspec: {{storageClassName: {class}{volume}, accessModes: [ReadWriteMany]}}\n"
    ))
    .unwrap();
    Cached::PersistentVolumeClaim(Arc::new(claim))
}

fn observation(objects: Vec<Cached>) -> Observation {
    Observation {
        scope: ["billing".to_string()].into(),
        objects,
        aws: AwsInputs {
            service_account_roles: BTreeMap::from([(
                ("billing".to_string(), "api".to_string()),
                "arn:aws:iam::123456789012:role/billing-api".to_string(),
            )]),
            efs_storage_classes: BTreeMap::from([("efs".to_string(), "fs-0abc".to_string())]),
        },
    }
}

fn workload(name: &str) -> ResourceRef {
    ResourceRef::new("Deployment", Some("billing"), name)
}

#[test]
fn workloads_link_their_service_accounts_and_irsa_roles() {
    let links = link_data(
        &observation(vec![
            deployment("api", Some("api")),
            deployment("worker", Some("api")),
            deployment("batch", None),
        ]),
        Some("prod"),
    );
    assert_eq!(links.cluster.as_deref(), Some("prod"));
    assert_eq!(
        links.workloads_of("billing", "default").unwrap().len(),
        1,
        "a pod spec without serviceAccountName runs as default"
    );
    let accounts = &links.irsa["arn:aws:iam::123456789012:role/billing-api"];
    assert_eq!(
        accounts.iter().collect::<Vec<_>>(),
        vec![&("billing".to_string(), "api".to_string())]
    );
    let uses: Vec<_> = links
        .uses(
            accounts.iter().map(|(n, a)| (n.as_str(), a.as_str())),
            IdentitySource::Irsa,
        )
        .collect();
    let workloads: Vec<_> = uses.iter().map(|u| u.workload.clone()).collect();
    assert_eq!(workloads, vec![workload("api"), workload("worker")]);
    assert!(
        uses.iter()
            .all(|u| u.source == IdentitySource::Irsa && u.service_account == "api")
    );
    assert_eq!(links.irsa.len(), 1, "default names no role");
}

#[test]
fn alb_ingresses_link_by_group_or_name_and_match_tags_or_hostnames() {
    let links = link_data(
        &observation(vec![
            ingress("web", ""),
            ingress(
                "admin",
                ", annotations: {alb.ingress.kubernetes.io/group.name: shared}",
            ),
            cached::<Ingress>(
                "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: nginx, namespace: billing}\nspec: {ingressClassName: nginx}\n",
            ),
        ]),
        Some("prod"),
    );
    let stacks: Vec<_> = links.ingresses.iter().map(|i| i.stack.as_str()).collect();
    assert_eq!(
        stacks,
        vec!["shared", "billing/web"],
        "an nginx Ingress without hostname is not an ALB's"
    );

    let balancer = |arn: &str, dns: &str, tags: &[(&str, &str)]| TaggedLoadBalancer {
        load_balancer: LoadBalancer {
            arn: arn.to_string(),
            name: arn.to_string(),
            dns_name: Some(dns.to_string()),
            scheme: None,
            listeners: Ok(Vec::new()),
            ingresses: Vec::new(),
        },
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    let found = DataFound {
        load_balancers: Some(Fetched {
            at: Utc::now(),
            result: Ok(vec![
                balancer(
                    "by-dns",
                    "K8S-BILLING-0123.us-east-1.elb.amazonaws.com",
                    &[],
                ),
                balancer(
                    "by-tag",
                    "other",
                    &[
                        ("ingress.k8s.aws/stack", "shared"),
                        ("elbv2.k8s.aws/cluster", "prod"),
                    ],
                ),
                balancer(
                    "other-cluster",
                    "x",
                    &[
                        ("ingress.k8s.aws/stack", "shared"),
                        ("elbv2.k8s.aws/cluster", "dev"),
                    ],
                ),
            ]),
        }),
        ..DataFound::default()
    };
    let matched = matched_load_balancers(&links, &found);
    assert_eq!(matched.keys().collect::<Vec<_>>(), vec!["by-dns", "by-tag"]);
    assert_eq!(matched["by-tag"].len(), 1);
    assert_eq!(
        matched["by-dns"].len(),
        2,
        "both Ingresses report the hostname"
    );
}

#[test]
fn claims_link_efs_through_their_class_or_their_volume() {
    let links = link_data(
        &observation(vec![
            claim("shared", "efs", None),
            claim("static", "", Some("pv-static")),
            claim("block", "gp3", Some("pv-block")),
        ]),
        None,
    );
    let claim_ref = |name: &str| ResourceRef::new("PersistentVolumeClaim", Some("billing"), name);
    assert_eq!(
        links.efs_claims["fs-0abc"].iter().collect::<Vec<_>>(),
        vec![&claim_ref("shared")]
    );
    assert_eq!(links.bound_claims.len(), 2);
    let found = DataFound {
        volumes: Some(Fetched {
            at: Utc::now(),
            result: Ok(BTreeMap::from([(
                "pv-static".to_string(),
                "fs-0def".to_string(),
            )])),
        }),
        ..DataFound::default()
    };
    let in_use = file_systems_in_use(&links, &found);
    assert_eq!(
        in_use.keys().collect::<Vec<_>>(),
        vec!["fs-0abc", "fs-0def"]
    );
    assert_eq!(file_system_of_handle("fs-0def::fsap-0123"), Some("fs-0def"));
    assert_eq!(file_system_of_handle("fs-0def:/data"), Some("fs-0def"));
    assert_eq!(file_system_of_handle("vol-0123"), None);
}
