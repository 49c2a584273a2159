//! The data-store side of the operator's AWS lookups against moto: the signed wire client and
//! the fetchers of IAM roles, S3 buckets, RDS databases, DynamoDB tables, load balancers, EFS and
//! the account's safeguards return exactly what was seeded (compliant and non-compliant
//! variants), and faults injected by the loopback proxy give lookup errors naming the missing
//! permission or are retried. Moto's state is shared by this binary's tests: every test uses
//! unique names, and the account-wide test has a region of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod aws_data_cases;
// Shared with aws_e2e, which uses more of it.
#[allow(unused_imports)]
mod aws_support;
// Shared with the operator's end-to-end tests; only a few of its helpers are used here.
#[allow(unused_imports)]
mod operator_support;
