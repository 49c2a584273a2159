//! How much input a scan reads: the size cap per file and for standard input (read through the
//! cap, never buffered beyond it), and its parsing from the command line (`32MiB`, `512KiB`,
//! `1000000`).

use std::io::Read;

use super::InputError;

/// The default cap on one file or standard input: far above any Kubernetes manifest set a CI job
/// renders (the API server takes at most 3 MiB per object), small enough that a scan of an
/// input at the cap stays within a CI runner's memory.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 32 * 1024 * 1024;

/// Limits on what the reader accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// The most bytes one file or standard input may hold.
    pub max_input_bytes: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
        }
    }
}

/// The pieces `read_capped` reads in: a growing buffer would hold its old and new copies at
/// once (three times the input at the cap), pieces and their final join twice.
const PIECE_BYTES: usize = 1024 * 1024;

/// Reads all of `reader` as long as it holds at most `limit` bytes; reads `limit + 1` bytes at
/// most, so an endless or huge input costs no more memory than the cap.
pub fn read_capped(reader: &mut dyn Read, name: &str, limit: u64) -> Result<Vec<u8>, InputError> {
    let mut capped = reader.take(limit.saturating_add(1));
    let mut pieces: Vec<Vec<u8>> = Vec::new();
    let mut total: u64 = 0;
    loop {
        let mut piece = Vec::with_capacity(PIECE_BYTES);
        let read = (&mut capped)
            .take(PIECE_BYTES as u64)
            .read_to_end(&mut piece)
            .map_err(|err| InputError::unreadable(name, &err.to_string()))?;
        if read == 0 {
            break;
        }
        total = total.saturating_add(read as u64);
        if total > limit {
            return Err(too_large(name, limit));
        }
        pieces.push(piece);
    }
    Ok(match pieces.len() {
        0 => Vec::new(),
        1 => pieces.pop().unwrap_or_default(),
        _ => pieces.concat(),
    })
}

/// The error for an input over the cap.
pub fn too_large(name: &str, limit: u64) -> InputError {
    InputError::unreadable(
        name,
        &format!(
            "larger than the input size limit of {} (raise it with --max-input-size or KUBECTL_HIPAA_MAX_INPUT_SIZE)",
            format_size(limit)
        ),
    )
}

/// `33554432` -> `32 MiB`; sizes that are not whole KiB or MiB in bytes.
pub fn format_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    const GIB: u64 = 1024 * 1024 * 1024;
    match bytes {
        0 => "0 bytes".to_string(),
        b if b % GIB == 0 => format!("{} GiB", b / GIB),
        b if b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b % KIB == 0 => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
    }
}

/// Parses `--max-input-size`: a number of bytes with an optional unit, `K`/`KiB`, `M`/`MiB`,
/// `G`/`GiB` (powers of 1024; case-insensitive).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits_len = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    let (digits, unit) = trimmed.split_at(digits_len);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. 32MiB, 512KiB, 1000000)"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "ki" | "kib" | "kb" => 1024,
        "m" | "mi" | "mib" | "mb" => 1024 * 1024,
        "g" | "gi" | "gib" | "gb" => 1024 * 1024 * 1024,
        other => return Err(format!("unknown size unit {other:?}: use KiB, MiB or GiB")),
    };
    let size = number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("{text:?} is too large"))?;
    if size == 0 {
        return Err("the input size limit must be more than 0".to_string());
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert_eq!(parse_size("32MiB").unwrap(), 32 * 1024 * 1024);
        assert_eq!(parse_size("512k").unwrap(), 512 * 1024);
        assert_eq!(parse_size("2 GiB").unwrap(), 2 << 30);
        assert!(parse_size("0").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("3 parsecs").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
        assert_eq!(format_size(DEFAULT_MAX_INPUT_BYTES), "32 MiB");
        assert_eq!(format_size(1536), "1536 bytes");
        assert_eq!(format_size(3 << 10), "3 KiB");
    }

    #[test]
    fn reading_stops_one_byte_past_the_cap() {
        let mut exact: &[u8] = b"12345";
        assert_eq!(read_capped(&mut exact, "f", 5).unwrap(), b"12345");
        let mut empty: &[u8] = b"";
        assert!(read_capped(&mut empty, "f", 5).unwrap().is_empty());
        let big: Vec<u8> = (0..3 * PIECE_BYTES + 7).map(|i| (i % 251) as u8).collect();
        let mut reader: &[u8] = &big;
        assert_eq!(
            read_capped(&mut reader, "f", big.len() as u64).unwrap(),
            big
        );
        let mut reader: &[u8] = &big;
        assert!(read_capped(&mut reader, "f", big.len() as u64 - 1).is_err());
        // An endless input is refused after cap + 1 bytes, not read to its end.
        let mut endless = std::io::repeat(b'x');
        let err = read_capped(&mut endless, "<stdin>", 1024).unwrap_err();
        assert_eq!(
            err.to_string(),
            "<stdin>: larger than the input size limit of 1 KiB (raise it with --max-input-size or KUBECTL_HIPAA_MAX_INPUT_SIZE)"
        );
    }
}
