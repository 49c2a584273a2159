//! The live cluster: connecting as kubectl does and reading what the commands need.

pub mod connect;
pub mod discovery;
pub mod read;

pub use connect::{Connection, connect, runtime};
