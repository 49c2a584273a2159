//! `hipaa-operator` on the real control plane with moto behind the counting proxy: a Deployment
//! whose image lives in an ECR repository without scan on push makes its policy non-compliant on
//! HIPAA-ECR-SCAN (status, `kubectl get hipaapolicies`, metrics), a SecretProviderClass it mounts
//! links its Secrets Manager secret through the dynamic API, and a cluster change that links
//! nothing new costs no AWS call.

use std::time::Duration;

use hipaa_crds::ControlResult;
use hipaa_testkit::{
    apply_yaml, apply_yaml_in, control_plane, fresh_namespace, moto, run, wait_for,
};

use crate::aws_support::*;
use crate::operator_support::{
    Operator, apply_once_served, control_result, governed, minimal_crd, policy_yaml, sample,
    unique_case,
};

#[tokio::test]
async fn an_image_from_a_repository_without_scan_on_push_makes_the_policy_non_compliant() {
    let plane = control_plane().await.unwrap();
    plane.install_hipaa_crd().await.unwrap();
    let client = plane.client().await.unwrap();
    let moto = moto().await.unwrap();
    let seed = Seed::new(moto).await;
    let repository = unique("e2e-unscanned");
    seed.repository(
        &repository,
        RepositorySpec {
            scan_on_push: false,
            immutable: true,
            kms_key: None,
        },
    )
    .await;
    seed.scanned_image(&repository, "1.0").await;
    let secret = unique("e2e-db");
    seed.secret(&secret, None).await;

    let crd = minimal_crd(
        "secrets-store.csi.x-k8s.io",
        "SecretProviderClass",
        "secretproviderclasses",
    );
    apply_yaml(&client, &crd).await.unwrap();
    let case = unique_case("aws");
    let ns = fresh_namespace(&client, "aws-e2e", &governed(&case))
        .await
        .unwrap();
    let class = format!(
        "apiVersion: secrets-store.csi.x-k8s.io/v1
kind: SecretProviderClass
metadata: {{name: db}}
spec:
  provider: aws
  parameters:
    objects: |
      - objectName: \"{secret}\"
        objectType: \"secretsmanager\"
"
    );
    apply_once_served(&client, &ns, &class).await.unwrap();
    let image = ecr_image(&repository, "1.0");
    let deployment = format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: api}}
spec:
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}}}
    spec:
      volumes:
        - name: secrets
          csi: {{driver: secrets-store.csi.k8s.io, readOnly: true, volumeAttributes: {{secretProviderClass: db}}}}
      containers:
        - name: main
          image: {image}
          volumeMounts: [{{name: secrets, mountPath: /mnt/secrets}}]
"
    );
    apply_yaml_in(&client, &ns, &deployment).await.unwrap();

    let proxy = FaultProxy::start(moto.endpoint()).await.unwrap();
    let operator = Operator::start_with(plane, &case, "operator-aws", &[], |cmd| {
        moto.configure(cmd);
        cmd.env("AWS_ENDPOINT_URL", proxy.endpoint());
    })
    .await
    .unwrap();

    let name = format!("{case}-policy");
    apply_yaml(
        &client,
        &policy_yaml(&name, &case, &format!("  aws: {{region: {REGION}}}\n")),
    )
    .await
    .unwrap();
    let policy = operator
        .wait_policy(
            &client,
            &name,
            "failing HIPAA-ECR-SCAN",
            Duration::from_secs(60),
            |p| control_result(p, "HIPAA-ECR-SCAN") == Some(ControlResult::Fail),
        )
        .await
        .unwrap();
    let status = policy.status.clone().unwrap();
    let repo_status = status
        .aws_resources
        .iter()
        .find(|r| r.kind == "ECRRepository" && r.name == repository)
        .unwrap_or_else(|| panic!("{:#?}", status.aws_resources));
    assert_eq!(repo_status.result, ControlResult::Fail);
    assert!(
        repo_status
            .failed_controls
            .contains(&"HIPAA-ECR-SCAN".to_string())
    );
    assert!(repo_status.checked_at.is_some());
    let violation = status
        .violations
        .iter()
        .find(|v| v.control == "HIPAA-ECR-SCAN")
        .unwrap();
    assert_eq!(
        (violation.kind.as_str(), violation.name.as_str()),
        ("ECRRepository", repository.as_str())
    );
    assert!(
        violation.message.contains("scan on push is off"),
        "{}",
        violation.message
    );
    let linked_secret = status
        .aws_resources
        .iter()
        .find(|r| r.kind == "SecretsManagerSecret" && r.name == secret)
        .unwrap_or_else(|| {
            panic!(
                "the mounted SecretProviderClass links {secret}: {:#?}",
                status.aws_resources
            )
        });
    assert_eq!(
        linked_secret.result,
        ControlResult::Fail,
        "default key, no rotation"
    );

    let out = run(plane.kubectl().args(["get", "hipaapolicies", &name]), None).unwrap();
    assert_eq!(out.status, 0, "{out}");
    let row: Vec<&str> = out
        .stdout
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .collect();
    let violations = status.summary.as_ref().unwrap().violations.to_string();
    let score = status.summary.as_ref().unwrap().score.to_string();
    assert_eq!(
        row[..5],
        [name.as_str(), "Enforce", "False", &score, &violations],
        "{}",
        out.stdout
    );
    let jsonpath = "{.status.controls[?(@.id==\"HIPAA-ECR-SCAN\")].result}";
    let out = run(
        plane.kubectl().args([
            "get",
            "hipaapolicy",
            &name,
            "-o",
            &format!("jsonpath={jsonpath}"),
        ]),
        None,
    )
    .unwrap();
    assert_eq!(out.stdout, "Fail", "{out}");

    let metrics = operator.metrics().await.unwrap();
    let series =
        format!("hipaaguard_operator_violations{{policy=\"{name}\",control=\"HIPAA-ECR-SCAN\"");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with(&series) && l.ends_with(" 1")),
        "{metrics}"
    );

    // The operator called AWS through the proxy: one cycle, one describe per resource.
    assert_eq!(proxy.count("DescribeRepositories", &repository), 1);
    assert_eq!(
        proxy.count("DescribeImageScanFindings", &format!("{repository}:1.0")),
        1
    );
    assert_eq!(proxy.count("DescribeSecret", &secret), 1);
    // ...and its metrics count those calls.
    let describes = "hipaaguard_operator_aws_attempts_total{service=\"ecr\",operation=\"DescribeRepositories\",outcome=\"success\"}";
    assert!(
        sample(&metrics, describes).unwrap_or(0.0) >= 1.0,
        "{metrics}"
    );
    let durations = "hipaaguard_operator_aws_call_duration_seconds_count{service=\"secrets_manager\",operation=\"DescribeSecret\"}";
    assert!(
        sample(&metrics, durations).unwrap_or(0.0) >= 1.0,
        "{metrics}"
    );

    // A change that links nothing new: the operator re-audits without calling AWS.
    let calls = proxy.calls().len();
    // Counted when a reconcile finishes (this operator manages this one policy).
    let reconciles = "hipaaguard_operator_reconcile_duration_seconds_count".to_string();
    let before = sample(&metrics, &reconciles).unwrap_or(0.0);
    let writes = format!("hipaaguard_operator_status_writes_total{{policy=\"{name}\"}}");
    let writes_before = sample(&metrics, &writes).unwrap_or(0.0);
    apply_yaml_in(
        &client,
        &ns,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: unrelated}\ndata: {a: b}\n",
    )
    .await
    .unwrap();
    apply_yaml_in(
        &client,
        &ns,
        &deployment.replace(
            "metadata: {name: api}",
            "metadata: {name: api, labels: {touched: \"yes\"}}",
        ),
    )
    .await
    .unwrap();
    wait_for(
        "another reconcile to finish",
        Duration::from_secs(30),
        || {
            let (operator, reconciles) = (&operator, reconciles.clone());
            async move {
                let now = operator.metric(&reconciles).await?;
                Ok((now > before).then_some(()))
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(
        operator.metric(&writes).await.unwrap(),
        writes_before,
        "the status did not change, so it is not rewritten"
    );
    let after = proxy.calls();
    assert_eq!(
        after.len(),
        calls,
        "no AWS call for a change that links nothing new: {:?}",
        after.get(calls..)
    );
}
