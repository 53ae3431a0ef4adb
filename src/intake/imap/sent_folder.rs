//! Folders and the Sent folder over IMAP: listing (SPECIAL-USE), finding the Sent folder,
//! looking a reply up by Message-ID (in Sent, or as a proof copy in the inbox) and appending
//! a copy.

use std::time::Duration;

use async_imap::Session;
use futures::TryStreamExt;

use super::super::IntakeError;
use super::super::folders::{Folder, SentChoice, choose_sent};
use super::super::mutf7;
use crate::config::ImapConfig;
use tracing::{info, warn};

use super::session::*;

/// Lists every folder, decoded, with its attributes: `LIST "" "*" RETURN (SPECIAL-USE)`
/// when the server has LIST-EXTENDED and SPECIAL-USE (RFC 5258, RFC 6154), else a plain
/// LIST (whose attributes carry `\Sent` on most servers too).
pub async fn list_folders(session: &mut Session<Stream>, timeout: Duration) -> Result<Vec<Folder>, IntakeError> {
    let caps = timed(timeout, "CAPABILITY", session.capabilities()).await?;
    let extended = caps.has_str("LIST-EXTENDED") && caps.has_str("SPECIAL-USE");
    let pattern = if extended { "\"*\" RETURN (SPECIAL-USE)" } else { "\"*\"" };
    let folders = timed(timeout, "LIST", async {
        let mut out = Vec::new();
        let mut names = session.list(Some(""), Some(pattern)).await?;
        while let Some(n) = names.try_next().await? {
            let wire = n.name().to_string();
            let attributes: Vec<String> = n.attributes().iter().map(attribute_text).collect();
            let has = |a: &str| attributes.iter().any(|x| x.eq_ignore_ascii_case(a));
            let name = match mutf7::decode(&wire) {
                Ok(name) => name,
                Err(e) => {
                    warn!(stage = "imap", folder = %wire, error = %e, "a folder name is not modified UTF-7; shown as listed");
                    wire.clone()
                }
            };
            out.push(Folder {
                sent: has("\\Sent"),
                noselect: has("\\Noselect") || has("\\NonExistent"),
                name,
                wire,
                attributes,
            });
        }
        Ok::<_, async_imap::error::Error>(out)
    })
    .await?;
    drain_unsolicited(session);
    Ok(folders)
}

fn attribute_text(a: &async_imap::imap_proto::NameAttribute<'_>) -> String {
    use async_imap::imap_proto::NameAttribute as A;
    match a {
        A::NoInferiors => "\\Noinferiors".into(),
        A::NoSelect => "\\Noselect".into(),
        A::Marked => "\\Marked".into(),
        A::Unmarked => "\\Unmarked".into(),
        A::All => "\\All".into(),
        A::Archive => "\\Archive".into(),
        A::Drafts => "\\Drafts".into(),
        A::Flagged => "\\Flagged".into(),
        A::Junk => "\\Junk".into(),
        A::Sent => "\\Sent".into(),
        A::Trash => "\\Trash".into(),
        A::Extension(e) => e.to_string(),
        _ => format!("{a:?}"),
    }
}

/// Lists the folders and chooses the Sent folder among them (see [`choose_sent`]).
pub async fn discover_sent(
    session: &mut Session<Stream>,
    cfg: &ImapConfig,
    timeout: Duration,
) -> Result<(Vec<Folder>, SentChoice), IntakeError> {
    let folders = list_folders(session, timeout).await?;
    let choice = choose_sent(&folders, cfg.provider, &cfg.sent_folder, cfg.sent_folder_configured);
    Ok((folders, choice))
}

/// Where a reply's Message-ID was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// In the Sent folder.
    Sent,
    /// Only in the folder the daemon reads: the proof copy the server filed at acceptance.
    Proof,
    Nowhere,
}

/// The office's Sent folder over its own connection: append replies, find them again
/// (in Sent and, with proof copies on, in the folder the daemon reads).
pub struct SentFolder {
    cfg: ImapConfig,
    timeout: Duration,
    pub(super) session: Option<Session<Stream>>,
    /// The Sent folder chosen at the first login (kept across reconnects).
    choice: Option<SentChoice>,
}

impl SentFolder {
    pub fn new(cfg: ImapConfig, timeout: Duration) -> SentFolder {
        SentFolder { cfg, timeout, session: None, choice: None }
    }

    async fn session(&mut self) -> Result<(&mut Session<Stream>, String), IntakeError> {
        if self.session.is_none() {
            let mut s = login(&self.cfg, self.timeout).await?;
            if self.choice.is_none() {
                let choice = match discover_sent(&mut s, &self.cfg, self.timeout).await {
                    Ok((_, c)) => c,
                    Err(e) => {
                        warn!(stage = "sent-folder", error = %e, "cannot list the folders; using [mailbox] sent_folder");
                        choose_sent(&[], None, &self.cfg.sent_folder, true)
                    }
                };
                if let Some(w) = &choice.warning {
                    warn!(stage = "sent-folder", folder = %choice.name, "{w}");
                }
                info!(stage = "sent-folder", folder = %choice.name, wire = %choice.wire, why = %choice.why, "Sent folder chosen");
                if !choice.exists {
                    // CREATE fails harmlessly when the folder exists after all.
                    let _ = tokio::time::timeout(self.timeout, s.create(&choice.wire)).await;
                }
                self.choice = Some(choice);
            }
            self.session = Some(s);
        }
        let wire = self.choice.as_ref().map(|c| c.wire.clone()).unwrap_or_else(|| mutf7::encode(&self.cfg.sent_folder));
        let s = self.session.as_mut().ok_or_else(|| IntakeError::Io("not connected".into()))?;
        Ok((s, wire))
    }

    /// The Sent folder in use (decoded), once known.
    pub fn chosen(&self) -> Option<&SentChoice> {
        self.choice.as_ref()
    }

    /// Whether a message with this Message-ID is in the Sent folder (or, with proof copies
    /// on, in the folder the daemon reads).
    pub async fn find(&mut self, message_id: &str) -> Result<Found, IntakeError> {
        // A search is read-only: when a held session turns out stale (the server's
        // autologout), it is tried once more on a fresh one.
        let reused = self.session.is_some();
        match self.find_once(message_id).await {
            Err(e) if reused => {
                warn!(stage = "sent-folder", error = %e, "the Sent folder's connection had gone stale; logging in again");
                self.find_once(message_id).await
            }
            r => r,
        }
    }

    async fn find_once(&mut self, message_id: &str) -> Result<Found, IntakeError> {
        let t = self.timeout;
        let inbox = self.cfg.proof_copy.then(|| mutf7::encode(&self.cfg.folder));
        let result = async {
            let (s, sent) = self.session().await?;
            let id = message_id.replace(['"', '\\'], "");
            let query = format!("HEADER Message-ID \"{id}\"");
            timed(t, "EXAMINE Sent", s.examine(&sent)).await?;
            let found = timed(t, "UID SEARCH HEADER", s.uid_search(&query)).await?;
            drain_unsolicited(s);
            if !found.is_empty() {
                return Ok(Found::Sent);
            }
            if let Some(inbox) = inbox {
                timed(t, "EXAMINE", s.examine(&inbox)).await?;
                let found = timed(t, "UID SEARCH HEADER", s.uid_search(&query)).await?;
                drain_unsolicited(s);
                if !found.is_empty() {
                    return Ok(Found::Proof);
                }
            }
            Ok(Found::Nowhere)
        }
        .await;
        if result.is_err() {
            self.session = None;
        }
        result
    }

    /// Whether a message with this Message-ID is in the Sent folder (or is proven sent).
    pub async fn contains(&mut self, message_id: &str) -> Result<bool, IntakeError> {
        Ok(self.find(message_id).await? != Found::Nowhere)
    }

    /// Whether a message with this Message-ID is in the Sent folder itself.
    pub async fn in_sent(&mut self, message_id: &str) -> Result<bool, IntakeError> {
        let reused = self.session.is_some();
        match self.in_sent_once(message_id).await {
            Err(e) if reused => {
                warn!(stage = "sent-folder", error = %e, "the Sent folder's connection had gone stale; logging in again");
                self.in_sent_once(message_id).await
            }
            r => r,
        }
    }

    async fn in_sent_once(&mut self, message_id: &str) -> Result<bool, IntakeError> {
        let t = self.timeout;
        let result = async {
            let (s, sent) = self.session().await?;
            let id = message_id.replace(['"', '\\'], "");
            timed(t, "EXAMINE Sent", s.examine(&sent)).await?;
            let found = timed(t, "UID SEARCH HEADER", s.uid_search(format!("HEADER Message-ID \"{id}\""))).await?;
            drain_unsolicited(s);
            Ok(!found.is_empty())
        }
        .await;
        if result.is_err() {
            self.session = None;
        }
        result
    }

    /// Appends a sent reply (flagged `\Seen`). Not retried here: a lost answer may hide a
    /// completed APPEND, so the caller looks again ([`Self::in_sent`]) before a new try.
    pub async fn append(&mut self, raw: &[u8]) -> Result<(), IntakeError> {
        let t = self.timeout;
        let result = async {
            let (s, sent) = self.session().await?;
            timed(t, "APPEND", s.append(&sent, Some("(\\Seen)"), None, raw)).await?;
            drain_unsolicited(s);
            Ok(())
        }
        .await;
        if result.is_err() {
            self.session = None;
        }
        result
    }
}
