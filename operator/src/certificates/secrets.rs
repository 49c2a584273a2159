//! The two Secrets on the API server: reading them, the content a pass writes (built without a
//! client), and writing it so that a concurrent change is never lost: a create fails if the
//! Secret appeared meanwhile, a replace carries the resourceVersion that was read.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Resource;
use kube::api::{DeleteParams, ObjectMeta, PostParams, Preconditions};
use kube::{Api, Client};

use super::facts::{
    CA_CERT_KEY, CA_KEY_KEY, PREVIOUS_CA_KEY, SERVING_CA_KEY, TLS_CERT_KEY, TLS_KEY_KEY,
    TLS_SECRET_TYPE,
};
use super::{CertificateError, ROTATE_ANNOTATION};

/// The label every Secret made here carries.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "hipaa-operator");

/// Reads and writes Secrets of one namespace.
#[derive(Clone)]
pub struct SecretStore {
    api: Api<Secret>,
    namespace: String,
    /// A Service of the namespace that owns the Secrets this store creates (the webhook's, which
    /// the chart installs), so that uninstalling the release collects the keys too.
    owner_service: Option<String>,
    client: Client,
}

impl SecretStore {
    pub fn new(client: Client, namespace: &str) -> Self {
        SecretStore {
            api: Api::namespaced(client.clone(), namespace),
            namespace: namespace.to_owned(),
            owner_service: None,
            client,
        }
    }

    /// Secrets created from now on are owned by the Service `name` (when it exists).
    pub fn owned_by_service(mut self, name: &str) -> Self {
        self.owner_service = Some(name.to_owned());
        self
    }

    /// The owner reference of a new Secret: the owner Service's, when there is one to read.
    async fn owner(&self) -> Option<OwnerReference> {
        let name = self.owner_service.as_ref()?;
        let services: Api<Service> = Api::namespaced(self.client.clone(), &self.namespace);
        match services.get_opt(name).await {
            Ok(Some(service)) => service.controller_owner_ref(&()).map(|mut owner| {
                owner.controller = None;
                owner.block_owner_deletion = None;
                owner
            }),
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(service = %name, error = %error, "reading the owner of the certificate Secrets; creating them without one");
                None
            }
        }
    }

    /// The Secret, or `None` when there is none.
    pub async fn get(&self, name: &str) -> Result<Option<Secret>, CertificateError> {
        self.api
            .get_opt(name)
            .await
            .map_err(|source| CertificateError::Read {
                namespace: self.namespace.clone(),
                name: name.to_owned(),
                source,
            })
    }

    /// Writes `desired` over `existing` (as read in this pass): a create when there was none, a
    /// replace preconditioned on `existing`'s resourceVersion otherwise, and a delete (on its
    /// uid and resourceVersion) then a create when the type must change, since it is immutable.
    pub async fn write(
        &self,
        existing: Option<&Secret>,
        mut desired: Secret,
    ) -> Result<Secret, CertificateError> {
        let name = desired.metadata.name.clone().unwrap_or_default();
        if desired.metadata.owner_references.is_none() {
            desired.metadata.owner_references = self.owner().await.map(|owner| vec![owner]);
        }
        let result = match existing {
            None => self.api.create(&PostParams::default(), &desired).await,
            Some(existing) if existing.type_ != desired.type_ => {
                let preconditions = Preconditions {
                    uid: existing.metadata.uid.clone(),
                    resource_version: existing.metadata.resource_version.clone(),
                };
                let params = DeleteParams {
                    preconditions: Some(preconditions),
                    ..DeleteParams::default()
                };
                match self.api.delete(&name, &params).await {
                    Ok(_) => {
                        desired.metadata.resource_version = None;
                        self.api.create(&PostParams::default(), &desired).await
                    }
                    Err(err) => Err(err),
                }
            }
            Some(existing) => {
                desired.metadata.resource_version = existing.metadata.resource_version.clone();
                self.api
                    .replace(&name, &PostParams::default(), &desired)
                    .await
            }
        };
        result.map_err(|source| match &source {
            kube::Error::Api(status) if status.code == 409 => CertificateError::Conflict {
                namespace: self.namespace.clone(),
                name: name.clone(),
            },
            _ => CertificateError::Write {
                namespace: self.namespace.clone(),
                name: name.clone(),
                source,
            },
        })
    }
}

/// The CA Secret after a pass: `existing`'s metadata (less the rotate annotation when the
/// rotation it asked for is done) and the CA, its key and the previous CA.
pub fn ca_secret(
    name: &str,
    namespace: &str,
    existing: Option<&Secret>,
    ca: (&str, &str),
    previous_pem: Option<&str>,
    clear_rotate_annotation: bool,
) -> Secret {
    let mut metadata = base_metadata(name, namespace, existing);
    if clear_rotate_annotation && let Some(annotations) = metadata.annotations.as_mut() {
        annotations.remove(ROTATE_ANNOTATION);
    }
    let mut data = BTreeMap::from([
        (CA_CERT_KEY.to_owned(), bytes(ca.0)),
        (CA_KEY_KEY.to_owned(), bytes(ca.1)),
    ]);
    if let Some(previous) = previous_pem {
        data.insert(PREVIOUS_CA_KEY.to_owned(), bytes(previous));
    }
    Secret {
        metadata,
        type_: Some("Opaque".to_owned()),
        data: Some(data),
        ..Secret::default()
    }
}

/// The serving Secret: the certificate and key the webhook serves, and the bundle that trusts it.
pub fn serving_secret(
    name: &str,
    namespace: &str,
    existing: Option<&Secret>,
    serving: (&str, &str),
    bundle: &str,
) -> Secret {
    Secret {
        metadata: base_metadata(name, namespace, existing),
        type_: Some(TLS_SECRET_TYPE.to_owned()),
        data: Some(BTreeMap::from([
            (TLS_CERT_KEY.to_owned(), bytes(serving.0)),
            (TLS_KEY_KEY.to_owned(), bytes(serving.1)),
            (SERVING_CA_KEY.to_owned(), bytes(bundle)),
        ])),
        ..Secret::default()
    }
}

/// A text value of a Secret's data.
pub fn data_text(secret: &Secret, key: &str) -> Option<String> {
    let ByteString(bytes) = secret.data.as_ref()?.get(key)?;
    String::from_utf8(bytes.clone()).ok()
}

fn base_metadata(name: &str, namespace: &str, existing: Option<&Secret>) -> ObjectMeta {
    let kept = existing.map(|secret| &secret.metadata);
    let mut labels = kept.and_then(|m| m.labels.clone()).unwrap_or_default();
    labels.insert(MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned());
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        labels: Some(labels),
        annotations: kept.and_then(|m| m.annotations.clone()),
        owner_references: kept.and_then(|m| m.owner_references.clone()),
        ..ObjectMeta::default()
    }
}

fn bytes(text: &str) -> ByteString {
    ByteString(text.as_bytes().to_vec())
}
