//! Whether a word is a JSON Web Token: three base64url segments whose header decodes to a JSON
//! object with `alg`. Decoding only the header (a few dozen bytes) needs no base64 crate.

/// Three base64url segments whose first decodes to a JSON object with `alg`.
pub(super) fn is_jwt(word: &str) -> bool {
    let mut segments = word.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return false;
    };
    let base64url = |s: &str| !s.is_empty() && s.bytes().all(|b| base64url_value(b).is_some());
    if !(base64url(header) && base64url(payload) && base64url(signature)) {
        return false;
    }
    decode_base64url(header)
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|json| json.get("alg").is_some())
}

fn base64url_value(byte: u8) -> Option<u8> {
    match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

/// Unpadded base64url; None on a character outside the alphabet or an impossible length.
fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for byte in text.bytes() {
        buffer = (buffer << 6) | u32::from(base64url_value(byte)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_decodes_and_refuses_junk() {
        assert_eq!(
            decode_base64url("eyJhIjoxfQ").as_deref(),
            Some(&b"{\"a\":1}"[..])
        );
        assert_eq!(decode_base64url("a"), None);
        assert_eq!(decode_base64url("ab!c"), None);
    }
}
