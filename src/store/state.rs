//! Small named facts the daemon keeps between runs (`state` table): the first start, the
//! digest's last run, whether the register must be rebuilt.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::Result;

pub fn get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT value FROM state WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

pub fn set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO state (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// The moment this store first ran the daemon (set once).
pub fn first_start(conn: &Connection) -> Result<DateTime<Utc>> {
    if let Some(s) = get(conn, "first_start")?
        && let Ok(d) = DateTime::parse_from_rfc3339(&s)
    {
        return Ok(d.with_timezone(&Utc));
    }
    let t = Utc::now();
    set(conn, "first_start", &t.to_rfc3339())?;
    Ok(t)
}

/// Replaces `key`'s value only if it still is `expected` (a claim nobody changed meanwhile);
/// returns whether it did.
pub fn replace_if(conn: &Connection, key: &str, expected: &str, value: &str) -> Result<bool> {
    let n = conn.execute("UPDATE state SET value = ?3 WHERE key = ?1 AND value = ?2", params![key, expected, value])?;
    Ok(n == 1)
}
