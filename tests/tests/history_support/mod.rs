//! Shared by the evidence history's end-to-end tests: moto's S3 (buckets with and without
//! Object Lock, the record keys), an operator writing the history, `kubectl-hipaa` against moto,
//! and reading the reports and conditions the tests check.

use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;
use aws_sdk_s3::types::{
    DefaultRetention, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRetentionMode,
    ObjectLockRule,
};
use hipaa_testkit::{CmdOutput, cargo_bin, moto, run, wait_for};
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::DeleteParams;

use crate::operator_support::{Case, Operator, condition};

pub const WAIT: Duration = Duration::from_secs(60);

pub async fn s3() -> aws_sdk_s3::Client {
    let config = moto().await.unwrap().sdk_config().await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
}

/// A bucket named after `case`, with Object Lock (GOVERNANCE, 1 day by default) when `locked`.
pub async fn bucket(s3: &aws_sdk_s3::Client, case: &str, locked: bool) -> String {
    let name = format!("h-{}", case.replace('.', "-"));
    s3.create_bucket()
        .bucket(&name)
        .object_lock_enabled_for_bucket(locked)
        .send()
        .await
        .unwrap();
    if locked {
        let rule = ObjectLockRule::builder()
            .default_retention(
                DefaultRetention::builder()
                    .mode(ObjectLockRetentionMode::Governance)
                    .days(1)
                    .build(),
            )
            .build();
        s3.put_object_lock_configuration()
            .bucket(&name)
            .object_lock_configuration(
                ObjectLockConfiguration::builder()
                    .object_lock_enabled(ObjectLockEnabled::Enabled)
                    .rule(rule)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    name
}

pub async fn keys(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<String> {
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    let mut keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    keys.sort();
    keys
}

/// Waits until `prefix` holds `count` records; returns their keys.
pub async fn wait_records(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    count: usize,
    operator: &Operator,
) -> Vec<String> {
    wait_for(&format!("{count} records under {prefix}"), WAIT, || async {
        let found = keys(s3, bucket, prefix).await;
        Ok((found.len() == count).then_some(found))
    })
    .await
    .with_context(|| format!("operator log:\n{}", operator.guard.log_tail(40)))
    .unwrap()
}

pub async fn start(case: &Case, uri: &str, log: &str) -> Operator {
    let moto = moto().await.unwrap();
    Operator::start_with(
        case.plane,
        &case.label,
        log,
        &["--history-s3-uri", uri, "--cluster-name", &case.label],
        |cmd| moto.configure(cmd),
    )
    .await
    .unwrap()
}

/// `kubectl-hipaa ARGS` against moto.
pub async fn kubectl_hipaa(args: &[&str]) -> CmdOutput {
    let moto = moto().await.unwrap();
    let mut cmd = Command::new(cargo_bin("kubectl-hipaa"));
    cmd.args(args);
    moto.configure(&mut cmd);
    run(&mut cmd, None).unwrap()
}

pub fn findings_of(report: &str, control: &str) -> Vec<String> {
    let report: serde_json::Value = serde_json::from_str(report).unwrap();
    report["controls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == control)
        .flat_map(|c| c["findings"].as_array().unwrap().clone())
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

pub async fn history_condition(case: &Case, operator: &Operator, reason: &'static str) {
    operator
        .wait_policy(&case.client, &case.policy_name(), reason, WAIT, |p| {
            condition(p, "EvidenceHistory").is_some_and(|(_, r)| r == reason)
        })
        .await
        .unwrap();
}

pub async fn delete_deployment(case: &Case, name: &str) {
    Api::<Deployment>::namespaced(case.client.clone(), &case.ns)
        .delete(name, &DeleteParams::default())
        .await
        .unwrap();
}
