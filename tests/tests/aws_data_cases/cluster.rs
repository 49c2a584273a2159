//! What links stores through the cluster itself, on the real API server: an ACK `Bucket` in a
//! governed namespace declares an S3 bucket no role reaches, and a claim bound to an EFS
//! PersistentVolume (its volume handle naming the file system) links that file system; the
//! status names the ACK object and the claim.

use std::sync::Arc;

use chrono::Utc;
use hipaa_operator::aws::AwsCollector;
use hipaa_operator::observe::{Cached, Observation};
use hipaa_testkit::{apply_yaml, control_plane, fresh_namespace, moto};
use serde_json::json;

use super::seed::DataSeed;
use crate::aws_support::{REGION, audited, policy, settings, snapshot, unique};
use crate::operator_support::{apply_once_served, governed, minimal_crd, unique_case};
use hipaa_operator::aws::wire::services::EFS;

#[tokio::test]
async fn ack_buckets_and_efs_volumes_in_the_cluster_link_their_stores() {
    let plane = control_plane().await.unwrap();
    let client = plane.client().await.unwrap();
    let seed = DataSeed::new().await;
    let bucket = unique("ack-records");
    seed.s3
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let created = seed
        .rest(
            REGION,
            &EFS,
            "POST",
            "/2015-02-01/file-systems",
            json!({"CreationToken": unique("pv-fs"), "Encrypted": false}),
        )
        .await;
    let file_system = created["FileSystemId"].as_str().unwrap().to_string();

    apply_yaml(
        &client,
        &minimal_crd("s3.services.k8s.aws", "Bucket", "buckets"),
    )
    .await
    .unwrap();
    let case = unique_case("data");
    let ns = fresh_namespace(&client, "data-e2e", &governed(&case))
        .await
        .unwrap();
    let declaring = format!(
        "apiVersion: s3.services.k8s.aws/v1\nkind: Bucket\nmetadata: {{name: records}}\nspec: {{name: {bucket}}}\n"
    );
    apply_once_served(&client, &ns, &declaring).await.unwrap();
    let volume = unique("efs-pv");
    let pv = format!(
        "apiVersion: v1\nkind: PersistentVolume\nmetadata: {{name: {volume}}}\nspec:\n  capacity: {{storage: 5Gi}}\n  accessModes: [ReadWriteMany]\n  csi: {{driver: efs.csi.aws.com, volumeHandle: '{file_system}::fsap-0123456789abcdef0'}}\n"
    );
    apply_yaml(&client, &pv).await.unwrap();

    let claim: k8s_openapi::api::core::v1::PersistentVolumeClaim = yaml_serde::from_str(&format!(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: shared, namespace: {ns}}}\nspec: {{storageClassName: '', volumeName: {volume}, accessModes: [ReadWriteMany]}}\n"
    ))
    .unwrap();
    let observation = Observation {
        scope: [ns.clone()].into(),
        objects: vec![Cached::PersistentVolumeClaim(Arc::new(claim))],
        aws: Default::default(),
    };
    let config = moto().await.unwrap().sdk_config().await;
    let collector = AwsCollector::with_config(settings(), config).with_kubernetes(client.clone());
    let policy = policy(&format!("{{region: {REGION}}}"), "");
    let now = Utc::now();
    let found = snapshot(&collector, &policy, &observation, now).await;
    let audit = audited(&policy, &observation, &found, now);

    let status = |kind: &str, name: &str| {
        audit
            .status
            .aws_resources
            .iter()
            .find(|s| s.kind == kind && s.name == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in {:#?}", audit.status.aws_resources))
            .clone()
    };
    let declared = status("S3Bucket", &bucket);
    let [link] = declared.linked_by.as_slice() else {
        panic!("{declared:#?}")
    };
    assert_eq!(
        (
            link.kind.as_str(),
            link.namespace.as_deref(),
            link.name.as_str(),
            link.via.as_str()
        ),
        (
            "Bucket.s3.services.k8s.aws",
            Some(ns.as_str()),
            "records",
            "ACK"
        )
    );
    assert!(
        declared
            .failed_controls
            .contains(&"HIPAA-S3-ENCRYPTION".to_string()),
        "{declared:#?}"
    );

    let on_efs = status("EFSFileSystem", &file_system);
    let [link] = on_efs.linked_by.as_slice() else {
        panic!("{on_efs:#?}")
    };
    assert_eq!(
        (link.kind.as_str(), link.name.as_str(), link.via.as_str()),
        ("PersistentVolumeClaim", "shared", "Volume")
    );
    assert_eq!(
        on_efs.failed_controls,
        vec!["HIPAA-EFS-ENCRYPTION".to_string()]
    );
}
