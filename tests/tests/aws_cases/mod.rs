//! The AWS tests, by concern.

mod calls;
mod ecr;
mod eks;
mod faults;
mod operator;
mod secrets_kms;
