//! Verdicts: a judged message's verdict with its experts and 附件3 rows, saved with its reply
//! in one transaction, and read back (one verdict, the register, counts).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::replies::NewReply;
use super::{Result, now};
use crate::verdict::{Expert, Verdict};

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
    pub reply_state: Option<super::ReplyState>,
}

/// Stores a verdict, its experts and its reply in one transaction; marks bounced replies.
pub fn save_verdict(conn: &mut Connection, message: i64, v: &Verdict, reply: Option<&NewReply>) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    save_verdict_in(&tx, message, v, reply)?;
    tx.commit()?;
    Ok(())
}

/// [`save_verdict`] inside the caller's transaction (the daemon saves a batch of
/// verdicts, each with its reply, in one).
pub fn save_verdict_in(tx: &rusqlite::Transaction, message: i64, v: &Verdict, reply: Option<&NewReply>) -> Result<()> {
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

/// The stored verdict of a message (exactly what `check --json` prints).
pub fn verdict(conn: &Connection, id: i64) -> Result<Option<Verdict>> {
    let json: Option<String> =
        conn.query_row("SELECT json FROM verdicts WHERE message = ?1", [id], |r| r.get(0)).optional()?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
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
