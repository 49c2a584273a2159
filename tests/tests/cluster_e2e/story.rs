//! The in-cluster story, phase by phase: install, admission through the Service, status from the
//! operator pod, a compliant workload that runs, a rolling upgrade and a deleted webhook pod under
//! a steady apply load, the leader killed, uninstall. Each phase prints its figures
//! (docs/in-cluster.md records them).

use std::time::{Duration, Instant};

use hipaa_crds::HipaaPolicy;
use hipaa_testkit::{
    Node, apply_yaml, apply_yaml_in, expect_allowed, expect_denied, fresh_namespace, node, run,
    wait_for,
};
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};

use super::certificates;
use super::fixtures::{self, PHI_PRODUCTION};
use super::load::Load;
use super::release::{self, NAMESPACE, OPERATOR, WEBHOOK};

/// The applies per second the load client sends during a rollout (the figure).
const APPLIES_PER_SECOND: u32 = 5;

pub async fn install_upgrade_failover_uninstall() {
    let node = node().await.unwrap();
    fixtures::import_workload_image(node);
    let client = node.client().await.unwrap();
    let tag = node.import_image("hipaa-webhook").unwrap();
    let operator_ref = node.import_image("hipaa-operator").unwrap();
    let tag = tag.rsplit(':').next().unwrap().to_string();
    assert!(
        operator_ref.ends_with(&format!(":{tag}")),
        "{operator_ref} vs {tag}"
    );

    // ---- install -------------------------------------------------------------------------------
    let took = release::helm_apply(node, "install", &tag);
    eprintln!("helm install --wait: {took:.1?}");
    for name in [WEBHOOK, OPERATOR] {
        release::wait_rolled_out(&client, name, &format!(":{tag}"), Duration::from_secs(60)).await;
        for pod in release::component_pods(&client, name).await {
            eprintln!(
                "{}: Ready {}s after it was created",
                pod.metadata.name.as_deref().unwrap_or("?"),
                release::seconds_to_ready(&pod).unwrap_or(-1)
            );
        }
    }
    let leader = release::leader(&client, Duration::from_secs(60)).await;
    eprintln!("operator leader: {leader}");
    // The operator is ready only once the webhook configuration is in place, so `--wait` covers it.
    certificates::first_apply_is_judged(node);

    // ---- admission through the Service, status from the operator pod --------------------------
    let label = "story";
    let mut labels = PHI_PRODUCTION.to_vec();
    labels.push(("hipaaguard.io/cluster-e2e", label));
    let namespace = fresh_namespace(&client, "story", &labels).await.unwrap();
    apply_yaml_in(&client, &namespace, &fixtures::network_policy(&namespace))
        .await
        .unwrap();
    apply_yaml(&client, &fixtures::policy("cluster-story", label))
        .await
        .unwrap();
    // The operator adds the policy's entry to the webhook configuration a moment after the policy
    // appears; until the API server has it, an apply is admitted unjudged (the audit reports it),
    // and re-applying the same object would then be a no-op nobody judges. So wait with dry runs,
    // which are judged like the real thing, then apply for real.
    let yaml = fixtures::privileged_yaml("privileged", &namespace);
    wait_for(
        "the webhook pods to enforce the new policy",
        Duration::from_secs(30),
        || {
            let yaml = yaml.clone();
            async move {
                let dry_run = ["apply", "--dry-run=server", "-f", "-"];
                let out = run(node.kubectl().args(dry_run), Some(&yaml))?;
                Ok((!out.success() && out.stderr.contains("denied the request")).then_some(()))
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", release::diagnostics(node)));
    let denied = run(node.kubectl().args(["apply", "-f", "-"]), Some(&yaml)).unwrap();
    expect_denied(&denied, &["HIPAA-K8S-PRIVILEGED", "164.312(a)(1)"]);
    eprintln!(
        "kubectl apply of a privileged Deployment:\n{}",
        denied.stderr.trim()
    );

    let took = fixtures::run_compliant(&client, &namespace, "steady", 2).await;
    eprintln!("compliant Deployment admitted and available: {took:.1?}");
    wait_compliant(&client, "cluster-story", Duration::from_secs(60)).await;
    let table = run(node.kubectl().args(["get", "hipaapolicies"]), None).unwrap();
    assert!(
        table.success() && table.stdout.contains("cluster-story"),
        "{table}"
    );
    eprintln!("{}", table.stdout.trim());

    // ---- rolling upgrade under load ------------------------------------------------------------
    let next = format!("{tag}-next");
    for image in ["hipaa-webhook", "hipaa-operator"] {
        node.tag_image(
            &format!("hipaa-guard/{image}:{tag}"),
            &format!("hipaa-guard/{image}:{next}"),
        )
        .unwrap();
    }
    let load = Load::start(client.clone(), &namespace, APPLIES_PER_SECOND);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let upgrade_began = Instant::now();
    let took = tokio::task::spawn_blocking({
        let next = next.clone();
        move || release::helm_apply(node, "upgrade", &next)
    })
    .await
    .unwrap();
    for name in [WEBHOOK, OPERATOR] {
        release::wait_rolled_out(&client, name, &format!(":{next}"), Duration::from_secs(60)).await;
    }
    let rolled = upgrade_began.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let report = load.stop().await;
    eprintln!(
        "helm upgrade --wait to {next}: {took:.1?}, every old pod gone after {rolled:.1?}; {} applies \
         during it: {} admitted, {} denied, {} failed",
        report.total(),
        report.admitted,
        report.denied,
        report.failures.len()
    );
    assert!(
        report.failures.is_empty(),
        "applies failed during the upgrade: {:#?}",
        report.failures
    );
    assert!(report.total() >= (took.as_secs() as usize) * APPLIES_PER_SECOND as usize / 2);

    // ---- a webhook pod deleted under load ------------------------------------------------------
    let load = Load::start(client.clone(), &namespace, APPLIES_PER_SECOND);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let victim = release::component_pods(&client, WEBHOOK).await[0]
        .metadata
        .name
        .clone()
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    pods.delete(&victim, &DeleteParams::default())
        .await
        .unwrap();
    release::wait_rolled_out(
        &client,
        WEBHOOK,
        &format!(":{next}"),
        Duration::from_secs(90),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let report = load.stop().await;
    eprintln!(
        "webhook pod {victim} deleted: {} applies meanwhile, {} failed",
        report.total(),
        report.failures.len()
    );
    assert!(
        report.failures.is_empty(),
        "applies failed while a webhook pod went: {:#?}",
        report.failures
    );

    // ---- a forced certificate rotation under load ----------------------------------------------
    certificates::forced_rotation_under_load(&client, &namespace, APPLIES_PER_SECOND).await;

    // ---- the leader killed ---------------------------------------------------------------------
    // SIGKILL, as a crash would: the Lease is not released and must expire. The pod object goes
    // too, so that the ReplicaSet replaces it instead of the kubelet restarting it in place.
    let leader = release::leader(&client, Duration::from_secs(60)).await;
    let leader_pod = pods.get(&leader).await.unwrap();
    for status in leader_pod
        .status
        .and_then(|s| s.container_statuses)
        .unwrap_or_default()
    {
        node.kill_container(status.container_id.as_deref().unwrap())
            .unwrap();
    }
    let killed = Instant::now();
    pods.delete(
        &leader,
        &DeleteParams {
            grace_period_seconds: Some(0),
            ..DeleteParams::default()
        },
    )
    .await
    .unwrap();
    let policies: Api<HipaaPolicy> = Api::all(client.clone());
    let patched = policies
        .patch(
            "cluster-story",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"auditInterval": "2m"}})),
        )
        .await
        .unwrap();
    let generation = patched.metadata.generation.unwrap();
    wait_for(
        "the new leader to report the changed policy",
        Duration::from_secs(30),
        || async {
            let status = policies.get("cluster-story").await?.status;
            Ok((status.and_then(|s| s.observed_generation) == Some(generation)).then_some(()))
        },
    )
    .await
    .unwrap();
    let reported = killed.elapsed();
    let new_leader = release::leader(&client, Duration::from_secs(30)).await;
    assert_ne!(new_leader, leader);
    eprintln!(
        "leader {leader} SIGKILLed; {new_leader} took over and reported the change {reported:.1?} later"
    );

    // ---- uninstall -----------------------------------------------------------------------------
    uninstall_leaves_nothing(node, &client, &namespace).await;
}

async fn wait_compliant(client: &kube::Client, policy: &str, timeout: Duration) {
    let policies: Api<HipaaPolicy> = Api::all(client.clone());
    wait_for(
        &format!("{policy}'s status from the operator pod"),
        timeout,
        || async {
            let status = policies.get(policy).await?.status;
            let compliant = status.as_ref().is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "Compliant" && c.status == "True")
            });
            Ok(compliant.then_some(()))
        },
    )
    .await
    .unwrap();
}

async fn uninstall_leaves_nothing(node: &Node, client: &kube::Client, namespace: &str) {
    let began = Instant::now();
    let out = run(
        node.helm().args([
            "uninstall",
            release::RELEASE,
            "--namespace",
            NAMESPACE,
            "--wait",
            "--timeout",
            "2m",
        ]),
        None,
    )
    .unwrap();
    assert!(out.success(), "helm uninstall failed:\n{out}");
    eprintln!("helm uninstall --wait: {:.1?}", began.elapsed());
    // The operator registered the configuration, owned by its ClusterRole: the garbage collector
    // removes it once helm has deleted that role.
    let configurations: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    wait_for(
        "the webhook configuration to be collected",
        Duration::from_secs(30),
        || async {
            let left = configurations
                .list(&ListParams::default().labels("app.kubernetes.io/instance=hipaa-guard"))
                .await?;
            Ok(left.items.is_empty().then_some(()))
        },
    )
    .await
    .unwrap();
    wait_for(
        "the product's pods to be gone",
        Duration::from_secs(60),
        || async {
            let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
            Ok(pods
                .list(&ListParams::default())
                .await?
                .items
                .is_empty()
                .then_some(()))
        },
    )
    .await
    .unwrap();
    let every = run(
        node.kubectl().args([
            "get",
            "all,configmaps,serviceaccounts,secrets,roles,rolebindings,leases,poddisruptionbudgets",
            "--namespace",
            NAMESPACE,
            "-o",
            "name",
        ]),
        None,
    )
    .unwrap();
    // What every namespace holds from its creation, not the product's.
    let left: Vec<&str> = every
        .stdout
        .lines()
        .filter(|l| !["configmap/kube-root-ca.crt", "serviceaccount/default"].contains(l))
        .collect();
    assert!(
        every.success() && left.is_empty(),
        "left in {NAMESPACE} after uninstall: {left:?}\n{every}"
    );
    let cluster_wide = run(
        node.kubectl().args([
            "get",
            "clusterroles,clusterrolebindings,validatingwebhookconfigurations",
            "-l",
            "app.kubernetes.io/instance=hipaa-guard",
            "-o",
            "name",
        ]),
        None,
    )
    .unwrap();
    assert!(
        cluster_wide.success() && cluster_wide.stdout.trim().is_empty(),
        "left after uninstall:\n{cluster_wide}"
    );
    // The formerly governed namespace takes anything again: nothing judges it any more.
    let yaml = fixtures::privileged_yaml("after-uninstall", namespace);
    let out = run(node.kubectl().args(["apply", "-f", "-"]), Some(&yaml)).unwrap();
    expect_allowed(&out);
}
