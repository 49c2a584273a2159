//! The process's open-files limit: every connection is a file, and the default soft limit
//! (often 1,024) would stop a server long before its connection cap; the hard limit is what the
//! administrator allows, so servers raise the soft limit to it at start (as nginx's
//! `worker_rlimit_nofile` and Go's runtime do).

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// The open-files limits after [`raise_open_files_limit`]; `None` is unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFiles {
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

/// The limit to set, if the soft limit is below the hard one. An unlimited hard limit is not
/// copied (Linux refuses an unlimited open-files limit); the soft one is left as it is then.
fn raised(current: Rlimit) -> Option<Rlimit> {
    let hard = current.maximum?;
    match current.current {
        Some(soft) if soft < hard => Some(Rlimit {
            current: Some(hard),
            maximum: Some(hard),
        }),
        _ => None,
    }
}

/// Raises the soft open-files limit to the hard limit; the limits in force afterwards.
pub fn raise_open_files_limit() -> std::io::Result<OpenFiles> {
    let current = getrlimit(Resource::Nofile);
    if let Some(wanted) = raised(current) {
        setrlimit(Resource::Nofile, wanted).map_err(std::io::Error::from)?;
    }
    let now = getrlimit(Resource::Nofile);
    Ok(OpenFiles {
        soft: now.current,
        hard: now.maximum,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn limit(current: Option<u64>, maximum: Option<u64>) -> Rlimit {
        Rlimit { current, maximum }
    }

    #[test]
    fn raises_the_soft_limit_to_a_finite_hard_limit_only() {
        assert_eq!(
            raised(limit(Some(1024), Some(20_000))),
            Some(limit(Some(20_000), Some(20_000)))
        );
        assert_eq!(raised(limit(Some(20_000), Some(20_000))), None);
        assert_eq!(raised(limit(Some(1024), None)), None);
        assert_eq!(raised(limit(None, None)), None);
    }

    #[test]
    fn after_raising_the_soft_limit_is_the_hard_limit() {
        let limits = raise_open_files_limit().unwrap();
        if let Some(hard) = limits.hard {
            assert_eq!(limits.soft, Some(hard));
        }
    }
}
