//! The operator's AWS side against moto: the collectors and the audit over what they find (EKS,
//! ECR, Secrets Manager, KMS controls pass and fail for the right reasons), faults injected by a
//! loopback proxy (AccessDenied and throttling give Error, and the next refresh recovers), the
//! number of AWS calls per audit cycle, and `hipaa-operator` itself on the real control plane
//! with moto. Moto's state is shared by this binary's tests: every test uses unique names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod aws_cases;
mod aws_support;
mod operator_support;
