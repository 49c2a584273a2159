//! The acceptance bound on AWS calls, counted at the loopback proxy: one audit cycle describes
//! each distinct linked resource at most once (shared images, repositories and keys included),
//! audits within the interval call nothing while nothing changed, a newly linked image costs
//! exactly its own lookup, and the next cycle (or a spec change) looks everything up again.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use hipaa_testkit::moto;

use crate::aws_support::*;

/// The calls by (operation, resource), sorted.
fn tally(proxy: &FaultProxy, from: usize) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for call in proxy.calls().into_iter().skip(from) {
        *counts.entry((call.operation, call.resource)).or_insert(0) += 1;
    }
    counts
}

fn call(operation: &str, resource: &str) -> (String, String) {
    (operation.to_string(), resource.to_string())
}

#[tokio::test]
async fn one_cycle_describes_each_linked_resource_once_and_nothing_while_nothing_changed() {
    let moto = moto().await.unwrap();
    let seed = Seed::new(moto).await;
    let (shared_key, shared_key_arn) = seed.key(true).await;
    let (ecr_key, ecr_key_arn) = seed.key(true).await;
    let cluster = unique("calls-cluster");
    seed.cluster(&cluster, ClusterSpec::hardened(&shared_key_arn))
        .await;
    let (api_repo, batch_repo) = (unique("calls-api"), unique("calls-batch"));
    let encrypted = RepositorySpec::hardened(Some(&ecr_key_arn));
    seed.repository(&api_repo, encrypted).await;
    let plain = RepositorySpec::hardened(None);
    seed.repository(&batch_repo, plain).await;
    seed.scanned_image(&api_repo, "v1").await;
    seed.scanned_image(&batch_repo, "v2").await;
    seed.scanned_image(&batch_repo, "v3").await;
    let secret = unique("calls-secret");
    seed.secret(&secret, Some(&shared_key_arn)).await;

    let (proxy, collector) = proxied_collector().await;
    let mut policy = policy(
        &format!("{{region: {REGION}, eksClusterName: {cluster}, secrets: [{secret}]}}"),
        "",
    );
    // Two workloads share one image; the cluster and the secret share one key.
    let mut workloads = vec![
        deployment("api", &ecr_image(&api_repo, "v1")),
        deployment("worker", &ecr_image(&api_repo, "v1")),
        deployment("batch", &ecr_image(&batch_repo, "v2")),
    ];
    let now = Utc::now();
    let first = snapshot(&collector, &policy, &observation(workloads.clone()), now).await;
    let one_cycle = BTreeMap::from([
        (call("DescribeCluster", &cluster), 1),
        // Which roles the workloads' ServiceAccounts get through EKS Pod Identity (none here).
        (call("ListPodIdentityAssociations", &cluster), 1),
        (call("DescribeRepositories", &api_repo), 1),
        (call("DescribeRepositories", &batch_repo), 1),
        (call("GetRegistryScanningConfiguration", ""), 1),
        (
            call("DescribeImageScanFindings", &format!("{api_repo}:v1")),
            1,
        ),
        (
            call("DescribeImageScanFindings", &format!("{batch_repo}:v2")),
            1,
        ),
        (call("DescribeSecret", &secret), 1),
        (call("DescribeKey", &shared_key_arn), 1),
        (call("DescribeKey", &ecr_key_arn), 1),
        (call("GetKeyRotationStatus", &shared_key), 1),
        (call("GetKeyRotationStatus", &ecr_key), 1),
    ]);
    assert_eq!(tally(&proxy, 0), one_cycle);
    assert_eq!(first.kms_keys.len(), 2, "{first:#?}");

    // Audits within the interval, nothing changed: no call at all.
    let seen = proxy.calls().len();
    for minutes in [1, 5, 9] {
        let again = snapshot(
            &collector,
            &policy,
            &observation(workloads.clone()),
            now + Duration::minutes(minutes),
        )
        .await;
        assert_eq!(again, first);
    }
    assert_eq!(proxy.calls().len(), seen, "{:?}", tally(&proxy, seen));

    // A new workload running a new image: only that image's findings.
    workloads.push(deployment("report", &ecr_image(&batch_repo, "v3")));
    snapshot(
        &collector,
        &policy,
        &observation(workloads.clone()),
        now + Duration::minutes(9),
    )
    .await;
    assert_eq!(
        tally(&proxy, seen),
        BTreeMap::from([(
            call("DescribeImageScanFindings", &format!("{batch_repo}:v3")),
            1
        )])
    );

    // The next cycle looks everything up again, once.
    let seen = proxy.calls().len();
    let mut next_cycle = one_cycle.clone();
    next_cycle.insert(
        call("DescribeImageScanFindings", &format!("{batch_repo}:v3")),
        1,
    );
    snapshot(
        &collector,
        &policy,
        &observation(workloads.clone()),
        now + Duration::minutes(10),
    )
    .await;
    assert_eq!(tally(&proxy, seen), next_cycle);

    // So does a spec change (a new generation), within the interval.
    let seen = proxy.calls().len();
    policy.metadata.generation = Some(2);
    snapshot(
        &collector,
        &policy,
        &observation(workloads.clone()),
        now + Duration::minutes(12),
    )
    .await;
    assert_eq!(tally(&proxy, seen), next_cycle);
}
