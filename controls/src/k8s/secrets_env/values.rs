//! What a literal environment value looks like when it is a credential, whatever the variable's
//! name: a PEM private key, an AWS access key ID, a JWT, a URL with an inline password, or a
//! high-entropy token. Pure functions over the value; callers name the kind, never the value.
//!
//! False positives and what is excluded on purpose (docs/controls.md says the same):
//! - UUIDs, hex digests (git commits, `sha256:...` image digests, checksums) and image
//!   references pinned by digest are never tokens: they identify, they do not authenticate, and
//!   hex carries at most 4 bits per character anyway.
//! - URLs without a password, DNS names (an RDS endpoint's random label included), file paths and
//!   words of ordinary text are not tokens.
//! - Base64 of something that is not secret (an inline certificate chain, a config blob) does
//!   exceed the threshold and is reported: move it to a ConfigMap volume, or waive it with an
//!   exception. A random token shorter than about 24 characters cannot reach 4.5 bits per
//!   character (n distinct characters carry at most log2(n) bits); the name rule covers those.

use std::fmt;

use super::jwt::is_jwt;

/// What a literal value looks like, in the order a value holding several is named by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CredentialKind {
    PrivateKey,
    AwsAccessKeyId,
    Jwt,
    UrlWithPassword,
    HighEntropyToken,
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialKind::PrivateKey => "a PEM private key",
            CredentialKind::AwsAccessKeyId => "an AWS access key ID",
            CredentialKind::Jwt => "a JWT",
            CredentialKind::UrlWithPassword => "a URL with an inline password",
            CredentialKind::HighEntropyToken => "a high-entropy token",
        })
    }
}

/// The shortest token the entropy detector judges.
pub const MIN_TOKEN_LENGTH: usize = 20;

/// The kind of credential `value` holds, if any; `entropy_threshold` is in bits per character.
/// When a value holds several, the kind listed first in [`CredentialKind`] is named.
pub fn credential_in_value(value: &str, entropy_threshold: f64) -> Option<CredentialKind> {
    if value.len() < MIN_TOKEN_LENGTH {
        // Most values are short (ports, levels, names): no key, key ID, JWT or token fits, and
        // only a URL can hold a password. Checking that first keeps the common case cheap.
        let url = value.contains("://") && words(value).any(is_url_with_password);
        return url.then_some(CredentialKind::UrlWithPassword);
    }
    if has_private_key(value) {
        return Some(CredentialKind::PrivateKey);
    }
    if has_aws_access_key_id(value) {
        return Some(CredentialKind::AwsAccessKeyId);
    }
    let mut found = None;
    for word in words(value) {
        let kind = if is_jwt(word) {
            return Some(CredentialKind::Jwt);
        } else if is_url_with_password(word) {
            CredentialKind::UrlWithPassword
        } else if is_high_entropy_token(word, entropy_threshold) {
            CredentialKind::HighEntropyToken
        } else {
            continue;
        };
        found = Some(found.map_or(kind, |seen: CredentialKind| seen.min(kind)));
    }
    found
}

/// The value split on whitespace and the quotes and separators that surround tokens in
/// connection strings and headers (`Authorization: Bearer x`, `key="x"`, `a=x;b=y`).
fn words(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';' | '`'))
        .filter(|word| !word.is_empty())
}

/// A PEM armour line `-----BEGIN <label> PRIVATE KEY-----` (three dashes or more, as some tools
/// write it; `ENCRYPTED PRIVATE KEY` and `OPENSSH PRIVATE KEY` included).
fn has_private_key(value: &str) -> bool {
    value.match_indices("---BEGIN ").any(|(at, marker)| {
        let Some(rest) = value.get(at + marker.len()..) else {
            return false;
        };
        let label = rest.split('-').next().unwrap_or("");
        let closed = rest
            .get(label.len()..)
            .is_some_and(|r| r.starts_with("---"));
        closed && label.ends_with("PRIVATE KEY") && !label.contains('\n')
    })
}

/// `AKIA` (long-term) or `ASIA` (temporary) and 16 of `[A-Z0-9]`, not inside a longer run.
fn has_aws_access_key_id(value: &str) -> bool {
    value
        .split(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit()))
        .any(|run| run.len() == 20 && (run.starts_with("AKIA") || run.starts_with("ASIA")))
}

/// `scheme://user:password@host`, unless the password is a reference the container expands
/// (`$(DB_PASSWORD)`, `${DB_PASSWORD}`, `$DB_PASSWORD`).
fn is_url_with_password(word: &str) -> bool {
    let Some((scheme, rest)) = word.split_once("://") else {
        return false;
    };
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let Some((userinfo, _host)) = authority.rsplit_once('@') else {
        return false;
    };
    let password = userinfo.split_once(':').map_or("", |(_, p)| p);
    scheme_ok && !password.is_empty() && !password.starts_with('$')
}

/// A token of at least [`MIN_TOKEN_LENGTH`] characters whose Shannon entropy per character
/// reaches `threshold`, and that is not an identifier (UUID, hex digest), a URL or a path.
fn is_high_entropy_token(word: &str, threshold: f64) -> bool {
    let token = word
        .split_once('=')
        .filter(|(key, _)| !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphabetic()))
        .map_or(word, |(_, v)| v);
    token.len() >= MIN_TOKEN_LENGTH
        && token.bytes().all(is_token_byte)
        && !is_identifier(token)
        && !token.contains("://")
        && !token.starts_with('/')
        && !token.starts_with("./")
        && shannon_entropy(token) >= threshold
}

/// The characters of base64, base64url, hex and the usual token prefixes (`ghp_`, `sk-`).
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'/' | b'=' | b'_' | b'-' | b'.' | b'~')
}

/// UUIDs, hex digests with an optional `algorithm:` prefix, references pinned by digest, and
/// DNS names.
fn is_identifier(token: &str) -> bool {
    let digest = token.rsplit_once('@').map_or(token, |(_, d)| d);
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    let is_hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    let uuid = token.len() == 36
        && token.split('-').map(str::len).eq([8, 4, 4, 4, 12])
        && is_hex(&token.replace('-', ""));
    uuid || (hex.len() >= 32 && is_hex(hex)) || is_dns_name(token)
}

/// A lowercase DNS name with a dot and an alphabetic top label (`db.c9akciq1.rds.amazonaws.com`):
/// endpoints carry random-looking labels, but they locate a service rather than open it.
fn is_dns_name(token: &str) -> bool {
    let top = token.rsplit('.').next().unwrap_or("");
    token.contains('.')
        && token
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.'))
        && top.len() >= 2
        && top.bytes().all(|b| b.is_ascii_lowercase())
}

/// Shannon entropy of the characters of `text`, in bits per character.
pub fn shannon_entropy(text: &str) -> f64 {
    let mut counts = [0u32; 256];
    let mut total = 0u32;
    for byte in text.bytes() {
        if let Some(count) = counts.get_mut(usize::from(byte)) {
            *count += 1;
        }
        total += 1;
    }
    if total == 0 {
        return 0.0;
    }
    let total = f64::from(total);
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / total;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: f64 = 4.5;

    fn kind(value: &str) -> Option<CredentialKind> {
        credential_in_value(value, T)
    }

    #[test]
    fn private_keys_in_any_armour() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAjunkjunk\n-----END RSA PRIVATE KEY-----";
        assert_eq!(kind(pem), Some(CredentialKind::PrivateKey));
        let one_line = "-----BEGIN PRIVATE KEY-----\\nMIIBjunk\\n-----END PRIVATE KEY-----";
        assert_eq!(kind(one_line), Some(CredentialKind::PrivateKey));
        let three_dashes = "---BEGIN OPENSSH PRIVATE KEY---\nxxxxx\n---END  OPENSSH PRIVATE KEY---";
        assert_eq!(kind(three_dashes), Some(CredentialKind::PrivateKey));
        for public in [
            "-----BEGIN CERTIFICATE-----\nMIIBjunk\n-----END CERTIFICATE-----",
            "-----BEGIN PUBLIC KEY-----\nMIIBjunk\n-----END PUBLIC KEY-----",
            "BEGIN PRIVATE KEY",
        ] {
            assert_eq!(kind(public), None, "{public}");
        }
    }

    #[test]
    fn aws_access_key_ids_stand_alone_or_inside_text() {
        assert_eq!(
            kind("AKIAIOSFODNN7EXAMPLE"),
            Some(CredentialKind::AwsAccessKeyId)
        );
        assert_eq!(
            kind("id=ASIAIOSFODNN7EXAMPL2;region=us-east-1"),
            Some(CredentialKind::AwsAccessKeyId)
        );
        for not_a_key in [
            "AKIAIOSFODNN7EXAMPL",
            "AKIAIOSFODNN7EXAMPLEX",
            "AIDAIOSFODNN7EXAMPLE",
            "akiaiosfodnn7example",
        ] {
            assert_eq!(kind(not_a_key), None, "{not_a_key}");
        }
    }

    #[test]
    fn jwts_need_a_json_header_with_alg() {
        // {"alg":"HS256","typ":"JWT"}.{"sub":"fake"}.junk
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmYWtlIn0.c2lnbmF0dXJlLWp1bms";
        assert_eq!(kind(jwt), Some(CredentialKind::Jwt));
        assert_eq!(kind(&format!("Bearer {jwt}")), Some(CredentialKind::Jwt));
        // {"typ":"JWT"} has no alg; a version number has three segments too.
        assert_eq!(kind("eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ4In0.abc"), None);
        assert_eq!(kind("1.2.3"), None);
        assert_eq!(kind("api.example.com"), None);
    }

    #[test]
    fn urls_with_a_literal_password_but_not_a_reference_or_none() {
        for url in [
            "postgres://app:hunter2@db:5432/claims",
            "redis://:s3cret@cache:6379",
            "amqp://guest:guest@rabbit/",
        ] {
            assert_eq!(kind(url), Some(CredentialKind::UrlWithPassword), "{url}");
        }
        for url in [
            "postgres://app@db:5432/claims",
            "postgres://app:$(DB_PASSWORD)@db/claims",
            "postgres://app:${DB_PASSWORD}@db/claims",
            "https://auth.example.com/token?user=a:b@c",
            "https://user:@example.com/",
            "mailto:someone@example.com",
        ] {
            assert_eq!(kind(url), None, "{url}");
        }
    }

    #[test]
    fn random_tokens_are_found_and_identifiers_are_not() {
        for token in [
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "ghp_R4nd0mL00k1ngT0k3nW1thManyCh4rsXyZq9",
            "secret=Zx9Qm2Lk7Vb4Np1Rt8Ws3Yd6Hf0Jc5Ge",
        ] {
            assert_eq!(
                kind(token),
                Some(CredentialKind::HighEntropyToken),
                "{token}"
            );
        }
        for identifier in [
            "0f8fad5b-d9cb-469f-a165-70867728950e",
            "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b",
            "nginx@sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b",
            "3f786850e387550fdab836ed7e6dc881de23001b",
            "/var/run/secrets/kubernetes.io/serviceaccount/token",
            "https://auth.example.com/oauth2/v1/token",
            "the quick brown fox jumps over the lazy dog again and again",
            "claims-intake-service-production-eu",
            "claims-db.c9akciq1x2z7w.us-east-1.rds.amazonaws.com",
            "abcdefghijklmnopqrs",
        ] {
            assert_eq!(kind(identifier), None, "{identifier}");
        }
    }

    #[test]
    fn the_threshold_decides_the_edge() {
        // 24 distinct characters: log2(24) = 4.585 bits per character.
        let edge = "ABCDEFGHIJKLMNOPQRSTUVWX";
        assert!((shannon_entropy(edge) - 24f64.log2()).abs() < 1e-9);
        assert_eq!(
            credential_in_value(edge, 4.5),
            Some(CredentialKind::HighEntropyToken)
        );
        assert_eq!(credential_in_value(edge, 4.6), None);
        // Identifiers stay out whatever the threshold; a lower one finds lower-entropy words.
        let host = "claims-db.c9akciq1x2z7w.us-east-1.rds.amazonaws.com";
        let uuid = "0f8fad5b-d9cb-469f-a165-70867728950e";
        for identifier in [host, uuid] {
            assert_eq!(credential_in_value(identifier, 1.0), None, "{identifier}");
        }
        assert_eq!(
            credential_in_value("claims-intake-service-production-eu", 3.0),
            Some(CredentialKind::HighEntropyToken)
        );
        assert_eq!(shannon_entropy(""), 0.0);
        assert_eq!(shannon_entropy("aaaa"), 0.0);
    }

    #[test]
    fn a_value_holding_several_is_named_by_the_first_kind() {
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmYWtlIn0.c2lnbmF0dXJlLWp1bms";
        let token = "Zx9Qm2Lk7Vb4Np1Rt8Ws3Yd6Hf0Jc5Ge";
        let url = "redis://:s3cret@cache:6379";
        assert_eq!(
            kind(&format!("{token} {url}")),
            Some(CredentialKind::UrlWithPassword)
        );
        assert_eq!(kind(&format!("{token} {jwt}")), Some(CredentialKind::Jwt));
        assert_eq!(
            kind(&format!("{jwt} AKIAIOSFODNN7EXAMPLE")),
            Some(CredentialKind::AwsAccessKeyId)
        );
        assert_eq!(kind("redis://:pw@c"), Some(CredentialKind::UrlWithPassword));
    }

    #[test]
    fn a_token_has_at_most_69_distinct_characters_as_the_parameter_says() {
        // valueEntropyThreshold's description: above log2(69) = 6.11 the rule never fires.
        assert_eq!((0..=255u8).filter(|b| is_token_byte(*b)).count(), 69);
    }
}
