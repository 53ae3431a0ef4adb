//! Replies: the outbox's rows (one per mail that deserves a reply, written with its verdict)
//! and their life — `pending` → `sending` → `sent` (or `failed`, `suppressed`, `bounced`) —
//! and what the admin commands read and change of them.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{ReplyState, Result, now};

/// A reply to insert along with a verdict.
#[derive(Debug, Clone)]
pub struct NewReply {
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub reply_message_id: String,
    pub raw: Vec<u8>,
    /// `pending`, or `suppressed` with a reason.
    pub state: ReplyState,
    pub reason: Option<String>,
}

/// A reply row.
#[derive(Debug, Clone)]
pub struct Reply {
    pub id: i64,
    pub message: i64,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub reply_message_id: String,
    pub raw: Vec<u8>,
    pub state: ReplyState,
    pub reason: Option<String>,
    pub attempts: u32,
    pub appended: bool,
}

/// Replies sent or queued to a recipient since a moment (for the per-sender daily cap).
pub fn replies_to_since(conn: &Connection, recipient: &str, since: &DateTime<Utc>) -> Result<u32> {
    Ok(conn.query_row(
        "SELECT count(*) FROM replies WHERE recipient = ?1 AND state NOT IN ('suppressed') AND created_at >= ?2",
        params![recipient, since.to_rfc3339()],
        |r| r.get(0),
    )?)
}

/// Whether a message already has a reply row.
pub fn has_reply(conn: &Connection, message: i64) -> Result<bool> {
    Ok(conn.query_row("SELECT count(*) FROM replies WHERE message = ?1", [message], |r| r.get::<_, i64>(0))? > 0)
}

fn reply_rows(conn: &Connection, where_sql: &str, p: impl rusqlite::Params) -> Result<Vec<Reply>> {
    reply_rows_limited(conn, where_sql, "", p)
}

fn reply_rows_limited(conn: &Connection, where_sql: &str, limit: &str, p: impl rusqlite::Params) -> Result<Vec<Reply>> {
    let sql = format!(
        "SELECT id, message, kind, recipient, subject, reply_message_id, raw, state, reason, attempts, appended
         FROM replies WHERE {where_sql} ORDER BY id {limit}"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(p, |r| {
        Ok(Reply {
            id: r.get(0)?,
            message: r.get(1)?,
            kind: r.get(2)?,
            recipient: r.get(3)?,
            subject: r.get(4)?,
            reply_message_id: r.get(5)?,
            raw: r.get(6)?,
            state: r.get(7)?,
            reason: r.get(8)?,
            attempts: r.get(9)?,
            appended: r.get::<_, i64>(10)? != 0,
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Pending replies whose next attempt is due.
pub fn due_replies(conn: &Connection, at: &DateTime<Utc>, limit: usize) -> Result<Vec<Reply>> {
    reply_rows_limited(
        conn,
        "state = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)",
        "LIMIT ?2",
        params![at.to_rfc3339(), limit as i64],
    )
}

/// When the next pending reply is due.
pub fn next_due(conn: &Connection) -> Result<Option<DateTime<Utc>>> {
    let s: Option<String> =
        conn.query_row("SELECT min(next_attempt_at) FROM replies WHERE state = 'pending'", [], |r| r.get(0))?;
    Ok(s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok()).map(|d| d.with_timezone(&Utc)))
}

/// Replies left in `sending` (by a crash) since before `before`: sent or not, nobody
/// knows yet.
pub fn ambiguous_replies(conn: &Connection, before: &DateTime<Utc>) -> Result<Vec<Reply>> {
    reply_rows(conn, "state = 'sending' AND (sending_at IS NULL OR sending_at < ?1)", [before.to_rfc3339()])
}

/// The oldest `sending_at` of rows still in `sending`.
pub fn oldest_sending(conn: &Connection) -> Result<Option<DateTime<Utc>>> {
    let s: Option<String> =
        conn.query_row("SELECT min(sending_at) FROM replies WHERE state = 'sending'", [], |r| r.get(0))?;
    Ok(s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok()).map(|d| d.with_timezone(&Utc)))
}

/// Sent replies not yet copied into the Sent folder.
pub fn unappended_replies(conn: &Connection) -> Result<Vec<Reply>> {
    reply_rows(conn, "state IN ('sent', 'bounced') AND appended = 0", [])
}

/// All replies of one message.
pub fn replies_of(conn: &Connection, message: i64) -> Result<Vec<Reply>> {
    reply_rows(conn, "message = ?1", [message])
}

/// The reply (id, state, last error) whose Message-ID this is.
pub fn reply_by_message_id(conn: &Connection, message_id: &str) -> Result<Option<(i64, ReplyState, Option<String>)>> {
    Ok(conn
        .query_row("SELECT id, state, last_error FROM replies WHERE reply_message_id = ?1", [message_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?)
}

/// Commits the intent to send (before the SMTP exchange).
pub fn begin_send(conn: &Connection, id: i64) -> Result<()> {
    conn.execute(
        "UPDATE replies SET state = 'sending', attempts = attempts + 1, sending_at = ?2 WHERE id = ?1",
        params![id, now()],
    )?;
    Ok(())
}

pub fn sent(conn: &Connection, id: i64, response: &str) -> Result<()> {
    conn.execute(
        "UPDATE replies SET state = 'sent', sent_at = ?2, last_error = NULL, reason = ?3 WHERE id = ?1",
        params![id, now(), response],
    )?;
    Ok(())
}

/// [`sent`] and [`appended`] at once, for a reply whose Sent copy is the
/// provider's business.
pub fn sent_complete(conn: &Connection, id: i64, response: &str) -> Result<()> {
    conn.execute(
        "UPDATE replies SET state = 'sent', sent_at = ?2, last_error = NULL, reason = ?3, appended = 1 WHERE id = ?1",
        params![id, now(), response],
    )?;
    Ok(())
}

pub fn retry_later(conn: &Connection, id: i64, error: &str, at: &DateTime<Utc>) -> Result<()> {
    conn.execute(
        "UPDATE replies SET state = 'pending', last_error = ?2, next_attempt_at = ?3 WHERE id = ?1",
        params![id, error, at.to_rfc3339()],
    )?;
    Ok(())
}

pub fn failed(conn: &Connection, id: i64, error: &str) -> Result<()> {
    conn.execute("UPDATE replies SET state = 'failed', last_error = ?2 WHERE id = ?1", params![id, error])?;
    Ok(())
}

pub fn appended(conn: &Connection, id: i64) -> Result<()> {
    conn.execute("UPDATE replies SET appended = 1 WHERE id = ?1", [id])?;
    Ok(())
}

/// A reply the recipient's server sent back (state `bounced`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct BouncedReply {
    pub reply: i64,
    pub message: i64,
    pub recipient: String,
    pub subject: String,
    pub school: Option<String>,
    pub sent_at: Option<String>,
    pub reason: Option<String>,
}

/// Every reply marked `bounced`, oldest first.
pub fn bounced_replies(conn: &Connection) -> Result<Vec<BouncedReply>> {
    let mut st = conn.prepare(
        "SELECT r.id, r.message, r.recipient, r.subject, v.school, r.sent_at, r.reason
         FROM replies r LEFT JOIN verdicts v ON v.message = r.message
         WHERE r.state = 'bounced' ORDER BY r.id",
    )?;
    let rows = st.query_map([], |r| {
        Ok(BouncedReply {
            reply: r.get(0)?,
            message: r.get(1)?,
            recipient: r.get(2)?,
            subject: r.get(3)?,
            school: r.get(4)?,
            sent_at: r.get(5)?,
            reason: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// A reply row with everything the office wants to see about it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReplyDetail {
    pub id: i64,
    pub message: i64,
    /// `acknowledge` or `request_correction`.
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub reply_message_id: String,
    /// `pending`, `sending`, `sent`, `failed`, `suppressed` or `bounced`.
    pub state: ReplyState,
    /// Why it is suppressed, or what the server answered.
    pub reason: Option<String>,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: String,
    pub next_attempt_at: Option<String>,
    pub sent_at: Option<String>,
    /// Copied into the Sent folder.
    pub appended: bool,
}

/// Every reply of a message, oldest first.
pub fn reply_details(conn: &Connection, message: i64) -> Result<Vec<ReplyDetail>> {
    let mut st = conn.prepare(
        "SELECT id, message, kind, recipient, subject, reply_message_id, state, reason, attempts, last_error,
                created_at, next_attempt_at, sent_at, appended
         FROM replies WHERE message = ?1 ORDER BY id",
    )?;
    let rows = st.query_map([message], |r| {
        Ok(ReplyDetail {
            id: r.get(0)?,
            message: r.get(1)?,
            kind: r.get(2)?,
            recipient: r.get(3)?,
            subject: r.get(4)?,
            reply_message_id: r.get(5)?,
            state: r.get(6)?,
            reason: r.get(7)?,
            attempts: r.get(8)?,
            last_error: r.get(9)?,
            created_at: r.get(10)?,
            next_attempt_at: r.get(11)?,
            sent_at: r.get(12)?,
            appended: r.get::<_, i64>(13)? != 0,
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Puts a reply back into the outbox: `pending`, attempts reset, due now. A reply being sent
/// right now (`sending`) is left alone; returns whether the row changed.
pub fn requeue_reply(conn: &Connection, reply: i64, reason: &str) -> Result<bool> {
    let n = conn.execute(
        "UPDATE replies SET state = 'pending', attempts = 0, next_attempt_at = ?2, last_error = NULL, reason = ?3,
                sending_at = NULL
         WHERE id = ?1 AND state != 'sending'",
        params![reply, Utc::now().to_rfc3339(), reason],
    )?;
    Ok(n > 0)
}

/// Suppresses every `pending` reply of a message; returns the ids of the rows changed.
pub fn suppress_pending(conn: &mut Connection, message: i64, reason: &str) -> Result<Vec<i64>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let ids: Vec<i64> = {
        let mut st = tx.prepare("SELECT id FROM replies WHERE message = ?1 AND state = 'pending' ORDER BY id")?;
        st.query_map([message], |r| r.get(0))?.collect::<std::result::Result<_, _>>()?
    };
    for id in &ids {
        tx.execute("UPDATE replies SET state = 'suppressed', reason = ?2 WHERE id = ?1", params![id, reason])?;
    }
    tx.commit()?;
    Ok(ids)
}

/// Adds a reply to a message judged earlier (a reply asked for by hand). Returns the new row
/// id, or `None` when a reply with the same Message-ID already exists.
pub fn insert_reply(conn: &Connection, message: i64, r: &super::NewReply) -> Result<Option<i64>> {
    let now = Utc::now().to_rfc3339();
    let n = conn.execute(
        "INSERT OR IGNORE INTO replies (message, kind, recipient, subject, reply_message_id, raw, state, reason, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        params![message, r.kind, r.recipient, r.subject, r.reply_message_id, r.raw, r.state, r.reason, now],
    )?;
    Ok((n > 0).then(|| conn.last_insert_rowid()))
}

/// How many replies are in each state.
pub fn reply_counts(conn: &Connection) -> Result<Vec<(ReplyState, i64)>> {
    let mut st = conn.prepare("SELECT state, count(*) FROM replies GROUP BY state ORDER BY state")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// What the reply cap's reason starts with (`reply::plan`: "more than N automatic replies to
/// ADDR in 24 hours"), as a LIKE pattern.
const HELD_BY_CAP: &str = "more than % automatic replies to %";

/// The outbox's health, for `status` and the health check.
#[derive(Debug, Clone, Default)]
pub struct OutboxCounts {
    pub pending: i64,
    /// Pending and due since before the moment given.
    pub overdue: i64,
    /// In `sending` since before the moment given.
    pub stuck_sending: i64,
    pub failed: i64,
    /// Suppressed by the per-sender daily cap, not released.
    pub held_by_cap: i64,
    /// When the last reply was accepted.
    pub last_send: Option<String>,
}

/// Counts the outbox's rows by what they need; `before`: the moment after which a pending
/// reply is not overdue yet and a sending one not stuck.
pub fn outbox_counts(conn: &Connection, before: &DateTime<Utc>) -> Result<OutboxCounts> {
    Ok(conn.query_row(
        "SELECT coalesce(sum(state = 'pending'), 0),
                coalesce(sum(state = 'pending' AND next_attempt_at < ?1), 0),
                coalesce(sum(state = 'sending' AND sending_at < ?1), 0),
                coalesce(sum(state = 'failed'), 0),
                coalesce(sum(state = 'suppressed' AND reason LIKE ?2), 0),
                max(CASE WHEN state IN ('sent', 'bounced') THEN sent_at END)
         FROM replies",
        params![before.to_rfc3339(), HELD_BY_CAP],
        |r| {
            Ok(OutboxCounts {
                pending: r.get(0)?,
                overdue: r.get(1)?,
                stuck_sending: r.get(2)?,
                failed: r.get(3)?,
                held_by_cap: r.get(4)?,
                last_send: r.get(5)?,
            })
        },
    )?)
}

/// A reply the per-sender daily cap suppressed: (message, recipient, subject, created_at).
pub type HeldReply = (i64, String, String, Option<String>);

/// Every reply the per-sender daily cap suppressed that nobody released yet.
pub fn held_by_cap(conn: &Connection) -> Result<Vec<HeldReply>> {
    let mut st = conn.prepare(
        "SELECT message, recipient, subject, created_at FROM replies
         WHERE state = 'suppressed' AND reason LIKE ?1 ORDER BY id",
    )?;
    let rows = st.query_map([HELD_BY_CAP], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}
