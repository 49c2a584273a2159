//! Fixtures of the plan's tests: real certificates issued with the dates each case needs, and
//! the Secrets a pass would have written around them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use k8s_openapi::api::core::v1::Secret;

use crate::certificates::facts::{observe, single_certificate};
use crate::certificates::issue::{Issued, issue_ca, issue_serving};
use crate::certificates::plan::{Plan, Validity, plan};
use crate::certificates::secrets::{ca_secret, serving_secret};
use crate::certificates::{CertificateConfig, ROTATE_ANNOTATION, RegisteredBundle};

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()
}

pub fn days(n: i64) -> TimeDelta {
    TimeDelta::days(n)
}

pub fn config() -> CertificateConfig {
    CertificateConfig::for_release("hg", "ns")
}

pub fn ca_made_at(at: DateTime<Utc>) -> Issued {
    issue_ca(
        "test CA",
        Validity {
            not_before: at - TimeDelta::minutes(5),
            not_after: at + days(365),
        },
    )
    .unwrap()
}

pub fn serving_made_at(ca: &Issued, at: DateTime<Utc>, names: &[String]) -> Issued {
    issue_serving(
        ca,
        names,
        &[],
        Validity {
            not_before: at - TimeDelta::minutes(5),
            not_after: at + days(90),
        },
    )
    .unwrap()
}

pub fn bundle(cas: &[&Issued]) -> String {
    cas.iter()
        .map(|ca| single_certificate(&ca.cert_pem).unwrap().pem())
        .collect()
}

pub fn registered(cas: &[&Issued], since: DateTime<Utc>) -> RegisteredBundle {
    RegisteredBundle {
        pem: bundle(cas),
        since,
    }
}

/// The two Secrets as a pass would have written them.
pub fn secrets(
    ca: &Issued,
    previous: Option<&Issued>,
    serving: &Issued,
    rotate: bool,
) -> (Secret, Secret) {
    let previous_pem = previous.map(|p| single_certificate(&p.cert_pem).unwrap().pem());
    let mut ca_secret = ca_secret(
        "hg-webhook-ca",
        "ns",
        None,
        (&ca.cert_pem, &ca.key_pem),
        previous_pem.as_deref(),
        false,
    );
    if rotate {
        ca_secret.metadata.annotations = Some(BTreeMap::from([(
            ROTATE_ANNOTATION.to_owned(),
            "now".to_owned(),
        )]));
    }
    let all: Vec<&Issued> = std::iter::once(ca).chain(previous).collect();
    let serving = serving_secret(
        "hg-webhook-tls",
        "ns",
        None,
        (&serving.cert_pem, &serving.key_pem),
        &bundle(&all),
    );
    (ca_secret, serving)
}

pub fn plan_at(
    ca: &Secret,
    serving: &Secret,
    registered: Option<&RegisteredBundle>,
    now: DateTime<Utc>,
) -> Plan {
    plan(
        &observe(Some(ca), Some(serving)),
        registered,
        &config(),
        now,
    )
}
