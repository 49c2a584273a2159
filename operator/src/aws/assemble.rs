//! Assembly of the snapshot the AWS controls judge, from one policy's links and what its cycle
//! looked up: each linked resource once (merged by ARN when named two ways), with the images in
//! use and the workloads that use it, glob matches from the listings, and the KMS keys all of
//! them use. A linked resource whose lookup is missing or failed is in the snapshot as a failure,
//! so that its controls report Error.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use hipaa_controls::aws::{
    AwsSnapshot, EcrRepository, ImageInUse, KIND_ECR_REPOSITORY, KIND_EKS_CLUSTER,
    KIND_SECRETS_MANAGER_SECRET, KmsKeyReference, LookedUp, SecretsManagerSecret,
    kms_key_references,
};
use hipaa_controls::policy::glob_matches;

use super::data::assemble::{assemble_data, link_keys};
use super::ecr::repository_account;
use super::fetched::{not_looked_up, result_of};
use super::found::{Found, KeyKey};
use super::link::{Links, RepositoryKey, SecretKey, Users};
use super::secret_refs::arn_region;
use super::secrets::names_secret;

/// The listed repository that `key` names, when its region was listed.
pub fn repository_covered_by<'a>(
    found: &'a Found,
    key: &RepositoryKey,
) -> Option<&'a EcrRepository> {
    let listed = found
        .repository_lists
        .get(&key.region)?
        .result
        .as_ref()
        .ok()?;
    listed.iter().find(|repository| {
        repository.name == key.name
            && key
                .registry
                .as_deref()
                .is_none_or(|account| repository_account(repository) == Some(account))
    })
}

/// The listed secret that `key` names, when its region was listed.
pub fn secret_covered_by<'a>(
    found: &'a Found,
    key: &SecretKey,
) -> Option<&'a SecretsManagerSecret> {
    let listed = found.secret_lists.get(&key.region)?.result.as_ref().ok()?;
    listed.iter().find(|secret| names_secret(secret, &key.id))
}

/// The snapshot of everything `links` names, as looked up in `found`.
pub fn assemble(links: &Links, found: &Found, taken_at: DateTime<Utc>) -> AwsSnapshot {
    let (mut snapshot, regions) = resources(links, found, taken_at);
    snapshot.kms_keys = kms_references_in(&snapshot, &regions, &links.region)
        .into_iter()
        .map(|(key, reference)| {
            let result = result_of(found.keys.get(&key), &format!("KMS key {}", key.identifier))
                .map(|mut found_key| {
                    found_key.used_by = reference.used_by.clone();
                    found_key
                });
            LookedUp {
                requested: reference.identifier,
                result,
            }
        })
        .collect();
    link_keys(&mut snapshot, &links.data, &found.data);
    snapshot
}

/// The KMS keys the looked-up resources use, each with the region to look it up in: the one its
/// ARN names, else the region of the first resource that uses it.
pub fn kms_references(links: &Links, found: &Found) -> Vec<(KeyKey, KmsKeyReference)> {
    let (snapshot, regions) = resources(links, found, DateTime::<Utc>::UNIX_EPOCH);
    kms_references_in(&snapshot, &regions, &links.region)
}

/// The region of each resource of a snapshot, by (kind, name).
type Regions = HashMap<(&'static str, String), String>;

fn kms_references_in(
    snapshot: &AwsSnapshot,
    regions: &Regions,
    default_region: &str,
) -> Vec<(KeyKey, KmsKeyReference)> {
    kms_key_references(snapshot)
        .into_iter()
        .map(|reference| {
            let user_region = reference.used_by.first().and_then(|user| {
                let kind = [
                    KIND_EKS_CLUSTER,
                    KIND_ECR_REPOSITORY,
                    KIND_SECRETS_MANAGER_SECRET,
                ]
                .into_iter()
                .find(|kind| *kind == user.kind)?;
                regions.get(&(kind, user.name.clone()))
            });
            let region = arn_region(&reference.identifier)
                .map(str::to_string)
                .or_else(|| user_region.cloned())
                .unwrap_or_else(|| default_region.to_string());
            let key = KeyKey {
                region,
                identifier: reference.identifier.clone(),
            };
            (key, reference)
        })
        .collect()
}

/// The snapshot without its KMS keys, and the region of each resource in it.
fn resources(links: &Links, found: &Found, taken_at: DateTime<Utc>) -> (AwsSnapshot, Regions) {
    let mut regions = Regions::new();
    let mut snapshot = AwsSnapshot::empty(taken_at);
    if let Some(name) = &links.eks_cluster {
        let fetched = found.clusters.get(&(links.region.clone(), name.clone()));
        let result = result_of(fetched, &format!("EKS cluster {name}"));
        if let Ok(cluster) = &result {
            regions.insert(
                (KIND_EKS_CLUSTER, cluster.name.clone()),
                links.region.clone(),
            );
        }
        regions.insert((KIND_EKS_CLUSTER, name.clone()), links.region.clone());
        snapshot.eks = Some(LookedUp {
            requested: name.clone(),
            result,
        });
    }
    let repositories = repositories(links, found);
    for (region, repository) in &repositories {
        let name = match &repository.result {
            Ok(found) => found.name.clone(),
            Err(_) => repository.requested.clone(),
        };
        regions.insert((KIND_ECR_REPOSITORY, name), region.clone());
    }
    snapshot.ecr_repositories = repositories.into_iter().map(|(_, r)| r).collect();
    let secrets = secrets(links, found);
    for (region, secret) in &secrets {
        let name = match &secret.result {
            Ok(found) => found.name.clone(),
            Err(_) => secret.requested.clone(),
        };
        regions.insert((KIND_SECRETS_MANAGER_SECRET, name), region.clone());
    }
    snapshot.secrets = secrets.into_iter().map(|(_, s)| s).collect();
    assemble_data(&mut snapshot, &links.data, &found.data);
    (snapshot, regions)
}

/// Linked and glob-matched repositories with their images, each once, by name.
fn repositories(links: &Links, found: &Found) -> Vec<(String, LookedUp<EcrRepository>)> {
    let mut out: BTreeMap<String, (String, LookedUp<EcrRepository>)> = BTreeMap::new();
    for (key, images) in &links.repositories {
        let result = match repository_covered_by(found, key) {
            Some(listed) => Ok(listed.clone()),
            None => result_of(
                found.repositories.get(key),
                &format!("ECR repository {}", key.name),
            ),
        };
        let result = result.map(|mut repository| {
            repository.images = images_in_use(found, key, images);
            with_registry_scanning(repository, found, &key.region)
        });
        let identity = match &result {
            Ok(repository) => repository.arn.clone().unwrap_or_else(|| key.name.clone()),
            Err(_) => format!("{}/{:?}/{}", key.region, key.registry, key.name),
        };
        out.insert(
            identity,
            (
                key.region.clone(),
                LookedUp {
                    requested: key.name.clone(),
                    result,
                },
            ),
        );
    }
    if !links.repository_globs.is_empty() {
        match found.repository_lists.get(&links.region).map(|l| &l.result) {
            Some(Ok(listed)) => {
                for repository in listed.iter().filter(|r| {
                    links
                        .repository_globs
                        .iter()
                        .any(|glob| glob_matches(glob, &r.name))
                }) {
                    let identity = repository
                        .arn
                        .clone()
                        .unwrap_or_else(|| repository.name.clone());
                    out.entry(identity).or_insert_with(|| {
                        let with_scanning =
                            with_registry_scanning(repository.clone(), found, &links.region);
                        (
                            links.region.clone(),
                            LookedUp::found(repository.name.clone(), with_scanning),
                        )
                    });
                }
            }
            other => {
                let error = match other {
                    Some(Err(error)) => error.clone(),
                    _ => not_looked_up("the region's ECR repositories"),
                };
                for glob in &links.repository_globs {
                    out.insert(
                        format!("glob:{glob}"),
                        (
                            links.region.clone(),
                            LookedUp::failed(glob.clone(), error.clone()),
                        ),
                    );
                }
            }
        }
    }
    let mut repositories: Vec<_> = out.into_values().collect();
    repositories.sort_by(|a, b| a.1.requested.cmp(&b.1.requested));
    repositories
}

fn images_in_use(
    found: &Found,
    key: &RepositoryKey,
    images: &BTreeMap<String, Users>,
) -> Vec<ImageInUse> {
    images
        .iter()
        .map(|(reference, users)| ImageInUse {
            reference: reference.clone(),
            used_by: users.iter().map(|user| user.as_ref().clone()).collect(),
            findings: result_of(
                found.findings.get(&(key.clone(), reference.clone())),
                &format!("the scan of {}:{reference}", key.name),
            ),
        })
        .collect()
}

/// Attaches the region's registry scanning configuration when it is the repository's registry.
fn with_registry_scanning(
    mut repository: EcrRepository,
    found: &Found,
    region: &str,
) -> EcrRepository {
    repository.registry_scanning = match found.registry_scans.get(region).map(|s| &s.result) {
        Some(Ok(scan)) => {
            let same_registry = match (&scan.registry_id, repository_account(&repository)) {
                (Some(registry), Some(account)) => registry == account,
                _ => true,
            };
            same_registry.then(|| Ok(scan.scanning.clone()))
        }
        Some(Err(error)) => Some(Err(error.clone())),
        None => None,
    };
    repository
}

/// Linked and glob-matched secrets with the workloads that read them, each once, by ARN.
fn secrets(links: &Links, found: &Found) -> Vec<(String, LookedUp<SecretsManagerSecret>)> {
    let mut out: BTreeMap<String, (String, LookedUp<SecretsManagerSecret>)> = BTreeMap::new();
    for (key, users) in &links.secrets {
        let result = match secret_covered_by(found, key) {
            Some(listed) => Ok(listed.clone()),
            None => result_of(
                found.secrets.get(key),
                &format!("Secrets Manager secret {}", key.id),
            ),
        };
        let identity = match &result {
            Ok(secret) => secret.arn.clone().unwrap_or_else(|| secret.name.clone()),
            Err(_) => format!("{}/{}", key.region, key.id),
        };
        let entry = out.entry(identity).or_insert_with(|| {
            (
                key.region.clone(),
                LookedUp {
                    requested: key.id.clone(),
                    result: result.clone(),
                },
            )
        });
        if let Ok(secret) = &mut entry.1.result {
            for user in users {
                if !secret.referenced_by.contains(user) {
                    secret.referenced_by.push(user.as_ref().clone());
                }
            }
        }
    }
    if !links.secret_globs.is_empty() {
        match found.secret_lists.get(&links.region).map(|l| &l.result) {
            Some(Ok(listed)) => {
                let matches = |secret: &&SecretsManagerSecret| {
                    links.secret_globs.iter().any(|glob| {
                        glob_matches(glob, &secret.name)
                            || secret
                                .arn
                                .as_deref()
                                .is_some_and(|arn| glob_matches(glob, arn))
                    })
                };
                for secret in listed.iter().filter(matches) {
                    let identity = secret.arn.clone().unwrap_or_else(|| secret.name.clone());
                    out.entry(identity).or_insert_with(|| {
                        (
                            links.region.clone(),
                            LookedUp::found(secret.name.clone(), secret.clone()),
                        )
                    });
                }
            }
            other => {
                let error = match other {
                    Some(Err(error)) => error.clone(),
                    _ => not_looked_up("the region's secrets"),
                };
                for glob in &links.secret_globs {
                    out.insert(
                        format!("glob:{glob}"),
                        (
                            links.region.clone(),
                            LookedUp::failed(glob.clone(), error.clone()),
                        ),
                    );
                }
            }
        }
    }
    let mut secrets: Vec<_> = out.into_values().collect();
    secrets.sort_by(|a, b| a.1.requested.cmp(&b.1.requested));
    secrets
}

#[cfg(test)]
mod tests;
