//! What the signed calls without an SDK crate ([`super::wire`]) keep over the collector's
//! lifetime, held by [`super::clients::Clients`]: the connector (its connection pool) and the
//! cached credentials. Plain state in a module of its own, so that the clients do not depend on
//! the wire client that uses them.

use std::sync::OnceLock;

use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::http::SharedHttpConnector;

/// The wire calls' shared state; its behaviour lives in `wire::transport`.
#[derive(Default)]
pub struct Transport {
    pub(crate) connector: OnceLock<SharedHttpConnector>,
    pub(crate) credentials: tokio::sync::Mutex<Option<Credentials>>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport").finish_non_exhaustive()
    }
}
