//! A lookup's result with when it was made, and when a failed one is due for another try: the
//! plain data every refresh plan (the EKS/ECR/Secrets Manager/KMS one in [`super::cache`], the
//! data one in [`super::data::plan`]) keeps, in a module of its own so that neither depends on
//! the other.

use chrono::{DateTime, Duration, Utc};
use hipaa_controls::aws::{Lookup, LookupError};

/// A failed lookup is tried again at the first audit this long after it failed, even within the
/// interval (it never passes in between: it reports Error).
pub const RETRY_FAILED_AFTER: Duration = Duration::seconds(30);

/// A lookup's result and when it was made.
#[derive(Clone, Debug, PartialEq)]
pub struct Fetched<T> {
    pub at: DateTime<Utc>,
    pub result: Lookup<T>,
}

/// True when a lookup is missing, or failed long enough ago to try again.
pub fn due<T>(fetched: Option<&Fetched<T>>, now: DateTime<Utc>) -> bool {
    match fetched {
        None => true,
        Some(Fetched { result: Ok(_), .. }) => false,
        Some(Fetched { at, result: Err(_) }) => now - *at >= RETRY_FAILED_AFTER,
    }
}

/// A lookup's result; a lookup that was never made is a failure of its own, so that the
/// controls that needed it report Error.
pub fn result_of<T: Clone>(fetched: Option<&Fetched<T>>, what: &str) -> Lookup<T> {
    match fetched {
        Some(fetched) => fetched.result.clone(),
        None => Err(not_looked_up(what)),
    }
}

/// The error of a lookup not made (yet).
pub fn not_looked_up(what: &str) -> LookupError {
    LookupError::new("NotLookedUp", format!("{what} has not been looked up yet"))
}
