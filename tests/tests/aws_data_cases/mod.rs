//! One case per service, the faults, and the whole account linked to workloads ([`linking`]); [`seed`] creates the resources in moto through the
//! operator's own wire client (no SDK crate per service) and aws-sdk-s3.

mod account;
mod cluster;
mod dynamodb;
mod edge;
mod faults;
mod iam;
mod linking;
mod rds;
mod s3;
pub mod seed;
mod story;
