//! What the admin commands over the store (`list`, `show`, `reply`, `export`, `stats`,
//! `dossiers`, `schools`; one file each) share: opening the configuration and store, making
//! mail text safe for a terminal, printing, refusing, and office times.
//!
//! Each opens the configuration (for the store path, the rules and the limits; nothing else
//! from it is ever printed) and works on the SQLite store while the daemon may be running:
//! reads are plain queries in WAL mode, and the only writes (`reply`) are single statements the
//! daemon's outbox picks up on its next round. Text that came from a mail is stripped of
//! control characters before it reaches a terminal. Exit codes: 0 done, 1 refused (with the
//! reason), 2 a usage or IO error.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use chrono::{DateTime, FixedOffset, NaiveDate};

use crate::config::Config;
use crate::export::sheets;
use crate::rules::Rules;
use crate::store;
use crate::store::Store;

/// The configuration, rules and store an admin command works with.
pub(crate) struct Admin {
    pub(crate) cfg: Config,
    pub(crate) rules: Rules,
    pub(crate) store: Store,
}

pub(crate) fn open(config: &Path) -> anyhow::Result<Admin> {
    let cfg = Config::load(config).with_context(|| format!("cannot use the configuration {}", config.display()))?;
    require_store(&cfg, config)?;
    let rules = super::run::rules_for(&cfg)?;
    let store =
        Store::open(&cfg.store_path).with_context(|| format!("cannot open the store {}", cfg.store_path.display()))?;
    crate::daemon::rebuild_if_needed(&store, &rules, &cfg.limits)?;
    Ok(Admin { cfg, rules, store })
}

/// Refuses a command that reads the store when there is none yet, saying how to make one.
pub(crate) fn require_store(cfg: &Config, config: &Path) -> anyhow::Result<()> {
    if !cfg.store_path.exists() {
        bail!(
            "there is no store at {} yet: run the daemon first (`mail-intake run -c {}`), or fix [store] path",
            cfg.store_path.display(),
            config.display()
        );
    }
    Ok(())
}

/// Mail-derived text made safe for a terminal: control characters (escape sequences) become
/// spaces.
pub(crate) fn printable(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Prints a command's output; a reader that went away (`| head`) is not an error.
pub(crate) fn emit(out: &[u8]) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(out).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("cannot write to stdout"))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// Refuses with a reason: printed, exit code 1.
pub(crate) fn refuse(message: &str) -> anyhow::Result<ExitCode> {
    eprintln!("error: {message}");
    Ok(ExitCode::from(1))
}

/// When each message arrived (best known), by id.
pub(crate) fn arrivals(store: &Store) -> anyhow::Result<HashMap<i64, DateTime<FixedOffset>>> {
    let all = store.with(|c| store::messages::arrivals(c))?;
    Ok(all.iter().filter_map(|a| sheets::arrival(a).map(|d| (a.id, d))).collect())
}

pub(crate) fn office_date(d: &DateTime<FixedOffset>, rules: &Rules) -> NaiveDate {
    d.with_timezone(&rules.timezone).date_naive()
}

pub(crate) fn short_time(d: Option<&DateTime<FixedOffset>>, rules: &Rules) -> String {
    d.map(|d| d.with_timezone(&rules.timezone).format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()
}

/// A size for people: B, KB or MB.
pub(crate) fn size_text(n: u64) -> String {
    match n {
        n if n >= 1024 * 1024 => format!("{:.1} MB", n as f64 / (1024.0 * 1024.0)),
        n if n >= 1024 => format!("{:.1} KB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// An RFC 3339 time from the store in office time, `-` when absent.
pub(crate) fn local(s: Option<&str>, rules: &Rules) -> String {
    s.and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| short_time(Some(&d), rules))
        .or_else(|| s.map(str::to_string))
        .unwrap_or_else(|| "-".into())
}
