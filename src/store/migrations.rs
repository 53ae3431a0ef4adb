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
CREATE INDEX dossiers_superseded_by ON dossiers(superseded_by) WHERE superseded_by IS NOT NULL;
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

    /// A PNG header declaring 1200×1600 (enough for the judge to read it as a photo scan).
    fn png() -> Vec<u8> {
        let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        v.extend(1200u32.to_be_bytes());
        v.extend(1600u32.to_be_bytes());
        v.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
        v
    }

    fn lead_mail(id: &str, subject_b64: &str, attachment: Option<&[u8]>) -> Vec<u8> {
        use base64::Engine as _;
        let head = format!(
            "From: a@kmu.edu.cn\r\nSubject: =?UTF-8?B?{subject_b64}?=\r\nDate: Mon, 13 Mar 2023 10:00:00 +0800\r\nMessage-ID: <{id}@kmu.edu.cn>\r\nMIME-Version: 1.0\r\n"
        );
        match attachment {
            None => format!("{head}Content-Type: text/plain\r\n\r\nhi\r\n").into_bytes(),
            Some(a) => format!(
                "{head}Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: image/png; name=s.png\r\nContent-Disposition: attachment; filename=s.png\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
                base64::engine::general_purpose::STANDARD.encode(a)
            )
            .into_bytes(),
        }
    }

    #[test]
    fn a_store_from_before_submissions_is_rebound_in_arrival_order() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 5);
        let rules = crate::Rules::embedded();
        // 牵头院校上报+电子与信息大类+昆明学院, then the scan alone with a note in the subject.
        let subject =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "牵头院校上报+电子与信息大类+昆明学院");
        let noted = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "牵头院校上报+电子与信息大类+昆明学院（补发扫描件）",
        );
        let mails = [lead_mail("m1", &subject, None), lead_mail("m2", &noted, Some(&png()))];
        for (i, raw) in mails.iter().enumerate() {
            let id = i as i64 + 1;
            conn.execute(
                "INSERT INTO messages (id, sha256, size, stored_at, state, internal_date) VALUES (?1, ?2, ?3, 'now', 'judged', ?4)",
                rusqlite::params![id, format!("h{id}"), raw.len() as i64, format!("2023-03-13T10:0{id}:00+08:00")],
            )
            .unwrap();
            conn.execute("INSERT INTO raw_messages (message, raw) VALUES (?1, ?2)", rusqlite::params![id, raw])
                .unwrap();
            // As version 5 left them: each mail judged alone, the first superseded.
            let v = crate::validate::judge("x", raw, &rules, &Default::default());
            conn.execute(
                "INSERT INTO verdicts (message, judged_at, decision, kind, school, errors, warnings, json, submission_key, superseded_by)
                 VALUES (?1, 'now', ?2, ?3, ?4, '[]', '[]', ?5, 'k', ?6)",
                rusqlite::params![id, v.decision.as_str(), v.kind, v.fields.get("school"), serde_json::to_string(&v).unwrap(), (id == 1).then_some(2)],
            )
            .unwrap();
        }
        migrate(&mut conn).unwrap();
        assert!(crate::register::needs_rebuild(&conn).unwrap());
        let n = crate::register::rebuild(&mut conn, &rules, &Default::default(), |_, _, _| {}).unwrap();
        assert_eq!(n, 2);
        assert!(!crate::register::needs_rebuild(&conn).unwrap());
        let all = crate::store::dossiers::list(&conn, &Default::default()).unwrap();
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!((all[0].detail.as_str(), all[0].state), ("电子与信息大类", crate::verdict::DossierState::Complete));
        assert_eq!(crate::store::dossiers::message_ids(&conn, all[0].id).unwrap(), [1, 2]);
        let second = crate::store::messages::stored(&conn, 2).unwrap().unwrap();
        assert_eq!(second.id, 2);
        let v = crate::store::verdicts::verdict(&conn, 2).unwrap().unwrap();
        assert_eq!(v.decision, crate::Decision::Acknowledge);
    }
}
