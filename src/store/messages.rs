//! Messages: the raw mail (stored first, once per distinct bytes), where each was seen
//! (IMAP account/folder/UIDVALIDITY/UID or a Maildir file), folder cursors and our keyword
//! marks, and the message list the admin commands and the web view read.

use chrono::DateTime;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{MessageState, ReplyState, Result, now, sha256_hex};

/// One generation of a mailbox folder: account, folder (decoded) and UIDVALIDITY. UIDs are
/// meaningful only within one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mailbox {
    pub account: String,
    pub folder: String,
    pub uidvalidity: u32,
}

/// Where a message was seen: an IMAP (account, folder, UIDVALIDITY, UID), or a Maildir file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    pub account: String,
    pub folder: String,
    pub uidvalidity: u32,
    pub uid: u32,
}

/// A message fetched from a source, before it is stored.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub location: Location,
    pub internal_date: Option<DateTime<chrono::FixedOffset>>,
    pub flags: Vec<String>,
    pub raw: Vec<u8>,
}

/// A stored message waiting for (re)judging.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: i64,
    pub raw: Vec<u8>,
    pub internal_date: Option<DateTime<chrono::FixedOffset>>,
}

/// Raw messages at least this big are read back from the store piece by piece (incremental
/// blob I/O) rather than as one value, which SQLite would copy once more on the way.
const STREAM_BLOB_BYTES: usize = 1 << 20;

/// Raw messages at least this big are handed over to SQLite by [`store_batch`] (the
/// caller's copy is released before the row is written) and judged one at a time.
pub const LARGE_MESSAGE_BYTES: usize = 16 << 20;

/// Stores a fetched message and where it was seen, in one transaction. Returns the message
/// id and whether the raw bytes were new (the same bytes seen again are not stored twice).
pub fn store_fetched(conn: &mut Connection, f: &Fetched) -> Result<(i64, bool)> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let stored = store_one(&tx, f, None, &sha256_hex(&f.raw))?;
    tx.commit()?;
    Ok(stored)
}

/// Stores a batch of fetched messages and where each was seen, in one transaction (all or
/// none: after a crash the whole batch is fetched again). Returns, in order, each message's
/// id and whether its raw bytes were new.
///
/// A raw message of [`LARGE_MESSAGE_BYTES`] or more is handed over to SQLite and its
/// `raw` left empty in `batch` (so it is never held by us and by SQLite at once); read it
/// back with [`stored`] to judge it.
pub fn store_batch(conn: &mut Connection, batch: &mut [Fetched]) -> Result<Vec<(i64, bool)>> {
    // Hashed on all cores before the write transaction begins.
    let hashes: Vec<String> = {
        use rayon::prelude::*;
        batch.par_iter().map(|f| sha256_hex(&f.raw)).collect()
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut stored = Vec::with_capacity(batch.len());
    for (f, sha) in batch.iter_mut().zip(&hashes) {
        let mut raw = std::mem::take(&mut f.raw);
        let one = store_one(&tx, f, Some(&mut raw), sha);
        f.raw = raw;
        stored.push(one?);
    }
    tx.commit()?;
    Ok(stored)
}

/// One stored message by id (large raw messages read piece by piece into one buffer).
pub fn stored(conn: &Connection, id: i64) -> Result<Option<Stored>> {
    let row = conn
        .query_row("SELECT internal_date FROM messages WHERE id = ?1", [id], |r| r.get::<_, Option<String>>(0))
        .optional()?;
    let Some(date) = row else { return Ok(None) };
    Ok(Some(Stored {
        id,
        raw: read_raw(conn, id)?,
        internal_date: date.and_then(|s| DateTime::parse_from_rfc3339(&s).ok()),
    }))
}

/// The highest UID stored for a mailbox generation (0 when none).
pub fn cursor(conn: &Connection, mailbox: &Mailbox) -> Result<u32> {
    Ok(conn
        .query_row(
            "SELECT last_uid FROM cursors WHERE account = ?1 AND folder = ?2 AND uidvalidity = ?3",
            params![mailbox.account, mailbox.folder, mailbox.uidvalidity],
            |r| r.get::<_, u32>(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// Messages stored but not judged yet (oldest first). Large raw messages are read piece by
/// piece into one buffer (SQLite would otherwise hold a second copy while handing it over).
pub fn unjudged(conn: &Connection, limit: usize) -> Result<Vec<Stored>> {
    let mut st = conn.prepare_cached(
        "SELECT m.id, m.internal_date, m.size, CASE WHEN m.size < ?2 THEN r.raw END
         FROM messages m JOIN raw_messages r ON r.message = m.id
         WHERE m.state = 'stored' ORDER BY m.id LIMIT ?1",
    )?;
    let rows = st.query_map(params![limit as i64, STREAM_BLOB_BYTES as i64], |r| {
        Ok((
            Stored {
                id: r.get(0)?,
                raw: r.get::<_, Option<Vec<u8>>>(3)?.unwrap_or_default(),
                internal_date: r.get::<_, Option<String>>(1)?.and_then(|s| DateTime::parse_from_rfc3339(&s).ok()),
            },
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (mut m, size) = row?;
        if size as usize >= STREAM_BLOB_BYTES {
            m.raw = read_raw(conn, m.id)?;
        }
        out.push(m);
    }
    Ok(out)
}

/// Records that judging a message failed (it stays stored and can be re-run).
pub fn mark_failed(conn: &Connection, message: i64, error: &str) -> Result<()> {
    conn.execute("UPDATE messages SET state = 'failed', error = ?2 WHERE id = ?1", params![message, error])?;
    Ok(())
}

/// Locations of judged messages that do not carry our keyword yet.
pub fn unmarked(conn: &Connection, mailbox: &Mailbox) -> Result<Vec<(u32, String)>> {
    let mut st = conn.prepare_cached(
        "SELECT l.uid, v.decision FROM locations l JOIN verdicts v ON v.message = l.message
         WHERE l.account = ?1 AND l.folder = ?2 AND l.uidvalidity = ?3 AND l.marked = 0 ORDER BY l.uid",
    )?;
    let rows =
        st.query_map(params![mailbox.account, mailbox.folder, mailbox.uidvalidity], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Records that our keywords are set on these UIDs of a mailbox.
pub fn set_marked(conn: &Connection, mailbox: &Mailbox, uids: &[u32]) -> Result<()> {
    let mut st = conn.prepare_cached(
        "UPDATE locations SET marked = 1 WHERE account = ?1 AND folder = ?2 AND uidvalidity = ?3 AND uid = ?4",
    )?;
    for uid in uids {
        st.execute(params![mailbox.account, mailbox.folder, mailbox.uidvalidity, uid])?;
    }
    Ok(())
}

/// Moves a folder's cursor past a UID that is deliberately not stored (the proof copy of
/// one of our own replies).
pub fn skip_uid(conn: &Connection, at: &Location) -> Result<()> {
    conn.execute(
        "INSERT INTO cursors (account, folder, uidvalidity, last_uid, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(account, folder, uidvalidity) DO UPDATE SET last_uid = max(last_uid, excluded.last_uid), updated_at = excluded.updated_at",
        params![at.account, at.folder, at.uidvalidity, at.uid, now()],
    )?;
    Ok(())
}

/// One message and its location, inside the caller's transaction. The raw bytes are `f.raw`,
/// or `owned` when given: then a large message is bound, and `owned` emptied before SQLite
/// writes the row (SQLite builds the row from its own copy), so the message is held twice,
/// not three times, meanwhile. `sha` is the hex SHA-256 of the raw bytes.
fn store_one(tx: &rusqlite::Transaction, f: &Fetched, owned: Option<&mut Vec<u8>>, sha: &str) -> Result<(i64, bool)> {
    let raw: &[u8] = match &owned {
        Some(v) => v,
        None => &f.raw,
    };
    let existing: Option<i64> =
        tx.prepare_cached("SELECT id FROM messages WHERE sha256 = ?1")?.query_row([sha], |r| r.get(0)).optional()?;
    let (id, new) = match existing {
        Some(id) => (id, false),
        None => {
            let message_id = message_id_of(raw);
            let date = f.internal_date.map(|d| d.to_rfc3339());
            let size = raw.len() as i64;
            tx.prepare_cached(
                "INSERT INTO messages (sha256, size, message_id, internal_date, stored_at, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'stored')",
            )?
            .execute(params![sha, size, message_id, date, now()])?;
            let id = tx.last_insert_rowid();
            let sql = "INSERT INTO raw_messages (message, raw) VALUES (?1, ?2)";
            match owned {
                Some(owned) if owned.len() >= LARGE_MESSAGE_BYTES => {
                    // Rare: not worth a place in the statement cache.
                    let mut st = tx.prepare(sql)?;
                    st.raw_bind_parameter(1, id)?;
                    st.raw_bind_parameter(2, owned.as_slice())?;
                    *owned = Vec::new();
                    st.raw_execute()?;
                }
                _ => {
                    tx.prepare_cached(sql)?.execute(params![id, raw])?;
                }
            }
            (id, true)
        }
    };
    let l = &f.location;
    tx.prepare_cached(
        "INSERT OR IGNORE INTO locations (account, folder, uidvalidity, uid, message, flags)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![l.account, l.folder, l.uidvalidity, l.uid, id, f.flags.join(" ")])?;
    tx.prepare_cached(
        "INSERT INTO cursors (account, folder, uidvalidity, last_uid, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(account, folder, uidvalidity) DO UPDATE SET last_uid = max(last_uid, excluded.last_uid), updated_at = excluded.updated_at",
    )?
    .execute(params![l.account, l.folder, l.uidvalidity, l.uid, now()])?;
    Ok((id, new))
}

/// A raw message read piece by piece into one buffer of its size.
fn read_raw(conn: &Connection, id: i64) -> Result<Vec<u8>> {
    let blob = conn.blob_open(rusqlite::MAIN_DB, "raw_messages", "raw", id, true)?;
    let mut raw = vec![0u8; blob.len()];
    blob.read_at_exact(&mut raw, 0)?;
    Ok(raw)
}

fn message_id_of(raw: &[u8]) -> Option<String> {
    mail_parser::MessageParser::new().parse_headers(raw).and_then(|m| m.message_id().map(|id| format!("<{id}>")))
}

/// One message as listed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MessageRow {
    pub id: i64,
    pub arrived: Option<String>,
    pub stored_at: String,
    pub sender: Option<String>,
    pub subject: String,
    /// `stored`, `judged` or `failed`.
    pub state: MessageState,
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
    pub reply_state: Option<ReplyState>,
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
        arg(&format!("{ARRIVAL} >= ?"), s.clone(), &mut clauses);
    }
    if let Some(u) = &f.until {
        arg(&format!("{ARRIVAL} < ?"), u.clone(), &mut clauses);
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

/// When a message arrived, in SQL over `messages m LEFT JOIN verdicts v`: the verdict's
/// arrival (office time), else INTERNALDATE (or the Maildir delivery time), else when it was
/// stored. The one definition: [`Arrival::best`] is the same in Rust.
pub const ARRIVAL: &str = "coalesce(v.arrived, m.internal_date, m.stored_at)";

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

impl Arrival {
    /// The best-known arrival, in the order of [`ARRIVAL`].
    pub fn best(&self) -> Option<chrono::DateTime<chrono::FixedOffset>> {
        [self.arrived.as_deref(), self.internal_date.as_deref(), Some(self.stored_at.as_str())]
            .into_iter()
            .flatten()
            .find_map(|s| DateTime::parse_from_rfc3339(s).ok())
    }
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

/// Messages judged (or whose judging failed), in arrival order: the order the register binds
/// them in.
pub fn judged_in_arrival_order(conn: &Connection) -> Result<Vec<i64>> {
    let mut st = conn.prepare(&format!(
        "SELECT m.id FROM messages m LEFT JOIN verdicts v ON v.message = m.id
         WHERE m.state IN ('judged', 'failed') ORDER BY {ARRIVAL}, m.id"
    ))?;
    let rows = st.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Ids of the messages whose judging failed, oldest first.
pub fn failed_ids(conn: &Connection) -> Result<Vec<i64>> {
    let mut st = conn.prepare("SELECT id FROM messages WHERE state = 'failed' ORDER BY id")?;
    let rows = st.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// How many messages there are, how many wait to be judged and how many failed.
pub fn pipeline_counts(conn: &Connection) -> Result<(i64, i64, i64)> {
    Ok(conn.query_row(
        "SELECT count(*), coalesce(sum(state = 'stored'), 0), coalesce(sum(state = 'failed'), 0) FROM messages",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?)
}
