//! IMAP with async-imap over tokio-rustls: login (with `ID` when offered), select, search
//! and fetch by UID with `BODY.PEEK[]` (never `\Seen` on submissions, never deletes, never
//! `SEARCH CHARSET`), keywords, IDLE, folder listing (SPECIAL-USE) and the Sent folder
//! (found by `\Sent`, appended to, searched by Message-ID). Folder names are modified
//! UTF-7 on the wire ([`super::mutf7`]) and decoded everywhere else.
//!
//! One intake session is held across polls: [`ImapSource::ensure_connected`] logs in only
//! when there is no live session (at start, after a failure).
//!
//! async-imap has no timeouts of its own: every command here is bounded by `io_timeout`.

use std::time::Duration;

use async_imap::Session;
use async_imap::extensions::idle::IdleResponse;
use async_imap::types::Flag;
use futures::TryStreamExt;

use super::mutf7;
use super::{IntakeError, MailboxInfo, WaitOutcome};
use crate::config::ImapConfig;
use crate::store::{Fetched, Location};

mod sent_folder;
mod session;

pub use sent_folder::{Found, SentFolder, discover_sent, list_folders};
pub use session::{Stream, login, tls_connector};
use session::{drain_unsolicited, timed};

/// The IMAP source: one session on the configured folder.
pub struct ImapSource {
    cfg: ImapConfig,
    timeout: Duration,
    session: Option<Session<Stream>>,
    info: Option<MailboxInfo>,
    has_idle: bool,
}

impl ImapSource {
    pub fn new(cfg: ImapConfig, timeout: Duration) -> ImapSource {
        ImapSource { cfg, timeout, session: None, info: None, has_idle: false }
    }

    fn session(&mut self) -> Result<&mut Session<Stream>, IntakeError> {
        self.session.as_mut().ok_or_else(|| IntakeError::Io("not connected".into()))
    }

    /// Connects, logs in and selects the folder (a new session, always).
    pub async fn connect(&mut self) -> Result<MailboxInfo, IntakeError> {
        self.session = None;
        self.info = None;
        let mut session = login(&self.cfg, self.timeout).await?;
        let caps = timed(self.timeout, "CAPABILITY", session.capabilities()).await?;
        self.has_idle = caps.has_str("IDLE");
        let wire = mutf7::encode(&self.cfg.folder);
        let mailbox = match tokio::time::timeout(self.timeout, session.select(&wire)).await {
            Err(_) => {
                return Err(IntakeError::Io(format!(
                    "SELECT {}: no answer within {:?}",
                    self.cfg.folder, self.timeout
                )));
            }
            Ok(Err(e)) => {
                let hint = if e.to_string().contains("Unsafe Login") {
                    " (NetEase wants the IMAP ID command: set [mailbox] id = true or provider = \"163\")"
                } else {
                    ""
                };
                return Err(IntakeError::Io(format!(
                    "the server refused to open the folder “{}” ({wire}): {e}{hint}; check [mailbox] folder",
                    self.cfg.folder
                )));
            }
            Ok(Ok(m)) => m,
        };
        let uidvalidity = mailbox
            .uid_validity
            .ok_or_else(|| IntakeError::Io(format!("the server gave no UIDVALIDITY for {}", self.cfg.folder)))?;
        let info = MailboxInfo {
            account: format!("{}@{}", self.cfg.user, self.cfg.host),
            folder: self.cfg.folder.clone(),
            uidvalidity,
        };
        self.session = Some(session);
        self.info = Some(info.clone());
        Ok(info)
    }

    /// The selected folder of the live session, or a new session when there is none: one
    /// login per connection, not one per poll.
    pub async fn ensure_connected(&mut self) -> Result<MailboxInfo, IntakeError> {
        match (&self.session, &self.info) {
            (Some(_), Some(info)) => Ok(info.clone()),
            _ => self.connect().await,
        }
    }

    /// Forgets the session without a goodbye (it failed: the next round logs in again).
    pub fn disconnect(&mut self) {
        self.session = None;
        self.info = None;
    }

    /// Marks our own replies' proof copies (see `reply::proof`) read, with `keyword`, so
    /// the office does not see each reply twice.
    pub async fn flag_proof(&mut self, uids: &[u32], keyword: &str) -> Result<(), IntakeError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uid_set(uids);
        let t = self.timeout;
        let session = self.session()?;
        let query = format!("+FLAGS.SILENT (\\Seen {keyword})");
        timed(t, "UID STORE", async {
            let stream = session.uid_store(&set, &query).await?;
            stream.try_collect::<Vec<_>>().await
        })
        .await?;
        drain_unsolicited(session);
        Ok(())
    }

    /// UIDs above `last`, ascending.
    pub async fn uids_after(&mut self, last: u32) -> Result<Vec<u32>, IntakeError> {
        let t = self.timeout;
        let session = self.session()?;
        let found = timed(t, "UID SEARCH", session.uid_search(format!("UID {}:*", last.saturating_add(1)))).await?;
        drain_unsolicited(session);
        let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > last).collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// Fetches whole messages without setting `\Seen`.
    pub async fn fetch(&mut self, uids: &[u32]) -> Result<Vec<Fetched>, IntakeError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let info = self.info.clone().ok_or_else(|| IntakeError::Io("no folder selected".into()))?;
        let set = uid_set(uids);
        let t = self.timeout * 4;
        let session = self.session()?;
        // Each response is turned into a `Fetched` (one copy of the body) and dropped as it
        // arrives, so a batch is held once, not twice.
        let mut out = Vec::with_capacity(uids.len());
        timed(t, "UID FETCH", async {
            let mut stream = session.uid_fetch(&set, "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])").await?;
            while let Some(f) = stream.try_next().await? {
                let (Some(uid), Some(body)) = (f.uid, f.body()) else { continue };
                out.push(Fetched {
                    location: Location {
                        account: info.account.clone(),
                        folder: info.folder.clone(),
                        uidvalidity: info.uidvalidity,
                        uid,
                    },
                    internal_date: f.internal_date(),
                    flags: f.flags().map(|fl| flag_text(&fl)).collect(),
                    raw: body.to_vec(),
                });
            }
            Ok::<_, async_imap::error::Error>(())
        })
        .await?;
        drain_unsolicited(session);
        out.sort_by_key(|f| f.location.uid);
        Ok(out)
    }

    /// Adds keywords to messages (silently).
    pub async fn mark(&mut self, uids: &[u32], keywords: &[String]) -> Result<(), IntakeError> {
        if uids.is_empty() || keywords.is_empty() {
            return Ok(());
        }
        let set = uid_set(uids);
        let t = self.timeout;
        let session = self.session()?;
        let query = format!("+FLAGS.SILENT ({})", keywords.join(" "));
        timed(t, "UID STORE", async {
            let stream = session.uid_store(&set, &query).await?;
            stream.try_collect::<Vec<_>>().await
        })
        .await?;
        drain_unsolicited(session);
        Ok(())
    }

    /// Waits for new mail: IDLE (renewed before `renew`) when offered, else a plain sleep
    /// and a NOOP. On failure the session is dropped (the next round logs in again).
    pub async fn wait(&mut self, max: Duration, renew: Duration) -> Result<WaitOutcome, IntakeError> {
        let r = self.wait_inner(max, renew).await;
        if r.is_err() {
            self.disconnect();
        }
        r
    }

    async fn wait_inner(&mut self, max: Duration, renew: Duration) -> Result<WaitOutcome, IntakeError> {
        if !(self.cfg.idle && self.has_idle) {
            tokio::time::sleep(max).await;
            // A NOOP keeps the connection honest and collects EXISTS.
            let t = self.timeout;
            let session = self.session()?;
            timed(t, "NOOP", session.noop()).await?;
            drain_unsolicited(session);
            return Ok(WaitOutcome::Timeout);
        }
        let session = self.session.take().ok_or_else(|| IntakeError::Io("not connected".into()))?;
        let mut idle = session.idle();
        timed(self.timeout, "IDLE", idle.init()).await?;
        let wait_for = max.min(renew);
        // The dead-link detector: well above the server's keepalive interval.
        let (fut, stop) = idle.wait_with_timeout(wait_for + Duration::from_secs(60));
        let mut stopped_by_us = false;
        let result = tokio::select! {
            r = fut => r,
            _ = tokio::time::sleep(wait_for) => {
                stopped_by_us = true;
                drop(stop);
                Ok(IdleResponse::ManualInterrupt)
            }
        };
        let outcome = match result {
            Ok(IdleResponse::NewData(data)) => {
                if format!("{:?}", data.parsed()).contains("Bye") {
                    return Err(IntakeError::Lost("the server closed the connection (BYE) during IDLE".into()));
                }
                WaitOutcome::NewMail
            }
            Ok(IdleResponse::Timeout) => WaitOutcome::Timeout,
            Ok(IdleResponse::ManualInterrupt) if stopped_by_us => WaitOutcome::Timeout,
            Ok(IdleResponse::ManualInterrupt) => {
                return Err(IntakeError::Lost("the connection closed during IDLE".into()));
            }
            Err(e) => return Err(IntakeError::Io(format!("IDLE: {e}"))),
        };
        let mut session = timed(self.timeout, "DONE", idle.done()).await?;
        drain_unsolicited(&mut session);
        self.session = Some(session);
        Ok(outcome)
    }

    /// Logs out politely (errors ignored: we are leaving anyway).
    pub async fn logout(&mut self) {
        if let Some(mut s) = self.session.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), s.logout()).await;
        }
    }
}

fn flag_text(f: &Flag) -> String {
    match f {
        Flag::Seen => "\\Seen".into(),
        Flag::Answered => "\\Answered".into(),
        Flag::Flagged => "\\Flagged".into(),
        Flag::Deleted => "\\Deleted".into(),
        Flag::Draft => "\\Draft".into(),
        Flag::Recent => "\\Recent".into(),
        Flag::MayCreate => "\\*".into(),
        Flag::Custom(c) => c.to_string(),
    }
}

/// `1,2,3,7` → `1:3,7`.
pub fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end { start.to_string() } else { format!("{start}:{end}") });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TlsMode;

    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    /// A scripted IMAP server on loopback: `answer(tag, command)` gives the lines to send
    /// back (`None`: drop the connection). Serves connections until the test ends.
    async fn fake_server(answer: fn(&str, &str) -> Option<String>) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut r = BufReader::new(r);
                    let _ = w.write_all(b"* OK fake ready\r\n").await;
                    let mut line = String::new();
                    while r.read_line(&mut line).await.is_ok_and(|n| n > 0) {
                        let l = line.trim_end().to_string();
                        line.clear();
                        let (tag, cmd) = l.split_once(' ').unwrap_or((&l, ""));
                        match answer(tag, cmd) {
                            Some(out) => {
                                if w.write_all(out.as_bytes()).await.is_err() {
                                    return;
                                }
                            }
                            None => return,
                        }
                    }
                });
            }
        });
        port
    }

    fn cfg(port: u16) -> ImapConfig {
        ImapConfig {
            host: "127.0.0.1".into(),
            port,
            tls: TlsMode::None,
            ca_file: None,
            user: "office".into(),
            password: crate::config::Secret::new("pw"),
            folder: "INBOX".into(),
            idle: true,
            poll_interval: Duration::from_secs(60),
            id: true,
            sent_folder: "已发送".into(),
            sent_folder_configured: true,
            append_sent: true,
            proof_copy: true,
            keyword: "$MailIntake".into(),
            provider: crate::config::presets::find("163"),
        }
    }

    fn common(tag: &str, cmd: &str) -> Option<String> {
        let verb = cmd.split(' ').next().unwrap_or("").to_ascii_uppercase();
        Some(match verb.as_str() {
            "LOGIN" => format!("{tag} OK logged in\r\n"),
            "CAPABILITY" => format!("* CAPABILITY IMAP4rev1 ID IDLE\r\n{tag} OK done\r\n"),
            "SELECT" | "EXAMINE" => {
                format!("* 0 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n{tag} OK [READ-WRITE] done\r\n")
            }
            "LIST" => format!(
                "* LIST (\\HasNoChildren) \"/\" INBOX\r\n* LIST (\\Sent) \"/\" \"&XfJT0ZAB-\"\r\n{tag} OK done\r\n"
            ),
            "LOGOUT" => format!("* BYE bye\r\n{tag} OK done\r\n"),
            _ => format!("{tag} BAD unknown\r\n"),
        })
    }

    #[tokio::test]
    async fn a_server_refusing_id_is_used_without_it() {
        let port = fake_server(|tag, cmd| {
            if cmd.starts_with("ID ") {
                return Some(format!("{tag} NO ID not allowed here\r\n"));
            }
            common(tag, cmd)
        })
        .await;
        let mut source = ImapSource::new(cfg(port), Duration::from_secs(5));
        let info = source.connect().await.expect("connects without ID");
        assert_eq!(info.uidvalidity, 7);
        // The session is held: asking again does not log in again.
        assert_eq!(source.ensure_connected().await.unwrap(), info);
    }

    #[tokio::test]
    async fn a_server_dropping_mid_append_gives_an_error_and_a_fresh_session_next_time() {
        let port = fake_server(|tag, cmd| {
            if cmd.starts_with("APPEND") {
                // The APPEND names the Sent folder in modified UTF-7; the server hangs up
                // before taking the message.
                if !cmd.contains("\"&XfJT0ZAB-\"") {
                    return Some(format!("{tag} NO Mailbox name is not valid mUTF-7\r\n"));
                }
                return None;
            }
            common(tag, cmd)
        })
        .await;
        let mut sent = SentFolder::new(cfg(port), Duration::from_secs(5));
        let err = sent.append(b"Subject: x\r\n\r\nbody\r\n").await.expect_err("the server dropped it");
        assert!(err.to_string().contains("APPEND") && !err.to_string().contains("mUTF-7"), "{err}");
        assert_eq!(sent.chosen().map(|c| c.name.as_str()), Some("已发送"), "found by \\Sent, decoded");
        assert!(sent.session.is_none(), "the broken session is dropped");
        // The next call logs in again (and fails the same way, cleanly).
        assert!(sent.append(b"x").await.is_err());
    }

    #[test]
    fn uid_sets_are_compact() {
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
    }
}
