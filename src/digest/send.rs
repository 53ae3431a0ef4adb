//! Sending the digest once per day: a claim in `state` before the server gets it, marked
//! sent right after; a claim left by a crash is resolved through the Sent folder (see the
//! module documentation of [`super`]).

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::compute::parse_utc;
use super::*;
use crate::config::Config;
use crate::intake::sent::SentStore;
use crate::reply::transport::{SendError, Transport};
use crate::rules::Rules;
use crate::store;
use crate::store::{Store, StoreError};

/// The digest of `date` as computed at `now`, as a ready-to-send email.
pub fn email_for(
    conn: &Connection,
    rules: &Rules,
    date: NaiveDate,
    now: DateTime<Utc>,
    from: &str,
    to: &[String],
) -> Result<Vec<u8>, DigestError> {
    let d = Digest::compute(conn, rules, date, now)?;
    let xlsx = crate::export::register_xlsx(conn, rules)?;
    Ok(build_email(&d, rules, from, to, xlsx)?.1)
}

/// Where the digest of a date is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum DigestState {
    /// Claimed: the server may or may not have it.
    Sending,
    /// Accepted by the server.
    Sent,
    /// A temporary failure: tried again.
    Retry,
    /// Refused permanently.
    Failed,
}

/// What the `state` row of a date's digest says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SendState {
    /// `sending` (claimed; the server may or may not have it), `sent`, `retry` (a temporary
    /// failure) or `failed` (refused permanently).
    state: DigestState,
    cutoff: String,
    at: String,
    message_id: String,
    #[serde(default)]
    detail: Option<String>,
}

/// The result of trying to claim a date's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Ours to send, with this cut-off.
    Go { cutoff: DateTime<Utc> },
    /// Already sent (at this moment).
    Sent { at: String },
    /// Another sender claimed it moments ago.
    Busy,
    /// Claimed long ago and never marked: a crash. The raw row, to take over.
    Interrupted { row: String, cutoff: String },
    /// Refused permanently earlier today (the daemon does not retry; `--send` does).
    Failed { error: String },
}

/// Claims the digest of `date` in one immediate transaction: only one process, and only
/// once per day, gets [`Claim::Go`].
pub fn claim(
    conn: &mut Connection,
    date: NaiveDate,
    message_id: &str,
    now: DateTime<Utc>,
    grace: Duration,
    retry_failed: bool,
) -> Result<Claim, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let key = sent_key(date);
    let row = store::state::get(&tx, &key)?;
    let old: Option<SendState> = row.as_deref().and_then(|r| serde_json::from_str(r).ok());
    let outcome = match (&row, &old) {
        (_, Some(s)) if s.state == DigestState::Sent => Claim::Sent { at: s.at.clone() },
        (_, Some(s)) if s.state == DigestState::Failed && !retry_failed => {
            Claim::Failed { error: s.detail.clone().unwrap_or_default() }
        }
        (Some(r), Some(s)) if s.state == DigestState::Sending => {
            let started = parse_utc(&s.at).unwrap_or(now);
            if now - started < chrono::Duration::from_std(grace).unwrap_or_default() {
                Claim::Busy
            } else {
                Claim::Interrupted { row: r.clone(), cutoff: s.cutoff.clone() }
            }
        }
        _ => Claim::Go { cutoff: now },
    };
    if let Claim::Go { cutoff } = &outcome {
        let s = SendState {
            state: DigestState::Sending,
            cutoff: cutoff.to_rfc3339(),
            at: now.to_rfc3339(),
            message_id: message_id.into(),
            detail: None,
        };
        store::state::set(&tx, &key, &serde_json::to_string(&s)?)?;
    }
    tx.commit()?;
    Ok(outcome)
}

/// Takes over an interrupted claim (only if nobody changed it meanwhile).
fn take_over(
    conn: &Connection,
    date: NaiveDate,
    row: &str,
    message_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let s = SendState {
        state: DigestState::Sending,
        cutoff: now.to_rfc3339(),
        at: now.to_rfc3339(),
        message_id: message_id.into(),
        detail: None,
    };
    store::state::replace_if(conn, &sent_key(date), row, &serde_json::to_string(&s)?)
}

/// Records that the digest of `date` went out, and its cut-off as the start of the next
/// digest's arrivals — in one transaction.
pub fn mark_sent(
    conn: &mut Connection,
    date: NaiveDate,
    cutoff: &str,
    message_id: &str,
    detail: &str,
) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let s = SendState {
        state: DigestState::Sent,
        cutoff: cutoff.into(),
        at: Utc::now().to_rfc3339(),
        message_id: message_id.into(),
        detail: Some(detail.into()),
    };
    store::state::set(&tx, &sent_key(date), &serde_json::to_string(&s)?)?;
    store::state::set(&tx, LAST_SENT_KEY, cutoff)?;
    tx.commit()?;
    Ok(())
}

pub(super) fn mark_unsent(
    conn: &Connection,
    date: NaiveDate,
    state: DigestState,
    message_id: &str,
    error: &str,
) -> Result<(), StoreError> {
    let s = SendState {
        state,
        cutoff: String::new(),
        at: Utc::now().to_rfc3339(),
        message_id: message_id.into(),
        detail: Some(error.into()),
    };
    store::state::set(conn, &sent_key(date), &serde_json::to_string(&s)?)
}

/// What [`send_once`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Handed to the server (or written) now.
    Sent { message_id: String, response: String },
    /// Already sent for this date (at this moment); nothing sent.
    AlreadySent { at: String },
    /// Another process is sending it right now.
    InProgress,
    /// Refused permanently earlier; not retried.
    Failed { error: String },
}

/// Sends the digest of `date` unless it was sent already: claim → compute → send → mark
/// sent (→ copy to Sent). A claim interrupted by a crash is resolved through the Sent folder.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn send_once(
    store: &Store,
    cfg: &Config,
    rules: &Rules,
    date: NaiveDate,
    transport: &Transport,
    sent: &mut SentStore,
    retry_failed: bool,
) -> Result<Outcome, DigestError> {
    if cfg.digest.to.is_empty() {
        return Err(DigestError::NoRecipients);
    }
    let from = cfg.transport.from().to_string();
    let id = message_id(date, &from);
    let grace = cfg.reply.sent_check_delay;
    let now = Utc::now();
    let id2 = id.clone();
    let claimed = store.call(move |c| claim(c, date, &id2, now, grace, retry_failed)).await?;
    let cutoff = match claimed {
        Claim::Go { cutoff } => cutoff,
        Claim::Sent { at } => return Ok(Outcome::AlreadySent { at }),
        Claim::Busy => return Ok(Outcome::InProgress),
        Claim::Failed { error } => return Ok(Outcome::Failed { error }),
        Claim::Interrupted { row, cutoff } => {
            if sent.contains(&id).await? {
                info!(stage = "digest", %date, message_id = %id, "interrupted digest found in the Sent folder: it was sent");
                let id2 = id.clone();
                store.call(move |c| mark_sent(c, date, &cutoff, &id2, "found in Sent after restart")).await?;
                return Ok(Outcome::AlreadySent { at: "(found in the Sent folder)".into() });
            }
            info!(stage = "digest", %date, "interrupted digest not in the Sent folder: sending it again");
            let id2 = id.clone();
            if !store.call(move |c| take_over(c, date, &row, &id2, now)).await? {
                return Ok(Outcome::InProgress);
            }
            now
        }
    };

    let built = {
        let (rules, to, from) = (rules.clone(), cfg.digest.to.clone(), from.clone());
        store
            .call(move |c| Ok(email_for(c, &rules, date, cutoff, &from, &to)))
            .await
            .map_err(DigestError::from)
            .and_then(|r| r)
    };
    let raw = match built {
        Ok(raw) => raw,
        Err(e) => {
            let (msg, id2) = (e.to_string(), id.clone());
            store.call(move |c| mark_unsent(c, date, DigestState::Retry, &id2, &msg)).await?;
            return Err(e);
        }
    };
    match transport.send_all(&from, &cfg.digest.to, &id, &raw).await {
        Ok(response) => {
            let (c2, id2, r2) = (cutoff.to_rfc3339(), id.clone(), response.clone());
            store.call(move |c| mark_sent(c, date, &c2, &id2, &r2)).await?;
            info!(stage = "digest", %date, message_id = %id, to = ?cfg.digest.to, "digest sent");
            if let Err(e) = sent.append(&id, &raw).await {
                warn!(stage = "digest", %date, error = %e, "cannot copy the digest into the Sent folder");
            }
            Ok(Outcome::Sent { message_id: id, response })
        }
        Err(e) => {
            let state = if matches!(e, SendError::Permanent(_)) { DigestState::Failed } else { DigestState::Retry };
            let (msg, id2) = (e.to_string(), id.clone());
            store.call(move |c| mark_unsent(c, date, state, &id2, &msg)).await?;
            Err(DigestError::Send(e))
        }
    }
}

/// `mail-intake digest --send`: sends the digest of `date` now unless it was sent already
/// (a permanent failure earlier that day is retried).
pub async fn send_by_hand(cfg: &Config, rules: &Rules, date: NaiveDate) -> Result<Outcome, DigestError> {
    let store = Store::open(&cfg.store_path)?;
    let transport = Transport::build(&cfg.transport)?;
    let mut sent = crate::intake::sent::sent_folder(cfg);
    send_once(&store, cfg, rules, date, &transport, &mut sent, true).await
}
