//! HIPAA Guard's control catalog and the one pure engine that judges Kubernetes objects and AWS
//! snapshots against it. No I/O: no client, no runtime, no network, no filesystem.

pub mod context;
pub mod model;
pub mod object;
pub mod policy;
