//! Container image references: `[registry[:port]/]repository[:tag][@digest]`, split the way the
//! container runtime reads them, and recognition of private ECR registries.

/// The registry of an image without one.
pub const DEFAULT_REGISTRY: &str = "docker.io";

/// A parsed image reference; borrowed from the image string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageReference<'a> {
    /// Host, with port if any (`registry.local:5000`); `docker.io` when the image names none.
    pub registry: &'a str,
    /// Path inside the registry, e.g. `payments/api` or `nginx`.
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    /// `sha256:...`.
    pub digest: Option<&'a str>,
}

impl<'a> ImageReference<'a> {
    /// Splits an image string. The first path component is a registry when it contains a `.` or
    /// a `:` or is `localhost`, as in the runtime's reference grammar.
    pub fn parse(image: &'a str) -> Self {
        let image = image.trim();
        let (name, digest) = match image.split_once('@') {
            Some((name, digest)) => (name, Some(digest).filter(|d| !d.is_empty())),
            None => (image, None),
        };
        let (registry, path) = match name.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
                (first, rest)
            }
            _ => (DEFAULT_REGISTRY, name),
        };
        let last_slash = path.rfind('/').map_or(0, |at| at + 1);
        let (repository, tag) = match path.get(last_slash..).and_then(|last| last.rfind(':')) {
            Some(colon) => {
                let at = last_slash + colon;
                (
                    path.get(..at).unwrap_or(path),
                    path.get(at + 1..).filter(|t| !t.is_empty()),
                )
            }
            None => (path, None),
        };
        ImageReference {
            registry,
            repository,
            tag,
            digest,
        }
    }

    /// The tag the runtime pulls: the given one, or `latest` when there is neither tag nor digest.
    pub fn effective_tag(&self) -> Option<&'a str> {
        match (self.tag, self.digest) {
            (Some(tag), _) => Some(tag),
            (None, None) => Some("latest"),
            (None, Some(_)) => None,
        }
    }

    /// Pinned: by digest, or by a tag other than `latest`.
    pub fn is_pinned(&self) -> bool {
        self.digest.is_some() || self.tag.is_some_and(|t| t != "latest")
    }

    /// The private ECR registry this image comes from, as (account, region).
    pub fn ecr(&self) -> Option<(&'a str, &'a str)> {
        ecr_registry(self.registry)
    }
}

/// Parses `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`, or the dual-stack
/// `<account>.dkr-ecr[-fips].<region>.on.aws`, into (account, region).
pub fn ecr_registry(host: &str) -> Option<(&str, &str)> {
    let valid_account =
        |account: &str| account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    let valid_region = |region: &str| {
        !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    // Dual-stack endpoint: <account>.dkr-ecr.<region>.on.aws
    if let Some(rest) = host.strip_suffix(".on.aws") {
        let (account, rest) = rest.split_once('.')?;
        let (dkr, region) = rest.split_once('.')?;
        let valid = valid_account(account)
            && (dkr == "dkr-ecr" || dkr == "dkr-ecr-fips")
            && valid_region(region);
        return valid.then_some((account, region));
    }
    let mut parts = host.splitn(4, '.');
    let account = parts.next()?;
    let dkr = parts.next()?;
    let ecr = parts.next()?;
    let rest = parts.next()?;
    let (region, domain) = rest.split_once('.')?;
    let valid = valid_account(account)
        && dkr == "dkr"
        && (ecr == "ecr" || ecr == "ecr-fips")
        && valid_region(region)
        && (domain == "amazonaws.com" || domain == "amazonaws.com.cn");
    valid.then_some((account, region))
}
