//! Queries for the web view: pages of messages (the hold queue and failures first), a
//! message's raw bytes read in chunks (a 100 MB mail never sits in memory whole for a
//! download), reply texts, and small lookups. Read-only except where the web view calls the
//! shared actions (`crate::actions`).

use rusqlite::{Connection, OptionalExtension, params};

use super::Result;
use crate::store::messages::{MessageRow, SELECT, row};

/// Which messages a page of the mail list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailView {
    /// Everything: failures first, then the hold queue, then the rest, newest first.
    All,
    /// Only messages on `hold`.
    Hold,
    /// Only messages whose judging failed (or is still waiting).
    Failed,
}

fn view_clause(view: MailView) -> &'static str {
    match view {
        MailView::All => "",
        MailView::Hold => " WHERE v.decision = 'hold'",
        MailView::Failed => " WHERE m.state != 'judged'",
    }
}

/// One page of messages for `view` and how many there are in all.
pub fn mail_page(conn: &Connection, view: MailView, offset: u64, limit: u64) -> Result<(Vec<MessageRow>, u64)> {
    let clause = view_clause(view);
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM messages m LEFT JOIN verdicts v ON v.message = m.id{clause}"),
        [],
        |r| r.get(0),
    )?;
    // The page's ids first (no per-row subqueries while sorting), then their rows.
    let ids: Vec<i64> = {
        let sql = format!(
            "SELECT m.id FROM messages m LEFT JOIN verdicts v ON v.message = m.id{clause}
             ORDER BY CASE WHEN m.state != 'judged' THEN 0 WHEN v.decision = 'hold' THEN 1 ELSE 2 END, m.id DESC
             LIMIT ?1 OFFSET ?2"
        );
        let mut st = conn.prepare(&sql)?;
        st.query_map(params![limit as i64, offset as i64], |r| r.get(0))?.collect::<std::result::Result<_, _>>()?
    };
    if ids.is_empty() {
        return Ok((Vec::new(), total.max(0) as u64));
    }
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let mut st = conn.prepare(&format!("{SELECT} WHERE m.id IN ({list})"))?;
    let mut found: Vec<MessageRow> = st.query_map([], row)?.collect::<std::result::Result<_, _>>()?;
    found.sort_by_key(|m| ids.iter().position(|i| *i == m.id));
    let rows = found;
    Ok((rows, total.max(0) as u64))
}

/// Counts for the mail list's tabs: (all, hold, failed or waiting).
pub fn mail_counts(conn: &Connection) -> Result<(u64, u64, u64)> {
    Ok(conn.query_row(
        "SELECT count(*), coalesce(sum(v.decision = 'hold'), 0), coalesce(sum(m.state != 'judged'), 0)
         FROM messages m LEFT JOIN verdicts v ON v.message = m.id",
        [],
        |r| {
            Ok((
                r.get::<_, i64>(0)?.max(0) as u64,
                r.get::<_, i64>(1)?.max(0) as u64,
                r.get::<_, i64>(2)?.max(0) as u64,
            ))
        },
    )?)
}

/// The size of a message's raw bytes, when it exists.
pub fn raw_size(conn: &Connection, id: i64) -> Result<Option<u64>> {
    Ok(conn
        .query_row("SELECT length(raw) FROM raw_messages WHERE message = ?1", [id], |r| r.get::<_, i64>(0))
        .optional()?
        .map(|n| n.max(0) as u64))
}

/// A read-only connection of its own (a download reads one message through it while the
/// pages' and exports' connections stay free).
pub fn reader(path: &std::path::Path) -> Result<Connection> {
    let c = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(c)
}

/// Calls `f` with message `id`'s raw bytes as one open blob, to read with `read_at` a chunk at
/// a time: one handle keeps SQLite's list of the value's overflow pages, so reading a 100 MB
/// message through costs its length (opening a handle per chunk walks the page chain from the
/// start each time: the square of it). `None`: no such message.
pub fn with_raw<T>(
    conn: &Connection,
    id: i64,
    f: impl FnOnce(&rusqlite::blob::Blob<'_>) -> Result<T>,
) -> Result<Option<T>> {
    let rowid: Option<i64> =
        conn.query_row("SELECT rowid FROM raw_messages WHERE message = ?1", [id], |r| r.get(0)).optional()?;
    let Some(rowid) = rowid else { return Ok(None) };
    let blob = conn.blob_open(rusqlite::MAIN_DB, "raw_messages", "raw", rowid, true)?;
    f(&blob).map(Some)
}

/// Reads up to `len` bytes at `offset` of an open blob (fewer at the end, none past it).
pub fn blob_chunk(blob: &rusqlite::blob::Blob<'_>, offset: u64, len: usize) -> Result<Vec<u8>> {
    let size = blob.len() as u64;
    if offset >= size {
        return Ok(Vec::new());
    }
    let mut buf = vec![0u8; len.min((size - offset) as usize)];
    let read = blob.read_at(&mut buf, offset as usize)?;
    buf.truncate(read);
    Ok(buf)
}

/// Reads `len` bytes of message `id`'s raw bytes from `offset` (fewer at the end).
pub fn raw_chunk(conn: &Connection, id: i64, offset: u64, len: usize) -> Result<Vec<u8>> {
    let rowid: Option<i64> =
        conn.query_row("SELECT rowid FROM raw_messages WHERE message = ?1", [id], |r| r.get(0)).optional()?;
    let Some(rowid) = rowid else { return Ok(Vec::new()) };
    let blob = conn.blob_open(rusqlite::MAIN_DB, "raw_messages", "raw", rowid, true)?;
    let size = blob.len() as u64;
    if offset >= size {
        return Ok(Vec::new());
    }
    let n = len.min((size - offset) as usize);
    let mut buf = vec![0u8; n];
    let read = blob.read_at(&mut buf, offset as usize)?;
    buf.truncate(read);
    Ok(buf)
}

/// The SHA-256 (hex) a message is stored under.
pub fn sha256(conn: &Connection, id: i64) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT sha256 FROM messages WHERE id = ?1", [id], |r| r.get(0)).optional()?)
}

/// The raw bytes of reply `id` (to show its text).
pub fn reply_raw(conn: &Connection, id: i64) -> Result<Option<Vec<u8>>> {
    Ok(conn.query_row("SELECT raw FROM replies WHERE id = ?1", [id], |r| r.get(0)).optional()?.flatten())
}

/// The internal date (IMAP INTERNALDATE or Maildir delivery) of a message.
pub fn internal_date(conn: &Connection, id: i64) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT internal_date FROM messages WHERE id = ?1", [id], |r| r.get(0)).optional()?.flatten())
}

/// Ids of the messages of at least `min_size` bytes, newest first, at most `limit`.
pub fn big_messages(conn: &Connection, min_size: u64, limit: usize) -> Result<Vec<i64>> {
    let mut st = conn.prepare_cached("SELECT id FROM messages WHERE size >= ?1 ORDER BY id DESC LIMIT ?2")?;
    let rows = st.query_map(rusqlite::params![min_size as i64, limit as i64], |r| r.get(0))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Fetched, Location, Store};

    #[test]
    fn pages_put_failures_and_holds_first_and_chunks_read_the_raw_bytes() {
        let store = Store::memory().unwrap();
        store
            .with(|c| {
                for i in 0..3u32 {
                    let f = Fetched {
                        location: Location { account: "a".into(), folder: "INBOX".into(), uidvalidity: 1, uid: i + 1 },
                        raw: format!("Subject: {i}\r\n\r\nbody {i}").into_bytes(),
                        internal_date: None,
                        flags: Vec::new(),
                    };
                    crate::store::messages::store_fetched(c, &f)?;
                }
                crate::store::messages::mark_failed(c, 1, "broken")?;
                Ok(())
            })
            .unwrap();
        let (rows, total) = store.with(|c| mail_page(c, MailView::All, 0, 2)).unwrap();
        assert_eq!(total, 3);
        assert_eq!(rows.len(), 2);
        let (failed, n) = store.with(|c| mail_page(c, MailView::Failed, 0, 10)).unwrap();
        assert_eq!(n, 3, "unjudged messages count as waiting");
        assert!(failed.iter().any(|m| m.id == 1 && m.state == crate::store::MessageState::Failed));
        let size = store.with(|c| raw_size(c, 1)).unwrap().unwrap();
        let head = store.with(|c| raw_chunk(c, 1, 0, 4)).unwrap();
        assert_eq!(head, b"Subj");
        let tail = store.with(|c| raw_chunk(c, 1, size - 2, 100)).unwrap();
        assert_eq!(tail, b" 0");
        assert!(store.with(|c| raw_chunk(c, 1, size + 5, 10)).unwrap().is_empty());
        assert!(store.with(|c| raw_chunk(c, 99, 0, 10)).unwrap().is_empty());
        assert_eq!(store.with(|c| mail_counts(c)).unwrap(), (3, 0, 3));
    }
}
