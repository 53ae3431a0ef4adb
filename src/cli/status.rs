//! `mail-intake status`: is the daemon doing its job? Last poll, last successful send,
//! queue sizes and failures from the store; exit code 0 healthy, 1 degraded, 2 down (for
//! systemd timers and monitoring).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::config::{Config, SourceConfig};
use crate::health::{Level, status};
use crate::store::Store;

pub fn run(config: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(config).with_context(|| format!("cannot use the configuration {}", config.display()))?;
    if !cfg.store_path.exists() {
        if json {
            println!(
                "{}",
                serde_json::json!({"level": "down", "reasons": [format!("no store at {}: the daemon has never run", cfg.store_path.display())]})
            );
        } else {
            println!("DOWN: no store at {}: the daemon has never run", cfg.store_path.display());
        }
        return Ok(ExitCode::from(Level::Down.exit_code()));
    }
    let store = Store::open(&cfg.store_path).with_context(|| format!("cannot open {}", cfg.store_path.display()))?;
    let poll = match &cfg.source {
        SourceConfig::Imap(i) => i.poll_interval,
        SourceConfig::Maildir { .. } => std::time::Duration::from_secs(5),
    };
    let s = store.with(|c| status(c, chrono::Utc::now(), poll, cfg.daemon.alert_after_failures))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        let level = match s.level {
            Level::Healthy => "HEALTHY",
            Level::Degraded => "DEGRADED",
            Level::Down => "DOWN",
        };
        let or_never = |v: &Option<String>| v.clone().unwrap_or_else(|| "never".into());
        println!("{level}{}", if s.reasons.is_empty() { String::new() } else { format!(": {}", s.reasons.join("; ")) });
        println!("  last successful poll:  {}", or_never(&s.last_poll));
        if s.poll_failures > 0 {
            println!(
                "  failed polls in a row: {} (last at {}: {})",
                s.poll_failures,
                or_never(&s.last_poll_failure),
                s.last_poll_error.as_deref().unwrap_or("?")
            );
        }
        if let Some(t) = &s.alert_open_since {
            println!("  alert mailed to the office at {t} (a recovery mail follows)");
        }
        println!("  last reply sent:       {}", or_never(&s.last_send));
        println!(
            "  messages: {} stored, {} waiting to be judged, {} judging failed",
            s.messages, s.unjudged, s.judging_failed
        );
        println!(
            "  replies:  {} pending ({} overdue), {} stuck sending, {} failed, {} held by the per-sender cap",
            s.replies_pending, s.replies_overdue, s.replies_sending, s.replies_failed, s.replies_held_by_cap
        );
    }
    Ok(ExitCode::from(s.level.exit_code()))
}
