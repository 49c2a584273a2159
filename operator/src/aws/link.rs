//! Linking: which AWS resources one policy's audit looks up, from its `spec.aws` and from what
//! its in-scope workloads run: ECR repositories (and the image tags or digests in use) from
//! container images, Secrets Manager secrets from the SecretProviderClasses a pod mounts and the
//! ExternalSecret-written Secrets it reads. A pure function of the spec, the observation and the
//! integration objects, so that an unchanged result means nothing new to look up.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use hipaa_controls::aws::parse_ecr_image;
use hipaa_controls::model::ResourceRef;
use hipaa_crds::AwsLinks;

use super::data::link::DataLinks;
use super::secret_refs::{SecretIndex, SecretReference, arn_region};
use crate::observe::pod_facts::PodFacts;
use crate::observe::{Cached, Observation};

/// An ECR repository: its region, its registry (the account, when an image names it; `None` for
/// the caller's own registry) and its name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RepositoryKey {
    pub region: String,
    pub registry: Option<String>,
    pub name: String,
}

/// A Secrets Manager secret: its region and its name or ARN.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecretKey {
    pub region: String,
    pub id: String,
}

/// The workloads that use something (shared: one workload uses many things).
pub type Users = BTreeSet<Arc<ResourceRef>>;

/// Everything one policy links to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Links {
    /// `spec.aws.region`: the region of the cluster, of named resources and of globs.
    pub region: String,
    pub eks_cluster: Option<String>,
    /// Repositories named in the spec or run by in-scope workloads, with the images in use:
    /// tag or digest → the workloads running it.
    pub repositories: BTreeMap<RepositoryKey, BTreeMap<String, Users>>,
    /// `spec.aws.ecrRepositories` entries with `*`, matched against the region's repositories.
    pub repository_globs: Vec<String>,
    /// Secrets named in the spec or read by in-scope workloads, with those workloads.
    pub secrets: BTreeMap<SecretKey, Users>,
    /// `spec.aws.secrets` entries with `*`, matched against the region's secrets.
    pub secret_globs: Vec<String>,
    /// What links the workloads to AWS data: ServiceAccounts and their roles, ALB Ingresses,
    /// EFS claims.
    pub data: DataLinks,
}

impl Links {
    /// True when nothing at all is linked.
    pub fn is_empty(&self) -> bool {
        self.eks_cluster.is_none()
            && self.repositories.is_empty()
            && self.repository_globs.is_empty()
            && self.secrets.is_empty()
            && self.secret_globs.is_empty()
            && self.data.is_empty()
    }
}

/// What a policy with `aws` links, given what it governs and the integration objects.
pub fn link(aws: &AwsLinks, observation: &Observation, index: &SecretIndex) -> Links {
    let region = aws.region.trim().to_string();
    let mut links = Links {
        region: region.clone(),
        eks_cluster: aws
            .eks_cluster_name
            .as_deref()
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_string),
        ..Links::default()
    };
    links.data = DataLinks::start(observation, links.eks_cluster.as_deref());
    // Group workloads by image and by secret reference first, so that each distinct image is
    // parsed and each key built once however many workloads share it.
    let mut by_image: HashMap<&str, Vec<Arc<ResourceRef>>> = HashMap::new();
    let mut by_secret: HashMap<&SecretReference, Vec<Arc<ResourceRef>>> = HashMap::new();
    for cached in &observation.objects {
        let Cached::Compact(object) = cached else {
            continue;
        };
        let Some(facts) = object.pod.as_deref() else {
            continue;
        };
        let workload = Arc::new(object.resource_ref());
        links
            .data
            .add_workload(&object.namespace, &facts.service_account, workload.clone());
        for image in &facts.images {
            by_image.entry(image).or_default().push(workload.clone());
        }
        for reference in secret_references(facts, &object.namespace, index) {
            by_secret
                .entry(reference)
                .or_default()
                .push(workload.clone());
        }
    }
    links.data.finish(observation);
    for (image, users) in by_image {
        let Some(image) = parse_ecr_image(image) else {
            continue;
        };
        let reference = image.reference().to_string();
        let key = RepositoryKey {
            region: image.region,
            registry: Some(image.account),
            name: image.repository,
        };
        links
            .repositories
            .entry(key)
            .or_default()
            .entry(reference)
            .or_default()
            .extend(users);
    }
    for (reference, users) in by_secret {
        let key = SecretKey {
            region: reference.region.clone().unwrap_or_else(|| region.clone()),
            id: reference.id.clone(),
        };
        links.secrets.entry(key).or_default().extend(users);
    }
    for pattern in aws
        .ecr_repositories
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
    {
        if pattern.contains('*') {
            links.repository_globs.push(pattern.to_string());
            continue;
        }
        let known = links
            .repositories
            .keys()
            .any(|key| key.region == region && key.name == pattern);
        if !known {
            links.repositories.insert(
                RepositoryKey {
                    region: region.clone(),
                    registry: None,
                    name: pattern.to_string(),
                },
                BTreeMap::new(),
            );
        }
    }
    for pattern in aws
        .secrets
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
    {
        if pattern.contains('*') {
            links.secret_globs.push(pattern.to_string());
        } else {
            let key = SecretKey {
                region: arn_region(pattern).unwrap_or(&region).to_string(),
                id: pattern.to_string(),
            };
            links.secrets.entry(key).or_default();
        }
    }
    links.repository_globs.sort();
    links.repository_globs.dedup();
    links.secret_globs.sort();
    links.secret_globs.dedup();
    links
}

/// The Secrets Manager secrets the pod reads: through the SecretProviderClasses it mounts and
/// the ExternalSecret-written Secrets it mounts or takes environment variables from.
fn secret_references<'a>(
    facts: &'a PodFacts,
    namespace: &'a str,
    index: &'a SecretIndex,
) -> impl Iterator<Item = &'a SecretReference> + 'a {
    let classes = facts
        .secret_provider_classes
        .iter()
        .flat_map(move |class| index.provider_class(namespace, class));
    let secrets = facts
        .secret_names
        .iter()
        .flat_map(move |name| index.kubernetes_secret(namespace, name));
    classes.chain(secrets)
}

#[cfg(test)]
mod tests;
