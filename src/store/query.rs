//! Reading the register back: filtered message lists, one message in full, the current
//! (not superseded) submissions, and submission history.
//!
//! A submission is identified by its *key*: kind + school + expert (专家推荐) or category
//! (牵头院校) or nothing more (总结). A later submission with the same key supersedes the
//! earlier ones (`verdicts.superseded_by`); both stay in history.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Result, Store};
use crate::verdict::{Expert, Verdict};

/// One message as listed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MessageRow {
    pub id: i64,
    pub arrived: Option<String>,
    pub stored_at: String,
    pub sender: Option<String>,
    pub subject: String,
    /// `stored`, `judged` or `failed`.
    pub state: String,
    /// Why judging failed, when it did.
    pub error: Option<String>,
    pub decision: Option<String>,
    pub kind: Option<String>,
    pub school: Option<String>,
    pub expert_name: Option<String>,
    pub category: Option<String>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    pub superseded_by: Option<i64>,
    /// State of the latest reply, if any.
    pub reply_state: Option<String>,
    /// The submission (spec §8) the mail belongs to.
    pub dossier: Option<i64>,
}

/// Filters for [`list`]; every field narrows, `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub decision: Option<String>,
    pub kind: Option<String>,
    /// Canonical school name, or a part of it.
    pub school: Option<String>,
    /// Arrival on or after (RFC 3339 or YYYY-MM-DD, compared as text in the campaign zone).
    pub since: Option<String>,
    /// Arrival before.
    pub until: Option<String>,
    /// Verdicts carrying this error code.
    pub error: Option<String>,
    /// Only messages whose judging failed.
    pub failed: bool,
    /// Leave out submissions superseded by a later one.
    pub current_only: bool,
}

pub(crate) const SELECT: &str =
    "SELECT m.id, v.arrived, m.stored_at, v.sender, v.subject, m.state, m.error, v.decision, v.kind,
        v.school, v.expert_name, v.category, v.errors, v.warnings, v.superseded_by,
        (SELECT state FROM replies r WHERE r.message = m.id ORDER BY r.id DESC LIMIT 1), v.dossier
 FROM messages m LEFT JOIN verdicts v ON v.message = m.id";

pub(crate) fn row(r: &rusqlite::Row) -> rusqlite::Result<MessageRow> {
    let errors: Option<String> = r.get(12)?;
    let warnings: Option<String> = r.get(13)?;
    Ok(MessageRow {
        id: r.get(0)?,
        arrived: r.get(1)?,
        stored_at: r.get(2)?,
        sender: r.get(3)?,
        subject: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
        state: r.get(5)?,
        error: r.get(6)?,
        decision: r.get(7)?,
        kind: r.get(8)?,
        school: r.get(9)?,
        expert_name: r.get(10)?,
        category: r.get(11)?,
        errors: errors.and_then(|e| serde_json::from_str(&e).ok()).unwrap_or_default(),
        warnings: warnings.and_then(|e| serde_json::from_str(&e).ok()).unwrap_or_default(),
        superseded_by: r.get(14)?,
        reply_state: r.get(15)?,
        dossier: r.get(16)?,
    })
}

/// Messages matching a filter, oldest first.
pub fn list(conn: &Connection, f: &Filter) -> Result<Vec<MessageRow>> {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<String> = Vec::new();
    let mut arg = |clause: &str, value: String, clauses: &mut Vec<String>| {
        args.push(value);
        clauses.push(clause.replace('?', &format!("?{}", args.len())));
    };
    if let Some(d) = &f.decision {
        arg("v.decision = ?", d.clone(), &mut clauses);
    }
    if let Some(k) = &f.kind {
        arg("v.kind = ?", k.clone(), &mut clauses);
    }
    if let Some(s) = &f.school {
        arg("v.school LIKE ?", format!("%{s}%"), &mut clauses);
    }
    if let Some(s) = &f.since {
        arg("coalesce(v.arrived, m.stored_at) >= ?", s.clone(), &mut clauses);
    }
    if let Some(u) = &f.until {
        arg("coalesce(v.arrived, m.stored_at) < ?", u.clone(), &mut clauses);
    }
    if let Some(e) = &f.error {
        arg("v.errors LIKE ?", format!("%\"{e}\"%"), &mut clauses);
    }
    if f.failed {
        clauses.push("m.state = 'failed'".into());
    }
    if f.current_only {
        clauses.push("v.superseded_by IS NULL".into());
    }
    let sql = if clauses.is_empty() {
        format!("{SELECT} ORDER BY m.id")
    } else {
        format!("{SELECT} WHERE {} ORDER BY m.id", clauses.join(" AND "))
    };
    let mut st = conn.prepare(&sql)?;
    let rows = st.query_map(rusqlite::params_from_iter(args.iter()), row)?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// One message's row.
pub fn message(conn: &Connection, id: i64) -> Result<Option<MessageRow>> {
    Ok(conn.query_row(&format!("{SELECT} WHERE m.id = ?1"), [id], row).optional()?)
}

/// The stored verdict of a message (exactly what `check --json` prints).
pub fn verdict(conn: &Connection, id: i64) -> Result<Option<Verdict>> {
    let json: Option<String> =
        conn.query_row("SELECT json FROM verdicts WHERE message = ?1", [id], |r| r.get(0)).optional()?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
}

/// The raw bytes of a message.
pub fn raw(conn: &Connection, id: i64) -> Result<Option<Vec<u8>>> {
    Ok(conn.query_row("SELECT raw FROM raw_messages WHERE message = ?1", [id], |r| r.get(0)).optional()?)
}

/// Where a message was seen, with its IMAP metadata.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Seen {
    pub account: String,
    pub folder: String,
    pub uidvalidity: u32,
    pub uid: u32,
    pub flags: String,
    pub internal_date: Option<String>,
}

/// Every place a message was seen.
pub fn locations(conn: &Connection, id: i64) -> Result<Vec<Seen>> {
    let mut st = conn.prepare(
        "SELECT l.account, l.folder, l.uidvalidity, l.uid, coalesce(l.flags, ''), m.internal_date
         FROM locations l JOIN messages m ON m.id = l.message WHERE l.message = ?1",
    )?;
    let rows = st.query_map([id], |r| {
        Ok(Seen {
            account: r.get(0)?,
            folder: r.get(1)?,
            uidvalidity: r.get(2)?,
            uid: r.get(3)?,
            flags: r.get(4)?,
            internal_date: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Experts of current (not superseded) submissions of one kind: (message id, school, expert).
pub fn current_experts(conn: &Connection, kind: &str) -> Result<Vec<(i64, Option<String>, Expert)>> {
    let mut st = conn.prepare(
        "SELECT e.message, v.school, e.name, e.gender, e.birth, e.title, e.title_level, e.phone, e.email, e.employer, e.category
         FROM experts e JOIN verdicts v ON v.message = e.message
         WHERE v.superseded_by IS NULL AND v.kind = ?1 AND v.decision IN ('acknowledge', 'request_correction')
         ORDER BY e.message, e.id",
    )?;
    let rows = st.query_map([kind], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            Expert {
                name: r.get(2)?,
                gender: r.get(3)?,
                birth: r.get(4)?,
                title: r.get(5)?,
                title_level: r.get::<_, Option<String>>(6)?.unwrap_or_else(|| "none".into()),
                phone: r.get(7)?,
                email: r.get(8)?,
                employer: r.get(9)?,
                category: r.get(10)?,
            },
        ))
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Counts by (kind, decision) among judged messages, optionally since a moment (stored_at).
pub fn counts_by_kind_decision(
    conn: &Connection,
    since: Option<&DateTime<Utc>>,
) -> Result<Vec<(Option<String>, String, i64)>> {
    let since = since.map(|s| s.to_rfc3339()).unwrap_or_default();
    let mut st = conn.prepare(
        "SELECT v.kind, v.decision, count(*) FROM verdicts v JOIN messages m ON m.id = v.message
         WHERE m.stored_at >= ?1 GROUP BY v.kind, v.decision ORDER BY v.kind, v.decision",
    )?;
    let rows = st.query_map([since], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

impl Store {
    /// Convenience: [`list`] on the blocking pool is not needed for the CLI; this is the
    /// synchronous form used by admin commands.
    pub fn list(&self, f: &Filter) -> Result<Vec<MessageRow>> {
        self.with(|c| list(c, f))
    }
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

// ---------------------------------------------------------------- admin commands (list, show, reply, stats)

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
    pub state: String,
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
pub fn reply_counts(conn: &Connection) -> Result<Vec<(String, i64)>> {
    let mut st = conn.prepare("SELECT state, count(*) FROM replies GROUP BY state ORDER BY state")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// What is known about when a message arrived.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub id: i64,
    /// The verdict's arrival (office time), when judged.
    pub arrived: Option<String>,
    /// IMAP INTERNALDATE (or the Maildir delivery time).
    pub internal_date: Option<String>,
    pub stored_at: String,
}

/// Arrival facts of every message, by id.
pub fn arrivals(conn: &Connection) -> Result<Vec<Arrival>> {
    let mut st = conn.prepare(
        "SELECT m.id, v.arrived, m.internal_date, m.stored_at FROM messages m LEFT JOIN verdicts v ON v.message = m.id
         ORDER BY m.id",
    )?;
    let rows = st.query_map([], |r| {
        Ok(Arrival { id: r.get(0)?, arrived: r.get(1)?, internal_date: r.get(2)?, stored_at: r.get(3)? })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}
