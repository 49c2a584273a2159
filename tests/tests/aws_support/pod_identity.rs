//! A stand-in for the EKS Pod Identity association API, which moto 5.2.5 does not serve (it
//! answers ListPodIdentityAssociations with a 404 page): the proxy answers
//! `GET /clusters/<name>/pod-identity-associations` (every association of the cluster, none when
//! the test configured none, as EKS answers for a cluster without any) and
//! `GET /clusters/<name>/pod-identity-associations/<id>` (with the role) in EKS's REST-JSON.

use serde_json::{Value, json};

/// One association the proxy serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Association {
    pub cluster: String,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
}

impl Association {
    fn id(&self, index: usize) -> String {
        format!("a-{index:017}")
    }
}

/// The operation and cluster of a Pod Identity path, and the association ID it names.
pub fn route(path: &str) -> Option<(&'static str, String, Option<String>)> {
    let rest = path.strip_prefix("/clusters/")?;
    match rest.split('/').collect::<Vec<_>>().as_slice() {
        [cluster, "pod-identity-associations"] => {
            Some(("ListPodIdentityAssociations", cluster.to_string(), None))
        }
        [cluster, "pod-identity-associations", id] => Some((
            "DescribePodIdentityAssociation",
            cluster.to_string(),
            Some(id.to_string()),
        )),
        _ => None,
    }
}

/// The answer (status, body) to a routed call over the associations served.
pub fn answer(
    served: &[Association],
    operation: &str,
    cluster: &str,
    id: Option<&str>,
) -> (u16, Value) {
    let of_cluster = served
        .iter()
        .enumerate()
        .filter(|(_, a)| a.cluster == cluster);
    let summary = |index: usize, a: &Association| {
        json!({
            "clusterName": a.cluster,
            "namespace": a.namespace,
            "serviceAccount": a.service_account,
            "associationArn": format!("arn:aws:eks:us-east-1:123456789012:podidentityassociation/{}/{}", a.cluster, a.id(index)),
            "associationId": a.id(index),
        })
    };
    if operation == "ListPodIdentityAssociations" {
        let associations: Vec<Value> = of_cluster.map(|(i, a)| summary(i, a)).collect();
        return (200, json!({ "associations": associations }));
    }
    let found = of_cluster
        .clone()
        .find(|(i, a)| Some(a.id(*i).as_str()) == id);
    match found {
        Some((index, association)) => {
            let mut described = summary(index, association);
            described["roleArn"] = json!(association.role_arn);
            (200, json!({ "association": described }))
        }
        None => (
            404,
            json!({"message": format!("association {} not found", id.unwrap_or_default())}),
        ),
    }
}
