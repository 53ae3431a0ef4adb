//! A stored message without its big base64 bodies, so that a page or a download never holds a
//! 100 MB mail: the raw bytes are read from the store a chunk at a time, and every long run of
//! base64 lines (an attachment's body) is replaced by its first lines plus a marker naming the
//! run. Parsing that skeleton with [`crate::parse::parse`] gives the same attachments in the
//! same order as parsing the whole mail — the big ones reduced to their first bytes (enough to
//! tell a PDF or a picture) followed by the marker — and a download of such an attachment is
//! decoded straight from the run's byte range in the store, a chunk at a time ([`B64`]).
//!
//! What is never replaced, so that the skeleton parses into the same list: bodies of
//! `message/*`, `multipart/*` and `text/*` parts (or of a part without a `Content-Type`), zip
//! containers (their members are listed after them), and runs whose first lines are not whole
//! base64 groups. An attachment that comes out of the skeleton neither whole nor exactly
//! "first bytes + marker" is reported as [`Source::Unsure`]; the caller then parses the whole
//! mail, as before.

use crate::parse::{Attachment, Mail};
use crate::store::web as db;

/// Runs shorter than this stay in the skeleton.
const THRESHOLD: u64 = 256 * 1024;
/// Base64 characters kept at the head of a replaced run (decoded: 48 bytes).
const HEAD_CHARS: usize = 64;
const MARKER_TAG: &[u8] = b"\0MAILINTAKE-PART-";

/// A replaced run of base64 lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// Its byte range in the raw message.
    pub start: u64,
    pub end: u64,
    /// How many bytes it decodes to.
    pub decoded_len: u64,
    /// What its kept first lines decode to.
    head: Vec<u8>,
}

/// The raw message with its long base64 runs replaced.
#[derive(Debug, Default)]
pub struct Skeleton {
    pub bytes: Vec<u8>,
    pub runs: Vec<Run>,
}

/// Where an attachment of the skeleton's parse comes from.
#[derive(Debug)]
pub enum Source<'a> {
    /// Complete in the skeleton.
    Whole,
    /// Decoded from this run of the raw message.
    Streamed(&'a Run),
    /// Touched by a replaced run in a way the skeleton cannot tell: parse the whole mail.
    Unsure,
}

fn marker(i: usize) -> [u8; 24] {
    let mut m = [0u8; 24];
    let text = format!("\0MAILINTAKE-PART-{:06}\0", i.min(999_999));
    m.copy_from_slice(&text.as_bytes()[..24]);
    m
}

impl Skeleton {
    /// Where attachment `a` (from parsing [`Skeleton::bytes`]) comes from.
    pub fn source(&self, a: &Attachment) -> Source<'_> {
        let bytes = &a.bytes;
        if bytes.len() >= 24 {
            let tail = &bytes[bytes.len() - 24..];
            if tail.starts_with(MARKER_TAG)
                && let Some(i) = std::str::from_utf8(&tail[17..23]).ok().and_then(|s| s.parse::<usize>().ok())
                && let Some(run) = self.runs.get(i)
                && bytes[..bytes.len() - 24] == run.head[..]
                && tail == marker(i)
            {
                return Source::Streamed(run);
            }
        }
        if self.runs.is_empty() || !bytes.windows(MARKER_TAG.len()).any(|w| w == MARKER_TAG) {
            Source::Whole
        } else {
            Source::Unsure
        }
    }

    /// An attachment's size: decoded from its run, or as parsed.
    pub fn size(&self, a: &Attachment) -> u64 {
        match self.source(a) {
            Source::Streamed(run) => run.decoded_len,
            _ => a.bytes.len() as u64,
        }
    }
}

/// Builds the skeleton of a message of `size` bytes, read through `read(offset, len)` (which
/// returns fewer bytes only at the end).
pub fn build<E>(
    size: u64,
    chunk: usize,
    mut read: impl FnMut(u64, usize) -> Result<Vec<u8>, E>,
) -> Result<Skeleton, E> {
    let mut scan = Scanner::default();
    let mut line: Vec<u8> = Vec::new();
    let mut line_start = 0u64;
    let mut offset = 0u64;
    while offset < size {
        let buf = read(offset, chunk)?;
        if buf.is_empty() {
            break;
        }
        let mut rest = &buf[..];
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            line.extend_from_slice(&rest[..=nl]);
            scan.line(line_start, &line);
            line_start += line.len() as u64;
            line.clear();
            rest = &rest[nl + 1..];
        }
        line.extend_from_slice(rest);
        offset += buf.len() as u64;
    }
    if !line.is_empty() {
        scan.line(line_start, &line);
    }
    scan.end_run();
    Ok(Skeleton { bytes: scan.out, runs: scan.runs })
}

/// A run of base64 lines being read.
struct Current {
    raw_start: u64,
    raw_end: u64,
    skel_start: usize,
    /// Skeleton bytes of the head lines, once enough were kept.
    head_len: Option<usize>,
    head_chars: usize,
    replaceable: bool,
    dropping: bool,
    decoder: B64,
    decoded: u64,
    head: Vec<u8>,
    newline: &'static [u8],
}

#[derive(Default)]
struct Scanner {
    out: Vec<u8>,
    runs: Vec<Run>,
    /// The last `Content-Type` seen (lowercase value), reset at each boundary line.
    ctype: Vec<u8>,
    ctype_folded: bool,
    current: Option<Current>,
    scratch: Vec<u8>,
}

fn content(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r' | b' ' | b'\t') {
        end -= 1;
    }
    &line[..end]
}

fn is_base64_line(line: &[u8]) -> bool {
    let c = content(line);
    !c.is_empty() && c.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
}

impl Scanner {
    fn line(&mut self, raw_offset: u64, line: &[u8]) {
        if is_base64_line(line) {
            self.run_line(raw_offset, line);
            return;
        }
        self.end_run();
        self.out.extend_from_slice(line);
        self.note_header(line);
    }

    /// Remembers the part's `Content-Type` (its value may be folded onto the next line).
    fn note_header(&mut self, line: &[u8]) {
        let c = content(line);
        if self.ctype_folded {
            self.ctype_folded = false;
            self.ctype = c.trim_ascii().to_ascii_lowercase();
        } else if c.starts_with(b"--") {
            self.ctype.clear();
        } else if c.len() >= 13 && c[..13].eq_ignore_ascii_case(b"content-type:") {
            self.ctype = c[13..].trim_ascii().to_ascii_lowercase();
            self.ctype_folded = self.ctype.is_empty();
        }
    }

    fn may_replace(&self) -> bool {
        let t = &self.ctype;
        !t.is_empty() && !t.starts_with(b"message/") && !t.starts_with(b"multipart/") && !t.starts_with(b"text/")
    }

    fn run_line(&mut self, raw_offset: u64, line: &[u8]) {
        if self.current.is_none() {
            let newline: &'static [u8] = if line.ends_with(b"\r\n") { b"\r\n" } else { b"\n" };
            self.current = Some(Current {
                raw_start: raw_offset,
                raw_end: raw_offset,
                skel_start: self.out.len(),
                head_len: None,
                head_chars: 0,
                replaceable: self.may_replace() && self.runs.len() < 999_999,
                dropping: false,
                decoder: B64::default(),
                decoded: 0,
                head: Vec::new(),
                newline,
            });
        }
        let Some(cur) = self.current.as_mut() else { return };
        let c = content(line);
        self.scratch.clear();
        cur.decoder.feed(c, &mut self.scratch);
        cur.decoded += self.scratch.len() as u64;
        cur.raw_end = raw_offset + line.len() as u64;
        if cur.head_len.is_none() && cur.replaceable {
            if c.len().is_multiple_of(4) && !c.contains(&b'=') {
                cur.head.extend_from_slice(&self.scratch);
                cur.head_chars += c.len();
            } else {
                cur.replaceable = false;
            }
        }
        if !cur.dropping {
            self.out.extend_from_slice(line);
        }
        if cur.replaceable && cur.head_len.is_none() && cur.head_chars >= HEAD_CHARS {
            cur.head_len = Some(self.out.len() - cur.skel_start);
            // A zip's members are listed after it: it must be parsed whole.
            cur.replaceable = !cur.head.starts_with(b"PK");
        }
        if let (false, true, Some(head)) = (cur.dropping, cur.replaceable, cur.head_len)
            && cur.raw_end - cur.raw_start >= THRESHOLD
        {
            self.out.truncate(cur.skel_start + head);
            cur.dropping = true;
        }
    }

    fn end_run(&mut self) {
        let Some(cur) = self.current.take() else { return };
        if !cur.dropping {
            return;
        }
        use base64::Engine as _;
        let m = base64::engine::general_purpose::STANDARD.encode(marker(self.runs.len()));
        self.out.extend_from_slice(m.as_bytes());
        self.out.extend_from_slice(cur.newline);
        self.runs.push(Run { start: cur.raw_start, end: cur.raw_end, decoded_len: cur.decoded, head: cur.head });
    }
}

/// Base64 decoding a chunk at a time, byte for byte as mail-parser decodes a MIME body:
/// whitespace skipped, `=` closing the group it ends (decoding goes on after it), a partial
/// group at the end dropped. Other bytes are skipped (a run holds none).
#[derive(Debug, Default, Clone)]
pub struct B64 {
    acc: u32,
    count: u8,
}

fn sextet(b: u8) -> Option<u32> {
    Some(match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    } as u32)
}

impl B64 {
    /// Decodes `input`, appending to `out`; state carries over to the next call.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for &b in input {
            if let Some(v) = sextet(b) {
                self.acc = (self.acc << 6) | v;
                self.count += 1;
                if self.count == 4 {
                    out.extend_from_slice(&[(self.acc >> 16) as u8, (self.acc >> 8) as u8, self.acc as u8]);
                    (self.acc, self.count) = (0, 0);
                }
            } else if b == b'=' {
                match self.count {
                    1 => out.push((self.acc << 2) as u8),
                    2 => out.push((self.acc >> 4) as u8),
                    3 => out.extend_from_slice(&[(self.acc >> 10) as u8, (self.acc >> 2) as u8]),
                    _ => {}
                }
                (self.acc, self.count) = (0, 0);
            }
        }
    }
}

/// The skeleton of stored message `id`, read from the store a chunk at a time.
pub fn load(c: &rusqlite::Connection, id: i64) -> Result<Option<Skeleton>, crate::store::StoreError> {
    db::with_raw(c, id, |blob| {
        build(blob.len() as u64, super::download::CHUNK, |offset, len| db::blob_chunk(blob, offset, len))
    })
}

/// Messages at least this big keep their skeleton in [`Cache`]: building one reads the whole
/// raw message (about 1 s for 80 MB), so a big mail's page would otherwise pay that each time.
pub const CACHED_FROM: u64 = 1 << 20;

/// The skeletons of the biggest mails, built once (a stored message never changes), so that
/// their pages and downloads start at once; filled in the background ([`warm`]).
#[derive(Debug, Default)]
pub struct Cache {
    entries: std::sync::Mutex<std::collections::VecDeque<(i64, std::sync::Arc<Skeleton>)>>,
}

/// How many skeletons the cache holds (they are small: the big bodies are left out).
const CACHE_ENTRIES: usize = 64;

impl Cache {
    fn get(&self, id: i64) -> Option<std::sync::Arc<Skeleton>> {
        let entries = self.entries.lock().ok()?;
        entries.iter().find(|(i, _)| *i == id).map(|(_, s)| s.clone())
    }

    fn put(&self, id: i64, skel: std::sync::Arc<Skeleton>) {
        if let Ok(mut entries) = self.entries.lock()
            && !entries.iter().any(|(i, _)| *i == id)
        {
            if entries.len() >= CACHE_ENTRIES {
                entries.pop_front();
            }
            entries.push_back((id, skel));
        }
    }
}

/// The skeleton of message `id`, from the cache when it is there; a big message's skeleton is
/// kept for next time.
pub fn load_cached(
    cache: &Cache,
    c: &rusqlite::Connection,
    id: i64,
) -> Result<Option<std::sync::Arc<Skeleton>>, crate::store::StoreError> {
    if let Some(s) = cache.get(id) {
        return Ok(Some(s));
    }
    let Some(skel) = load(c, id)? else { return Ok(None) };
    let big = skel.runs.iter().map(|r| r.end - r.start).sum::<u64>() + skel.bytes.len() as u64 >= CACHED_FROM;
    let skel = std::sync::Arc::new(skel);
    if big {
        cache.put(id, skel.clone());
    }
    Ok(Some(skel))
}

/// Builds the skeletons of the newest big messages not cached yet (the web view's start, and
/// after the store changed).
pub fn warm(cache: &Cache, c: &rusqlite::Connection) -> Result<usize, crate::store::StoreError> {
    let mut built = 0;
    for id in db::big_messages(c, CACHED_FROM, CACHE_ENTRIES)? {
        if cache.get(id).is_none() {
            load_cached(cache, c, id)?;
            built += 1;
        }
    }
    Ok(built)
}

/// Parses the skeleton (the same reading as the judge's).
pub fn parse(skel: &Skeleton, limits: &crate::limits::Limits) -> Mail {
    crate::parse::parse(&skel.bytes, limits)
}

#[cfg(test)]
mod tests;
