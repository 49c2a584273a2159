//! The aws-auth ConfigMap of kube-system, which maps IAM roles (`mapRoles`) and users
//! (`mapUsers`) into Kubernetes users and groups when the EKS authentication mode includes
//! CONFIG_MAP: read with the operator's Kubernetes client, parsed by a pure function.

use std::collections::BTreeMap;

use hipaa_controls::aws::{AwsAuthList, AwsAuthMapping, Lookup, LookupError};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::{Api, Client};
use serde::Deserialize;

pub const NAMESPACE: &str = "kube-system";
pub const NAME: &str = "aws-auth";
/// What a failed read is called, as a missing AWS permission names its IAM action.
const ACTION: &str = "get configmaps/aws-auth in kube-system";

/// One entry of mapRoles or mapUsers as aws-iam-authenticator spells it.
#[derive(Deserialize)]
struct RawMapping {
    #[serde(default)]
    rolearn: Option<String>,
    #[serde(default)]
    userarn: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
}

/// The mappings of the aws-auth ConfigMap; none when it does not exist (it then maps nobody).
pub async fn read(kube: Option<&Client>) -> Lookup<Vec<AwsAuthMapping>> {
    let Some(client) = kube else {
        return Err(LookupError::new(
            "NoKubernetesClient",
            "the collector has no Kubernetes client to read the aws-auth ConfigMap with",
        )
        .with_action(ACTION));
    };
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    match api.get_opt(NAME).await {
        Ok(None) => Ok(Vec::new()),
        Ok(Some(config_map)) => parse(&config_map.data.unwrap_or_default())
            .map_err(|message| LookupError::new("InvalidAwsAuth", message).with_action(ACTION)),
        Err(kube::Error::Api(status)) => {
            let code = if status.code == 403 {
                "Forbidden".to_string()
            } else {
                format!("HTTP{}", status.code)
            };
            Err(LookupError::new(code, status.message).with_action(ACTION))
        }
        Err(error) => {
            Err(LookupError::new("KubernetesError", error.to_string()).with_action(ACTION))
        }
    }
}

/// The mapRoles and mapUsers of the ConfigMap's data (each a YAML list in a string).
pub fn parse(data: &BTreeMap<String, String>) -> Result<Vec<AwsAuthMapping>, String> {
    let mut mappings = Vec::new();
    for list in [AwsAuthList::MapRoles, AwsAuthList::MapUsers] {
        let Some(text) = data.get(list.as_str()) else {
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        let raw: Vec<RawMapping> = yaml_serde::from_str(text).map_err(|error| {
            format!(
                "aws-auth {} is not a list of mappings: {error}",
                list.as_str()
            )
        })?;
        for entry in raw {
            let arn = match list {
                AwsAuthList::MapRoles => entry.rolearn,
                AwsAuthList::MapUsers => entry.userarn,
            };
            let Some(arn) = arn.filter(|arn| !arn.trim().is_empty()) else {
                return Err(format!(
                    "aws-auth {} has an entry without {}",
                    list.as_str(),
                    match list {
                        AwsAuthList::MapRoles => "rolearn",
                        AwsAuthList::MapUsers => "userarn",
                    }
                ));
            };
            mappings.push(AwsAuthMapping {
                list,
                arn,
                username: entry.username,
                groups: entry.groups,
            });
        }
    }
    Ok(mappings)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn roles_and_users_are_read_with_their_groups() {
        let mappings = parse(&data(&[
            (
                "mapRoles",
                "- rolearn: arn:aws:iam::1:role/nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n- rolearn: arn:aws:iam::1:role/admin\n  username: admin\n  groups:\n    - system:masters\n",
            ),
            (
                "mapUsers",
                "- userarn: arn:aws:iam::1:user/alice\n  username: alice\n",
            ),
        ]))
        .unwrap();
        assert_eq!(mappings.len(), 3);
        assert_eq!(mappings[1].arn, "arn:aws:iam::1:role/admin");
        assert_eq!(mappings[1].groups, ["system:masters"]);
        assert_eq!(mappings[2].list, AwsAuthList::MapUsers);
        assert!(mappings[2].groups.is_empty());
    }

    #[test]
    fn an_empty_config_map_maps_nobody_and_garbage_is_an_error() {
        assert!(parse(&data(&[])).unwrap().is_empty());
        assert!(parse(&data(&[("mapRoles", "")])).unwrap().is_empty());
        assert!(parse(&data(&[("mapRoles", "not: [a list")])).is_err());
        let missing = parse(&data(&[("mapUsers", "- username: bob\n")])).unwrap_err();
        assert!(missing.contains("without userarn"), "{missing}");
    }
}
