//! Proof copies: with `[mailbox] proof_copy` on, every reply also goes to the office's own
//! address (envelope only, no header names it), so the server files a copy in the office's
//! INBOX at the moment it accepts the reply. That copy is the proof an interrupted send
//! went out (looked up by Message-ID after a crash), so the daemon needs no help from the
//! provider to send each reply exactly once. When the intake meets such a copy it is not a
//! submission: it is not stored or judged, the reply it proves is recorded as sent, and
//! the copy is flagged `\Seen` with a keyword so the office does not read each reply twice.

use mail_parser::MessageParser;

/// The keyword set on a proof copy (besides `\Seen`).
pub const PROOF_KEYWORD: &str = "$MailIntakeSent";

/// If `raw` is one of our own messages (it carries `own_header`), its Message-ID in angle
/// brackets, as replies are recorded.
pub fn own_message_id(raw: &[u8], own_header: &str) -> Option<String> {
    let end = header_end(raw);
    let headers = MessageParser::new().parse_headers(&raw[..end])?;
    headers.header(own_header)?;
    let id = headers.message_id()?.trim();
    (!id.is_empty()).then(|| format!("<{}>", id.trim_matches(['<', '>'])))
}

/// Where the header block ends (the whole message when there is no empty line).
fn header_end(raw: &[u8]) -> usize {
    raw.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 2))
        .unwrap_or(raw.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_replies_are_recognised_by_header_and_id() {
        let ours = b"From: o@x.cn\r\nX-Mail-Intake: acknowledge; <a@b>\r\nMessage-ID: <reply.1@x.cn>\r\n\r\nbody\r\n";
        assert_eq!(own_message_id(ours, "X-Mail-Intake").as_deref(), Some("<reply.1@x.cn>"));
        let theirs = b"From: s@y.cn\r\nMessage-ID: <reply.1@x.cn>\r\n\r\nX-Mail-Intake: no\r\n";
        assert_eq!(own_message_id(theirs, "X-Mail-Intake"), None);
        assert_eq!(own_message_id(b"", "X-Mail-Intake"), None);
        assert_eq!(own_message_id(b"X-Mail-Intake: x\r\n\r\n", "X-Mail-Intake"), None);
    }
}
