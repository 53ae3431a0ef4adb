//! The register (spec §8): binds each judged mail to the school's submission, judges the
//! submission as a whole, and gives the mail the verdict it is answered with.
//!
//! The judge ([`crate::validate::judge`]) reads one mail; the register knows the others. For
//! each mail, in arrival order and inside the writer's transaction:
//! 1. [`thread_hint`] (before judging): does it answer one of our sent replies, from an address
//!    (or non-public domain) that already wrote to that submission? Then the submission's kind
//!    guides the judge when the subject names none.
//! 2. [`bind`]: thread first, then the subject's key, then the form's name/category for an
//!    incomplete subject, else a submission of its own.
//! 3. [`assess::assess`] the submission from all its mails; the mail's verdict becomes the
//!    submission's (its own judgement is kept in `submission.own_*`); mistaken keys close;
//!    the same expert at two schools is marked on both.
//!
//! [`rebuild`] replays every stored mail this way (after a migration, or `reparse`).

pub mod assess;
pub mod rejudge;
pub mod view;

use mail_parser::MessageParser;
use rusqlite::Connection;

use crate::rules::{Part, Rules};
use crate::store::Result;
use crate::store::dossiers::{self, DossierRow};
use crate::text::squeeze;
use crate::validate::{JudgeOptions, add_warning, judge};
use crate::verdict::{BoundBy, Decision, DossierState, ErrorCode, SubmissionRef, Verdict, WarningCode};
use assess::{Contribution, Key};

/// A submission is re-assessed from at most this many of its latest mails.
pub const MAX_MEMBERS: usize = 200;

/// What the thread of a mail says, read before judging.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadHint {
    /// The submission one of our sent replies answered, when the sender may write to it.
    pub dossier: Option<i64>,
    /// Its kind (guides the judge when the subject names none).
    pub kind: Option<String>,
    /// The mail answers one of our replies but its sender never wrote to that submission.
    pub stranger: bool,
}

/// The Message-IDs a mail's `In-Reply-To` and `References` name (with angle brackets),
/// oldest first, at most 100.
pub fn thread_ids(raw: &[u8]) -> Vec<String> {
    let Some(h) = MessageParser::new().parse_headers(raw) else { return Vec::new() };
    let mut ids: Vec<String> = h
        .references()
        .as_text_list()
        .map(|l| l.iter().map(|r| format!("<{}>", r.trim_matches(['<', '>']))).collect())
        .unwrap_or_default();
    if let Some(list) = h.in_reply_to().as_text_list() {
        for r in list {
            let id = format!("<{}>", r.trim_matches(['<', '>']));
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    let n = ids.len();
    ids.into_iter().skip(n.saturating_sub(100)).collect()
}

fn domain(addr: &str) -> &str {
    addr.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
}

/// Reads the thread of a raw mail from `sender` against the register (spec §8 rule 1 and
/// "thread binding is not a back door").
pub fn thread_hint(conn: &Connection, raw: &[u8], sender: Option<&str>, rules: &Rules) -> Result<ThreadHint> {
    thread_hint_of(conn, &thread_ids(raw), sender, rules)
}

/// [`thread_hint`] for a mail's thread ids (as [`thread_ids`] reads them).
pub fn thread_hint_of(conn: &Connection, ids: &[String], sender: Option<&str>, rules: &Rules) -> Result<ThreadHint> {
    if ids.is_empty() {
        return Ok(ThreadHint::default());
    }
    let Some(mut d) = dossiers::answered_by_reply(conn, ids)? else { return Ok(ThreadHint::default()) };
    // A mistaken key closed since: the school's mail goes where the submission went.
    let mut row = dossiers::get(conn, d)?;
    for _ in 0..16 {
        match row.as_ref().and_then(|r| r.superseded_by) {
            Some(next) => {
                d = next;
                row = dossiers::get(conn, d)?;
            }
            None => break,
        }
    }
    let Some(row) = row else { return Ok(ThreadHint::default()) };
    let sender = sender.map(|s| s.trim().to_ascii_lowercase()).unwrap_or_default();
    let known = dossiers::senders(conn, d)?;
    let public = rules.subject.public_mail_domains.iter().any(|p| p == domain(&sender));
    let ok = !sender.is_empty()
        && known
            .iter()
            .any(|k| *k == sender || (!public && !domain(&sender).is_empty() && domain(k) == domain(&sender)));
    Ok(if ok {
        ThreadHint { dossier: Some(d), kind: Some(row.kind), stranger: false }
    } else {
        ThreadHint { stranger: true, ..ThreadHint::default() }
    })
}

/// The key a mail's own verdict files it under, and how (rules 2–4).
fn key_of(v: &Verdict, rules: &Rules) -> Option<(Key, BoundBy, bool)> {
    let kind_id = v.kind.clone()?;
    let kind = rules.kind(&kind_id)?;
    let school = v.fields.get("school").cloned();
    let wants_detail = kind.subject_parts.iter().find(|p| matches!(p, Part::ExpertName | Part::Category)).copied();
    let from_subject = match wants_detail {
        Some(Part::ExpertName) => v.fields.get("expert_name").map(|n| squeeze(n)),
        Some(_) => v.fields.get("category").cloned(),
        None => Some(String::new()),
    };
    let from_form = match wants_detail {
        Some(Part::ExpertName) => v.experts.first().map(|e| squeeze(&e.name)).filter(|n| !n.is_empty()),
        Some(_) => v.form_fields.get("category").and_then(|c| rules.category(c)).map(|c| c.name.clone()),
        None => None,
    };
    Some(match (&school, from_subject, from_form) {
        (Some(_), Some(detail), _) => (Key { kind: kind_id, school, detail }, BoundBy::Subject, true),
        (Some(_), None, Some(detail)) => (Key { kind: kind_id, school, detail }, BoundBy::Form, true),
        _ => (Key { kind: kind_id, school, detail: String::new() }, BoundBy::Own, false),
    })
}

/// Binds a judged mail to its submission, re-assesses that submission, and returns the
/// verdict the mail is answered with. Held and automatic mail is returned as it is (a held
/// reply in a known thread is still listed with its submission).
pub fn apply(conn: &Connection, message: i64, mut v: Verdict, hint: &ThreadHint, rules: &Rules) -> Result<Verdict> {
    if hint.stranger {
        add_warning(&mut v, WarningCode::ThreadFromStranger, rules);
    }
    let contributes = matches!(v.decision, Decision::Acknowledge | Decision::RequestCorrection);
    if !contributes {
        return held_in_thread(conn, v, hint);
    }
    let (mut row, bound_by) = match bind(conn, &v, hint, rules)? {
        Some(x) => x,
        None => return Ok(v),
    };
    let Some(kind) = rules.kind(&row.kind) else { return Ok(v) };

    // A full resend of a submission that was already complete.
    if row.state == DossierState::Complete && v.errors.is_empty() && bound_by != BoundBy::Thread {
        add_warning(&mut v, WarningCode::DuplicateSubmission, rules);
    }
    let a = reassess(conn, message, &v, &row, kind, rules)?;
    record_assessment(&mut row, &a);
    dossiers::save(conn, &row)?;
    answer_for_submission(&mut v, &row, kind, a, bound_by, rules);

    if let Some(school) = &row.school {
        close_mistaken_keys(conn, &row.kind, school)?;
    }
    if kind.subject_parts.contains(&Part::ExpertName) {
        mark_same_expert_elsewhere(conn, &row)?;
    }
    Ok(v)
}

/// A mail that is no submission of its own, returned as it is; a held reply in a known
/// thread is still listed with its submission.
fn held_in_thread(conn: &Connection, mut v: Verdict, hint: &ThreadHint) -> Result<Verdict> {
    if let Some(d) = hint.dossier
        && v.decision == Decision::Hold
        && let Some(row) = dossiers::get(conn, d)?
    {
        v.submission = Some(reference(&row, BoundBy::Thread, &v));
    }
    Ok(v)
}

/// The submission `row` assessed from its stored mails (at most [`MAX_MEMBERS`]) and this
/// one (`message`, judged `v`), in arrival order.
fn reassess(
    conn: &Connection,
    message: i64,
    v: &Verdict,
    row: &DossierRow,
    kind: &crate::rules::KindRule,
    rules: &Rules,
) -> Result<assess::Assessment> {
    let key = Key { kind: row.kind.clone(), school: row.school.clone(), detail: row.detail.clone() };
    let stored = dossiers::members(conn, row.id, MAX_MEMBERS)?;
    let mut mails: Vec<Contribution> =
        stored.iter().filter(|m| m.message != message).map(|m| Contribution::of(m.message, &m.verdict)).collect();
    mails.push(Contribution::of(message, v));
    mails.sort_by(|a, b| {
        (a.arrived.as_deref().unwrap_or(""), a.message).cmp(&(b.arrived.as_deref().unwrap_or(""), b.message))
    });
    Ok(assess::assess(kind, &key, &mails, rules))
}

/// The assessment written into the submission's row (the mark of the same expert at another
/// school, which the assessment does not make, is kept).
fn record_assessment(row: &mut DossierRow, a: &assess::Assessment) {
    row.state = a.state;
    row.errors = a.errors.iter().map(|e| e.as_str().to_string()).collect();
    let cross: Vec<String> = row
        .warnings
        .iter()
        .filter(|w| w.as_str() == WarningCode::ExpertRecommendedByOtherSchool.as_str())
        .cloned()
        .collect();
    row.warnings = a.warnings.iter().map(|w| w.as_str().to_string()).chain(cross).collect();
    row.parts = a.parts.clone();
    row.form_name = a.form_name.clone();
    row.birth = a.birth.clone();
    row.phone = a.phone.clone();
    row.updated = a.updated.clone();
}

/// The mail is answered for its submission; what it said alone is kept in
/// `submission.own_*`.
fn answer_for_submission(
    v: &mut Verdict,
    row: &DossierRow,
    kind: &crate::rules::KindRule,
    a: assess::Assessment,
    bound_by: BoundBy,
    rules: &Rules,
) {
    let own_decision = v.decision;
    let own_errors = std::mem::take(&mut v.errors);
    let own_warnings = std::mem::take(&mut v.warnings);
    v.kind = Some(row.kind.clone());
    v.decision = if a.state == DossierState::Complete { Decision::Acknowledge } else { Decision::RequestCorrection };
    v.errors = a.errors;
    v.warnings = a.warnings;
    if own_warnings.contains(&WarningCode::ThreadFromStranger) {
        v.warnings.push(WarningCode::ThreadFromStranger);
    }
    v.reasons = a.reasons;
    // The submission's expert is the current form's, whichever mail brought it.
    if !a.experts.is_empty() {
        v.experts = a.experts;
    }
    if own_warnings.contains(&WarningCode::ThreadFromStranger) {
        v.reasons.push(crate::validate::reasons::warning_text(WarningCode::ThreadFromStranger, rules));
    }
    if row.keyed || !row.detail.is_empty() {
        set_key_fields(v, row, kind);
    }
    v.submission = Some(SubmissionRef {
        id: row.id,
        bound_by,
        state: a.state,
        parts: a.parts,
        own_decision,
        own_errors,
        own_warnings,
    });
}

fn set_key_fields(v: &mut Verdict, row: &DossierRow, kind: &crate::rules::KindRule) {
    v.fields.clear();
    if let Some(s) = &row.school {
        v.fields.insert("school".into(), s.clone());
    }
    if kind.subject_parts.contains(&Part::ExpertName) {
        v.fields.insert("expert_name".into(), row.detail.clone());
    } else if kind.subject_parts.contains(&Part::Category) {
        v.fields.insert("category".into(), row.detail.clone());
    }
}

fn reference(row: &DossierRow, bound_by: BoundBy, v: &Verdict) -> SubmissionRef {
    SubmissionRef {
        id: row.id,
        bound_by,
        state: row.state,
        parts: row.parts.clone(),
        own_decision: v.decision,
        own_errors: v.errors.clone(),
        own_warnings: v.warnings.clone(),
    }
}

/// Rules 1–4: the submission a mail belongs to (created when new).
fn bind(conn: &Connection, v: &Verdict, hint: &ThreadHint, rules: &Rules) -> Result<Option<(DossierRow, BoundBy)>> {
    let own_key = key_of(v, rules);
    if let Some(d) = hint.dossier
        && let Some(row) = dossiers::get(conn, d)?
    {
        // The thread's submission, whatever the subject says — but a reply whose subject now
        // gives the whole key of the same school completes a key that was missing, and one
        // that names another whole key of that school is that submission.
        match &own_key {
            Some((key, how, true))
                if key.kind == row.kind
                    && (key.school == row.school || !row.keyed && row.school.is_none())
                    && (key.detail != row.detail || !row.keyed) =>
            {
                if !row.keyed {
                    let Some(school) = &key.school else { return Ok(Some((row, BoundBy::Thread))) };
                    return Ok(match dossiers::find_keyed(conn, &key.kind, school, &key.detail)? {
                        Some(other) => dossiers::get(conn, other)?.map(|r| (r, BoundBy::Thread)),
                        None => {
                            dossiers::rekey(conn, row.id, school, &key.detail)?;
                            dossiers::get(conn, row.id)?.map(|r| (r, BoundBy::Thread))
                        }
                    });
                }
                // A subject naming another expert (category) of the same school, agreeing with
                // the mail's own form, is that submission: a school answering a receipt with
                // its next expert, or resending under the name its form had (the mistaken key
                // then closes).
                let own_form_agrees = !v.errors.contains(&ErrorCode::NameMismatch);
                if !(*how == BoundBy::Subject && own_form_agrees) {
                    return Ok(Some((row, BoundBy::Thread)));
                }
            }
            _ => return Ok(Some((row, BoundBy::Thread))),
        }
    }
    let Some((key, bound_by, keyed)) = own_key else { return Ok(None) };
    let existing = match (&key.school, keyed) {
        (Some(school), true) => dossiers::find_keyed(conn, &key.kind, school, &key.detail)?,
        _ => None,
    };
    let (id, bound_by) = match existing {
        // A stranger in someone's thread may not touch what is on file under that key: its
        // mail is judged as a submission of its own, for the office to look at.
        Some(_) if hint.stranger => {
            (dossiers::create(conn, &key.kind, key.school.as_deref(), &key.detail, false)?, BoundBy::Own)
        }
        Some(id) => (id, bound_by),
        None => (dossiers::create(conn, &key.kind, key.school.as_deref(), &key.detail, keyed)?, bound_by),
    };
    Ok(dossiers::get(conn, id)?.map(|row| (row, bound_by)))
}

/// "Mistaken keys close" (spec §8): a submission held back only by `name_mismatch` or
/// `subject_incomplete` is superseded once a submission of the same school is keyed by the
/// name (category) its form gives.
fn close_mistaken_keys(conn: &Connection, kind: &str, school: &str) -> Result<()> {
    let closable = [ErrorCode::NameMismatch.as_str(), ErrorCode::SubjectIncomplete.as_str()];
    for mut d in dossiers::mistaken_of_school(conn, kind, school)? {
        let only_key_errors = !d.errors.is_empty() && d.errors.iter().all(|e| closable.contains(&e.as_str()));
        let Some(name) = d.form_name.clone().filter(|n| *n != d.detail) else { continue };
        if !only_key_errors {
            continue;
        }
        if let Some(other) = dossiers::find_keyed(conn, kind, school, &name)?
            && other != d.id
        {
            d.state = DossierState::Superseded;
            d.superseded_by = Some(other);
            dossiers::save(conn, &d)?;
        }
    }
    Ok(())
}

/// `expert_recommended_by_other_school`: the same person (name and birth month or phone) in
/// a current submission of another school; both carry it.
fn mark_same_expert_elsewhere(conn: &Connection, row: &DossierRow) -> Result<()> {
    let (Some(school), false) = (&row.school, row.detail.is_empty()) else { return Ok(()) };
    if row.state == DossierState::Superseded {
        return Ok(());
    }
    let code = WarningCode::ExpertRecommendedByOtherSchool.as_str().to_string();
    let others = dossiers::same_person_elsewhere(
        conn,
        &row.kind,
        &row.detail,
        school,
        row.birth.as_deref(),
        row.phone.as_deref(),
    )?;
    let found = !others.is_empty();
    for mut other in others {
        if !other.warnings.contains(&code) {
            other.warnings.push(code.clone());
            dossiers::save(conn, &other)?;
        }
    }
    if found && !row.warnings.contains(&code) {
        let mut me = row.clone();
        me.warnings.push(code);
        dossiers::save(conn, &me)?;
    }
    Ok(())
}

/// The sender a thread is checked against: the `From` address, lowercased.
pub fn sender_of(raw: &[u8]) -> Option<String> {
    let h = MessageParser::new().parse_headers(raw)?;
    h.from().and_then(|a| a.first()).and_then(|a| a.address()).map(|a| a.trim().to_ascii_lowercase())
}

/// Mails judged per round of [`rebuild`]'s first phase (their raw bytes are in memory).
const REBUILD_CHUNK: usize = 64;

/// A mail judged anew by [`rebuild`], waiting to be bound.
struct Rejudged {
    id: i64,
    thread: Vec<String>,
    sender: Option<String>,
    verdict: Verdict,
}

/// Forgets every submission and binds every judged mail again, in arrival order, judging
/// each anew. Verdicts are saved; no reply is made. Calls `progress` with each (id, verdict
/// before, verdict after).
///
/// Two phases, so the writer is held only for the second: every mail is judged on all cores
/// outside any transaction (a thread reply's kind is the kind of the mail our reply answered);
/// then, in one transaction, the submissions are cleared and every mail bound in order.
pub fn rebuild(
    conn: &mut Connection,
    rules: &Rules,
    limits: &crate::limits::Limits,
    mut progress: impl FnMut(i64, Option<&Verdict>, &Verdict),
) -> Result<usize> {
    use rayon::prelude::*;
    let ids = crate::store::messages::judged_in_arrival_order(conn)?;
    let mut judged: Vec<Rejudged> = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(REBUILD_CHUNK) {
        let mut stored = Vec::with_capacity(chunk.len());
        for id in chunk {
            if let Some(m) = crate::store::messages::stored(conn, *id)? {
                let thread = thread_ids(&m.raw);
                let kind = dossiers::kind_answered_by_reply(conn, &thread)?;
                stored.push((m, thread, kind));
            }
        }
        let round: Vec<Rejudged> = stored
            .into_par_iter()
            .map(|(m, thread, kind)| {
                let opts = JudgeOptions { arrived: m.internal_date, limits: *limits, kind_hint: kind };
                Rejudged {
                    id: m.id,
                    sender: sender_of(&m.raw),
                    verdict: judge(&format!("message-{}", m.id), &m.raw, rules, &opts),
                    thread,
                }
            })
            .collect();
        judged.extend(round);
    }
    let tx = conn.transaction()?;
    dossiers::clear(&tx)?;
    for r in judged {
        let before = crate::store::verdicts::verdict(&tx, r.id)?;
        let hint = thread_hint_of(&tx, &r.thread, r.sender.as_deref(), rules)?;
        let after = apply(&tx, r.id, r.verdict, &hint, rules)?;
        crate::store::verdicts::save_verdict_in(&tx, r.id, &after, None)?;
        progress(r.id, before.as_ref(), &after);
    }
    crate::store::state::set(&tx, "dossiers_rebuild", "0")?;
    tx.commit()?;
    Ok(ids.len())
}

/// Whether the store still needs [`rebuild`] (a store made before submissions existed).
pub fn needs_rebuild(conn: &Connection) -> Result<bool> {
    Ok(crate::store::state::get(conn, "dossiers_rebuild")?.as_deref() == Some("1"))
}
