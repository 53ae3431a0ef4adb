//! Where mail comes from: an IMAP mailbox (the real thing) or a Maildir (the embedded
//! default, Dovecot-compatible), behind one interface the daemon drives.

pub mod folders;
pub mod imap;
pub mod maildir;
/// Folder names in modified UTF-7; lives in `text` so `config` can decode names too.
pub use crate::text::mutf7;
pub mod probe;
pub mod proof;
pub mod sent;

use std::time::Duration;

use crate::config::{DaemonConfig, SourceConfig};
use crate::store::Fetched;

/// Why talking to the mailbox failed.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// Network, protocol or server trouble: reconnect with backoff.
    #[error("mailbox connection problem: {0}")]
    Io(String),
    /// The connection is gone: the server did not answer in time, or closed it. The caller
    /// must reconnect before anything else (a half-done command cannot be retried on it).
    #[error("mailbox connection lost: {0}")]
    Lost(String),
    /// Credentials refused: reconnect too, but the operator must act.
    #[error("{0}")]
    Auth(String),
    /// Configuration that cannot work (bad CA file, bad host name).
    #[error("mailbox setup problem: {0}")]
    Setup(String),
}

/// The selected folder's identity (the store's typed mailbox id).
pub use crate::store::Mailbox as MailboxInfo;

/// Why a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOutcome {
    NewMail,
    Timeout,
}

/// A mail source.
pub enum Source {
    Imap(Box<imap::ImapSource>),
    Maildir(maildir::MaildirSource),
}

impl Source {
    pub fn new(cfg: &SourceConfig, daemon: &DaemonConfig) -> Source {
        match cfg {
            SourceConfig::Imap(c) => Source::Imap(Box::new(imap::ImapSource::new(c.clone(), daemon.io_timeout))),
            SourceConfig::Maildir { path, .. } => Source::Maildir(maildir::MaildirSource::new(path.clone())),
        }
    }

    pub async fn connect(&mut self) -> Result<MailboxInfo, IntakeError> {
        match self {
            Source::Imap(s) => s.connect().await,
            Source::Maildir(s) => s.connect(),
        }
    }

    /// The live session's folder, or a new session (one login per connection, not per poll).
    pub async fn ensure_connected(&mut self) -> Result<MailboxInfo, IntakeError> {
        match self {
            Source::Imap(s) => s.ensure_connected().await,
            Source::Maildir(s) => s.connect(),
        }
    }

    /// Drops a failed session without a goodbye.
    pub fn disconnect(&mut self) {
        if let Source::Imap(s) = self {
            s.disconnect();
        }
    }

    /// Flags proof copies of our replies `\Seen` with [`proof::PROOF_KEYWORD`].
    pub async fn flag_proof(&mut self, uids: &[u32]) -> Result<(), IntakeError> {
        match self {
            Source::Imap(s) => s.flag_proof(uids, proof::PROOF_KEYWORD).await,
            Source::Maildir(_) => Ok(()),
        }
    }

    pub async fn uids_after(&mut self, last: u32) -> Result<Vec<u32>, IntakeError> {
        match self {
            Source::Imap(s) => s.uids_after(last).await,
            Source::Maildir(s) => s.uids_after(last),
        }
    }

    pub async fn fetch(&mut self, uids: &[u32]) -> Result<Vec<Fetched>, IntakeError> {
        match self {
            Source::Imap(s) => s.fetch(uids).await,
            Source::Maildir(s) => s.fetch(uids),
        }
    }

    pub async fn mark(&mut self, uids: &[u32], keywords: &[String]) -> Result<(), IntakeError> {
        match self {
            Source::Imap(s) => s.mark(uids, keywords).await,
            Source::Maildir(_) => Ok(()),
        }
    }

    pub async fn wait(&mut self, max: Duration, renew: Duration) -> Result<WaitOutcome, IntakeError> {
        match self {
            Source::Imap(s) => s.wait(max, renew).await,
            Source::Maildir(_) => {
                tokio::time::sleep(max).await;
                Ok(WaitOutcome::Timeout)
            }
        }
    }

    pub async fn logout(&mut self) {
        if let Source::Imap(s) = self {
            s.logout().await;
        }
    }
}
