//! Caps on everything a hostile mail could make expensive.
//!
//! Every decompression (zip members, docx/xlsx parts, PDF streams go through their crates'
//! own readers) is read through [`read_capped`], so a small archive can never expand into
//! gigabytes in memory.

use std::io::Read;
use std::time::Duration;

/// Resource caps for judging one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest raw message judged; bigger ones are held with a reason.
    pub max_message_bytes: usize,
    /// Largest decompressed size of one archive member or document part.
    pub max_decompressed_bytes: u64,
    /// Largest decompressed size of everything taken out of one message's archives.
    pub max_total_decompressed_bytes: u64,
    /// Most members read from one archive.
    pub max_archive_members: usize,
    /// Archives inside archives are opened this many levels deep.
    pub max_archive_depth: usize,
    /// Most PDF pages inspected.
    pub max_pdf_pages: usize,
    /// Most MIME parts considered.
    pub max_parts: usize,
    /// Wall-clock budget for reading one message's attachments: checked between attachments,
    /// so a message whose every attachment is slow to read cannot hold the daemon for long.
    /// Attachments not reached in time are reported unread, with that reason.
    pub max_judge_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 100 * 1024 * 1024,
            max_decompressed_bytes: 64 * 1024 * 1024,
            max_total_decompressed_bytes: 256 * 1024 * 1024,
            max_archive_members: 200,
            max_archive_depth: 2,
            max_pdf_pages: 500,
            max_parts: 500,
            max_judge_time: Duration::from_secs(60),
        }
    }
}

/// Why a capped read stopped.
#[derive(Debug, thiserror::Error)]
pub enum CapError {
    #[error("content is larger than the limit of {limit} bytes once decompressed")]
    TooLarge { limit: u64 },
    #[error("cannot read compressed content: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads all of `reader`, failing once more than `limit` bytes come out.
#[allow(clippy::disallowed_methods)] // the one place allowed to read to the end: it is capped
pub fn read_capped(reader: impl Read, limit: u64) -> Result<Vec<u8>, CapError> {
    let mut out = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(CapError::TooLarge { limit });
    }
    Ok(out)
}

/// Reads `reader` to its end and throws the bytes away, failing once more than `limit`
/// bytes come out: the size a decompression really gives, without holding it in memory.
pub fn measure_capped(reader: impl Read, limit: u64) -> Result<u64, CapError> {
    let n = std::io::copy(&mut reader.take(limit.saturating_add(1)), &mut std::io::sink())?;
    if n > limit {
        return Err(CapError::TooLarge { limit });
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_the_limit() {
        let data = vec![0u8; 1000];
        assert!(read_capped(&data[..], 1000).is_ok());
        assert!(matches!(read_capped(&data[..], 999), Err(CapError::TooLarge { limit: 999 })));
        assert_eq!(measure_capped(&data[..], 1000).ok(), Some(1000));
        assert!(matches!(measure_capped(std::io::repeat(0), 1 << 20), Err(CapError::TooLarge { .. })));
    }
}
