//! `mail-intake reparse`: judge stored messages again (after a rules change) and show what
//! changed. Nothing is sent unless `--reply` is given, and then only where the verdict
//! changed: a new reply is queued for the daemon's outbox (its Message-ID differs from the
//! first reply's because the verdict differs, so it cannot be mistaken for it).

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::daemon::judge_stored;
use crate::reply::{self, ReplyContext};
use crate::store::{Store, Stored, query};
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

/// Runs the command.
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
    let ids: Vec<i64> = store.with(|c| {
        let sql = if let Some(id) = id {
            return Ok(vec![id]);
        } else if failed {
            "SELECT id FROM messages WHERE state = 'failed' ORDER BY id"
        } else {
            debug_assert!(all);
            "SELECT id FROM messages ORDER BY id"
        };
        let mut st = c.prepare(sql)?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<Vec<i64>, _>>()?)
    })?;
    if ids.is_empty() {
        println!("nothing to reparse");
        return Ok(ExitCode::SUCCESS);
    }
    let bar = (ids.len() > 20 && std::io::stderr().is_terminal() && !json).then(|| {
        let b = indicatif::ProgressBar::new(ids.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} messages {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let mut out = std::io::stdout().lock();
    let (mut changed, mut queued) = (0usize, 0usize);
    for id in &ids {
        let Some((raw, internal)) = store.with(|c| {
            let raw = query::raw(c, *id)?;
            let internal: Option<String> =
                c.query_row("SELECT internal_date FROM messages WHERE id = ?1", [id], |r| r.get(0)).unwrap_or(None);
            Ok(raw.map(|r| (r, internal)))
        })?
        else {
            anyhow::bail!(
                "there is no message #{id} in the store {}; `mail-intake list` shows the ids",
                cfg.store_path.display()
            );
        };
        let stored =
            Stored { id: *id, raw, internal_date: internal.and_then(|s| DateTime::parse_from_rfc3339(&s).ok()) };
        let before = store.with(|c| query::verdict(c, *id))?;
        let after = judge_stored(&store, &rules, &cfg.limits, &stored);
        let changes = describe(before.as_ref(), &after);
        let verdict_changed = before.as_ref().is_none_or(|b| b.decision != after.decision || b.errors != after.errors);
        let planned = if reply_flag
            && verdict_changed
            && matches!(after.decision, Decision::Acknowledge | Decision::RequestCorrection)
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
            reply::plan(&stored.raw, &after, stored.internal_date, &ctx)?
        } else {
            None
        };
        let queued_now = planned.as_ref().is_some_and(|r| r.state == "pending");
        store.with(|c| Store::save_verdict(c, *id, &after, planned.as_ref()))?;
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
            if let Some(b) = &bar {
                b.suspend(|| {
                    println!("#{id}: {}{}", changes.join("; "), if queued_now { " — reply queued" } else { "" })
                });
            } else {
                writeln!(out, "#{id}: {}{}", changes.join("; "), if queued_now { " — reply queued" } else { "" })?;
            }
        }
        if let Some(b) = &bar {
            b.inc(1);
        }
        tracing::info!(stage = "reparse", id, changed = !changes.is_empty(), reply_queued = queued_now, "reparsed");
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if !json {
        writeln!(
            out,
            "reparsed {} message(s): {changed} changed, {queued} reply(ies) queued{}",
            ids.len(),
            if queued > 0 { " (the daemon's outbox sends them; or run `mail-intake run --once`)" } else { "" }
        )?;
        if !reply_flag && changed > 0 {
            writeln!(out, "nothing was sent; add --reply to queue replies where the verdict changed")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
