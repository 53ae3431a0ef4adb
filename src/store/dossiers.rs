//! Submissions (dossiers, spec §8) in the store: one row per submission, the mails bound to
//! it (`verdicts.dossier`), and the questions the register asks while binding a mail.
//!
//! Only plain reads and writes live here; what a submission *is* (its parts, errors and
//! state) is computed by [`crate::register`].

use rusqlite::{Connection, OptionalExtension, params};

use super::Result;
use crate::verdict::{DossierPart, DossierState, Verdict};

/// One submission row.
#[derive(Debug, Clone, PartialEq)]
pub struct DossierRow {
    pub id: i64,
    pub kind: String,
    pub school: Option<String>,
    /// The expert's name, the 专业大类, or empty (a summary, or a key still incomplete).
    pub detail: String,
    /// The key is whole: other mails bind to it by their subject.
    pub keyed: bool,
    pub state: DossierState,
    pub superseded_by: Option<i64>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    pub parts: Vec<DossierPart>,
    /// The name (or category) the current form gives, when it differs from the key.
    pub form_name: Option<String>,
    pub birth: Option<String>,
    pub phone: Option<String>,
    /// Arrival of its latest mail.
    pub updated: Option<String>,
}

/// One mail of a submission, as the register needs it.
#[derive(Debug, Clone)]
pub struct Member {
    pub message: i64,
    pub arrived: Option<String>,
    pub sender: Option<String>,
    pub verdict: Verdict,
}

/// Filter for [`list`].
#[derive(Debug, Clone, Default)]
pub struct DossierFilter {
    pub kind: Option<String>,
    pub school: Option<String>,
    pub state: Option<DossierState>,
}

const COLUMNS: &str =
    "id, kind, school, detail, keyed, state, superseded_by, errors, warnings, parts, form_name, birth, phone, updated";

fn row(r: &rusqlite::Row) -> rusqlite::Result<DossierRow> {
    let json = |i: usize| -> rusqlite::Result<String> { r.get(i) };
    let state: String = r.get(5)?;
    Ok(DossierRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        school: r.get(2)?,
        detail: r.get(3)?,
        keyed: r.get::<_, i64>(4)? != 0,
        state: DossierState::parse(&state).unwrap_or(DossierState::Incomplete),
        superseded_by: r.get(6)?,
        errors: serde_json::from_str(&json(7)?).unwrap_or_default(),
        warnings: serde_json::from_str(&json(8)?).unwrap_or_default(),
        parts: serde_json::from_str(&json(9)?).unwrap_or_default(),
        form_name: r.get(10)?,
        birth: r.get(11)?,
        phone: r.get(12)?,
        updated: r.get(13)?,
    })
}

/// A submission by id.
pub fn get(conn: &Connection, id: i64) -> Result<Option<DossierRow>> {
    let sql = format!("SELECT {COLUMNS} FROM dossiers WHERE id = ?1");
    Ok(conn.prepare_cached(&sql)?.query_row([id], row).optional()?)
}

/// The open (not superseded) submission with this whole key.
pub fn find_keyed(conn: &Connection, kind: &str, school: &str, detail: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM dossiers WHERE kind = ?1 AND school = ?2 AND detail = ?3 AND keyed = 1
             AND state != 'superseded' ORDER BY id LIMIT 1",
        )?
        .query_row(params![kind, school, detail], |r| r.get(0))
        .optional()?)
}

/// Starts a submission.
pub fn create(conn: &Connection, kind: &str, school: Option<&str>, detail: &str, keyed: bool) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO dossiers (kind, school, detail, keyed, state) VALUES (?1, ?2, ?3, ?4, 'incomplete')",
    )?
    .execute(params![kind, school, detail, keyed as i64])?;
    Ok(conn.last_insert_rowid())
}

/// Gives a submission whose key was incomplete its whole key.
pub fn rekey(conn: &Connection, id: i64, school: &str, detail: &str) -> Result<()> {
    conn.prepare_cached("UPDATE dossiers SET school = ?2, detail = ?3, keyed = 1 WHERE id = ?1")?
        .execute(params![id, school, detail])?;
    Ok(())
}

/// Writes a submission's computed columns.
pub fn save(conn: &Connection, d: &DossierRow) -> Result<()> {
    conn.prepare_cached(
        "UPDATE dossiers SET state = ?2, superseded_by = ?3, errors = ?4, warnings = ?5, parts = ?6,
           form_name = ?7, birth = ?8, phone = ?9, updated = ?10 WHERE id = ?1",
    )?
    .execute(params![
        d.id,
        d.state.as_str(),
        d.superseded_by,
        serde_json::to_string(&d.errors)?,
        serde_json::to_string(&d.warnings)?,
        serde_json::to_string(&d.parts)?,
        d.form_name,
        d.birth,
        d.phone,
        d.updated
    ])?;
    Ok(())
}

/// The mails bound to a submission, in arrival order (then store order), with their
/// verdicts; at most `limit` of the latest (a thread of hundreds of mails costs a bounded
/// amount to re-assess).
pub fn members(conn: &Connection, dossier: i64, limit: usize) -> Result<Vec<Member>> {
    let mut st = conn.prepare_cached(
        "SELECT message, arrived, sender, json FROM verdicts WHERE dossier = ?1
         ORDER BY coalesce(arrived, '') DESC, message DESC LIMIT ?2",
    )?;
    let rows = st.query_map(params![dossier, limit as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for r in rows {
        let (message, arrived, sender, json) = r?;
        if let Ok(verdict) = serde_json::from_str::<Verdict>(&json) {
            out.push(Member { message, arrived, sender, verdict });
        }
    }
    out.reverse();
    Ok(out)
}

/// Ids of the mails bound to a submission, in arrival order.
pub fn message_ids(conn: &Connection, dossier: i64) -> Result<Vec<i64>> {
    let mut st =
        conn.prepare_cached("SELECT message FROM verdicts WHERE dossier = ?1 ORDER BY coalesce(arrived, ''), message")?;
    let rows = st.query_map([dossier], |r| r.get(0))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// The addresses that already wrote to a submission, and those our replies to it went to
/// (a school's `Reply-To` in its own domain), lowercased.
pub fn senders(conn: &Connection, dossier: i64) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached(
        "SELECT lower(sender) FROM verdicts WHERE dossier = ?1 AND sender IS NOT NULL
         UNION SELECT lower(r.recipient) FROM replies r JOIN verdicts v ON v.message = r.message WHERE v.dossier = ?1",
    )?;
    let rows = st.query_map([dossier], |r| r.get(0))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// The mail the newest of our *sent* replies among these Message-IDs answered: its
/// submission and kind (a reply never sent cannot be answered: such a thread is ignored).
/// `References` lists a thread oldest first, so the ids are tried newest first.
fn answered(conn: &Connection, ids: &[String]) -> Result<Option<(Option<i64>, Option<String>)>> {
    let mut st = conn.prepare_cached(
        "SELECT v.dossier, v.kind FROM replies r JOIN verdicts v ON v.message = r.message
         WHERE r.reply_message_id = ?1 AND r.state IN ('sent', 'bounced') ORDER BY r.id DESC LIMIT 1",
    )?;
    for id in ids.iter().rev() {
        if let Some(found) = st.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional()? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The submission one of our sent replies answered.
pub fn answered_by_reply(conn: &Connection, ids: &[String]) -> Result<Option<i64>> {
    Ok(answered(conn, ids)?.and_then(|(d, _)| d))
}

/// The kind of the mail one of our sent replies answered (for judging a thread reply before
/// the register is rebuilt).
pub fn kind_answered_by_reply(conn: &Connection, ids: &[String]) -> Result<Option<String>> {
    Ok(answered(conn, ids)?.and_then(|(_, k)| k))
}

/// Open submissions of one school and kind whose form names someone (something) other than
/// their key, held back by errors: the candidates for closing a mistaken key.
pub fn mistaken_of_school(conn: &Connection, kind: &str, school: &str) -> Result<Vec<DossierRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM dossiers WHERE kind = ?1 AND school = ?2 AND state = 'incomplete'
           AND form_name IS NOT NULL AND form_name != detail ORDER BY id"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(params![kind, school], row)?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Submissions matching a filter, by id.
pub fn list(conn: &Connection, f: &DossierFilter) -> Result<Vec<DossierRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM dossiers WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR school = ?2)
         AND (?3 IS NULL OR state = ?3) ORDER BY id"
    );
    let mut st = conn.prepare(&sql)?;
    let rows = st.query_map(params![f.kind, f.school, f.state.map(|s| s.as_str())], row)?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Every (dossier, message) pair, in arrival order: the `messages` of [`list`] in one query.
pub fn all_members(conn: &Connection) -> Result<Vec<(i64, i64)>> {
    let mut st = conn.prepare(
        "SELECT dossier, message FROM verdicts WHERE dossier IS NOT NULL ORDER BY coalesce(arrived, ''), message",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Names listed in 附件3 汇总表 rows, per school: (school, name), distinct.
pub fn listed_experts(conn: &Connection) -> Result<Vec<(String, String)>> {
    let mut st = conn.prepare(
        "SELECT DISTINCT s.school, s.name FROM summary_rows s JOIN verdicts v ON v.message = s.message
         WHERE s.school IS NOT NULL ORDER BY s.school, s.name",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Forgets every submission (before they are re-bound in arrival order).
pub fn clear(conn: &Connection) -> Result<()> {
    conn.execute("UPDATE verdicts SET dossier = NULL", [])?;
    conn.execute("DELETE FROM dossiers", [])?;
    Ok(())
}

/// Open submissions of a kind at other schools for the same person: the same detail (the
/// expert's name) and the same birth month or phone.
pub fn same_person_elsewhere(
    conn: &Connection,
    kind: &str,
    detail: &str,
    school: &str,
    birth: Option<&str>,
    phone: Option<&str>,
) -> Result<Vec<DossierRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM dossiers WHERE kind = ?1 AND detail = ?2 AND school != ?3 AND state != 'superseded'
           AND ((?4 IS NOT NULL AND birth = ?4) OR (?5 IS NOT NULL AND phone = ?5)) ORDER BY id"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(params![kind, detail, school, birth, phone], row)?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// 附件1's contact fields as stored: (message, submission, school, category, contact, phone,
/// email), current submissions' first.
pub type ContactRow = (i64, Option<i64>, [Option<String>; 5]);

/// Every stored 附件1 contact.
pub fn contacts(conn: &Connection) -> Result<Vec<ContactRow>> {
    let mut st = conn.prepare(
        "SELECT c.message, v.dossier, c.school, c.category, c.contact, c.phone, c.email
         FROM contacts c JOIN verdicts v ON v.message = c.message ORDER BY v.superseded_by IS NOT NULL, c.message",
    )?;
    let rows =
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, [r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?])))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Every stored 附件3 row: (message, school, the row's ten text columns).
pub fn summary_rows(conn: &Connection) -> Result<Vec<(i64, Vec<Option<String>>)>> {
    let mut st = conn.prepare(
        "SELECT message, school, name, gender, birth, title, title_level, phone, email, employer, category
         FROM summary_rows ORDER BY message, id",
    )?;
    let rows = st.query_map([], |r| {
        let mut cols = Vec::with_capacity(10);
        for i in 1..11 {
            cols.push(r.get::<_, Option<String>>(i)?);
        }
        Ok((r.get(0)?, cols))
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}
