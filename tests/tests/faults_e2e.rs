//! Control-plane faults, each on a private control plane of its own (etcd + kube-apiserver that
//! the test stops and restarts): the operator through API server and etcd restarts and a SIGKILL
//! of its own, the webhook while the API server is down and after it returns, and a watch that
//! expires (410 Gone). Bounds are loose (20 s); the measured figures are printed (`--nocapture`)
//! and the 5 s targets are the `fault_recovery` benchmark's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "operator_support/mod.rs"]
mod operator_support;

#[path = "faults_e2e/support.rs"]
mod support;

#[path = "faults_e2e/operator.rs"]
mod operator;

#[path = "faults_e2e/webhook.rs"]
mod webhook;

#[path = "faults_e2e/expiry.rs"]
mod expiry;
