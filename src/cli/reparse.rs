//! `mail-intake reparse`: judge stored messages again (after a rules change) and show what
//! changed. Nothing is sent unless `--reply` is given, and then only where the verdict
//! changed: a new reply is queued for the daemon's outbox (its Message-ID differs from the
//! first reply's because the verdict differs, so it cannot be mistaken for it).

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::config::Config;
use crate::store::Store;

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
        let c = match crate::actions::rejudge(&cfg, &rules, &store, *id, reply_flag, None) {
            Ok(c) => c,
            Err(crate::actions::ActionError::Refused(why)) => anyhow::bail!(why),
            Err(e) => return Err(anyhow::Error::new(e)),
        };
        let (changes, queued_now) = (c.changed.clone(), c.reply_queued);
        if !changes.is_empty() {
            changed += 1;
        }
        queued += usize::from(queued_now);
        if json {
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
