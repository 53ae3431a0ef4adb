//! Response bodies for downloads, streamed in chunks through a small channel so that memory
//! stays bounded whatever the size: a message's raw bytes straight from SQLite's blob, an
//! attachment decoded from its base64 in that blob, a file (the attachments zip) from disk, and safe `Content-Disposition` headers.

use std::io::Read as _;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::App;
use crate::store::web as db;

/// Bytes per chunk.
pub const CHUNK: usize = 1024 * 1024;
/// Chunks buffered between the reader and the client.
const BUFFERED: usize = 4;

type Chunk = Result<Bytes, std::io::Error>;

fn channel_body(rx: tokio::sync::mpsc::Receiver<Chunk>) -> Body {
    Body::from_stream(futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) }))
}

/// Message `id`'s raw bytes, read from the store a chunk at a time.
pub fn raw_body(app: Arc<App>, id: i64) -> Body {
    blob_body(app, id, 0, u64::MAX, None)
}

/// The base64 run at `start..end` of message `id`'s raw bytes, decoded a chunk at a time
/// (the attachment is never whole in memory).
pub fn base64_body(app: Arc<App>, id: i64, start: u64, end: u64) -> Body {
    blob_body(app, id, start, end, Some(super::skeleton::B64::default()))
}

/// Bytes `start..end` of message `id`'s raw bytes (decoded when `decoder` is given), read
/// through one blob handle on a connection of the download's own.
fn blob_body(app: Arc<App>, id: i64, start: u64, end: u64, mut decoder: Option<super::skeleton::B64>) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(BUFFERED);
    tokio::task::spawn_blocking(move || {
        let send = |tx: &tokio::sync::mpsc::Sender<Chunk>, offset: &mut u64, chunk: Vec<u8>| {
            *offset += chunk.len() as u64;
            let out = match decoder.as_mut() {
                Some(d) => {
                    let mut out = Vec::with_capacity(chunk.len() / 4 * 3 + 3);
                    d.feed(&chunk, &mut out);
                    out
                }
                None => chunk,
            };
            tx.blocking_send(Ok(Bytes::from(out))).is_ok() // false: the client went away
        };
        let streamed = db::reader(&app.cfg.store_path).and_then(|c| {
            db::with_raw(&c, id, |blob| {
                let mut offset = start;
                let mut send = send;
                while offset < end.min(blob.len() as u64) {
                    let chunk = db::blob_chunk(blob, offset, CHUNK.min((end - offset) as usize))?;
                    if chunk.is_empty() || !send(&tx, &mut offset, chunk) {
                        break;
                    }
                }
                Ok(())
            })
        });
        if let Err(e) = streamed {
            tracing::warn!(stage = "web", id, error = %e, "reading a message for a download failed");
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    channel_body(rx)
}

/// An open file, read a chunk at a time (the file may already be unlinked).
pub fn file_body(mut file: std::fs::File) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(BUFFERED);
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; CHUNK];
        loop {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.blocking_send(Ok(Bytes::copy_from_slice(&buf[..n]))).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    channel_body(rx)
}

/// Bytes already in memory (an attachment taken out of its message), sent in chunks.
pub fn bytes_body(bytes: Vec<u8>) -> Body {
    Body::from(Bytes::from(bytes))
}

/// `attachment; filename*=UTF-8''…` (or `inline`), with an ASCII fallback name.
pub fn disposition(filename: &str, inline: bool) -> HeaderValue {
    let ascii: String =
        filename.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    let mut encoded = String::new();
    for b in filename.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    let kind = if inline { "inline" } else { "attachment" };
    HeaderValue::from_str(&format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// A download response: type, disposition, length when known, no sniffing, no caching.
pub fn download(body: Body, content_type: &'static str, filename: &str, inline: bool, len: Option<u64>) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_DISPOSITION, disposition(filename, inline));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // A download runs nothing; an image shown inline loads nothing else. (A PDF shown inline
    // is left to the browser's PDF viewer, which runs documents in its own sandbox.)
    if inline {
        // Shown inside this site's own pages (`<object>`, `<img>`), never framed elsewhere.
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    }
    if !inline {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox"));
    } else if content_type.starts_with("image/") {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; img-src 'self'"));
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Some(n) = len {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    }
    r
}

#[cfg(test)]
mod tests {
    #[test]
    fn disposition_is_a_valid_header_for_any_name() {
        for name in ["扫描件.pdf", "a\"b\r\nSet-Cookie: x.pdf", "../../etc/passwd", ""] {
            let v = super::disposition(name, false);
            let s = v.to_str().unwrap();
            assert!(s.starts_with("attachment; filename=\""), "{s}");
            assert!(!s.contains('\n') && !s.contains("\"b"), "{s}");
        }
    }
}
