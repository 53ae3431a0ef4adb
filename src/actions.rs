//! Admin actions on the register, one code path for the command line and the web view:
//! answer a message again (`resend`, which also releases a reply held back by a rule),
//! suppress a pending reply, and judge stored messages again (one: `register::rejudge`, only
//! the submissions it can touch; several: the register rebuilt).
//!
//! Each function checks the same policy whoever asks (no answer to `hold` or `ignore` mail,
//! never to the office's own address, never a reply being sent right now) and returns what it
//! did as plain lines, or [`ActionError::Refused`] with the reason. `who` names the person
//! (the web user) in the recorded reason and the log; the command line passes `None`.

use crate::store;
use crate::store::ReplyState;
use std::collections::BTreeSet;

use crate::config::Config;
use crate::register;
use crate::reply::{self, ReplyContext};
use crate::rules::Rules;
use crate::store::{Store, StoreError};
use crate::verdict::{Decision, Verdict};

/// The reason recorded on a reply suppressed by hand.
pub const SUPPRESSED_BY_ADMIN: &str = "suppressed by an admin";
/// The reason recorded on a reply queued again by hand (until it is sent).
pub const RESENT_BY_ADMIN: &str = "re-send requested by an admin";

/// Why an action did nothing.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The policy says no; the text says why and what to do instead.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot build the reply: {0}")]
    Reply(#[from] reply::ReplyError),
}

/// What to do with a message's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyAction {
    /// Put the latest reply back into the outbox (or plan one when there is none).
    Resend,
    /// Suppress every pending reply.
    Suppress,
}

fn printable(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn reason(base: &str, who: Option<&str>) -> String {
    match who {
        Some(w) => format!("{base} ({})", printable(w)),
        None => base.to_string(),
    }
}

/// What an action on one message's reply works with.
struct Ctx<'a> {
    cfg: &'a Config,
    rules: &'a Rules,
    store: &'a Store,
    id: i64,
    who: Option<&'a str>,
    config: &'a str,
}

fn refuse<T>(s: String) -> Result<T, ActionError> {
    Err(ActionError::Refused(s))
}

/// Resends or suppresses the reply of message `id`. `config` names the configuration in the
/// hints printed (`mail-intake … -c CONFIG`).
pub fn reply(
    cfg: &Config,
    rules: &Rules,
    store: &Store,
    id: i64,
    action: ReplyAction,
    who: Option<&str>,
    config: &str,
) -> Result<Vec<String>, ActionError> {
    let Some(m) = store.with(|c| store::messages::message(c, id))? else {
        return refuse(format!("there is no message #{id} in {}", cfg.store_path.display()));
    };
    let replies = store.with(|c| store::replies::reply_details(c, id))?;
    let ctx = Ctx { cfg, rules, store, id, who, config };
    if action == ReplyAction::Suppress {
        return suppress(&ctx, &replies);
    }
    let decision = answerable(&ctx, &m)?;
    match replies.last() {
        Some(latest) => requeue(&ctx, latest, &decision),
        // A submission without any reply (answered before reply_since, say): plan one now.
        None => plan_by_hand(&ctx),
    }
}

/// Suppresses every pending reply of the message.
fn suppress(ctx: &Ctx, replies: &[store::replies::ReplyDetail]) -> Result<Vec<String>, ActionError> {
    let (id, config) = (ctx.id, ctx.config);
    let why = reason(SUPPRESSED_BY_ADMIN, ctx.who);
    let ids = ctx.store.with(|c| store::replies::suppress_pending(c, id, &why))?;
    if ids.is_empty() {
        let states = replies.iter().map(|r| format!("#{} {}", r.id, r.state)).collect::<Vec<_>>().join(", ");
        return refuse(if replies.is_empty() {
            format!("message #{id} has no reply to suppress")
        } else {
            format!(
                "message #{id} has no pending reply (its replies: {states}); only a reply that has not gone out can be suppressed"
            )
        });
    }
    let mut out = Vec::new();
    for r in replies.iter().filter(|r| ids.contains(&r.id)) {
        out.push(format!(
            "reply #{} ({}) to {} suppressed: it will not be sent (`mail-intake reply -c {config} {id} --resend` queues it again)",
            r.id,
            r.kind,
            printable(&r.recipient),
        ));
        tracing::info!(stage = "admin", id, reply = r.id, who = ctx.who.unwrap_or("cli"), "reply suppressed");
    }
    Ok(out)
}

/// The message's decision when it is one that gets an answer, else the refusal.
fn answerable(ctx: &Ctx, m: &store::messages::MessageRow) -> Result<String, ActionError> {
    let (id, config) = (ctx.id, ctx.config);
    match m.decision.as_deref() {
        None => refuse(format!(
            "message #{id} has no verdict (state {}{}); judge it again with `mail-intake reparse -c {config} {id}` first",
            m.state,
            m.error.as_deref().map(|e| format!(": {}", printable(e))).unwrap_or_default(),
        )),
        Some(d @ ("hold" | "ignore")) => {
            let why = if d == "hold" {
                "is on hold (not a recognisable submission): it waits for a person and gets no automatic reply; answer it from the mailbox"
            } else {
                "is automatic mail (a bounce, an auto-reply, our own reply) and is never answered"
            };
            refuse(format!("message #{id} {why}"))
        }
        Some(d) => Ok(d.to_string()),
    }
}

fn later(config: &str) -> String {
    format!("the running daemon's outbox sends it within a minute (or now: `mail-intake run -c {config} --once`)")
}

/// Puts the latest reply back into the outbox.
fn requeue(ctx: &Ctx, latest: &store::replies::ReplyDetail, decision: &str) -> Result<Vec<String>, ActionError> {
    let (id, config) = (ctx.id, ctx.config);
    if latest.state == ReplyState::Sending {
        return refuse(format!(
            "reply #{} is being sent right now; wait for it to finish (`mail-intake show -c {config} {id}`)",
            latest.id,
        ));
    }
    let office = ctx.cfg.transport.from().parse::<lettre::message::Mailbox>().ok().map(|m| m.email.to_string());
    if office.is_some_and(|o| o.eq_ignore_ascii_case(&latest.recipient)) {
        return refuse(format!(
            "reply #{} would go to the office's own address {}; nothing queued",
            latest.id,
            printable(&latest.recipient)
        ));
    }
    let changed = ctx.store.with(|c| store::replies::requeue_reply(c, latest.id, &reason(RESENT_BY_ADMIN, ctx.who)))?;
    if !changed {
        return refuse(format!("reply #{} started sending meanwhile; nothing changed", latest.id));
    }
    tracing::info!(stage = "admin", id, reply = latest.id, who = ctx.who.unwrap_or("cli"), "reply queued again");
    let mut out = vec![format!(
        "reply #{} ({}) to {}: {} → pending, attempts reset; {}",
        latest.id,
        latest.kind,
        printable(&latest.recipient),
        latest.state,
        later(config)
    )];
    if latest.kind != decision {
        out.push(format!(
            "note: this reply answers an earlier verdict ({}); the message is now `{decision}` — `mail-intake reparse -c {config} {id} --reply` queues an answer to the current verdict",
            latest.kind,
        ));
    }
    Ok(out)
}

/// Plans a reply for a message that has none.
fn plan_by_hand(ctx: &Ctx) -> Result<Vec<String>, ActionError> {
    let (id, store) = (ctx.id, ctx.store);
    let (Some(v), Some(raw)) =
        (store.with(|c| store::verdicts::verdict(c, id))?, store.with(|c| store::messages::raw(c, id))?)
    else {
        return refuse(format!("message #{id} has no stored verdict to answer; run `mail-intake reparse` first"));
    };
    let rc = ReplyContext::by_hand(ctx.rules, ctx.cfg.transport.from());
    let Some(r) = reply::plan(&raw, &v, None, &rc)? else {
        return refuse(format!("message #{id} has no address to reply to (no usable Return-Path, Reply-To or From)"));
    };
    if r.state != ReplyState::Pending {
        return refuse(format!(
            "no reply can go to {}: {}",
            printable(&r.recipient),
            r.reason.as_deref().unwrap_or("suppressed")
        ));
    }
    let Some(new_id) = store.with(|c| store::replies::insert_reply(c, id, &r))? else {
        return refuse(format!(
            "a reply with the Message-ID {} exists already (for another copy of this mail); nothing queued",
            r.reply_message_id
        ));
    };
    tracing::info!(stage = "admin", id, reply = new_id, who = ctx.who.unwrap_or("cli"), "reply planned by hand");
    let mut out = vec![format!(
        "reply #{new_id} ({}) to {} planned: pending; {}",
        r.kind,
        printable(&r.recipient),
        later(ctx.config)
    )];
    if !ctx.cfg.reply.enabled {
        out.push("note: automatic replies are disabled in the configuration; this one was asked for by hand".into());
    }
    Ok(out)
}

/// What judging a message again changed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Change {
    pub id: i64,
    pub changed: Vec<String>,
    pub decision_before: Option<String>,
    pub decision_after: String,
    pub reply_queued: bool,
}

fn describe(before: Option<&Verdict>, after: &Verdict) -> Vec<String> {
    let Some(b) = before else { return vec!["judged for the first time".into()] };
    let mut out = Vec::new();
    if b.decision != after.decision {
        out.push(format!("decision {} → {}", b.decision, after.decision));
    }
    if b.kind != after.kind {
        out.push(format!("kind {} → {}", b.kind.as_deref().unwrap_or("-"), after.kind.as_deref().unwrap_or("-")));
    }
    if b.fields != after.fields {
        let show = |v: &Verdict| v.fields.iter().map(|(k, x)| format!("{k}={x}")).collect::<Vec<_>>().join(" ");
        out.push(format!("fields [{}] → [{}]", show(b), show(after)));
    }
    let codes = |v: &[crate::ErrorCode]| v.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(",");
    if b.errors != after.errors {
        out.push(format!("errors [{}] → [{}]", codes(&b.errors), codes(&after.errors)));
    }
    let wcodes = |v: &[crate::WarningCode]| v.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(",");
    if b.warnings != after.warnings {
        out.push(format!("warnings [{}] → [{}]", wcodes(&b.warnings), wcodes(&after.warnings)));
    }
    if b.experts != after.experts {
        out.push(format!("experts {} → {}", b.experts.len(), after.experts.len()));
    }
    out
}

/// Judges stored messages again and reports the `selected` ones (all when `None`). One message
/// is judged again with the submissions it can touch (`register::rejudge`); several, or all,
/// rebuild the whole register (every judged mail re-bound to its submission in arrival order,
/// spec §8), since a rules change may move any mail to another submission. With `reply`, a
/// reply is queued for a selected message whose decision or errors changed (and which
/// deserves one). Returns the changes and how many messages were re-bound in all.
pub fn rejudge(
    cfg: &Config,
    rules: &Rules,
    store: &Store,
    selected: Option<&BTreeSet<i64>>,
    reply_flag: bool,
    who: Option<&str>,
) -> Result<(Vec<Change>, usize), ActionError> {
    let mut records: Vec<(i64, Option<Verdict>, Verdict)> = Vec::new();
    let mut record = |id: i64, before: Option<&Verdict>, after: &Verdict| {
        if selected.is_none_or(|s| s.contains(&id)) {
            records.push((id, before.cloned(), after.clone()));
        }
    };
    let total = match selected.filter(|s| s.len() == 1).and_then(|s| s.first()) {
        Some(&id) => {
            store.with(|c| register::rejudge::rejudge(c, rules, &cfg.limits, id, &mut record))?.map_or(0, |r| r.mails)
        }
        None => store.with(|c| register::rebuild(c, rules, &cfg.limits, &mut record))?,
    };
    let out = changes(cfg, rules, store, records, reply_flag, who)?;
    Ok((out, total))
}

/// Describes each re-judged message and queues the replies asked for.
fn changes(
    cfg: &Config,
    rules: &Rules,
    store: &Store,
    records: Vec<(i64, Option<Verdict>, Verdict)>,
    reply_flag: bool,
    who: Option<&str>,
) -> Result<Vec<Change>, ActionError> {
    let mut out = Vec::with_capacity(records.len());
    for (id, before, after) in records {
        let changed = describe(before.as_ref(), &after);
        let verdict_changed = before.as_ref().is_none_or(|b| b.decision != after.decision || b.errors != after.errors);
        let planned = if reply_flag
            && verdict_changed
            && matches!(after.decision, Decision::Acknowledge | Decision::RequestCorrection)
            && let Some(raw) = store.with(|c| store::messages::raw(c, id))?
        {
            let ctx = ReplyContext::by_hand(rules, cfg.transport.from());
            reply::plan(&raw, &after, None, &ctx)?
        } else {
            None
        };
        let reply_queued = match &planned {
            Some(r) if r.state == ReplyState::Pending => {
                store.with(|c| store::replies::insert_reply(c, id, r))?.is_some()
            }
            _ => false,
        };
        tracing::info!(
            stage = "reparse",
            id,
            changed = !changed.is_empty(),
            reply_queued,
            who = who.unwrap_or("cli"),
            "reparsed"
        );
        out.push(Change {
            id,
            changed,
            decision_before: before.as_ref().map(|b| b.decision.as_str().to_string()),
            decision_after: after.decision.as_str().to_string(),
            reply_queued,
        });
    }
    Ok(out)
}
