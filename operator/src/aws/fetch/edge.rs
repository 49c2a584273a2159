//! What carries PHI outside the data stores, as `hipaa_controls::aws::edge` holds it: Application
//! Load Balancers (ELBv2 DescribeLoadBalancers of type `application`, their tags by DescribeTags,
//! at most 20 ARNs per call, which link them to Ingresses through the AWS Load Balancer
//! Controller's tags, and DescribeListeners for those that serve an in-scope Ingress,
//! [`with_listeners`]), and EFS file systems (DescribeFileSystems, REST-JSON
//! `GET /2015-02-01/file-systems`).

use hipaa_controls::aws::{EfsFileSystem, Listener, ListenerAction, LoadBalancer, Lookup};
use serde_json::Value;

use super::super::clients::Clients;
use super::super::error::actions;
use super::super::wire::json::{items, text};
use super::super::wire::query::{encode, result_of};
use super::super::wire::{XmlNode, services};
use super::{call, not_read};

/// DescribeTags takes at most this many ARNs.
const TAGS_PER_CALL: usize = 20;

/// Pages of DescribeFileSystems at most (a guard against a marker that never ends).
const MAX_PAGES: usize = 1000;

/// A load balancer with its tags, which linking reads and the snapshot does not keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaggedBalancer {
    /// `listeners` is [`super::NOT_READ`] until [`with_listeners`] reads them.
    pub balancer: LoadBalancer,
    /// Its tags; a failed DescribeTags leaves every balancer of that batch with the error.
    pub tags: Lookup<Vec<(String, String)>>,
}

/// The region's Application Load Balancers with their tags.
pub async fn load_balancers(clients: &Clients, region: &str) -> Lookup<Vec<TaggedBalancer>> {
    let describe = call(
        &services::ELBV2,
        "DescribeLoadBalancers",
        actions::ELB_DESCRIBE_LOAD_BALANCERS,
    );
    let wire = clients.wire(region).await;
    let pages = wire
        .query_pages(describe, &[], "Marker", "NextMarker")
        .await?;
    let mut balancers = Vec::new();
    for page in &pages {
        let document = page.document()?;
        for node in result_of(&document, describe.operation).members("LoadBalancers") {
            if node.text_of("Type").as_deref() != Some("application") {
                continue;
            }
            balancers.push(LoadBalancer {
                arn: node.text_of("LoadBalancerArn").unwrap_or_default(),
                name: node.text_of("LoadBalancerName").unwrap_or_default(),
                dns_name: node.text_of("DNSName"),
                scheme: node.text_of("Scheme"),
                listeners: Err(not_read(
                    actions::ELB_DESCRIBE_LISTENERS,
                    "listeners are read only for load balancers that serve an in-scope Ingress",
                )),
                ingresses: Vec::new(),
            });
        }
    }
    let mut tagged = Vec::with_capacity(balancers.len());
    for batch in balancers.chunks(TAGS_PER_CALL) {
        let tags = tags(clients, region, batch).await;
        for balancer in batch {
            let own = match &tags {
                Ok(all) => Ok(all
                    .iter()
                    .find(|(arn, _)| *arn == balancer.arn)
                    .map(|(_, tags)| tags.clone())
                    .unwrap_or_default()),
                Err(error) => Err(error.clone()),
            };
            tagged.push(TaggedBalancer {
                balancer: balancer.clone(),
                tags: own,
            });
        }
    }
    Ok(tagged)
}

/// DescribeTags of up to 20 load balancers: (ARN, tags) per balancer.
async fn tags(
    clients: &Clients,
    region: &str,
    batch: &[LoadBalancer],
) -> Lookup<Vec<(String, Vec<(String, String)>)>> {
    let describe = call(&services::ELBV2, "DescribeTags", actions::ELB_DESCRIBE_TAGS);
    let names: Vec<String> = (1..=batch.len())
        .map(|n| format!("ResourceArns.member.{n}"))
        .collect();
    let params: Vec<(&str, &str)> = names
        .iter()
        .zip(batch)
        .map(|(name, balancer)| (name.as_str(), balancer.arn.as_str()))
        .collect();
    let wire = clients.wire(region).await;
    let answer = wire.query(describe, &params).await?;
    let document = answer.document()?;
    Ok(result_of(&document, describe.operation)
        .members("TagDescriptions")
        .iter()
        .filter_map(|description| {
            let arn = description.text_of("ResourceArn")?;
            let tags = description
                .members("Tags")
                .iter()
                .filter_map(|tag| {
                    Some((
                        tag.text_of("Key")?,
                        tag.text_of("Value").unwrap_or_default(),
                    ))
                })
                .collect();
            Some((arn, tags))
        })
        .collect())
}

/// The listeners of load balancer `arn` (DescribeListeners, every page).
pub async fn listeners(clients: &Clients, region: &str, arn: &str) -> Lookup<Vec<Listener>> {
    let describe = call(
        &services::ELBV2,
        "DescribeListeners",
        actions::ELB_DESCRIBE_LISTENERS,
    );
    let wire = clients.wire(region).await;
    let pages = wire
        .query_pages(
            describe,
            &[("LoadBalancerArn", arn)],
            "Marker",
            "NextMarker",
        )
        .await?;
    let mut found = Vec::new();
    for page in &pages {
        let document = page.document()?;
        for node in result_of(&document, describe.operation).members("Listeners") {
            let protocol = node.text_of("Protocol").unwrap_or_default();
            found.push(Listener {
                port: node
                    .text_of("Port")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0),
                protocol: protocol.clone(),
                // Only a TLS listener negotiates with its policy (moto also reports one on HTTP).
                ssl_policy: node
                    .text_of("SslPolicy")
                    .filter(|_| protocol == "HTTPS" || protocol == "TLS"),
                default_actions: node
                    .members("DefaultActions")
                    .iter()
                    .map(|action| ListenerAction {
                        action_type: action.text_of("Type").unwrap_or_default(),
                        redirect_protocol: action
                            .child("RedirectConfig")
                            .and_then(|r| r.text_of("Protocol")),
                    })
                    .collect(),
            });
        }
    }
    found.sort_by_key(|l| l.port);
    Ok(found)
}

/// Reads the listeners of `serving` (the load balancers linked to in-scope Ingresses).
pub async fn with_listeners(clients: &Clients, region: &str, serving: &mut [LoadBalancer]) {
    for balancer in serving {
        balancer.listeners = listeners(clients, region, &balancer.arn).await;
    }
}

/// The region's file systems, or only `id` when given (an unknown ID is a
/// `FileSystemNotFound` error).
pub async fn file_systems(
    clients: &Clients,
    region: &str,
    id: Option<&str>,
) -> Lookup<Vec<EfsFileSystem>> {
    let describe = call(
        &services::EFS,
        "DescribeFileSystems",
        actions::EFS_DESCRIBE_FILE_SYSTEMS,
    );
    let wire = clients.wire(region).await;
    let mut found = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut path = "/2015-02-01/file-systems".to_string();
        let mut query = Vec::new();
        if let Some(id) = id {
            query.push(format!("FileSystemId={}", encode(id)));
        }
        if let Some(marker) = &marker {
            query.push(format!("Marker={}", encode(marker)));
        }
        if !query.is_empty() {
            path = format!("{path}?{}", query.join("&"));
        }
        let page = wire.rest_get(describe, &path).await?;
        found.extend(items(&page, "FileSystems").iter().map(file_system));
        match text(&page, "NextMarker").filter(|m| !m.is_empty()) {
            Some(next) if marker.as_ref() != Some(&next) => marker = Some(next),
            _ => return Ok(found),
        }
    }
    Ok(found)
}

fn file_system(value: &Value) -> EfsFileSystem {
    EfsFileSystem {
        id: text(value, "FileSystemId").unwrap_or_default(),
        arn: text(value, "FileSystemArn"),
        name: text(value, "Name"),
        encrypted: value
            .get("Encrypted")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        kms_key_id: text(value, "KmsKeyId"),
        volumes: Vec::new(),
    }
}
