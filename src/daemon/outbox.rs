//! The outbox task: sends due replies exactly once (`pending` → `sending` → `sent`), settles
//! sends a crash interrupted by looking for them in Sent (or as proof copies), appends Sent
//! copies, retries 4xx and flags 5xx.
//!
//! An [`Outbox`] carries only what sending needs (the store, the reply policy, the transport,
//! the Sent folder and its wake-up), not the daemon's whole context.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};
use tracing::{error, info, warn};

use super::{DaemonError, failpoint};
use crate::config::{Config, ReplyConfig};
use crate::intake::imap::Found;
use crate::intake::sent::{SentStore, sent_folder};
use crate::reply::transport::{SendError, Transport};
use crate::store;
use crate::store::{Reply, Store, StoreError};

/// Why an interrupted send is tried again: no copy of it was found (`last_error`).
pub(super) const NOT_ACCEPTED: &str = "interrupted before the server accepted it";

/// The outbox: everything sending a reply needs, and nothing else.
pub(super) struct Outbox {
    store: Store,
    policy: ReplyConfig,
    /// The envelope sender (the office's From address).
    from: String,
    /// The office's own address as a second envelope recipient, when proof copies are on
    /// (the server files the proof of acceptance in the mailbox as it accepts; `intake::proof`).
    proof_to: Option<String>,
    transport: Transport,
    sent: SentStore,
    wake: Arc<Notify>,
}

impl Outbox {
    pub(super) fn new(cfg: &Config, store: Store, transport: Transport, wake: Arc<Notify>) -> Outbox {
        Outbox {
            store,
            policy: cfg.reply.clone(),
            from: cfg.transport.from().to_string(),
            proof_to: super::intake::proof_copies_on(cfg).then(|| super::intake::proof_address(cfg)),
            transport,
            sent: sent_folder(cfg),
            wake,
        }
    }

    /// Rows left in `sending` by a crash, once `sent_check_delay` has passed since the send
    /// began: if the Sent folder has the reply, it went out; otherwise the SMTP exchange did not
    /// complete, and the row is sent again.
    pub(super) async fn resolve_ambiguous(&mut self) -> Result<(), DaemonError> {
        let before = Utc::now() - chrono::Duration::from_std(self.policy.sent_check_delay).unwrap_or_default();
        let rows = self.store.call(move |c| store::replies::ambiguous_replies(c, &before)).await?;
        for r in rows {
            let found = match self.sent.find(&r.reply_message_id).await {
                Ok(found) => found,
                Err(e) => {
                    warn!(reply = r.id, error = %e, "cannot look in the Sent folder; the reply stays unresolved for now");
                    continue;
                }
            };
            let id = r.id;
            if found == Found::Sent {
                info!(stage = "send", reply = id, "interrupted reply found in the Sent folder: it was sent");
                self.store
                    .call(move |c| {
                        store::replies::sent(c, id, "found in Sent after restart")
                            .and_then(|_| store::replies::appended(c, id))
                    })
                    .await?;
            } else if found == Found::Proof {
                // Accepted (the server filed the proof copy); the Sent copy is still ours to make.
                info!(stage = "send", reply = id, "interrupted reply's proof copy found in the mailbox: it was sent");
                self.store.call(move |c| store::replies::sent(c, id, "proof copy found after restart")).await?;
            } else {
                info!(stage = "send", reply = id, "interrupted reply not in the Sent folder: sending it again");
                let now = Utc::now();
                self.store.call(move |c| store::replies::retry_later(c, id, NOT_ACCEPTED, &now)).await?;
            }
        }
        Ok(())
    }

    /// Sends every due reply; returns how many were sent. With `until_empty`, keeps going
    /// while transient failures are due again immediately (never sleeps).
    pub(super) async fn drain(&mut self, until_empty: bool) -> Result<u64, DaemonError> {
        let mut count = 0;
        // Copies of sent replies that never reached the Sent folder (crash after acceptance).
        let unappended = self.store.call(|c| store::replies::unappended_replies(c)).await?;
        for r in unappended {
            self.append_copy(&r).await?;
        }
        loop {
            let now = Utc::now();
            let due = self.store.call(move |c| store::replies::due_replies(c, &now, 20)).await?;
            if due.is_empty() {
                return Ok(count);
            }
            if let Some(dir) = self.transport.dir().filter(|_| !self.sent.needs_copy()) {
                count += self.write_page(dir, due).await?;
            } else {
                let mut accepted = None;
                for r in due {
                    if self.send_one(&r, &mut accepted).await? {
                        count += 1;
                    }
                }
                if let Some((id, response)) = accepted {
                    self.store.call(move |c| store::replies::sent_complete(c, id, &response)).await?;
                }
            }
            if !until_empty {
                return Ok(count);
            }
        }
    }

    /// Replies written as files (`[outbox_dir]`) when no Sent copy is ours to make: a page at a
    /// time, claimed in one transaction, written on all cores, recorded in one transaction.
    /// A crash in between leaves the page `sending`; writing such a reply again replaces the
    /// same file (its name comes from the reply's Message-ID), so nothing is doubled.
    async fn write_page(&self, dir: &std::path::Path, due: Vec<Reply>) -> Result<u64, DaemonError> {
        let ids: Vec<i64> = due.iter().map(|r| r.id).collect();
        self.store
            .call(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                for id in &ids {
                    store::replies::begin_send(&tx, *id)?;
                }
                tx.commit()?;
                Ok(())
            })
            .await?;
        failpoint("before_smtp");
        let dir = dir.to_path_buf();
        let (due, results) = tokio::task::spawn_blocking(move || {
            let replies: Vec<(&str, &[u8])> =
                due.iter().map(|r| (r.reply_message_id.as_str(), r.raw.as_slice())).collect();
            let results = crate::reply::transport::write_files(&dir, &replies);
            drop(replies);
            (due, results)
        })
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))?;
        failpoint("after_smtp_accept");
        let outcomes: Vec<(i64, SendOutcome)> =
            due.iter().zip(results).map(|(r, result)| (r.id, self.send_outcome(r, result))).collect();
        let written = outcomes.iter().filter(|(_, o)| matches!(o, SendOutcome::Sent(_))).count() as u64;
        self.store
            .call(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                for (id, outcome) in &outcomes {
                    outcome.record(&tx, *id)?;
                }
                tx.commit()?;
                Ok(())
            })
            .await?;
        Ok(written)
    }

    /// Logs and classifies what a send of `r` gave.
    fn send_outcome(&self, r: &Reply, result: Result<String, SendError>) -> SendOutcome {
        let attempts = r.attempts + 1;
        match result {
            Ok(response) => {
                info!(stage = "send", reply = r.id, message = r.message, to = %r.recipient, kind = %r.kind, "reply sent");
                SendOutcome::Sent(response)
            }
            Err(SendError::Permanent(e)) => {
                error!(stage = "send", reply = r.id, to = %r.recipient, error = %e, "reply refused permanently; flagged for the office");
                SendOutcome::Failed(e)
            }
            Err(SendError::Transient(e)) if attempts >= self.policy.max_attempts => {
                error!(stage = "send", reply = r.id, attempts, error = %e, "reply failed too often; flagged for the office");
                SendOutcome::Failed(e)
            }
            Err(SendError::Transient(e)) => {
                let at = self.retry_at(attempts);
                warn!(stage = "send", reply = r.id, attempts, retry_at = %at, error = %e, "reply not sent; will retry");
                SendOutcome::Retry(e, at)
            }
        }
    }

    /// When a reply that failed `attempts` times is tried again: `retry_backoff` doubled per
    /// attempt, at most an hour.
    fn retry_at(&self, attempts: u32) -> DateTime<Utc> {
        let delay = self.policy.retry_backoff * 2u32.saturating_pow(attempts.saturating_sub(1)).min(120);
        let delay = delay.min(Duration::from_secs(3600));
        Utc::now() + chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::hours(1))
    }

    async fn append_copy(&mut self, r: &Reply) -> Result<(), DaemonError> {
        failpoint("before_sent_append");
        match self.sent.append(&r.reply_message_id, &r.raw).await {
            Ok(()) => {
                let id = r.id;
                self.store.call(move |c| store::replies::appended(c, id)).await?;
                info!(stage = "sent-folder", reply = id, "copy appended to the Sent folder");
            }
            Err(e) => warn!(reply = r.id, error = %e, "cannot append the reply to the Sent folder; will retry"),
        }
        Ok(())
    }

    /// One reply: `sending` → SMTP → `sent` (→ Sent folder), or back to `pending` / `failed`.
    ///
    /// `accepted` carries a reply the server accepted whose `sent` is still to be written (when
    /// the provider files the Sent copy, nothing else follows it): it is written in the same
    /// transaction as this reply's `sending`, one write per reply instead of two. Until then it
    /// reads `sending`, as after a crash between the server's answer and our write: such a row
    /// is looked up in the Sent folder.
    async fn send_one(&mut self, r: &Reply, accepted: &mut Option<(i64, String)>) -> Result<bool, DaemonError> {
        let id = r.id;
        let previous = accepted.take();
        self.store
            .call(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                if let Some((previous, response)) = &previous {
                    store::replies::sent_complete(&tx, *previous, response)?;
                }
                store::replies::begin_send(&tx, id)?;
                tx.commit()?;
                Ok(())
            })
            .await?;
        failpoint("before_smtp");
        let result = match &self.proof_to {
            Some(office) => {
                let to = [r.recipient.clone(), office.clone()];
                self.transport.send_all(&self.from, &to, &r.reply_message_id, &r.raw).await
            }
            None => self.transport.send(&self.from, &r.recipient, &r.reply_message_id, &r.raw).await,
        };
        if result.is_ok() {
            failpoint("after_smtp_accept");
        }
        match self.send_outcome(r, result) {
            SendOutcome::Sent(response) if self.sent.needs_copy() => {
                self.store.call(move |c| store::replies::sent(c, id, &response)).await?;
                self.append_copy(r).await?;
                Ok(true)
            }
            SendOutcome::Sent(response) => {
                // The provider files its own copy: `sent` is written with the next claim.
                *accepted = Some((id, response));
                Ok(true)
            }
            not_sent => {
                self.store.call(move |c| not_sent.record(c, id)).await?;
                Ok(false)
            }
        }
    }

    pub(super) async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> Result<u64, DaemonError> {
        let mut total = 0;
        loop {
            if *shutdown.borrow() {
                return Ok(total);
            }
            self.resolve_ambiguous().await?;
            total += self.drain(false).await?;
            let next = self.store.call(|c| store::replies::next_due(c)).await?;
            if next.is_some_and(|t| t <= Utc::now()) {
                // More replies are due already (a page was sent): go on without waiting.
                continue;
            }
            let oldest_sending = self.store.call(|c| store::replies::oldest_sending(c)).await?;
            let check_at = oldest_sending
                .map(|t| t + chrono::Duration::from_std(self.policy.sent_check_delay).unwrap_or_default());
            let next = match (next, check_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let wait = next
                .map(|t| (t - Utc::now()).to_std().unwrap_or(Duration::ZERO))
                .unwrap_or(Duration::from_secs(60))
                .min(Duration::from_secs(60))
                .max(Duration::from_millis(50));
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return Ok(total),
            }
        }
    }
}

/// What became of one send.
enum SendOutcome {
    /// Accepted (or written), with the server's answer.
    Sent(String),
    /// A temporary failure: tried again at that moment.
    Retry(String, DateTime<Utc>),
    /// Refused for good, or failed too often: flagged for the office.
    Failed(String),
}

impl SendOutcome {
    /// Records it, for a reply whose Sent copy (if any) is the provider's business.
    fn record(&self, conn: &rusqlite::Connection, id: i64) -> Result<(), StoreError> {
        match self {
            SendOutcome::Sent(response) => store::replies::sent_complete(conn, id, response),
            SendOutcome::Retry(error, at) => store::replies::retry_later(conn, id, error, at),
            SendOutcome::Failed(error) => store::replies::failed(conn, id, error),
        }
    }
}
