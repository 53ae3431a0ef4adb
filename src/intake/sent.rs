//! The office's Sent folder (IMAP or Maildir): where interrupted sends are looked for and
//! our copies of replies are appended. Used by the outbox and the digest.

use crate::config::{Config, SourceConfig};
use crate::intake::imap::{Found, SentFolder};
use crate::intake::{IntakeError, maildir};

/// The office's Sent folder: looked in for interrupted sends; appended to when configured.
pub enum SentStore {
    Imap { folder: Box<SentFolder>, append: bool },
    Maildir { path: std::path::PathBuf, folder: String },
}

pub fn sent_folder(cfg: &Config) -> SentStore {
    match &cfg.source {
        SourceConfig::Imap(c) => SentStore::Imap {
            folder: Box::new(SentFolder::new(c.clone(), cfg.daemon.io_timeout)),
            append: c.append_sent,
        },
        SourceConfig::Maildir { path, sent_folder } => {
            SentStore::Maildir { path: path.clone(), folder: sent_folder.clone() }
        }
    }
}

impl SentStore {
    pub async fn contains(&mut self, message_id: &str) -> Result<bool, IntakeError> {
        Ok(self.find(message_id).await? != Found::Nowhere)
    }

    /// Where a sent message is: in Sent, only as a proof copy in the office's mailbox, or
    /// nowhere (it was never accepted).
    pub async fn find(&mut self, message_id: &str) -> Result<Found, IntakeError> {
        match self {
            SentStore::Imap { folder, .. } => folder.find(message_id).await,
            SentStore::Maildir { path, folder } => {
                Ok(if maildir::sent_contains(path, folder, message_id) { Found::Sent } else { Found::Nowhere })
            }
        }
    }

    /// Whether a sent reply needs a copy from us (the provider files none of its own).
    pub fn needs_copy(&self) -> bool {
        !matches!(self, SentStore::Imap { append: false, .. })
    }

    /// Appends our copy (unless the provider files its own at acceptance).
    pub async fn append(&mut self, message_id: &str, raw: &[u8]) -> Result<(), IntakeError> {
        match self {
            SentStore::Imap { append: false, .. } => Ok(()),
            SentStore::Imap { folder, .. } => {
                if folder.in_sent(message_id).await? {
                    return Ok(());
                }
                folder.append(raw).await
            }
            SentStore::Maildir { path, folder } => maildir::append_sent(path, folder, message_id, raw)
                .map_err(|e| IntakeError::Io(format!("cannot write the Sent copy: {e}"))),
        }
    }
}
