//! Judging one stored mail again and re-binding only the submissions it can touch, with the
//! same result as [`super::rebuild`] (which re-binds every mail) when the other mails would be
//! judged as before — the case of a mail judged again by hand. After a rules change that may
//! move many mails, `reparse --all` rebuilds the whole register.
//!
//! What one mail can touch, found as a closure over the register as stored:
//! - its submission before, and every submission of the same kind and school before and
//!   after (binding by key, mistaken keys closing, a thread reply re-keying a submission stay
//!   within one kind at one school);
//! - for a kind keyed by the expert's name, the submissions of that kind under the same name
//!   at other schools (`expert_recommended_by_other_school` is marked on both);
//! - every mail in a thread with one of those mails (a mail answering our reply to one of them,
//!   or one they answer): its binding depends on where the other went, and on who wrote to it;
//! - every mail of each submission so found, and, in turn, their schools and threads.
//!
//! Those submissions are deleted, and their mails judged anew (on all cores, outside the
//! transaction) and bound again in arrival order — exactly [`super::rebuild`]'s two phases,
//! on the part of the register the mail can reach. The submissions get new ids.

use crate::store;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::{Connection, OptionalExtension, params};

use super::{apply, sender_of, thread_hint_of, thread_ids};
use crate::rules::{Part, Rules};
use crate::store::Result;
use crate::store::dossiers;
use crate::text::squeeze;
use crate::validate::{JudgeOptions, judge};
use crate::verdict::Verdict;

/// Bytes of a raw message read to find its thread headers.
const HEAD: usize = 64 * 1024;

/// What [`rejudge`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebound {
    /// Mails judged anew and bound again (the one asked for among them).
    pub mails: usize,
    /// Submissions re-made.
    pub submissions: usize,
}

/// Judges message `id` again and re-binds what it can touch. Calls `progress` with each
/// re-bound (id, verdict before, verdict after), in arrival order. `None`: the message is not
/// judged (nor failed) yet — nothing to judge again.
pub fn rejudge(
    conn: &mut Connection,
    rules: &Rules,
    limits: &crate::limits::Limits,
    id: i64,
    mut progress: impl FnMut(i64, Option<&Verdict>, &Verdict),
) -> Result<Option<Rebound>> {
    let order = arrival_order(conn)?;
    if !order.contains(&id) {
        return Ok(None);
    }
    let first = judge_anew(conn, rules, limits, &[id])?;
    let Some(mine) = first.first() else { return Ok(None) };
    let (mails, subs) = reach(conn, rules, id, &mine.verdict, &order)?;
    let others: Vec<i64> = order.iter().copied().filter(|m| *m != id && mails.contains(m)).collect();
    let mut judged: HashMap<i64, Rejudged> =
        judge_anew(conn, rules, limits, &others)?.into_iter().map(|r| (r.id, r)).collect();
    judged.extend(first.into_iter().map(|r| (r.id, r)));

    let tx = conn.transaction()?;
    for m in &mails {
        tx.prepare_cached("UPDATE verdicts SET dossier = NULL WHERE message = ?1")?.execute([m])?;
    }
    for d in &subs {
        tx.prepare_cached("DELETE FROM dossiers WHERE id = ?1")?.execute([d])?;
    }
    let mut n = 0;
    for m in order.iter().filter(|m| mails.contains(m)) {
        let Some(r) = judged.remove(m) else { continue };
        let before = crate::store::verdicts::verdict(&tx, r.id)?;
        let hint = thread_hint_of(&tx, &r.thread, r.sender.as_deref(), rules)?;
        let after = apply(&tx, r.id, r.verdict, &hint, rules)?;
        store::verdicts::save_verdict_in(&tx, r.id, &after, None)?;
        progress(r.id, before.as_ref(), &after);
        n += 1;
    }
    tx.commit()?;
    tracing::info!(stage = "reparse", id, mails = n, submissions = subs.len(), "re-judged with its submissions");
    Ok(Some(Rebound { mails: n, submissions: subs.len() }))
}

/// Judged (or failed) mails in the order [`super::rebuild`] binds them.
fn arrival_order(conn: &Connection) -> Result<Vec<i64>> {
    let mut st = conn.prepare(
        "SELECT m.id FROM messages m LEFT JOIN verdicts v ON v.message = m.id
         WHERE m.state IN ('judged', 'failed') ORDER BY coalesce(v.arrived, m.internal_date, ''), m.id",
    )?;
    let rows = st.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// A mail judged anew, waiting to be bound.
struct Rejudged {
    id: i64,
    thread: Vec<String>,
    sender: Option<String>,
    verdict: Verdict,
}

/// Judges `ids` on all cores, as [`super::rebuild`]'s first phase does (a thread reply's kind is
/// the kind of the mail our reply answered), 64 raw messages in memory at a time.
fn judge_anew(conn: &Connection, rules: &Rules, limits: &crate::limits::Limits, ids: &[i64]) -> Result<Vec<Rejudged>> {
    use rayon::prelude::*;
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(64) {
        let mut stored = Vec::with_capacity(chunk.len());
        for id in chunk {
            if let Some(m) = store::messages::stored(conn, *id)? {
                let thread = thread_ids(&m.raw);
                let kind = dossiers::kind_answered_by_reply(conn, &thread)?;
                stored.push((m, thread, kind));
            }
        }
        out.par_extend(stored.into_par_iter().map(|(m, thread, kind)| {
            let opts = JudgeOptions { arrived: m.internal_date, limits: *limits, kind_hint: kind };
            Rejudged {
                id: m.id,
                sender: sender_of(&m.raw),
                verdict: judge(&format!("message-{}", m.id), &m.raw, rules, &opts),
                thread,
            }
        }));
    }
    Ok(out)
}

/// The mails and submissions judging `id` anew (to `verdict`) can touch (see the module).
fn reach(
    conn: &Connection,
    rules: &Rules,
    id: i64,
    verdict: &Verdict,
    order: &[i64],
) -> Result<(BTreeSet<i64>, BTreeSet<i64>)> {
    let threads = thread_links(conn, order)?;
    let mut r = Reach::default();
    r.mail(id);
    let kind = verdict.kind.as_deref().unwrap_or_default();
    if let Some(s) = verdict.fields.get("school") {
        r.school(kind, s);
    }
    if by_expert(rules, kind) {
        let names = verdict.fields.get("expert_name").into_iter().chain(verdict.experts.first().map(|e| &e.name));
        for n in names.map(|n| squeeze(n)).filter(|n| !n.is_empty()) {
            r.names.push((kind.to_string(), n));
        }
    }
    r.close(conn, rules, &threads)?;
    Ok((r.mails, r.subs))
}

/// Whether submissions of `kind` are keyed by the expert's name.
fn by_expert(rules: &Rules, kind: &str) -> bool {
    rules.kind(kind).is_some_and(|k| k.subject_parts.contains(&Part::ExpertName))
}

/// The worklists of [`reach`]: what was found, and what is still to be followed.
#[derive(Default)]
struct Reach {
    mails: BTreeSet<i64>,
    subs: BTreeSet<i64>,
    /// (kind, school) pairs.
    schools: BTreeSet<(String, String)>,
    seen_names: BTreeSet<(String, String)>,
    todo_mails: Vec<i64>,
    todo_subs: Vec<i64>,
    todo_schools: Vec<(String, String)>,
    names: Vec<(String, String)>,
}

impl Reach {
    fn mail(&mut self, id: i64) {
        if self.mails.insert(id) {
            self.todo_mails.push(id);
        }
    }
    fn sub(&mut self, id: i64) {
        if self.subs.insert(id) {
            self.todo_subs.push(id);
        }
    }
    fn school(&mut self, kind: &str, school: &str) {
        let pair = (kind.to_string(), school.to_string());
        if self.schools.insert(pair.clone()) {
            self.todo_schools.push(pair);
        }
    }

    /// Follows every link until nothing new is found.
    fn close(&mut self, conn: &Connection, rules: &Rules, threads: &BTreeMap<i64, BTreeSet<i64>>) -> Result<()> {
        loop {
            if let Some(m) = self.todo_mails.pop() {
                let row: Option<(Option<String>, Option<String>, Option<i64>)> = conn
                    .prepare_cached("SELECT kind, school, dossier FROM verdicts WHERE message = ?1")?
                    .query_row([m], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()?;
                if let Some((kind, school, dossier)) = row {
                    if let (Some(k), Some(s)) = (kind, school) {
                        self.school(&k, &s);
                    }
                    dossier.inspect(|d| self.sub(*d));
                }
                for other in threads.get(&m).into_iter().flatten() {
                    self.mail(*other);
                }
            } else if let Some(d) = self.todo_subs.pop() {
                let row: Option<(String, Option<String>, String)> = conn
                    .prepare_cached("SELECT kind, school, detail FROM dossiers WHERE id = ?1")?
                    .query_row([d], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()?;
                if let Some((kind, school, detail)) = row {
                    school.inspect(|s| self.school(&kind, s));
                    if by_expert(rules, &kind) && !detail.is_empty() {
                        self.names.push((kind, detail));
                    }
                }
                for m in ids(conn, "SELECT message FROM verdicts WHERE dossier = ?1", [d])? {
                    self.mail(m);
                }
            } else if let Some((k, s)) = self.todo_schools.pop() {
                for d in ids(conn, "SELECT id FROM dossiers WHERE kind = ?1 AND school = ?2", params![k, s])? {
                    self.sub(d);
                }
                for m in ids(conn, "SELECT message FROM verdicts WHERE school = ?2 AND kind = ?1", params![k, s])? {
                    self.mail(m);
                }
            } else if let Some((kind, name)) = self.names.pop() {
                if self.seen_names.insert((kind.clone(), name.clone())) {
                    let found: Vec<i64> = conn
                        .prepare_cached("SELECT id FROM dossiers WHERE kind = ?1 AND detail = ?2")?
                        .query_map(params![kind, name], |r| r.get(0))?
                        .collect::<std::result::Result<_, _>>()?;
                    found.into_iter().for_each(|d| self.sub(d));
                }
            } else {
                return Ok(());
            }
        }
    }
}

fn ids(conn: &Connection, sql: &str, args: impl rusqlite::Params) -> Result<Vec<i64>> {
    let mut st = conn.prepare_cached(sql)?;
    let rows = st.query_map(args, |r| r.get(0))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Mail ↔ mail links of threads: a mail naming (in `In-Reply-To` / `References`) one of our
/// replies is linked to the mail that reply answered, both ways. Only each message's first
/// bytes are read.
fn thread_links(conn: &Connection, order: &[i64]) -> Result<BTreeMap<i64, BTreeSet<i64>>> {
    let mut links: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    let mut answered = conn.prepare_cached("SELECT message FROM replies WHERE reply_message_id = ?1")?;
    let header_end =
        |b: &[u8]| b.windows(4).position(|w| w == b"\r\n\r\n").or_else(|| b.windows(2).position(|w| w == b"\n\n"));
    for &m in order {
        // Headers fit in the first 8 KB but for rare mails (64 KB read then).
        let mut head = crate::store::web::raw_chunk(conn, m, 0, HEAD / 8)?;
        if header_end(&head).is_none() && head.len() == HEAD / 8 {
            head = crate::store::web::raw_chunk(conn, m, 0, HEAD)?;
        }
        let end = header_end(&head);
        let head = &head[..end.unwrap_or(head.len())];
        let lower = head.to_ascii_lowercase();
        let threaded =
            lower.windows(12).any(|w| w == b"in-reply-to:") || lower.windows(11).any(|w| w == b"references:");
        if !threaded {
            continue;
        }
        let mut heads = head.to_vec();
        heads.extend_from_slice(b"\r\n\r\n");
        for tid in thread_ids(&heads) {
            let found: Vec<i64> = answered.query_map([&tid], |r| r.get(0))?.collect::<std::result::Result<_, _>>()?;
            for z in found.into_iter().filter(|z| *z != m) {
                links.entry(m).or_default().insert(z);
                links.entry(z).or_default().insert(m);
            }
        }
    }
    Ok(links)
}
