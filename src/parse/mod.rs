//! MIME → [`Mail`]: decoded headers, body text, flattened attachments, opened archives.
//!
//! Parsing never fails: a message mail-parser cannot read still becomes a `Mail` (empty
//! where nothing could be read) and `problems` says what went wrong. Forwarded messages
//! (`message/rfc822`) are parsed recursively into [`Mail::forwarded`].

pub mod archive;
pub mod header;

use std::panic::{AssertUnwindSafe, catch_unwind};

use chrono::{DateTime, FixedOffset};
use mail_parser::{ContentType, Message, MessageParser, MessagePart, MimeHeaders, PartType};

use crate::limits::Limits;

/// An attachment as received: decoded name, declared type, content.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub filename: String,
    /// The Content-Type the sender's client declared (lowercase); never trusted for roles.
    pub declared_type: String,
    pub bytes: Vec<u8>,
    /// Content-Disposition: inline (or none) rather than attachment.
    pub inline: bool,
    pub has_content_id: bool,
    /// The archive this file was taken out of.
    pub archive: Option<String>,
    /// Set when this attachment is an archive: what happened when it was opened.
    pub archive_state: ArchiveState,
}

/// What opening an archive attachment gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveState {
    /// Not an archive.
    NotArchive,
    /// Opened; its members follow it in the attachment list.
    Opened { members: usize },
    /// An archive that cannot be opened (rar, 7z, encrypted or corrupt zip, over a limit).
    Unsupported(String),
}

/// A message as the judge sees it.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    pub message_id: Option<String>,
    /// The sender's address, lowercase.
    pub from: Option<String>,
    pub from_name: Option<String>,
    pub reply_to: Option<String>,
    pub subject: String,
    pub date: Option<DateTime<FixedOffset>>,
    /// The newest `Received:` date.
    pub received: Option<DateTime<FixedOffset>>,
    /// Every header, name lowercased, value decoded.
    pub headers: Vec<(String, String)>,
    /// Top-level content type, lowercase (`multipart/report`).
    pub content_type: String,
    /// `report-type` of a multipart/report.
    pub report_type: Option<String>,
    /// Text of all body parts (HTML converted to text), capped.
    pub body_text: String,
    pub attachments: Vec<Attachment>,
    /// Messages carried as `message/rfc822` parts.
    pub forwarded: Vec<Mail>,
    /// Message-IDs quoted in `text/rfc822-headers` / `message/rfc822` parts (bounces).
    pub quoted_message_ids: Vec<String>,
    /// What could not be read, in plain words.
    pub problems: Vec<String>,
}

impl Mail {
    /// A header's decoded value (first occurrence).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

const MAX_BODY_CHARS: usize = 200_000;
/// A decoded header value is kept up to this many characters (a hostile 1 MB `Subject:` would
/// otherwise be carried into the register, the reply subject and every log line).
pub const MAX_HEADER_CHARS: usize = 2000;

/// A decoded header value as one line of text: control characters (a CR/LF decoded out of an
/// encoded-word, escape sequences) become spaces, and the length is capped.
fn one_line(value: &str) -> String {
    let value: String =
        value.chars().take(MAX_HEADER_CHARS + 1).map(|c| if c.is_control() { ' ' } else { c }).collect();
    crate::text::clip(&value, MAX_HEADER_CHARS)
}
const MAX_DEPTH: usize = 4;

/// Parses a raw message. Never panics, never fails.
pub fn parse(raw: &[u8], limits: &Limits) -> Mail {
    let mut budget = limits.max_total_decompressed_bytes;
    parse_at(raw, limits, 0, &mut budget)
}

fn parse_at(raw: &[u8], limits: &Limits, depth: usize, budget: &mut u64) -> Mail {
    let mut mail = Mail::default();
    let raw = skip_preamble(raw);
    let Some(mut msg) = parse_message(raw, &mut mail.problems) else {
        mail.problems.push("the file is not a MIME message (no headers could be read)".into());
        return mail;
    };
    // The parsed message borrows `raw`: header offsets point into it.
    read_headers(&msg, raw, &mut mail);
    mail.body_text = body_text(&msg);
    read_attachments(&mut msg, raw, limits, depth, budget, &mut mail);
    mail
}

/// The message without an mbox "From " line or blank lines before it (some archived
/// messages start so).
fn skip_preamble(raw: &[u8]) -> &[u8] {
    let mut start = 0;
    if raw.starts_with(b"From ")
        && let Some(nl) = raw.iter().position(|&c| c == b'\n')
    {
        start = nl + 1;
    }
    while start < raw.len() && (raw[start] == b'\n' || raw[start] == b'\r') {
        start += 1;
    }
    &raw[start..]
}

/// mail-parser's reading of the message. It has internal assertions that odd nestings of
/// multipart and message/rfc822 can trip (found by fuzzing; a panic in debug builds): then
/// only the headers are read, and `problems` says so.
fn parse_message<'x>(raw: &'x [u8], problems: &mut Vec<String>) -> Option<Message<'x>> {
    catch_unwind(AssertUnwindSafe(|| MessageParser::default().parse(raw))).unwrap_or_else(|_| {
        problems.push("邮件的 MIME 结构无法解析，只读取了邮件头".into());
        catch_unwind(AssertUnwindSafe(|| MessageParser::default().parse_headers(raw))).ok().flatten()
    })
}

/// Every header decoded from the raw bytes, and the ones the judge reads by name: subject,
/// Message-ID, sender, Reply-To, dates, content type.
fn read_headers(msg: &Message, msg_raw: &[u8], mail: &mut Mail) {
    for h in msg.headers() {
        let name = h.name().to_ascii_lowercase();
        let (s, e) = (h.offset_start() as usize, h.offset_end() as usize);
        let value = msg_raw.get(s..e).map(header::decode).unwrap_or_default();
        mail.headers.push((name, one_line(&value)));
    }
    mail.subject = mail.header("subject").unwrap_or_default().to_string();
    mail.message_id = msg.message_id().map(|id| format!("<{id}>"));
    if let Some(addr) = msg.from().and_then(|a| a.first()) {
        mail.from = addr.address().map(|a| a.trim().to_ascii_lowercase()).filter(|a| !a.is_empty());
        mail.from_name = mail.header("from").map(display_name).filter(|n| !n.is_empty());
    }
    if let Some(addr) = msg.reply_to().and_then(|a| a.first()) {
        mail.reply_to = addr.address().map(|a| a.trim().to_ascii_lowercase());
    }
    mail.date = msg.date().and_then(to_chrono);
    mail.received = newest_received(&mail.headers);
    if let Some(ct) = msg.content_type() {
        mail.content_type = content_type_of(ct);
        mail.report_type = ct.attribute("report-type").map(|s| s.to_ascii_lowercase());
    }
}

/// The newest date of the `Received:` headers.
fn newest_received(headers: &[(String, String)]) -> Option<DateTime<FixedOffset>> {
    headers
        .iter()
        .filter(|(n, _)| n == "received")
        .filter_map(|(_, v)| v.rsplit(';').next())
        .filter_map(|d| mail_parser::DateTime::parse_rfc822(d.trim()))
        .filter_map(|d| to_chrono(&d))
        .max()
}

/// `type/subtype`, lowercase.
fn content_type_of(ct: &ContentType) -> String {
    match ct.subtype() {
        Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
        None => ct.ctype().to_ascii_lowercase(),
    }
}

/// The text of every text and HTML body part, capped at [`MAX_BODY_CHARS`].
fn body_text(msg: &Message) -> String {
    let mut body = String::new();
    for i in 0..msg.text_body_count() {
        if let Some(t) = msg.body_text(i) {
            body.push_str(&t);
            body.push('\n');
        }
    }
    for i in 0..msg.html_body_count() {
        if let Some(t) = msg.body_html(i) {
            body.push_str(&t);
            body.push('\n');
        }
    }
    if body.chars().count() > MAX_BODY_CHARS {
        body = body.chars().take(MAX_BODY_CHARS).collect();
    }
    body
}

/// Where the walk over a message's attachments is.
struct Walk<'a> {
    limits: &'a Limits,
    depth: usize,
    budget: &'a mut u64,
}

/// Every part mail-parser lists as an attachment, in order: forwarded messages parsed,
/// quoted headers' Message-IDs kept, stray text parts added to the body, files (archives
/// opened) added to the attachments.
fn read_attachments(
    msg: &mut Message,
    msg_raw: &[u8],
    limits: &Limits,
    depth: usize,
    budget: &mut u64,
    mail: &mut Mail,
) {
    let mut walk = Walk { limits, depth, budget };
    let attachment_ids: Vec<usize> = msg.attachments.iter().map(|&id| id as usize).collect();
    for (n, id) in attachment_ids.into_iter().enumerate() {
        let Some(part) = msg.parts.get_mut(id) else { continue };
        if n >= limits.max_parts {
            mail.problems.push(format!("more than {} attachments; the rest were not read", limits.max_parts));
            break;
        }
        read_part(part, n, msg_raw, &mut walk, mail);
    }
}

/// One part listed as an attachment (the `n`th).
fn read_part(part: &mut MessagePart, n: usize, msg_raw: &[u8], walk: &mut Walk, mail: &mut Mail) {
    let ctype = part.content_type().map(content_type_of).unwrap_or_default();
    if let PartType::Message(inner) = &part.body {
        read_forwarded(inner.raw_message(), walk, mail);
        return;
    }
    if ctype == "text/rfc822-headers" || ctype == "message/rfc822-headers" {
        let text = header::decode_raw(part.contents());
        mail.quoted_message_ids.extend(quoted_ids(&text));
        return;
    }
    let filename = part_filename(part, msg_raw);
    let inline = part.content_disposition().map(|d| !d.is_attachment()).unwrap_or(true);
    let has_content_id = part.content_id().is_some();
    let bytes = take_contents(part);
    if ctype.starts_with("text/") && filename.is_none() {
        // A body part mail-parser listed as attachment (e.g. a second text part): keep the text.
        let text = String::from_utf8_lossy(&bytes);
        if mail.body_text.len() < MAX_BODY_CHARS {
            mail.body_text.push_str(&text);
            mail.body_text.push('\n');
        }
        return;
    }
    let filename = filename.unwrap_or_else(|| default_name(&ctype, n));
    let attachment = Attachment {
        filename,
        declared_type: ctype,
        bytes,
        inline,
        has_content_id,
        archive: None,
        archive_state: ArchiveState::NotArchive,
    };
    archive::push(&mut mail.attachments, attachment, walk.limits, walk.budget, &mut mail.problems);
}

/// A forwarded message (`message/rfc822`), parsed recursively up to [`MAX_DEPTH`].
fn read_forwarded(raw: &[u8], walk: &mut Walk, mail: &mut Mail) {
    if walk.depth >= MAX_DEPTH {
        mail.problems.push("forwarded messages nested too deeply; the innermost were not read".into());
        return;
    }
    let inner_mail = parse_at(raw, walk.limits, walk.depth + 1, walk.budget);
    if let Some(id) = &inner_mail.message_id {
        mail.quoted_message_ids.push(id.clone());
    }
    mail.forwarded.push(inner_mail);
}

/// A part's decoded content, taken out of the parsed message: no copy when mail-parser
/// decoded it into its own buffer (base64, quoted-printable), so a large attachment is held
/// once, not twice.
fn take_contents(part: &mut MessagePart) -> Vec<u8> {
    match std::mem::replace(&mut part.body, PartType::Multipart(Vec::new())) {
        PartType::Text(t) | PartType::Html(t) => t.into_owned().into_bytes(),
        PartType::Binary(b) | PartType::InlineBinary(b) => b.into_owned(),
        PartType::Message(m) => m.raw_message().to_vec(),
        PartType::Multipart(_) => Vec::new(),
    }
}

/// The decoded file name of a part: mail-parser's reading unless it is lossy, else our own
/// reading of the raw Content-Disposition / Content-Type parameters.
fn part_filename(part: &MessagePart, msg_raw: &[u8]) -> Option<String> {
    let parsed = part.attachment_name().map(str::to_string);
    let good = parsed.as_deref().is_some_and(|n| !n.contains('\u{FFFD}') && !n.contains("=?") && !n.trim().is_empty());
    if good {
        return parsed.map(|n| sanitize_name(&n));
    }
    for h in &part.headers {
        let name = h.name().to_ascii_lowercase();
        let pname = match name.as_str() {
            "content-disposition" => "filename",
            "content-type" => "name",
            _ => continue,
        };
        let (s, e) = (h.offset_start as usize, h.offset_end as usize);
        if let Some(raw) = msg_raw.get(s..e)
            && let Some(n) = header::param(raw, pname)
        {
            return Some(sanitize_name(&n));
        }
    }
    parsed.map(|n| sanitize_name(&n))
}

/// A file name as a person would read it: no directories, no control characters, no
/// invisible direction overrides (which make `gpj.exe` display as `exe.jpg`).
pub fn sanitize_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = base
        .chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
        })
        .collect();
    let clean = clean.trim().trim_matches('.').trim();
    if clean.is_empty() { "unnamed".to_string() } else { crate::text::clip(clean, 200) }
}

fn default_name(ctype: &str, n: usize) -> String {
    let ext = match ctype {
        "application/pdf" => "pdf",
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "application/zip" => "zip",
        _ => "bin",
    };
    format!("attachment-{}.{ext}", n + 1)
}

fn display_name(from_header: &str) -> String {
    let name = match from_header.find('<') {
        Some(pos) => &from_header[..pos],
        None => {
            // "addr (Name)"
            match (from_header.find('('), from_header.rfind(')')) {
                (Some(a), Some(b)) if a < b => &from_header[a + 1..b],
                _ => "",
            }
        }
    };
    name.trim().trim_matches('"').trim().to_string()
}

fn quoted_ids(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let lower = l.to_ascii_lowercase();
            lower.starts_with("message-id:").then(|| l[11..].trim().to_string())
        })
        .filter(|id| !id.is_empty())
        .collect()
}

fn to_chrono(d: &mail_parser::DateTime) -> Option<DateTime<FixedOffset>> {
    let offset_secs = (d.tz_hour as i32 * 3600 + d.tz_minute as i32 * 60) * if d.tz_before_gmt { -1 } else { 1 };
    let tz = FixedOffset::east_opt(offset_secs)?;
    let utc = chrono::DateTime::from_timestamp(d.to_timestamp(), 0)?;
    Some(utc.with_timezone(&tz))
}

/// Headers worth showing a person (`show`, the web view), in this order.
pub const SHOWN_HEADERS: [&str; 14] = [
    "From",
    "Sender",
    "To",
    "Cc",
    "Reply-To",
    "Return-Path",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Auto-Submitted",
    "X-Mailer",
    "User-Agent",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_still_gives_a_mail() {
        let mail = parse(b"", &Limits::default());
        assert!(mail.subject.is_empty());
        let mail = parse(&[0xff, 0xfe, 0x00, 0x01], &Limits::default());
        assert!(mail.attachments.is_empty());
    }

    #[test]
    fn header_values_are_one_capped_line() {
        let mut raw = b"From: a@b.cn\r\nSubject: =?UTF-8?Q?hi=0D=0ABcc:_x@evil.cn?=\r\nX-Long: ".to_vec();
        raw.extend(std::iter::repeat_n(b'a', 1 << 20));
        raw.extend(b"\r\n\r\nbody\r\n");
        let mail = parse(&raw, &Limits::default());
        assert_eq!(mail.subject, "hi  Bcc: x@evil.cn");
        let long = mail.header("x-long").unwrap_or_default();
        assert_eq!(long.chars().count(), MAX_HEADER_CHARS + 1, "clipped, with an ellipsis");
    }

    /// Fuzzing finding (judge): this nesting tripped a mail-parser assertion, and the whole
    /// message was judged as an internal error. Now the headers are still read.
    #[test]
    fn a_nesting_that_trips_mail_parser_still_gives_headers() {
        let raw = b"Fo.0\r\nContent-Type: multipart/mied; boundary=\"f0\"\r\n\r\n--f0\r\nContent-Type: message/rfc822\r\n\nContent-Type: message/rfc822\r\n\r\nF\r\n\r\n-f7--f0--\r\n";
        let raw = [&b"Subject: Fwd\r\n"[..], raw].concat();
        let mail = parse(&raw, &Limits::default());
        assert_eq!(mail.subject, "Fwd");
        if cfg!(debug_assertions) {
            assert!(mail.problems.iter().any(|p| p.contains("MIME 结构")), "{:?}", mail.problems);
        }
        let v = crate::validate::judge("f.eml", &raw, &crate::rules::Rules::embedded(), &Default::default());
        assert!(!v.reasons.iter().any(|r| r.contains("内部错误")), "{:?}", v.reasons);
    }

    #[test]
    fn names_lose_directories_and_controls() {
        assert_eq!(sanitize_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_name("C:\\x\\报告\u{7}.docx"), "报告.docx");
        assert_eq!(sanitize_name(".."), "unnamed");
        assert_eq!(sanitize_name("报告\u{202E}gpj.exe"), "报告gpj.exe");
    }

    #[test]
    fn reads_headers_and_received_date() {
        let raw = "Received: from a by b; Mon, 20 Mar 2023 13:27:31 +0800\r\nReceived: from c by d; Mon, 20 Mar 2023 13:27:00 +0800\r\nDate: Mon, 20 Mar 2023 13:00:00 +0800\r\nFrom: =?UTF-8?B?5byg5LiJ?= <Zhang@School.edu.cn>\r\nSubject: hi\r\nMessage-ID: <a@b>\r\n\r\nbody\r\n";
        let mail = parse(raw.as_bytes(), &Limits::default());
        assert_eq!(mail.from.as_deref(), Some("zhang@school.edu.cn"));
        assert_eq!(mail.from_name.as_deref(), Some("张三"));
        assert_eq!(mail.message_id.as_deref(), Some("<a@b>"));
        assert_eq!(mail.received.map(|d| d.to_rfc3339()).as_deref(), Some("2023-03-20T13:27:31+08:00"));
    }
}
