//! Append-only schema migrations, applied in order by `PRAGMA user_version`.
//! Never edit a migration that has shipped: add a new one.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: the register.
    r#"
CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,
    sha256        TEXT NOT NULL UNIQUE,
    raw           BLOB NOT NULL,
    size          INTEGER NOT NULL,
    message_id    TEXT,
    internal_date TEXT,
    stored_at     TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'stored',   -- stored | judged | failed
    error         TEXT
);
CREATE INDEX messages_state ON messages(state);
CREATE INDEX messages_message_id ON messages(message_id);

CREATE TABLE locations (
    account     TEXT NOT NULL,
    folder      TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    message     INTEGER NOT NULL REFERENCES messages(id),
    flags       TEXT,
    marked      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, folder, uidvalidity, uid)
);
CREATE INDEX locations_message ON locations(message);

CREATE TABLE cursors (
    account     TEXT NOT NULL,
    folder      TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    last_uid    INTEGER NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (account, folder, uidvalidity)
);

CREATE TABLE verdicts (
    message     INTEGER PRIMARY KEY REFERENCES messages(id),
    judged_at   TEXT NOT NULL,
    decision    TEXT NOT NULL,
    kind        TEXT,
    school      TEXT,
    expert_name TEXT,
    category    TEXT,
    sender      TEXT,
    subject     TEXT,
    arrived     TEXT,
    errors      TEXT NOT NULL,
    warnings    TEXT NOT NULL,
    json        TEXT NOT NULL
);
CREATE INDEX verdicts_decision ON verdicts(decision);
CREATE INDEX verdicts_school ON verdicts(school);

CREATE TABLE experts (
    id          INTEGER PRIMARY KEY,
    message     INTEGER NOT NULL REFERENCES messages(id),
    name        TEXT NOT NULL,
    gender      TEXT,
    birth       TEXT,
    title       TEXT,
    title_level TEXT,
    phone       TEXT,
    email       TEXT,
    employer    TEXT,
    category    TEXT
);
CREATE INDEX experts_message ON experts(message);

CREATE TABLE replies (
    id               INTEGER PRIMARY KEY,
    message          INTEGER NOT NULL REFERENCES messages(id),
    kind             TEXT NOT NULL,             -- acknowledge | request_correction
    recipient        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    reply_message_id TEXT NOT NULL UNIQUE,
    raw              BLOB NOT NULL,
    state            TEXT NOT NULL,             -- pending | sending | sent | failed | suppressed | bounced
    reason           TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    sent_at          TEXT,
    appended         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX replies_state ON replies(state);
CREATE INDEX replies_recipient ON replies(recipient, created_at);
CREATE INDEX replies_message ON replies(message);

CREATE TABLE state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    // 2: when a send began, so an interrupted one is judged only after the server has had
    // time to file its own copy in Sent.
    r#"
ALTER TABLE replies ADD COLUMN sending_at TEXT;
"#,
    // 3: submission history: a later submission for the same school and expert/category
    // supersedes the earlier ones, which stay in history.
    r#"
ALTER TABLE verdicts ADD COLUMN submission_key TEXT;
ALTER TABLE verdicts ADD COLUMN superseded_by INTEGER;
CREATE INDEX verdicts_submission_key ON verdicts(submission_key);
"#,
    // 4: the daemon asks after every batch which judged messages still lack our keyword, and
    // after every page of replies which sent ones still lack their Sent copy: partial indexes
    // hold just those rows, so neither question scans the whole register.
    r#"
CREATE INDEX locations_unmarked ON locations(account, folder, uidvalidity, uid) WHERE marked = 0;
CREATE INDEX replies_unappended ON replies(state) WHERE appended = 0;
"#,
    // 5: the raw bytes in a table of their own. In `messages` they sat before the small
    // columns, so reading or updating a message's state walked (and rewrote) every overflow
    // page of the message: `list` read the whole register, each verdict re-read its message.
    // A store made before this copies its messages once (time and free space ~ its size).
    r#"
CREATE TABLE raw_messages (
    message INTEGER PRIMARY KEY REFERENCES messages(id),
    raw     BLOB NOT NULL
);
INSERT INTO raw_messages (message, raw) SELECT id, raw FROM messages;
ALTER TABLE messages DROP COLUMN raw;
"#,
    // 6: submissions (spec §8). A school's material is assembled across its mails: every
    // judged submission mail belongs to one dossier (`verdicts.dossier`). 附件3 rows and 附件1
    // contacts get tables of their own. Mail-level supersession (migration 3) gives way to
    // the dossier's; a store made before this is re-bound in arrival order on its next open
    // by the register (`state.dossiers_rebuild`).
    r#"
CREATE TABLE dossiers (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,
    school        TEXT,
    detail        TEXT NOT NULL DEFAULT '',  -- expert name | category | '' (summary, or key incomplete)
    keyed         INTEGER NOT NULL,          -- 1: the key is whole; other mails bind to it by subject
    state         TEXT NOT NULL,             -- complete | incomplete | superseded
    superseded_by INTEGER,
    errors        TEXT NOT NULL DEFAULT '[]',
    warnings      TEXT NOT NULL DEFAULT '[]',
    parts         TEXT NOT NULL DEFAULT '[]',
    form_name     TEXT,                      -- the name (category) its current form gives
    birth         TEXT,
    phone         TEXT,
    updated       TEXT
);
CREATE INDEX dossiers_key ON dossiers(kind, school, detail);
CREATE INDEX dossiers_detail ON dossiers(detail);
ALTER TABLE verdicts ADD COLUMN dossier INTEGER;
CREATE INDEX verdicts_dossier ON verdicts(dossier);
CREATE INDEX replies_message_id ON replies(reply_message_id);
CREATE TABLE summary_rows (
    id          INTEGER PRIMARY KEY,
    message     INTEGER NOT NULL REFERENCES messages(id),
    school      TEXT,
    name        TEXT NOT NULL,
    gender      TEXT,
    birth       TEXT,
    title       TEXT,
    title_level TEXT,
    phone       TEXT,
    email       TEXT,
    employer    TEXT,
    category    TEXT
);
CREATE INDEX summary_rows_message ON summary_rows(message);
CREATE INDEX summary_rows_school ON summary_rows(school);
CREATE TABLE contacts (
    message  INTEGER PRIMARY KEY REFERENCES messages(id),
    school   TEXT,
    category TEXT,
    contact  TEXT,
    phone    TEXT,
    email    TEXT
);
UPDATE verdicts SET submission_key = NULL, superseded_by = NULL;
INSERT INTO state (key, value) SELECT 'dossiers_rebuild', '1' WHERE EXISTS (SELECT 1 FROM verdicts);
"#,
];

/// Brings the schema up to date.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies the first `n` migrations only (a store made by an older version).
    fn migrate_to(conn: &mut Connection, n: usize) {
        for (i, sql) in MIGRATIONS.iter().enumerate().take(n) {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", (i + 1) as i64).unwrap();
        }
    }

    #[test]
    fn raw_bytes_move_to_their_own_table_unchanged() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 4);
        let raw = b"Subject: x\r\n\r\n\xff\x00body".to_vec();
        conn.execute(
            "INSERT INTO messages (id, sha256, raw, size, stored_at, state) VALUES (7, 'h', ?1, ?2, 'now', 'judged')",
            rusqlite::params![raw, raw.len() as i64],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let moved: Vec<u8> =
            conn.query_row("SELECT raw FROM raw_messages WHERE message = 7", [], |r| r.get(0)).unwrap();
        assert_eq!(moved, raw);
        let (state, size): (String, i64) = conn
            .query_row("SELECT state, size FROM messages WHERE id = 7", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!((state.as_str(), size), ("judged", raw.len() as i64));
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('messages')")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(!columns.iter().any(|c| c == "raw"), "{columns:?}");
    }
}
