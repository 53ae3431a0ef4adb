//! The daemon: intake → store → judge → reply, forever (or once, with `--once`).
//!
//! Three tasks share the store:
//! - **intake** connects to the mailbox, fetches every UID above the cursor in bounded
//!   batches, stores each raw message *before anything else*, judges what is stored, saves
//!   verdict + experts + planned reply in one transaction, marks the message with a keyword,
//!   then waits (IDLE or poll) — reconnecting with capped exponential backoff on failure;
//! - **outbox** sends due replies exactly once: the row is marked `sending` before the SMTP
//!   exchange and `sent` right after acceptance; a row found in `sending` at start-up was
//!   interrupted by a crash and is resolved by looking for its Message-ID in the Sent folder;
//! - **digest** (when `[digest]` is on) sends the office's daily digest once per day at the
//!   configured local time (see [`crate::digest`]).

use crate::store;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use tokio::sync::{Notify, watch};
use tracing::{error, info};

use crate::config::{Config, TransportConfig};
use crate::intake::{IntakeError, Source};
use crate::register;
use crate::reply::transport::Transport;
use crate::rules::Rules;
use crate::store::{Store, StoreError};

mod intake;
mod judge;
mod outbox;

use intake::*;
use judge::*;
use outbox::Outbox;

/// Why the daemon stopped.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Intake(#[from] IntakeError),
    #[error("cannot set up replies: {0}")]
    Transport(#[from] crate::reply::transport::TransportError),
}

/// Test hook: `MAIL_INTAKE_FAILPOINT=<name>` aborts the process at that point, as a crash
/// would (used by the crash tests; never set in production).
pub fn failpoint(name: &str) {
    if std::env::var("MAIL_INTAKE_FAILPOINT").is_ok_and(|v| v == name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}

/// What a run did (for `--once`, the demo and tests).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    pub stored: u64,
    pub judged: u64,
    pub replies_sent: u64,
}

struct Shared {
    cfg: Config,
    rules: Rules,
    store: Store,
    outbox_wake: Arc<Notify>,
    reply_since: DateTime<Utc>,
}

/// Runs the daemon until `shutdown` turns true (or, with `once`, until the mailbox and the
/// outbox are drained).
pub async fn run(
    cfg: Config,
    rules: Rules,
    once: bool,
    mut shutdown: watch::Receiver<bool>,
) -> Result<RunSummary, DaemonError> {
    let store = Store::open(&cfg.store_path)?;
    rebuild_if_needed(&store, &rules, &cfg.limits)?;
    let first_start = store.call(|c| store::state::first_start(c)).await?;
    // Unset: one day before the first start — a mailbox full of old mail is recorded without
    // answering it, while mail that arrived just before the first start is still answered.
    let reply_since = match cfg.reply.reply_since {
        Some(d) => rules
            .timezone
            .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(first_start),
        None => first_start - chrono::Duration::days(1),
    };
    info!(store = %cfg.store_path.display(), reply_since = %reply_since, "mail-intake starting");
    let transport = Transport::build(&cfg.transport)?;
    let outbox_wake = Arc::new(Notify::new());
    let mut outbox = Outbox::new(&cfg, store.clone(), transport.clone(), outbox_wake.clone());
    let shared = Arc::new(Shared { cfg, rules, store, outbox_wake, reply_since });

    let mut summary = RunSummary::default();
    if once {
        let mut source = Source::new(&shared.cfg.source, &shared.cfg.daemon);
        let (stored, judged) = intake_round(&shared, &mut source).await?;
        source.logout().await;
        summary.stored = stored;
        summary.judged = judged;
        // Interrupted sends younger than sent_check_delay: wait until they can be judged.
        if let Some(oldest) = shared.store.call(|c| store::replies::oldest_sending(c)).await? {
            let due = oldest + chrono::Duration::from_std(shared.cfg.reply.sent_check_delay).unwrap_or_default();
            if let Ok(wait) = (due - Utc::now()).to_std() {
                info!(wait = ?wait, "waiting before checking an interrupted send in the Sent folder");
                tokio::time::sleep(wait + Duration::from_millis(50)).await;
            }
        }
        outbox.resolve_ambiguous().await?;
        summary.replies_sent = outbox.drain(true).await?;
        return Ok(summary);
    }

    let digest = shared.cfg.digest.enabled.then(|| {
        let (cfg, rules, store) = (shared.cfg.clone(), shared.rules.clone(), shared.store.clone());
        let (transport, shutdown) = (transport.clone(), shutdown.clone());
        tokio::spawn(async move { crate::digest::run_daily(cfg, rules, store, transport, shutdown).await })
    });
    let alert_transport = transport.clone();
    let outbox = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { outbox.run(shutdown).await })
    };
    intake_loop(&shared, &alert_transport, &mut shutdown).await;
    shared.outbox_wake.notify_one();
    match outbox.await {
        Ok(Ok(sent)) => summary.replies_sent = sent,
        Ok(Err(e)) => error!(error = %e, "outbox stopped with an error"),
        Err(e) => error!(error = %e, "outbox task failed"),
    }
    if let Some(digest) = digest
        && let Err(e) = digest.await
    {
        error!(stage = "digest", error = %e, "digest task failed");
    }
    info!("mail-intake stopped");
    Ok(summary)
}

/// A store made before submissions existed is re-bound once, in arrival order (no reply).
pub fn rebuild_if_needed(store: &Store, rules: &Rules, limits: &crate::limits::Limits) -> Result<(), DaemonError> {
    store.with(|c| {
        if register::needs_rebuild(c)? {
            info!(stage = "register", "binding the stored mails to submissions (first start after an upgrade)");
            let n = register::rebuild(c, rules, limits, |id, _, v| {
                info!(stage = "register", id, decision = v.decision.as_str(), dossier = ?v.submission.as_ref().map(|s| s.id), "re-bound");
            })?;
            info!(stage = "register", count = n, "every stored mail is bound to its submission");
        }
        Ok(())
    })?;
    Ok(())
}

/// Whether a transport writes files (the embedded default).
pub fn is_file_transport(cfg: &Config) -> bool {
    matches!(cfg.transport, TransportConfig::Dir { .. })
}
