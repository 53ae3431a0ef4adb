//! `mail-intake reparse`: judge stored messages again (after a rules change) and show what
//! changed. Nothing is sent unless `--reply` is given, and then only where the verdict
//! changed: a new reply is queued for the daemon's outbox (its Message-ID differs from the
//! first reply's because the verdict differs, so it cannot be mistaken for it).

use crate::store;
use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::config::Config;
use crate::store::Store;

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
            return Ok(store::messages::message(c, id)?.map(|_| BTreeSet::from([id])).or(Some(BTreeSet::new())));
        }
        if failed {
            return Ok(Some(store::messages::failed_ids(c)?.into_iter().collect()));
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
    let (records, total) = match crate::actions::rejudge(&cfg, &rules, &store, selected.as_ref(), reply_flag, None) {
        Ok(r) => r,
        Err(crate::actions::ActionError::Refused(why)) => anyhow::bail!(why),
        Err(e) => return Err(anyhow::Error::new(e)),
    };
    let mut out = std::io::stdout().lock();
    let (mut changed, mut queued) = (0usize, 0usize);
    for c in &records {
        let (id, changes, queued_now) = (c.id, &c.changed, c.reply_queued);
        if !changes.is_empty() {
            changed += 1;
        }
        queued += usize::from(queued_now);
        if json {
            serde_json::to_writer(&mut out, c)?;
            writeln!(out)?;
        } else if !changes.is_empty() {
            writeln!(out, "#{id}: {}{}", changes.join("; "), if queued_now { " — reply queued" } else { "" })?;
        }
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
