//! A lookup's result with when it was made, and when a failed one is due for another try: the
//! plain data every refresh plan (the EKS/ECR/Secrets Manager/KMS one in [`super::cache`], the
//! data one in [`super::data::plan`]) keeps, in a module of its own so that neither depends on
//! the other.

use chrono::{DateTime, Duration, Utc};
use hipaa_controls::aws::Lookup;

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
