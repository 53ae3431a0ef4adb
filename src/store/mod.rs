//! SQLite: the raw mail (ground truth), where it was seen, verdicts, experts, replies, state.
//!
//! Opened in WAL mode with append-only migrations (`PRAGMA user_version`; never edit a
//! migration, add one). The file and its folder are created owner-only. Every write that
//! belongs together is one transaction: a raw message with its location; a verdict with its
//! experts and the reply it deserves.

pub mod dossiers;
mod migrations;
pub mod query;
pub mod web;

use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::verdict::Verdict;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot create the store folder {path}: {source}")]
    Folder {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("store query failed: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("cannot encode a verdict: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the store worker stopped: {0}")]
    Worker(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

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

/// A reply to insert along with a verdict.
#[derive(Debug, Clone)]
pub struct NewReply {
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub reply_message_id: String,
    pub raw: Vec<u8>,
    /// `pending`, or `suppressed` with a reason.
    pub state: String,
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
    pub state: String,
    pub reason: Option<String>,
    pub attempts: u32,
    pub appended: bool,
}

/// One row of the register.
#[derive(Debug, Clone)]
pub struct RegisterRow {
    pub id: i64,
    pub arrived: Option<String>,
    pub sender: Option<String>,
    pub subject: String,
    pub decision: String,
    pub kind: Option<String>,
    pub school: Option<String>,
    pub expert_name: Option<String>,
    pub category: Option<String>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    pub reply_state: Option<String>,
}

/// A cheap, cloneable handle; SQLite work runs on the blocking pool.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

fn now() -> String {
    Utc::now().to_rfc3339()
}

impl Store {
    /// Opens (creating owner-only) and migrates the store.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(|source| StoreError::Folder { path: dir.display().to_string(), source })?;
        }
        let existed = path.exists();
        let open_err = |source| StoreError::Open { path: path.display().to_string(), source };
        let conn = Connection::open(path).map_err(open_err)?;
        if !existed {
            restrict_file(path);
        }
        let store = Store::init(conn)?;
        let checkpointer = Connection::open(path).map_err(open_err)?;
        store.with(|c| start_checkpointer(c, checkpointer))?;
        Ok(store)
    }

    /// An in-memory store (tests).
    pub fn memory() -> Result<Store> {
        Store::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Store> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        migrations::migrate(&mut conn)?;
        Ok(Store { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Runs `f` on the connection (synchronously).
    pub fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut guard = self.conn.lock().map_err(|_| StoreError::Worker("a previous store call panicked".into()))?;
        f(&mut guard)
    }

    /// Runs `f` on the blocking pool.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.with(f)).await.map_err(|e| StoreError::Worker(e.to_string()))?
    }

    // ------------------------------------------------------------------ intake

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
    /// back with [`Store::stored`] to judge it.
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
    pub fn cursor(conn: &Connection, account: &str, folder: &str, uidvalidity: u32) -> Result<u32> {
        Ok(conn
            .query_row(
                "SELECT last_uid FROM cursors WHERE account = ?1 AND folder = ?2 AND uidvalidity = ?3",
                params![account, folder, uidvalidity],
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

    /// Stores a verdict, its experts and its reply in one transaction; marks bounced replies.
    pub fn save_verdict(conn: &mut Connection, message: i64, v: &Verdict, reply: Option<&NewReply>) -> Result<()> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        Store::save_verdict_in(&tx, message, v, reply)?;
        tx.commit()?;
        Ok(())
    }

    /// [`Store::save_verdict`] inside the caller's transaction (the daemon saves a batch of
    /// verdicts, each with its reply, in one).
    pub fn save_verdict_in(
        tx: &rusqlite::Transaction,
        message: i64,
        v: &Verdict,
        reply: Option<&NewReply>,
    ) -> Result<()> {
        write_verdict(tx, message, v)?;
        if let Some(r) = reply {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO replies (message, kind, recipient, subject, reply_message_id, raw, state, reason, created_at, next_attempt_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
            )?
            .execute(params![message, r.kind, r.recipient, r.subject, r.reply_message_id, r.raw, r.state, r.reason, now()])?;
        }
        for id in &v.bounced_ids {
            tx.execute(
                "UPDATE replies SET state = 'bounced', reason = 'bounce received' WHERE reply_message_id = ?1 AND state IN ('sent', 'sending')",
                [id],
            )?;
        }
        tx.prepare_cached("UPDATE messages SET state = 'judged', error = NULL WHERE id = ?1")?.execute([message])?;
        Ok(())
    }

    /// Records that judging a message failed (it stays stored and can be re-run).
    pub fn mark_failed(conn: &Connection, message: i64, error: &str) -> Result<()> {
        conn.execute("UPDATE messages SET state = 'failed', error = ?2 WHERE id = ?1", params![message, error])?;
        Ok(())
    }

    /// Locations of judged messages that do not carry our keyword yet.
    pub fn unmarked(conn: &Connection, account: &str, folder: &str, uidvalidity: u32) -> Result<Vec<(u32, String)>> {
        let mut st = conn.prepare_cached(
            "SELECT l.uid, v.decision FROM locations l JOIN verdicts v ON v.message = l.message
             WHERE l.account = ?1 AND l.folder = ?2 AND l.uidvalidity = ?3 AND l.marked = 0 ORDER BY l.uid",
        )?;
        let rows = st.query_map(params![account, folder, uidvalidity], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    pub fn set_marked(conn: &Connection, account: &str, folder: &str, uidvalidity: u32, uids: &[u32]) -> Result<()> {
        let mut st = conn.prepare_cached(
            "UPDATE locations SET marked = 1 WHERE account = ?1 AND folder = ?2 AND uidvalidity = ?3 AND uid = ?4",
        )?;
        for uid in uids {
            st.execute(params![account, folder, uidvalidity, uid])?;
        }
        Ok(())
    }

    // ------------------------------------------------------------------ replies

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
        Store::reply_rows_limited(conn, where_sql, "", p)
    }

    fn reply_rows_limited(
        conn: &Connection,
        where_sql: &str,
        limit: &str,
        p: impl rusqlite::Params,
    ) -> Result<Vec<Reply>> {
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
        Store::reply_rows_limited(
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
        Store::reply_rows(conn, "state = 'sending' AND (sending_at IS NULL OR sending_at < ?1)", [before.to_rfc3339()])
    }

    /// The oldest `sending_at` of rows still in `sending`.
    pub fn oldest_sending(conn: &Connection) -> Result<Option<DateTime<Utc>>> {
        let s: Option<String> =
            conn.query_row("SELECT min(sending_at) FROM replies WHERE state = 'sending'", [], |r| r.get(0))?;
        Ok(s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok()).map(|d| d.with_timezone(&Utc)))
    }

    /// Sent replies not yet copied into the Sent folder.
    pub fn unappended_replies(conn: &Connection) -> Result<Vec<Reply>> {
        Store::reply_rows(conn, "state IN ('sent', 'bounced') AND appended = 0", [])
    }

    /// All replies of one message.
    pub fn replies_of(conn: &Connection, message: i64) -> Result<Vec<Reply>> {
        Store::reply_rows(conn, "message = ?1", [message])
    }

    /// The reply (id, state, last error) whose Message-ID this is.
    pub fn reply_by_message_id(conn: &Connection, message_id: &str) -> Result<Option<(i64, String, Option<String>)>> {
        Ok(conn
            .query_row("SELECT id, state, last_error FROM replies WHERE reply_message_id = ?1", [message_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?)
    }

    /// Moves a folder's cursor past a UID that is deliberately not stored (the proof copy of
    /// one of our own replies).
    pub fn skip_uid(conn: &Connection, account: &str, folder: &str, uidvalidity: u32, uid: u32) -> Result<()> {
        conn.execute(
            "INSERT INTO cursors (account, folder, uidvalidity, last_uid, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(account, folder, uidvalidity) DO UPDATE SET last_uid = max(last_uid, excluded.last_uid), updated_at = excluded.updated_at",
            params![account, folder, uidvalidity, uid, now()],
        )?;
        Ok(())
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

    /// [`Store::sent`] and [`Store::appended`] at once, for a reply whose Sent copy is the
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

    // ------------------------------------------------------------------ state

    pub fn get_state(conn: &Connection, key: &str) -> Result<Option<String>> {
        Ok(conn.query_row("SELECT value FROM state WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    pub fn set_state(conn: &Connection, key: &str, value: &str) -> Result<()> {
        conn.execute(
            "INSERT INTO state (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// The moment this store first ran the daemon (set once).
    pub fn first_start(conn: &Connection) -> Result<DateTime<Utc>> {
        if let Some(s) = Store::get_state(conn, "first_start")?
            && let Ok(d) = DateTime::parse_from_rfc3339(&s)
        {
            return Ok(d.with_timezone(&Utc));
        }
        let t = Utc::now();
        Store::set_state(conn, "first_start", &t.to_rfc3339())?;
        Ok(t)
    }

    // ------------------------------------------------------------------ register

    /// The register: every judged message with its verdict and reply state, oldest first.
    pub fn register(conn: &Connection) -> Result<Vec<RegisterRow>> {
        let mut st = conn.prepare(
            "SELECT m.id, v.arrived, v.sender, v.subject, v.decision, v.kind, v.school, v.expert_name, v.category,
                    v.errors, v.warnings,
                    (SELECT state FROM replies r WHERE r.message = m.id ORDER BY r.id DESC LIMIT 1)
             FROM messages m JOIN verdicts v ON v.message = m.id ORDER BY m.id",
        )?;
        let rows = st.query_map([], |r| {
            let errors: String = r.get(9)?;
            let warnings: String = r.get(10)?;
            Ok(RegisterRow {
                id: r.get(0)?,
                arrived: r.get(1)?,
                sender: r.get(2)?,
                subject: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                decision: r.get(4)?,
                kind: r.get(5)?,
                school: r.get(6)?,
                expert_name: r.get(7)?,
                category: r.get(8)?,
                errors: serde_json::from_str(&errors).unwrap_or_default(),
                warnings: serde_json::from_str(&warnings).unwrap_or_default(),
                reply_state: r.get(11)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Counts for tests and the log: (messages, judged, failed, replies sent).
    pub fn counts(conn: &Connection) -> Result<(i64, i64, i64, i64)> {
        Ok(conn.query_row(
            "SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM messages WHERE state = 'judged'),
                    (SELECT count(*) FROM messages WHERE state = 'failed'), (SELECT count(*) FROM replies WHERE state = 'sent')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?)
    }
}

/// Raw messages at least this big are read back from the store piece by piece (incremental
/// blob I/O) rather than as one value, which SQLite would copy once more on the way.
const STREAM_BLOB_BYTES: usize = 1 << 20;

/// Raw messages at least this big are handed over to SQLite by [`Store::store_batch`] (the
/// caller's copy is released before the row is written) and judged one at a time.
pub const LARGE_MESSAGE_BYTES: usize = 16 << 20;

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

/// WAL pages after which a commit asks the checkpointer to copy the WAL back (SQLite's own
/// automatic checkpoint starts at 1 000).
const CHECKPOINT_PAGES: i32 = 1000;

/// WAL pages after which the checkpointer also makes the WAL start over (64 MiB of 4 KiB
/// pages). SQLite restarts the WAL only once a checkpoint has copied all of it, which a
/// checkpoint running beside a busy writer seldom does: a `RESTART` checkpoint holds new
/// commits back for the few pages the last `PASSIVE` one left.
const CHECKPOINT_RESTART_PAGES: i32 = 16_384;

/// WAL pages after which a commit checkpoints by itself, in case the checkpointer cannot
/// keep up: 256 MiB.
const CHECKPOINT_INLINE_PAGES: i32 = 65_536;

/// Copies the WAL back into the database on a thread of its own, with its own connection,
/// instead of inside whichever commit crosses SQLite's automatic-checkpoint size: the
/// daemon's store and save transactions (one writer, behind one mutex) no longer wait for
/// the copy and its `fsync`s. The thread sleeps until a commit leaves [`CHECKPOINT_PAGES`]
/// in the WAL and ends when the store is dropped.
fn start_checkpointer(conn: &mut Connection, checkpointer: Connection) -> Result<()> {
    checkpointer.busy_timeout(std::time::Duration::from_secs(10))?;
    // A connection knows the database is in WAL mode only once it has read it; until then
    // a checkpoint through it does nothing.
    let mode: String = checkpointer.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Worker(format!("the store is in {mode} mode, not WAL")));
    }
    let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
    std::thread::Builder::new()
        .name("store-checkpoint".into())
        .spawn(move || {
            use rusqlite::wal::CheckpointMode;
            while woken.recv().is_ok() {
                let done =
                    checkpointer.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE).and_then(|(pages, _)| {
                        if pages >= CHECKPOINT_RESTART_PAGES {
                            checkpointer.wal_checkpoint_v2(None::<&str>, CheckpointMode::RESTART)?;
                        }
                        Ok(())
                    });
                if let Err(e) = done {
                    tracing::warn!(stage = "store", error = %e, "WAL checkpoint failed; the next one will retry");
                }
            }
        })
        .map_err(|e| StoreError::Worker(format!("cannot start the checkpoint thread: {e}")))?;
    conn.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: std::ffi::c_int| {
        if pages >= CHECKPOINT_INLINE_PAGES {
            tracing::info!(
                stage = "store",
                pages,
                "the WAL outgrew the checkpoint thread: checkpointing in the writer"
            );
            wal.checkpoint_v2(rusqlite::wal::CheckpointMode::PASSIVE)?;
        } else if pages >= CHECKPOINT_PAGES {
            // Full means a wake-up is pending already.
            let _ = wake.try_send(());
        }
        Ok(())
    }))?;
    Ok(())
}

/// A raw message read piece by piece into one buffer of its size.
fn read_raw(conn: &Connection, id: i64) -> Result<Vec<u8>> {
    let blob = conn.blob_open(rusqlite::MAIN_DB, "raw_messages", "raw", id, true)?;
    let mut raw = vec![0u8; blob.len()];
    blob.read_at_exact(&mut raw, 0)?;
    Ok(raw)
}

fn write_verdict(tx: &rusqlite::Transaction, message: i64, v: &Verdict) -> Result<()> {
    let json = serde_json::to_string(v)?;
    let dossier = v.submission.as_ref().map(|s| s.id);
    tx.execute(
        "INSERT INTO verdicts (message, judged_at, decision, kind, school, expert_name, category, sender, subject, arrived, errors, warnings, json, submission_key, dossier)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, NULL, ?14)
         ON CONFLICT(message) DO UPDATE SET judged_at = excluded.judged_at, decision = excluded.decision, kind = excluded.kind,
           school = excluded.school, expert_name = excluded.expert_name, category = excluded.category, sender = excluded.sender,
           subject = excluded.subject, arrived = excluded.arrived, errors = excluded.errors, warnings = excluded.warnings,
           json = excluded.json, submission_key = NULL, superseded_by = NULL, dossier = excluded.dossier",
        params![
            message,
            now(),
            v.decision.as_str(),
            v.kind,
            v.fields.get("school"),
            v.fields.get("expert_name"),
            v.fields.get("category"),
            v.from,
            v.subject,
            v.arrived,
            serde_json::to_string(&v.errors)?,
            serde_json::to_string(&v.warnings)?,
            json,
            dossier
        ],
    )?;
    if let Some(d) = dossier
        && matches!(v.decision, crate::Decision::Acknowledge | crate::Decision::RequestCorrection)
    {
        // A submission is represented by its latest mail (whose verdict is the submission's
        // as of that mail): the earlier ones, and those of submissions closed in favour of it,
        // point at it. Held mail in its thread stays in the hold queue. (`+decision`: the
        // submission's index finds its few mails; the decision index would walk the register.)
        tx.prepare_cached(
            "UPDATE verdicts SET superseded_by = ?1 WHERE dossier = ?2 AND message != ?1
               AND +decision IN ('acknowledge', 'request_correction')",
        )?
        .execute(params![message, d])?;
        tx.prepare_cached(
            "UPDATE verdicts SET superseded_by = ?1
             WHERE dossier IN (SELECT id FROM dossiers WHERE superseded_by = ?2)
               AND +decision IN ('acknowledge', 'request_correction')",
        )?
        .execute(params![message, d])?;
    }
    tx.execute("DELETE FROM experts WHERE message = ?1", [message])?;
    tx.execute("DELETE FROM summary_rows WHERE message = ?1", [message])?;
    tx.execute("DELETE FROM contacts WHERE message = ?1", [message])?;
    let school = v.fields.get("school");
    let mut st = tx.prepare_cached(
        "INSERT INTO experts (message, name, gender, birth, title, title_level, phone, email, employer, category)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for e in &v.experts {
        st.execute(rusqlite::params_from_iter(expert_columns(message, None, e)))?;
    }
    let mut st = tx.prepare_cached(
        "INSERT INTO summary_rows (message, school, name, gender, birth, title, title_level, phone, email, employer, category)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    // A 汇总表 of 500 names is stored whole; one of more is cut (a bounded cost per mail).
    for e in v.summary_rows.iter().filter(|e| !e.name.is_empty()).take(MAX_SUMMARY_ROWS) {
        st.execute(rusqlite::params_from_iter(expert_columns(message, Some(school), e)))?;
    }
    if !v.form_fields.is_empty() {
        let f = |k: &str| v.form_fields.get(k);
        tx.execute(
            "INSERT INTO contacts (message, school, category, contact, phone, email) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![message, f("school").or(school), f("category"), f("contact"), f("phone"), f("email")],
        )?;
    }
    Ok(())
}

/// An expert's columns as `experts` (no school) and `summary_rows` (with one) store them.
fn expert_columns<'a>(
    message: i64,
    school: Option<Option<&'a String>>,
    e: &'a crate::verdict::Expert,
) -> Vec<Box<dyn rusqlite::ToSql + 'a>> {
    let mut out: Vec<Box<dyn rusqlite::ToSql + 'a>> = vec![Box::new(message)];
    if let Some(s) = school {
        out.push(Box::new(s));
    }
    out.extend([
        Box::new(&e.name) as Box<dyn rusqlite::ToSql>,
        Box::new(&e.gender),
        Box::new(&e.birth),
        Box::new(&e.title),
        Box::new(&e.title_level),
        Box::new(&e.phone),
        Box::new(&e.email),
        Box::new(&e.employer),
        Box::new(&e.category),
    ]);
    out
}

/// At most this many 附件3 rows are stored per mail.
pub const MAX_SUMMARY_ROWS: usize = 1000;

/// SHA-256 of bytes as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn message_id_of(raw: &[u8]) -> Option<String> {
    mail_parser::MessageParser::new().parse_headers(raw).and_then(|m| m.message_id().map(|id| format!("<{id}>")))
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

fn restrict_file(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetched(uid: u32, raw: &[u8]) -> Fetched {
        Fetched {
            location: Location { account: "a".into(), folder: "INBOX".into(), uidvalidity: 7, uid },
            internal_date: None,
            flags: vec![],
            raw: raw.to_vec(),
        }
    }

    #[test]
    fn the_checkpoint_thread_copies_the_wal_into_the_database() {
        // SQLite's own automatic checkpoint is replaced by the hook: the database file grows
        // only if the checkpoint thread works.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite3");
        let s = Store::open(&path).unwrap();
        for uid in 1..=12u32 {
            let mut raw = format!("Subject: {uid}\r\n\r\n").into_bytes();
            raw.resize(1 << 20, b'x');
            s.with(|c| Store::store_fetched(c, &fetched(uid, &raw))).unwrap();
        }
        let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while size() < 8 << 20 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(size() >= 8 << 20, "database file {} bytes: the WAL was never checkpointed", size());
    }

    #[test]
    fn the_same_bytes_are_stored_once_and_the_cursor_advances() {
        let s = Store::memory().unwrap();
        s.with(|c| {
            let (a, new_a) = Store::store_fetched(c, &fetched(1, b"Subject: x\r\n\r\nhi"))?;
            let (b, new_b) = Store::store_fetched(c, &fetched(2, b"Subject: x\r\n\r\nhi"))?;
            assert!(new_a && !new_b);
            assert_eq!(a, b);
            assert_eq!(Store::cursor(c, "a", "INBOX", 7)?, 2);
            assert_eq!(Store::cursor(c, "a", "INBOX", 8)?, 0);
            assert_eq!(Store::unjudged(c, 10)?.len(), 1);
            Ok(())
        })
        .unwrap();
    }
}
