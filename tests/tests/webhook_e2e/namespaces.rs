//! Namespaces and HipaaPolicies at admission, through real kubectl: labelling a development
//! namespace PHI is denied with HIPAA-K8S-DEV-PHI; removing `hipaaguard.io/phi` from a namespace
//! with a Deployment is denied with HIPAA-K8S-PHI-SCOPE naming the policy, and admitted once that
//! policy has an exception for it, and admitted at once for a namespace with no workloads; a
//! HipaaPolicy with three problems gets one denial listing all three.

use hipaa_testkit::{CmdOutput, control_plane, expect_allowed, expect_denied, fresh_namespace};

use super::support::{ENFORCE, PHI, kubectl, kubectl_until, webhook};
use crate::{DEFAULT_DENY, DENIED, IMAGE, deployment};

/// The policy of the scope test, of its own, so that its exception touches no other test.
const SCOPE: (&str, &str) = ("hipaa-e2e/mode", "scope");
const SCOPE_POLICY: &str = r#"apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: e2e-scope}
spec:
  enforcement: Enforce
  namespaceSelector: {matchLabels: {hipaaguard.io/phi: "true", hipaa-e2e/mode: scope}}
"#;

fn denied(out: &CmdOutput) -> bool {
    out.stderr.contains(DENIED)
}

/// `kubectl label namespace <ns> <labels>`, as a server-side dry run when `dry_run`: admission
/// judges a dry run like the real request and nothing changes, so a test can wait for the
/// webhook's caches without spending the change.
async fn label(namespace: &str, labels: &[&str], dry_run: bool) -> CmdOutput {
    let mut args = vec!["label", "namespace", namespace, "--overwrite"];
    args.extend_from_slice(labels);
    if dry_run {
        args.push("--dry-run=server");
    }
    kubectl(&args, None).await
}

#[tokio::test]
async fn labelling_a_development_namespace_phi_is_denied_with_dev_phi() {
    webhook().await;
    let client = control_plane().await.unwrap().client().await.unwrap();
    let dev = ("hipaaguard.io/environment", "development");
    let ns = fresh_namespace(&client, "wh-dev", &[dev]).await.unwrap();
    let phi = [
        &format!("{}={}", PHI.0, PHI.1)[..],
        &format!("{}={}", ENFORCE.0, ENFORCE.1)[..],
    ];
    let out = label(&ns, &phi, false).await;
    expect_denied(
        &out,
        &[
            &format!("HIPAA Guard denied Namespace {ns}:"),
            "[HIPAA-K8S-DEV-PHI] 164.308(a)(4)(ii)(A):",
            "add to spec.exceptions of HipaaPolicy e2e-enforce: controls [HIPAA-K8S-DEV-PHI]",
        ],
    );
    let labels = kubectl(&["get", "namespace", &ns, "--show-labels"], None).await;
    assert!(!labels.stdout.contains(PHI.0), "{labels}");
    // Created with both labels: denied too.
    let manifest = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}-x\n  labels: {{{}: development, {}: \"true\", {}: {}}}\n",
        dev.0, PHI.0, ENFORCE.0, ENFORCE.1
    );
    let out = kubectl(&["create", "-f", "-"], Some(&manifest)).await;
    expect_denied(&out, &["[HIPAA-K8S-DEV-PHI] 164.308(a)(4)(ii)(A):"]);
}

#[tokio::test]
async fn leaving_a_policy_is_denied_with_workloads_and_admitted_under_an_exception_or_when_empty() {
    webhook().await;
    let client = control_plane().await.unwrap().client().await.unwrap();
    expect_allowed(&kubectl(&["apply", "-f", "-"], Some(SCOPE_POLICY)).await);
    let full = fresh_namespace(&client, "wh-scope", &[PHI, SCOPE])
        .await
        .unwrap();
    let empty = fresh_namespace(&client, "wh-scope-empty", &[PHI, SCOPE])
        .await
        .unwrap();
    expect_allowed(&kubectl(&["apply", "-n", &full, "-f", "-"], Some(DEFAULT_DENY)).await);
    let apply = ["apply", "-n", &full, "-f", "-"];
    let manifest = deployment("api", IMAGE);
    kubectl_until(&apply, Some(&manifest), "the Deployment is created", |o| {
        o.success()
    })
    .await;

    let remove_phi = [&format!("{}-", PHI.0)[..]];
    // Dry runs until the webhook has seen the policy and counted the Deployment.
    kubectl_until(
        &[
            "label",
            "namespace",
            &full,
            remove_phi[0],
            "--dry-run=server",
        ],
        None,
        "the webhook denies leaving e2e-scope",
        denied,
    )
    .await;
    let out = label(&full, &remove_phi, false).await;
    expect_denied(
        &out,
        &[
            &format!("HIPAA Guard denied Namespace {full}:"),
            "[HIPAA-K8S-PHI-SCOPE] 164.308(a)(1)(ii)(B):",
            "out of the scope of HipaaPolicy e2e-scope",
            "1 Deployment",
            &format!(
                "add to spec.exceptions of HipaaPolicy e2e-scope: controls [HIPAA-K8S-PHI-SCOPE], match {{namespaces: [{full}]}}"
            ),
        ],
    );

    // The same change in a namespace with no workloads: admitted (the webhook knows the policy by
    // now, as the denial above shows).
    expect_allowed(&label(&empty, &remove_phi, false).await);

    // An exception of e2e-scope for this control and namespace, expiring next year.
    let next_year = chrono::Utc::now() + chrono::TimeDelta::days(365);
    let exception = format!(
        r#"{{"spec":{{"exceptions":[{{"controls":["HIPAA-K8S-PHI-SCOPE"],"match":{{"namespaces":["{full}"]}},"justification":"moving to the archive cluster","approvedBy":"CHG-15","expires":"{}"}}]}}}}"#,
        next_year.format("%Y-%m-%dT%H:%M:%SZ")
    );
    expect_allowed(
        &kubectl(
            &[
                "patch",
                "hipaapolicy",
                "e2e-scope",
                "--type=merge",
                "-p",
                &exception,
            ],
            None,
        )
        .await,
    );
    kubectl_until(
        &[
            "label",
            "namespace",
            &full,
            remove_phi[0],
            "--dry-run=server",
        ],
        None,
        "the webhook admits leaving e2e-scope under the exception",
        |o| o.success(),
    )
    .await;
    expect_allowed(&label(&full, &remove_phi, false).await);
    let labels = kubectl(&["get", "namespace", &full, "--show-labels"], None).await;
    assert!(!labels.stdout.contains(PHI.0), "{labels}");
}

#[tokio::test]
async fn a_hipaa_policy_with_three_problems_gets_one_denial_listing_all_three() {
    webhook().await;
    let policy = r#"apiVersion: hipaaguard.io/v1alpha1
kind: HipaaPolicy
metadata: {name: e2e-three-problems}
spec:
  namespaceSelector:
    matchExpressions: [{key: hipaaguard.io/phi, operator: Equals, values: ["true"]}]
  controls:
    - {id: HIPAA-K8S-NOPE}
  exceptions:
    - controls: [HIPAA-K8S-NETPOL]
      justification: legacy ingress, replaced next quarter
      approvedBy: CHG-15
      expires: "2020-01-01T00:00:00Z"
"#;
    let out = kubectl(&["apply", "-f", "-"], Some(policy)).await;
    expect_denied(
        &out,
        &[
            "HIPAA Guard denied HipaaPolicy e2e-three-problems: its spec has 3 problems:",
            "- spec.controls[0]: unknown control HIPAA-K8S-NOPE",
            "- spec.namespaceSelector: unknown operator Equals on hipaaguard.io/phi",
            "- spec.exceptions[0]: expires 2020-01-01T00:00:00Z, which is not in the future",
        ],
    );
    let get = kubectl(&["get", "hipaapolicy", "e2e-three-problems"], None).await;
    assert!(!get.success(), "the policy was not created:\n{get}");
}
