//! The HIPAA Guard operator: keeps every HipaaPolicy's status, metrics and Events current with
//! the cluster, as observe (watch caches) → decide (the pure engine) → write (status and Events).

pub mod admission;
pub mod app;
pub mod aws;
pub mod certificates;
pub mod cli;
pub mod context;
pub mod controller;
pub mod decide;
pub mod history;
pub mod leader;
pub mod metrics;
pub mod observe;
pub mod reconcile;
pub mod reports;
pub mod requeue;
pub mod time;
pub mod write;
