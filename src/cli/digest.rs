//! `mail-intake digest`: render or send the daily digest by hand.
//!
//! `--text` (the default) prints the plain-text digest, `--html FILE` writes the HTML one,
//! `--send` mails it to `[digest] to` — once per day: a digest already sent for that date
//! (by the daemon or by hand) is not sent again.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{NaiveDate, Utc};

use crate::config::Config;
use crate::digest::{self, Digest, Outcome};
use crate::store::Store;

pub fn run(
    config: &Path,
    date: Option<String>,
    send: bool,
    html: Option<PathBuf>,
    text: bool,
) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(config).with_context(|| format!("cannot use the configuration {}", config.display()))?;
    let rules = super::run::rules_for(&cfg)?;
    let date = match date {
        Some(d) => NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
            .with_context(|| format!("--date {d} is not a date (YYYY-MM-DD)"))?,
        None => Utc::now().with_timezone(&cfg.digest.timezone).date_naive(),
    };
    if send {
        if cfg.digest.to.is_empty() {
            anyhow::bail!(
                "{}: [digest] to names nobody; add the office's addresses, e.g. to = [\"office@example.edu.cn\"]",
                config.display()
            );
        }
        let runtime =
            tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the runtime")?;
        let outcome = runtime.block_on(digest::send_by_hand(&cfg, &rules, date))?;
        return Ok(match outcome {
            Outcome::Sent { message_id, response } => {
                println!("sent the digest for {date} to {} ({message_id}): {response}", cfg.digest.to.join(", "));
                ExitCode::SUCCESS
            }
            Outcome::AlreadySent { at } => {
                println!("the digest for {date} was already sent ({at}); nothing sent");
                ExitCode::SUCCESS
            }
            Outcome::InProgress => {
                println!("the digest for {date} is being sent by another process right now; nothing sent");
                ExitCode::SUCCESS
            }
            Outcome::Failed { error } => {
                eprintln!(
                    "error: the digest for {date} was refused: {error}\n(check [digest] to and the SMTP settings; `mail-intake digest --send` tries again)"
                );
                ExitCode::from(1)
            }
        });
    }
    let store = Store::open(&cfg.store_path)?;
    let d = store.with(|c| Ok(Digest::compute(c, &rules, date, Utc::now())))??;
    if let Some(path) = &html {
        let page = digest::render_html(&d)?;
        std::fs::write(path, page).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote the HTML digest for {date} to {}", path.display());
    }
    if text || html.is_none() {
        print!("{}", digest::render_text(&d)?);
    }
    Ok(ExitCode::SUCCESS)
}
