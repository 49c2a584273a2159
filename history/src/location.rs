//! Where a history lives: `s3://BUCKET/PREFIX`, as the operator's flag and the CLI take it.

/// A parsed `s3://BUCKET/PREFIX`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Without leading or trailing slashes; may be empty.
    pub prefix: String,
}

/// The text is not an `s3://BUCKET/PREFIX` URI.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not an S3 location: expected s3://BUCKET/PREFIX")]
pub struct NotS3Location(pub String);

impl S3Location {
    /// `s3://BUCKET/PREFIX`, or why it is not one.
    pub fn parse(uri: &str) -> Result<S3Location, NotS3Location> {
        let rest = uri
            .strip_prefix("s3://")
            .ok_or_else(|| NotS3Location(uri.to_string()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() || bucket.contains(char::is_whitespace) {
            return Err(NotS3Location(uri.to_string()));
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn an_s3_uri_gives_bucket_and_prefix() {
        assert_eq!(
            S3Location::parse("s3://evidence/hipaa/").unwrap(),
            S3Location {
                bucket: "evidence".into(),
                prefix: "hipaa".into()
            }
        );
        assert_eq!(S3Location::parse("s3://evidence").unwrap().prefix, "");
        for bad in ["evidence/hipaa", "s3:///x", "https://evidence/x"] {
            assert_eq!(
                S3Location::parse(bad),
                Err(NotS3Location(bad.to_string())),
                "{bad}"
            );
        }
    }
}
