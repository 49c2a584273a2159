//! The AWS tests, by concern.

mod calls;
mod ecr;
mod eks;
mod eks_access;
mod faults;
mod late_integration;
mod operator;
mod secrets_kms;
