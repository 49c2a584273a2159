//! The evidence history end to end, on the real control plane and moto's S3: `hipaa-operator`
//! appends a record per changed audit to a bucket with Object Lock (EvidenceHistory=True), the
//! chain continues across a restart, `kubectl hipaa history verify` passes, `report --history
//! --at` gives the earlier violations back and `history diff` names the change; in a bucket
//! without Object Lock the condition warns, two clusters under one prefix give one `--fleet`
//! report, and a record altered or removed by hand is named by `verify`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod history_support;
mod operator_support;

use aws_sdk_s3::primitives::ByteStream;
use chrono::Utc;
use hipaa_testkit::wait_for;
use history_support::{
    WAIT, bucket, delete_deployment, findings_of, history_condition, kubectl_hipaa, s3, start,
    wait_records,
};
use operator_support::{Case, condition, privileged_deployment};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audits_become_a_chain_that_verifies_and_reads_back_at_a_time() {
    let s3 = s3().await;
    let case = Case::governed("hist", "hist").await.unwrap();
    let bucket = bucket(&s3, &case.label, true).await;
    let uri = format!("s3://{bucket}/evidence");
    let chain = format!("evidence/{}/{}/", case.label, case.policy_name());
    let mut operator = start(&case, &uri, "operator-history").await;
    case.apply_policy_until("", "audited", WAIT, operator_support::audited)
        .await
        .unwrap();
    history_condition(&case, &operator, "Written").await;
    wait_records(&s3, &bucket, &chain, 1, &operator).await;
    let clean = Utc::now();

    case.apply(&privileged_deployment("priv")).await.unwrap();
    wait_records(&s3, &bucket, &chain, 2, &operator).await;
    let privileged = Utc::now();
    delete_deployment(&case, "priv").await;
    let records = wait_records(&s3, &bucket, &chain, 3, &operator).await;
    assert!(records[2].contains("/0000000002-"), "{records:?}");
    // Each record is retained by the bucket's default Object Lock rule.
    let head = s3
        .head_object()
        .bucket(&bucket)
        .key(&records[0])
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.object_lock_mode().map(|m| m.as_str()),
        Some("GOVERNANCE")
    );
    assert!(head.object_lock_retain_until_date().is_some());

    // A restarted operator continues the chain from S3.
    operator.guard.kill();
    let operator = start(&case, &uri, "operator-history-restarted").await;
    case.apply(&privileged_deployment("again")).await.unwrap();
    wait_records(&s3, &bucket, &chain, 4, &operator).await;

    let verified = kubectl_hipaa(&["history", "verify", &uri]).await;
    assert_eq!(verified.status, 0, "{verified:?}");
    let line = format!("OK      {}/{}: 4 records", case.label, case.policy_name());
    assert!(verified.stdout.contains(&line), "{}", verified.stdout);

    let at =
        |time: chrono::DateTime<Utc>| time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let then = kubectl_hipaa(&[
        "report",
        "--history",
        &uri,
        "--at",
        &at(privileged),
        "-o",
        "json",
    ])
    .await;
    assert_eq!(then.status, 0, "{then:?}");
    assert_eq!(findings_of(&then.stdout, "HIPAA-K8S-PRIVILEGED"), ["priv"]);
    let before = kubectl_hipaa(&[
        "report",
        "--history",
        &uri,
        "--at",
        &at(clean),
        "-o",
        "json",
    ])
    .await;
    assert!(
        findings_of(&before.stdout, "HIPAA-K8S-PRIVILEGED").is_empty(),
        "{before:?}"
    );
    let now = kubectl_hipaa(&["report", "--history", &uri]).await;
    assert!(now.stdout.contains("again"), "{}", now.stdout);

    // The HTML report draws the policy's trend over its four records, and a real browser loads
    // it with nothing on its console; the screenshot is kept (docs/images/ shows one).
    let json = kubectl_hipaa(&["report", "--history", &uri, "-o", "json"]).await;
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let trend = report["policies"][0]["trend"].as_array().unwrap();
    let violations: Vec<u64> = trend
        .iter()
        .map(|p| p["violations"].as_u64().unwrap())
        .collect();
    assert_eq!(
        violations,
        [0, 1, 0, 1],
        "clean, priv, clean, again: {trend:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("history.html");
    let out = kubectl_hipaa(&[
        "report",
        "--history",
        &uri,
        "-o",
        "html",
        "--output-file",
        html.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.status, 0, "{out:?}");
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .contains("<svg class=\"trend\"")
    );
    let load = hipaa_testkit::load_page(
        &html,
        &hipaa_testkit::artifacts_dir().join("evidence-report-history.png"),
        1000,
    )
    .unwrap();
    assert_eq!(
        load.console,
        Vec::<String>::new(),
        "console of the history report"
    );

    let diff = kubectl_hipaa(&[
        "history",
        "diff",
        &uri,
        "--from",
        &at(clean),
        "--to",
        &at(privileged),
    ])
    .await;
    assert_eq!(diff.status, 0, "{diff:?}");
    let added = format!("+ HIPAA-K8S-PRIVILEGED Deployment {}/priv", case.ns);
    assert!(diff.stdout.contains(&added), "{}", diff.stdout);
    // Pass or NotEvaluated before (nothing privileged to judge), Fail after.
    let changed = diff
        .stdout
        .lines()
        .any(|l| l.starts_with("  HIPAA-K8S-PRIVILEGED: ") && l.ends_with(" -> Fail"));
    assert!(changed, "{}", diff.stdout);
    // The whole way back, as JSON: "again" appeared and nothing privileged went away for good.
    let json = kubectl_hipaa(&["history", "diff", &uri, "--from", &at(clean), "-o", "json"]).await;
    assert_eq!(json.status, 0, "{json:?}");
    let diffs: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(diffs[0]["from"]["sequence"], 0);
    assert_eq!(diffs[0]["to"]["sequence"], 3);
    assert_eq!(diffs[0]["violationsAdded"][0]["name"], "again");
    assert_eq!(diffs[0]["violationsRemoved"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlocked_bucket_warns_clusters_join_in_a_fleet_and_tampering_is_named() {
    let s3 = s3().await;
    let east = Case::governed("east", "east").await.unwrap();
    let west = Case::governed("west", "west").await.unwrap();
    let bucket = bucket(&s3, &east.label, false).await;
    let uri = format!("s3://{bucket}/fleet");
    let east_operator = start(&east, &uri, "operator-history-east").await;
    let west_operator = start(&west, &uri, "operator-history-west").await;
    east.apply(&privileged_deployment("priv")).await.unwrap();
    for (case, operator) in [(&east, &east_operator), (&west, &west_operator)] {
        case.apply_policy_until("", "audited", WAIT, operator_support::audited)
            .await
            .unwrap();
        history_condition(case, operator, "ObjectLockOff").await;
    }

    let fleet = kubectl_hipaa(&["report", "--history", &uri, "--fleet", "-o", "json"]).await;
    assert_eq!(fleet.status, 0, "{fleet:?}");
    let report: serde_json::Value = serde_json::from_str(&fleet.stdout).unwrap();
    let names: Vec<&str> = report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let mut expected = vec![
        format!("{}/{}", east.label, east.policy_name()),
        format!("{}/{}", west.label, west.policy_name()),
    ];
    expected.sort();
    assert_eq!(names, expected);
    assert_eq!(findings_of(&fleet.stdout, "HIPAA-K8S-PRIVILEGED"), ["priv"]);
    let ambiguous = kubectl_hipaa(&["report", "--history", &uri]).await;
    assert_eq!(ambiguous.status, 2, "{ambiguous:?}");
    assert!(
        ambiguous.stderr.contains("several clusters"),
        "{}",
        ambiguous.stderr
    );

    let chain = format!("fleet/{}/{}/", east.label, east.policy_name());
    east.apply(&privileged_deployment("more")).await.unwrap();
    wait_records(&s3, &bucket, &chain, 2, &east_operator).await;
    delete_deployment(&east, "more").await;
    let records = wait_records(&s3, &bucket, &chain, 3, &east_operator).await;
    let verified = kubectl_hipaa(&["history", "verify", &uri]).await;
    assert_eq!(verified.status, 0, "{verified:?}");

    // Altered by hand: a violation dropped, the record re-compressed, its hash left as it was.
    let stored = s3
        .get_object()
        .bucket(&bucket)
        .key(&records[2])
        .send()
        .await
        .unwrap();
    let bytes = stored.body.collect().await.unwrap().into_bytes();
    let mut record = hipaa_history::decode(&bytes).unwrap();
    record.violations.clear();
    let altered = hipaa_history::encode(&record).unwrap();
    s3.put_object()
        .bucket(&bucket)
        .key(&records[2])
        .body(ByteStream::from(altered))
        .send()
        .await
        .unwrap();
    let verified = kubectl_hipaa(&["history", "verify", &uri]).await;
    assert_eq!(verified.status, 1, "{verified:?}");
    let broken = format!(
        "BROKEN  {}/{}: {}: altered",
        east.label,
        east.policy_name(),
        records[2]
    );
    assert!(verified.stdout.contains(&broken), "{}", verified.stdout);
    assert!(
        verified
            .stdout
            .contains(&format!("OK      {}/", west.label)),
        "{}",
        verified.stdout
    );

    // Removed by hand: the gap is named before anything after it.
    s3.delete_object()
        .bucket(&bucket)
        .key(&records[1])
        .send()
        .await
        .unwrap();
    let verified = kubectl_hipaa(&["history", "verify", &uri, "--cluster", &east.label]).await;
    assert_eq!(verified.status, 1, "{verified:?}");
    let missing = format!("record 1 is missing (before {})", records[2]);
    assert!(verified.stdout.contains(&missing), "{}", verified.stdout);
    let json = kubectl_hipaa(&["history", "verify", &uri, "-o", "json"]).await;
    assert_eq!(json.status, 1, "{json:?}");
    let verdicts: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let east_verdict = verdicts
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["cluster"] == east.label.as_str())
        .unwrap();
    assert_eq!(east_verdict["problem"]["problem"], "missing");
    assert_eq!(east_verdict["problem"]["sequence"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_is_shown_counted_and_never_stops_the_audit() {
    let case = Case::governed("nobucket", "nobucket").await.unwrap();
    let uri = format!("s3://h-missing-{}/evidence", case.label);
    let operator = start(&case, &uri, "operator-history-missing").await;
    case.apply_policy_until("", "audited", WAIT, operator_support::audited)
        .await
        .unwrap();
    history_condition(&case, &operator, "WriteFailed").await;
    let policy = operator_support::policy(&case.client, &case.policy_name())
        .await
        .unwrap();
    assert_eq!(
        condition(&policy, "Ready"),
        Some(("True".to_string(), "Evaluated".to_string()))
    );
    let failures = operator
        .metric("hipaaguard_operator_history_write_failures_total")
        .await
        .unwrap();
    assert!(failures >= 1.0, "{failures}");
    // The next change is audited (and its write tried again) as usual.
    case.apply(&privileged_deployment("priv")).await.unwrap();
    operator
        .wait_policy(&case.client, &case.policy_name(), "failing", WAIT, |p| {
            operator_support::control_result(p, "HIPAA-K8S-PRIVILEGED")
                == Some(hipaa_crds::ControlResult::Fail)
        })
        .await
        .unwrap();
    // Written after the status and the Events: wait for it.
    let operator = &operator;
    wait_for("another failed write", WAIT, || async move {
        let more = operator
            .metric("hipaaguard_operator_history_write_failures_total")
            .await?;
        Ok((more > failures).then_some(()))
    })
    .await
    .unwrap();
}
