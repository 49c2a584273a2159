//! The operator's webhook certificates against a real API server: both Secrets made from nothing;
//! a forced rotation puts the new CA in the bundle first and moves the serving certificate only
//! once the registered bundle has carried it for the propagation delay; a stale write loses
//! nothing; and a `hipaa-webhook --tls-secret` serves the Secret's certificate, then the rotated
//! one within seconds and without a restart, while reviews sent all along never fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod certificates_e2e {
    pub mod support;
}

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use certificates_e2e::support::*;
use chrono::{TimeDelta, Utc};
use hipaa_operator::certificates::facts::{signed_by, single_certificate};
use hipaa_operator::certificates::secrets::{SecretStore, data_text};
use hipaa_operator::certificates::{
    CertificateConfig, CertificateError, CertificateManager, CertificateState, ROTATE_ANNOTATION,
};
use hipaa_testkit::{
    cargo_bin, control_plane, free_port, fresh_namespace, spawn_guarded, wait_for,
};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::PostParams;

#[tokio::test]
async fn secrets_are_made_from_nothing_and_a_forced_rotation_moves_the_ca_before_the_serving_certificate()
 {
    let plane = control_plane().await.unwrap();
    let client = plane.client().await.unwrap();
    let namespace = fresh_namespace(&client, "certs", &[]).await.unwrap();
    let config = config("e2e-a", &namespace);
    let manager = CertificateManager::new(client.clone(), config.clone()).unwrap();
    let t0 = Utc::now();

    let first = manager.reconcile(None, t0).await.unwrap();
    let ca = secret(&client, &namespace, &config.ca_secret).await;
    let serving = secret(&client, &namespace, &config.serving_secret).await;
    assert_eq!(serving.type_.as_deref(), Some("kubernetes.io/tls"));
    let ca_cert = single_certificate(&data_text(&ca, "ca.crt").unwrap()).unwrap();
    let tls_cert = single_certificate(&data_text(&serving, "tls.crt").unwrap()).unwrap();
    assert!(ca_cert.is_ca && signed_by(&tls_cert.der, &ca_cert.der));
    assert_eq!(bundle_ders(&first.ca_bundle), vec![ca_cert.der.clone()]);
    assert_eq!(data_text(&serving, "ca.crt").unwrap(), first.ca_bundle);
    assert!(first.serving_not_after <= t0 + TimeDelta::days(90));
    assert!(first.ca_not_after <= t0 + TimeDelta::days(365));

    // Registered and settled: a pass changes nothing.
    let settled = registered(&first, t0);
    let later = t0 + TimeDelta::seconds(10);
    assert_eq!(
        manager.reconcile(Some(&settled), later).await.unwrap(),
        CertificateState {
            next_check: Duration::from_secs(3600),
            ..first.clone()
        }
    );
    let unchanged = secret(&client, &namespace, &config.serving_secret).await;
    assert_eq!(
        unchanged.metadata.resource_version,
        serving.metadata.resource_version
    );

    // The request: a new CA in front of the old one; the serving certificate stays.
    request_rotation(&client, &config).await;
    let rotated = manager.reconcile(Some(&settled), later).await.unwrap();
    let ders = bundle_ders(&rotated.ca_bundle);
    assert_eq!(ders.len(), 2);
    assert_eq!(ders[1], ca_cert.der, "the old CA stays trusted");
    assert_ne!(ders[0], ca_cert.der);
    let ca_after = secret(&client, &namespace, &config.ca_secret).await;
    assert!(
        !ca_after
            .metadata
            .annotations
            .unwrap_or_default()
            .contains_key(ROTATE_ANNOTATION),
        "the operator removes the annotation"
    );
    let serving_after = secret(&client, &namespace, &config.serving_secret).await;
    assert_eq!(
        data_text(&serving_after, "tls.crt"),
        data_text(&serving, "tls.crt")
    );
    assert_eq!(
        data_text(&serving_after, "ca.crt").unwrap(),
        rotated.ca_bundle
    );
    assert_eq!(rotated.next_check, config.propagation_delay);

    // Until the registered bundle has carried the new CA for the delay, the serving certificate
    // stays on the old CA.
    let new_registered = registered(&rotated, later);
    for (registration, now) in [
        (&settled, later + TimeDelta::seconds(30)),
        (&new_registered, later + TimeDelta::seconds(4)),
    ] {
        manager.reconcile(Some(registration), now).await.unwrap();
        let still = secret(&client, &namespace, &config.serving_secret).await;
        assert_eq!(data_text(&still, "tls.crt"), data_text(&serving, "tls.crt"));
    }
    let moved = manager
        .reconcile(Some(&new_registered), later + TimeDelta::seconds(5))
        .await
        .unwrap();
    assert_eq!(moved.ca_bundle, rotated.ca_bundle);
    let serving_moved = secret(&client, &namespace, &config.serving_secret).await;
    let moved_cert = single_certificate(&data_text(&serving_moved, "tls.crt").unwrap()).unwrap();
    assert!(signed_by(&moved_cert.der, &ders[0]));
}

#[tokio::test]
async fn a_write_over_a_changed_secret_is_refused_and_a_broken_secret_is_repaired() {
    let plane = control_plane().await.unwrap();
    let client = plane.client().await.unwrap();
    let namespace = fresh_namespace(&client, "certs", &[]).await.unwrap();
    let config = config("e2e-c", &namespace);
    let manager = CertificateManager::new(client.clone(), config.clone()).unwrap();
    manager.reconcile(None, Utc::now()).await.unwrap();

    let store = SecretStore::new(client.clone(), &namespace);
    let read = store.get(&config.serving_secret).await.unwrap().unwrap();
    let api = Api::<Secret>::namespaced(client.clone(), &namespace);
    let mut changed = read.clone();
    changed
        .metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert("touched".into(), "yes".into());
    api.replace(&config.serving_secret, &PostParams::default(), &changed)
        .await
        .unwrap();
    let stale = store.write(Some(&read), read.clone()).await;
    assert!(
        matches!(stale, Err(CertificateError::Conflict { .. })),
        "{stale:?}"
    );

    // A half-written serving Secret: replaced at once, with the current CA.
    let mut broken = api.get(&config.serving_secret).await.unwrap();
    broken.data.as_mut().unwrap().insert(
        "tls.crt".into(),
        ByteString(b"-----BEGIN CERTIFICATE-----\nMII".to_vec()),
    );
    api.replace(&config.serving_secret, &PostParams::default(), &broken)
        .await
        .unwrap();
    let state = manager.reconcile(None, Utc::now()).await.unwrap();
    let repaired = secret(&client, &namespace, &config.serving_secret).await;
    let cert = single_certificate(&data_text(&repaired, "tls.crt").unwrap()).unwrap();
    assert!(signed_by(&cert.der, &bundle_ders(&state.ca_bundle)[0]));
}

#[tokio::test]
async fn the_webhook_serves_the_rotated_secret_without_a_restart_and_no_review_fails() {
    let plane = control_plane().await.unwrap();
    plane.install_hipaa_crd().await.unwrap();
    let client = plane.client().await.unwrap();
    let namespace = fresh_namespace(&client, "certs", &[]).await.unwrap();
    let config = CertificateConfig {
        propagation_delay: Duration::from_secs(2),
        ..config("e2e-b", &namespace)
    };
    let manager = CertificateManager::new(client.clone(), config.clone()).unwrap();
    let mut state = manager.reconcile(None, Utc::now()).await.unwrap();

    let (port, admin_port) = (free_port(), free_port());
    let mut command = Command::new(cargo_bin("hipaa-webhook"));
    command
        .arg(format!("--tls-secret={}", config.serving_secret))
        .arg(format!("--own-namespace={namespace}"))
        .arg(format!("--listen=127.0.0.1:{port}"))
        .arg(format!("--admin-listen=127.0.0.1:{admin_port}"))
        .arg("--kubeconfig")
        .arg(plane.kubeconfig())
        .arg("--log-format=text")
        .env("RUST_LOG", "info");
    let mut process = spawn_guarded(command, "hipaa-webhook-tls-secret").unwrap();
    wait_for("the webhook's /readyz", Duration::from_secs(60), || async {
        Ok(admin_get(admin_port, "/readyz")
            .is_some_and(|(status, _)| status == 200)
            .then_some(()))
    })
    .await
    .unwrap_or_else(|err| panic!("{err}\n{}", process.log_tail(30)));
    let first_served = served_certificate(port, &state.ca_bundle);
    let in_secret = secret(&client, &namespace, &config.serving_secret).await;
    assert_eq!(
        first_served.as_ref(),
        single_certificate(&data_text(&in_secret, "tls.crt").unwrap())
            .unwrap()
            .der
    );

    register(&client, &namespace, port, &state.ca_bundle).await;
    let mut since = Utc::now();
    let (ok, failed, stop) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let reviews = tokio::spawn(send_reviews(
        client.clone(),
        namespace.clone(),
        Arc::clone(&ok),
        Arc::clone(&failed),
        Arc::clone(&stop),
    ));
    wait_for(
        "reviews reaching the webhook",
        Duration::from_secs(30),
        || async {
            let reviewed = admin_get(admin_port, "/metrics").is_some_and(|(_, body)| {
                body.lines().any(|l| {
                    l.starts_with("hipaaguard_webhook_reviews_total{") && l.contains("kind=\"Pod\"")
                })
            });
            Ok(reviewed.then_some(()))
        },
    )
    .await
    .unwrap();

    // The registration loop in small: reconcile, register a changed bundle, until the serving
    // certificate has moved to the new CA.
    request_rotation(&client, &config).await;
    let old_bundle = state.ca_bundle.clone();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let new_serving = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the serving certificate never moved"
        );
        state = manager
            .reconcile(Some(&registered(&state, since)), Utc::now())
            .await
            .unwrap();
        let bundle = bundle_ders(&state.ca_bundle);
        let serving = secret(&client, &namespace, &config.serving_secret).await;
        let cert = single_certificate(&data_text(&serving, "tls.crt").unwrap()).unwrap();
        if signed_by(&cert.der, &bundle[0]) && bundle.len() == 2 {
            break cert.der;
        }
        if !registered_carries(&client, &state.ca_bundle).await {
            assert_eq!(bundle.len(), 2, "the new CA joins the old one");
            assert_eq!(
                data_text(&serving, "tls.crt"),
                data_text(&in_secret, "tls.crt"),
                "the serving certificate waits for the new CA's registration"
            );
            register(&client, &namespace, port, &state.ca_bundle).await;
            since = Utc::now();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_ne!(state.ca_bundle, old_bundle, "the caBundle changed");

    wait_for(
        "the webhook to serve the new certificate",
        Duration::from_secs(10),
        || {
            let served = served_certificate(port, &state.ca_bundle);
            let done = served.as_ref() == new_serving.as_slice();
            async move { Ok(done.then_some(())) }
        },
    )
    .await
    .unwrap_or_else(|err| panic!("{err}\n{}", process.log_tail(30)));
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    reviews.await.unwrap();
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert_eq!(failed, 0, "{ok} reviews passed\n{}", process.log_tail(30));
    assert!(ok >= 10, "only {ok} reviews were sent");
    assert!(process.is_running(), "the webhook was not restarted");

    let (_, metrics) = admin_get(admin_port, "/metrics").unwrap();
    let expiry: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("hipaaguard_webhook_certificate_expiry_seconds "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (89.0 * 86400.0..=90.0 * 86400.0).contains(&expiry),
        "{expiry}"
    );
}
