//! The seeded account of the data-linking scenario ([`super::linking`]): what it holds, the
//! policy and the cluster objects that link to it, and lookups in the audit's status. Seeded
//! through the operator's own signed client (any action) and aws-sdk-s3/kms, on a moto of the
//! scenario's own.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_s3::types::BucketCannedAcl;
use hipaa_crds::{AwsResourceStatus, HipaaPolicy};
use hipaa_operator::observe::aws_inputs::AwsInputs;
use hipaa_operator::observe::{Cached, Observation};
use hipaa_testkit::Moto;

use super::seed::DataSeed;
use crate::aws_support::{FaultProxy, REGION, policy_judging_all, unique};

const CLUSTER: &str = "prod";

/// Everything seeded, by name.
pub struct Story {
    seed: DataSeed,
    pub key_arn: String,
    pub least_role_arn: String,
    pub wide_role_arn: String,
    pub safe_bucket: String,
    pub open_bucket: String,
    pub trail_bucket: String,
    pub safe_db: String,
    pub open_db: String,
    pub safe_table: String,
    pub open_table: String,
    pub safe_alb: String,
    pub open_alb: String,
    open_alb_dns: String,
    pub safe_fs: String,
    pub open_fs: String,
}

mod seeding;

impl Story {
    pub async fn seed(moto: &Moto) -> Story {
        let seed = DataSeed::on(moto).await;
        let kms = aws_sdk_kms::Client::new(&moto.sdk_config().await);
        let key = kms.create_key().send().await.unwrap();
        let key_arn = key.key_metadata().unwrap().arn().unwrap().to_string();
        kms.enable_key_rotation()
            .key_id(&key_arn)
            .send()
            .await
            .unwrap();
        let mut story = Story {
            seed,
            key_arn,
            least_role_arn: String::new(),
            wide_role_arn: String::new(),
            safe_bucket: unique("records"),
            open_bucket: unique("exports"),
            trail_bucket: unique("trail"),
            safe_db: unique("billing-db"),
            open_db: unique("claims-db"),
            safe_table: unique("orders"),
            open_table: unique("events"),
            safe_alb: unique("web"),
            open_alb: unique("legacy"),
            open_alb_dns: String::new(),
            safe_fs: String::new(),
            open_fs: String::new(),
        };
        for bucket in [story.safe_bucket.clone(), story.trail_bucket.clone()] {
            story.hardened_bucket(&bucket).await;
        }
        story
            .seed
            .s3
            .create_bucket()
            .bucket(&story.open_bucket)
            .acl(BucketCannedAcl::PublicRead)
            .send()
            .await
            .unwrap();
        story.database(&story.safe_db.clone(), true).await;
        story.database(&story.open_db.clone(), false).await;
        story.table(&story.safe_table.clone(), true).await;
        story.table(&story.open_table.clone(), false).await;
        story.roles().await;
        story.load_balancers().await;
        story.safe_fs = story.file_system(true).await;
        story.open_fs = story.file_system(false).await;
        story.account().await;
        story
    }

    /// The proxy serves the export ServiceAccount's Pod Identity association (moto has none).
    pub fn serve_pod_identity(&self, proxy: &FaultProxy) {
        proxy.serve_pod_identity(CLUSTER, "billing", "export", &self.wide_role_arn);
    }

    /// The policy: billing, the cluster `prod`, audited every 10 minutes.
    pub fn policy(&self) -> HipaaPolicy {
        policy_judging_all(
            &format!("{{region: {REGION}, eksClusterName: {CLUSTER}}}"),
            "[]",
        )
    }

    /// billing's api (IRSA) and export (Pod Identity) Deployments, two ALB Ingresses and two
    /// claims on EFS StorageClasses.
    pub fn observation(&self) -> Observation {
        let deployment = |name: &str| {
            cached::<k8s_openapi::api::apps::v1::Deployment>(&format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: billing}}\nspec:\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      serviceAccountName: {name}\n      containers: [{{name: main, image: app}}]\n"
            ))
        };
        let ingress = |name: &str, status: &str| {
            cached::<k8s_openapi::api::networking::v1::Ingress>(&format!(
                "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: {name}, namespace: billing}}\nspec: {{ingressClassName: alb}}\nstatus: {status}\n"
            ))
        };
        let claim = |name: &str, class: &str| {
            let claim: k8s_openapi::api::core::v1::PersistentVolumeClaim = yaml_serde::from_str(&format!(
                "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: {name}, namespace: billing}}\nspec: {{storageClassName: {class}, accessModes: [ReadWriteMany]}}\n"
            ))
            .unwrap();
            Cached::PersistentVolumeClaim(Arc::new(claim))
        };
        let legacy_status = format!(
            "{{loadBalancer: {{ingress: [{{hostname: {}}}]}}}}",
            self.open_alb_dns
        );
        Observation {
            scope: ["billing".to_string()].into(),
            objects: vec![
                deployment("api"),
                deployment("export"),
                ingress("web", "{}"),
                ingress("legacy", &legacy_status),
                claim("records", "efs-records"),
                claim("scratch", "efs-scratch"),
            ],
            aws: AwsInputs {
                service_account_roles: BTreeMap::from([(
                    ("billing".to_string(), "api".to_string()),
                    self.least_role_arn.clone(),
                )]),
                efs_storage_classes: BTreeMap::from([
                    ("efs-records".to_string(), self.safe_fs.clone()),
                    ("efs-scratch".to_string(), self.open_fs.clone()),
                ]),
            },
        }
    }
}

fn cached<K: hipaa_operator::observe::compact::CompactResource>(yaml: &str) -> Cached {
    let object: K = yaml_serde::from_str(yaml).unwrap();
    Cached::compact(&object).unwrap()
}

/// The status entry of the AWS resource `kind`/`name`.
pub fn status_of<'a>(
    statuses: &'a [AwsResourceStatus],
    kind: &str,
    name: &str,
) -> &'a AwsResourceStatus {
    statuses
        .iter()
        .find(|s| s.kind == kind && s.name == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {statuses:#?}"))
}

/// The controls that fail or cannot be evaluated on it.
pub fn failing(status: &AwsResourceStatus) -> Vec<&str> {
    status.failed_controls.iter().map(String::as_str).collect()
}
