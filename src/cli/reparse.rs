//! `mail-intake reparse`: judge stored messages again (after a rules change) and show what
//! changed. Nothing is sent unless `--reply` is given, and then only where the verdict
//! changed: a new reply is queued for the daemon's outbox (its Message-ID differs from the
//! first reply's because the verdict differs, so it cannot be mistaken for it).

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::register;
use crate::reply::{self, ReplyContext};
use crate::store::{Store, query};
use crate::verdict::{Decision, Verdict};

/// What changed for one message.
#[derive(Debug, Serialize)]
struct Change {
    id: i64,
    changed: Vec<String>,
    decision_before: Option<String>,
    decision_after: String,
    reply_queued: bool,
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

/// Runs the command. Submissions are always recomputed whole (every judged mail re-bound in
/// arrival order, spec §8): a rules change may move a mail to another submission. What is
/// printed, and what may get a reply, is the selection (`ID`, `--failed` or `--all`).
pub fn run(
    config: &Path,
    id: Option<i64>,
    failed: bool,
    all: bool,
    reply_flag: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(config).with_context(|| format!("cannot use the configuration {}", config.display()))?;
    let rules = super::run::rules_for(&cfg)?;
    let store = Store::open(&cfg.store_path)?;
    let selected: Option<BTreeSet<i64>> = store.with(|c| {
        if let Some(id) = id {
            return Ok(query::message(c, id)?.map(|_| BTreeSet::from([id])).or(Some(BTreeSet::new())));
        }
        if failed {
            let mut st = c.prepare("SELECT id FROM messages WHERE state = 'failed' ORDER BY id")?;
            let rows = st.query_map([], |r| r.get(0))?;
            return Ok(Some(rows.collect::<Result<BTreeSet<i64>, _>>()?));
        }
        debug_assert!(all);
        Ok(None)
    })?;
    if let (Some(id), Some(s)) = (id, &selected)
        && s.is_empty()
    {
        anyhow::bail!(
            "there is no message #{id} in the store {}; `mail-intake list` shows the ids",
            cfg.store_path.display()
        );
    }
    if selected.as_ref().is_some_and(BTreeSet::is_empty) {
        println!("nothing to reparse");
        return Ok(ExitCode::SUCCESS);
    }
    let mut records: Vec<(i64, Option<Verdict>, Verdict)> = Vec::new();
    let total = store.with(|c| {
        register::rebuild(c, &rules, &cfg.limits, |id, before, after| {
            if selected.as_ref().is_none_or(|s| s.contains(&id)) {
                records.push((id, before.cloned(), after.clone()));
            }
        })
    })?;
    let mut out = std::io::stdout().lock();
    let (mut changed, mut queued) = (0usize, 0usize);
    for (id, before, after) in &records {
        let changes = describe(before.as_ref(), after);
        let verdict_changed = before.as_ref().is_none_or(|b| b.decision != after.decision || b.errors != after.errors);
        let planned = if reply_flag
            && verdict_changed
            && matches!(after.decision, Decision::Acknowledge | Decision::RequestCorrection)
            && let Some(raw) = store.with(|c| query::raw(c, *id))?
        {
            let ctx = ReplyContext {
                rules: &rules,
                from: cfg.transport.from(),
                enabled: true,
                // An admin asked for it: the date rule and the daily cap do not apply.
                reply_since: DateTime::<Utc>::MIN_UTC,
                recent_to_recipient: 0,
                max_per_sender_per_day: u32::MAX,
            };
            reply::plan(&raw, after, None, &ctx)?
        } else {
            None
        };
        let queued_now = match &planned {
            Some(r) if r.state == "pending" => store.with(|c| query::insert_reply(c, *id, r))?.is_some(),
            _ => false,
        };
        if !changes.is_empty() {
            changed += 1;
        }
        queued += usize::from(queued_now);
        if json {
            let c = Change {
                id: *id,
                changed: changes.clone(),
                decision_before: before.as_ref().map(|b| b.decision.as_str().to_string()),
                decision_after: after.decision.as_str().to_string(),
                reply_queued: queued_now,
            };
            serde_json::to_writer(&mut out, &c)?;
            writeln!(out)?;
        } else if !changes.is_empty() {
            writeln!(out, "#{id}: {}{}", changes.join("; "), if queued_now { " — reply queued" } else { "" })?;
        }
        tracing::info!(stage = "reparse", id, changed = !changes.is_empty(), reply_queued = queued_now, "reparsed");
    }
    if !json {
        writeln!(
            out,
            "reparsed {} message(s): {changed} changed, {queued} reply(ies) queued{}",
            records.len(),
            if queued > 0 { " (the daemon's outbox sends them; or run `mail-intake run --once`)" } else { "" }
        )?;
        if total > records.len() {
            writeln!(out, "({} other message(s) re-bound to their submissions)", total - records.len())?;
        }
        if !reply_flag && changed > 0 {
            writeln!(out, "nothing was sent; add --reply to queue replies where the verdict changed")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
