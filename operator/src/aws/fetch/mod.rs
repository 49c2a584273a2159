//! Fetchers of the data-store linking's AWS side, one module per service, each returning the
//! snapshot types of `hipaa_controls::aws` ([`iam`] roles and their policy documents, [`s3`]
//! buckets, [`rds`] databases, [`dynamodb`] tables, [`edge`] load balancers and EFS file
//! systems, and the [`account`]'s safeguards). Every sub-call is its own lookup, so a missing
//! permission makes only what needed it an Error. The `links`, `used_by`, `ingresses` and
//! `volumes` fields are left empty: linking fills them.

pub mod account;
pub mod dynamodb;
pub mod edge;
pub mod iam;
pub mod rds;
pub mod s3;
pub mod sts;

use hipaa_controls::aws::LookupError;

use super::wire::{Call, Service};

/// The code of a lookup a fetcher leaves to the caller (a detail read only for what a workload
/// reaches): judged as an Error if it is never made.
pub const NOT_READ: &str = "NotRead";

/// The error of a detail not read yet: `action` is the call that would read it.
pub fn not_read(action: &str, why: &str) -> LookupError {
    LookupError::new(NOT_READ, why).with_action(action)
}

/// A wire call.
pub(crate) const fn call<'a>(
    service: &'a Service,
    operation: &'a str,
    action: &'a str,
) -> Call<'a> {
    Call {
        service,
        operation,
        action,
    }
}

/// An answer that lacks a field the snapshot needs.
pub(crate) fn missing(action: &str, what: &str) -> LookupError {
    LookupError::new("ResponseError", format!("the answer has no {what}")).with_action(action)
}
