//! Admission registration: the operator writes the ValidatingWebhookConfiguration itself, once
//! a webhook answers with the certificate the configuration trusts, and keeps it in step with the
//! HipaaPolicies (one entry per policy, so that only governed namespaces depend on the webhook).

pub mod args;
pub mod build;
pub mod bundle;
pub mod policies;
pub mod probe;
pub mod register;
pub mod status;
