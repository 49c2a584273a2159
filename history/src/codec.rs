//! A record as stored: its canonical JSON, gzipped (flate2 on miniz_oxide, pure Rust). Reading
//! back stops at a size limit, so a hostile object cannot inflate without bound.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use crate::build::record_sha256;
use crate::canonical::canonical_json;
use crate::record::{FORMAT_VERSION, HistoryRecord};

/// The most a record may inflate to (a 10,000-workload cluster's is about a tenth of it).
pub const MAX_DECODED_BYTES: u64 = 256 * 1024 * 1024;

/// Why stored bytes are not a record.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not gzip, or truncated: {0}")]
    Gzip(std::io::Error),
    #[error("inflates to more than {MAX_DECODED_BYTES} bytes")]
    TooLarge,
    #[error("not a history record: {0}")]
    Json(serde_json::Error),
    #[error("record format {0}; this version reads format {FORMAT_VERSION}")]
    Format(u32),
}

/// The stored bytes of `record`.
pub fn encode(record: &HistoryRecord) -> Result<Vec<u8>, serde_json::Error> {
    let json = canonical_json(record)?;
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(json.as_bytes());
    Ok(encoder.finish().unwrap_or_default())
}

/// The record in stored bytes. Its hash is not checked here (see [`crate::verify_chains`]).
pub fn decode(bytes: &[u8]) -> Result<HistoryRecord, DecodeError> {
    let mut json = Vec::new();
    GzDecoder::new(bytes)
        .take(MAX_DECODED_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(DecodeError::Gzip)?;
    if json.len() as u64 > MAX_DECODED_BYTES {
        return Err(DecodeError::TooLarge);
    }
    let record: HistoryRecord = serde_json::from_slice(&json).map_err(DecodeError::Json)?;
    if record.format != FORMAT_VERSION {
        return Err(DecodeError::Format(record.format));
    }
    Ok(record)
}

/// True when `record` carries the hash of its own content.
pub fn hash_matches(record: &HistoryRecord) -> bool {
    record_sha256(record).is_ok_and(|expected| expected == record.sha256)
}
