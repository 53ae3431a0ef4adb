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

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use tokio::sync::{Notify, watch};
use tracing::{error, info, warn};

use crate::config::{Config, SourceConfig, TransportConfig};
use crate::intake::imap::SentFolder;
use crate::intake::{IntakeError, Source, maildir};
use crate::register;
use crate::reply::transport::{SendError, Transport};
use crate::reply::{self, ReplyContext};
use crate::rules::Rules;
use crate::store::{Fetched, Reply, Store, StoreError, Stored};
use crate::validate::{JudgeOptions, judge};
use crate::verdict::Verdict;

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
    outbox_wake: Notify,
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
    let first_start = store.call(|c| Store::first_start(c)).await?;
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
    let shared = Arc::new(Shared { cfg, rules, store, outbox_wake: Notify::new(), reply_since });

    let mut summary = RunSummary::default();
    if once {
        let mut source = Source::new(&shared.cfg.source, &shared.cfg.daemon);
        let (stored, judged) = intake_round(&shared, &mut source).await?;
        source.logout().await;
        summary.stored = stored;
        summary.judged = judged;
        let mut sent_folder = sent_folder(&shared.cfg);
        // Interrupted sends younger than sent_check_delay: wait until they can be judged.
        if let Some(oldest) = shared.store.call(|c| Store::oldest_sending(c)).await? {
            let due = oldest + chrono::Duration::from_std(shared.cfg.reply.sent_check_delay).unwrap_or_default();
            if let Ok(wait) = (due - Utc::now()).to_std() {
                info!(wait = ?wait, "waiting before checking an interrupted send in the Sent folder");
                tokio::time::sleep(wait + Duration::from_millis(50)).await;
            }
        }
        resolve_ambiguous(&shared, &mut sent_folder).await?;
        summary.replies_sent = drain_outbox(&shared, &transport, &mut sent_folder, true).await?;
        return Ok(summary);
    }

    let digest = shared.cfg.digest.enabled.then(|| {
        let (shared, transport, shutdown) = (shared.clone(), transport.clone(), shutdown.clone());
        tokio::spawn(async move { digest_loop(shared, transport, shutdown).await })
    });
    let outbox = {
        let shared = shared.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move { outbox_loop(shared, transport, shutdown).await })
    };
    intake_loop(&shared, &mut shutdown).await;
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

/// One full pass: fetch everything new, store it, judge everything stored, mark it.
///
/// A pipeline over bounded batches: batch k+1 is fetched while batch k — already committed to
/// the store — is judged on all cores; each batch is stored in one transaction and its
/// verdicts (each with its reply) saved in another.
async fn intake_round(shared: &Arc<Shared>, source: &mut Source) -> Result<(u64, u64), DaemonError> {
    let info = source.connect().await?;
    let (account, folder, uidvalidity) = (info.account.clone(), info.folder.clone(), info.uidvalidity);
    let mut stored = 0u64;
    // Stored by an earlier run but never judged (it stopped in between).
    let mut judged = judge_pending(shared).await?;
    mark(shared, source, &account, &folder, uidvalidity).await?;
    loop {
        let (a, f) = (account.clone(), folder.clone());
        let last = shared.store.call(move |c| Store::cursor(c, &a, &f, uidvalidity)).await?;
        let uids = source.uids_after(last).await?;
        if uids.is_empty() {
            break;
        }
        let mut chunks = uids.chunks(shared.cfg.daemon.batch_size);
        let mut to_judge: Vec<ToJudge> = Vec::new();
        loop {
            let chunk = chunks.next();
            let next = if bytes_in_memory(&to_judge) > OVERLAP_MAX_BYTES {
                // A large batch is judged before the next one is fetched, so that no more
                // than one of them is in memory at a time.
                judged += judge_in_order(shared, std::mem::take(&mut to_judge)).await?;
                fetch_and_store(shared, source, chunk).await?
            } else {
                let (next, done) = tokio::join!(
                    fetch_and_store(shared, source, chunk),
                    judge_in_order(shared, std::mem::take(&mut to_judge))
                );
                judged += done?;
                next?
            };
            mark(shared, source, &account, &folder, uidvalidity).await?;
            let Some((new, batch)) = next else { break };
            stored += new;
            to_judge = batch;
        }
    }
    judged += judge_pending(shared).await?;
    mark(shared, source, &account, &folder, uidvalidity).await?;
    let now = Utc::now().to_rfc3339();
    shared.store.call(move |c| Store::set_state(c, "last_poll", &now)).await?;
    Ok((stored, judged))
}

/// A batch being judged while the next is fetched, unless it holds more bytes than this.
const OVERLAP_MAX_BYTES: usize = 32 << 20;

/// Fetches one chunk of UIDs and stores it (`None` when there is no chunk left).
async fn fetch_and_store(
    shared: &Arc<Shared>,
    source: &mut Source,
    chunk: Option<&[u32]>,
) -> Result<Option<(u64, Vec<ToJudge>)>, DaemonError> {
    let Some(uids) = chunk else { return Ok(None) };
    let fetched = source.fetch(uids).await?;
    Ok(Some(store_batch(shared, fetched).await?))
}

/// Stored messages waiting to be judged, in store order: runs of messages in memory (judged
/// together, on all cores) and large messages left in the store (judged one at a time).
enum ToJudge {
    Batch(Vec<Stored>),
    Large(i64),
}

/// Bytes of messages waiting in memory; `usize::MAX` when a large one is among them.
fn bytes_in_memory(to_judge: &[ToJudge]) -> usize {
    to_judge.iter().fold(0usize, |sum, p| match p {
        ToJudge::Batch(b) => sum.saturating_add(b.iter().map(|m| m.raw.len()).sum()),
        ToJudge::Large(_) => usize::MAX,
    })
}

/// Stores a fetched batch in one transaction (the raw bytes before anything else happens);
/// returns how many were new and the new ones, ready to be judged in order (their bytes
/// moved, not copied; a large one handed over to the store and read back when its turn
/// comes). Bytes seen before are not judged again.
async fn store_batch(shared: &Arc<Shared>, mut fetched: Vec<Fetched>) -> Result<(u64, Vec<ToJudge>), DaemonError> {
    if fetched.is_empty() {
        return Ok((0, Vec::new()));
    }
    failpoint("before_store");
    let store = shared.store.clone();
    let (fetched, ids) = tokio::task::spawn_blocking(move || {
        let ids = store.with(|c| Store::store_batch(c, &mut fetched));
        (fetched, ids)
    })
    .await
    .map_err(|e| StoreError::Worker(e.to_string()))?;
    let ids = ids?;
    let mut to_judge: Vec<ToJudge> = Vec::new();
    let mut new_count = 0u64;
    for (f, (id, new)) in fetched.into_iter().zip(ids) {
        info!(stage = "store", id, uid = f.location.uid, new, "stored raw message");
        if !new {
            continue;
        }
        new_count += 1;
        if f.raw.is_empty() {
            to_judge.push(ToJudge::Large(id));
            continue;
        }
        let m = Stored { id, raw: f.raw, internal_date: f.internal_date };
        match to_judge.last_mut() {
            Some(ToJudge::Batch(b)) => b.push(m),
            _ => to_judge.push(ToJudge::Batch(vec![m])),
        }
    }
    Ok((new_count, to_judge))
}

/// Judges stored messages in store order.
async fn judge_in_order(shared: &Arc<Shared>, to_judge: Vec<ToJudge>) -> Result<u64, DaemonError> {
    let mut judged = 0;
    for p in to_judge {
        judged += match p {
            ToJudge::Batch(batch) => judge_batch(shared, batch).await?,
            ToJudge::Large(id) => match shared.store.call(move |c| Store::stored(c, id)).await? {
                Some(m) => judge_batch(shared, vec![m]).await?,
                None => 0,
            },
        };
    }
    Ok(judged)
}

/// Judges every stored message that has no verdict yet (left by an earlier run).
async fn judge_pending(shared: &Arc<Shared>) -> Result<u64, DaemonError> {
    let mut judged = 0u64;
    loop {
        let batch = shared.store.call(|c| Store::unjudged(c, 20)).await?;
        if batch.is_empty() {
            return Ok(judged);
        }
        judged += judge_batch(shared, batch).await?;
    }
}

/// What judging one message gave: its verdict and planned reply, or why judging crashed.
type Outcome = Result<(Verdict, Option<crate::store::NewReply>), String>;

/// Judges a batch of stored messages — the pure judge on all cores — then, in one
/// transaction and in order, adds what only the register knows (duplicates, the per-sender
/// reply count), plans each reply and saves each verdict with its reply.
async fn judge_batch(shared: &Arc<Shared>, batch: Vec<Stored>) -> Result<u64, DaemonError> {
    if batch.is_empty() {
        return Ok(0);
    }
    let shared2 = shared.clone();
    let judged = tokio::task::spawn_blocking(move || {
        use rayon::prelude::*;
        let shared = shared2;
        failpoint("before_judge");
        // The thread each mail answers, read before judging: its submission's kind guides
        // the judge when the subject names none (spec §8 rule 1).
        let hints: Vec<register::ThreadHint> = shared.store.with(|c| {
            batch
                .iter()
                .map(|m| register::thread_hint(c, &m.raw, register::sender_of(&m.raw).as_deref(), &shared.rules))
                .collect::<crate::store::Result<Vec<_>>>()
        })?;
        let opts = |m: &Stored, h: &register::ThreadHint| JudgeOptions {
            arrived: m.internal_date,
            limits: shared.cfg.limits,
            kind_hint: h.kind.clone(),
        };
        let verdicts: Vec<Result<Verdict, String>> = batch
            .par_iter()
            .zip(hints.par_iter())
            .map(|(m, h)| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    judge(&format!("message-{}", m.id), &m.raw, &shared.rules, &opts(m, h))
                }))
                .map_err(|_| "judging crashed".to_string())
            })
            .collect();
        let mut batch = batch;
        batch.iter_mut().for_each(release_body);
        shared.store.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut judged = 0u64;
            for ((m, verdict), hint) in batch.iter().zip(verdicts).zip(&hints) {
                let outcome: Outcome = verdict.and_then(|v| {
                    // The register binds the mail to its submission: the verdict it is
                    // answered with is the submission's.
                    let v = register::apply(&tx, m.id, v, hint, &shared.rules).map_err(|e| format!("register: {e}"))?;
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| plan_reply(&shared, &tx, m, &v)))
                        .map(|planned| (v, planned))
                        .map_err(|_| "planning the reply crashed".to_string())
                });
                match outcome {
                    Ok((v, planned)) => {
                        log_verdict(m.id, &v, planned.as_ref());
                        Store::save_verdict_in(&tx, m.id, &v, planned.as_ref())?;
                        judged += 1;
                    }
                    Err(e) => {
                        let msg = format!("judging failed: {e}");
                        error!(stage = "judge", id = m.id, error = %msg, "judging failed; the raw message is kept for reparse");
                        Store::mark_failed(&tx, m.id, &msg)?;
                    }
                }
            }
            tx.commit()?;
            Ok(judged)
        })
    })
    .await
    .map_err(|e| StoreError::Worker(e.to_string()))??;
    shared.outbox_wake.notify_one();
    Ok(judged)
}

/// Once judged, a large message's body is no longer needed: its reply is planned from the
/// header block. Released before the verdict is saved, because SQLite holds two copies of the
/// row while it updates the message's state. Kept whole unless the header block alone reads
/// the same (Message-ID, References, recipient); without a Message-ID the reply's id comes
/// from the hash of the whole message, so it is kept whole then too.
fn release_body(m: &mut Stored) {
    if m.raw.len() < crate::store::LARGE_MESSAGE_BYTES {
        return;
    }
    let Some(end) = header_block_end(&m.raw) else { return };
    let reads = |raw: &[u8]| {
        let h = mail_parser::MessageParser::new().parse_headers(raw);
        let id = h.as_ref().and_then(|h| h.message_id().map(str::to_string));
        let refs = h.as_ref().and_then(|h| h.references().as_text_list().map(|l| l.join(" ")));
        (id, refs, reply::recipient(raw))
    };
    let whole = reads(&m.raw);
    if whole.0.is_some() && reads(&m.raw[..end]) == whole {
        m.raw.truncate(end);
        m.raw.shrink_to_fit();
    }
}

/// Where the header block ends: just after the first empty line that follows a header line.
fn header_block_end(raw: &[u8]) -> Option<usize> {
    let mut start = 0;
    let mut seen_header = false;
    for (i, _) in raw.iter().enumerate().filter(|(_, b)| **b == b'\n') {
        let line = &raw[start..i];
        if line.strip_suffix(b"\r").unwrap_or(line).is_empty() {
            if seen_header {
                return Some(i + 1);
            }
        } else {
            seen_header = true;
        }
        start = i + 1;
    }
    None
}

/// The reply a verdict deserves, counted against what the register already holds.
fn plan_reply(shared: &Shared, conn: &rusqlite::Connection, m: &Stored, v: &Verdict) -> Option<crate::store::NewReply> {
    let recipient = reply::recipient(&m.raw);
    let day_ago = Utc::now() - chrono::Duration::hours(24);
    let recent = match &recipient {
        Some(r) => Store::replies_to_since(conn, r, &day_ago).unwrap_or(0),
        None => 0,
    };
    let ctx = ReplyContext {
        rules: &shared.rules,
        from: shared.cfg.transport.from(),
        enabled: shared.cfg.reply.enabled,
        reply_since: shared.reply_since,
        recent_to_recipient: recent,
        max_per_sender_per_day: shared.cfg.reply.max_per_sender_per_day,
    };
    let arrived = m.internal_date.or_else(|| v.arrived.as_deref().and_then(|a| DateTime::parse_from_rfc3339(a).ok()));
    match reply::plan(&m.raw, v, arrived, &ctx) {
        Ok(p) => p,
        Err(e) => {
            error!(stage = "reply", id = m.id, error = %e, "cannot build the reply; the verdict is kept, no reply queued");
            None
        }
    }
}

fn log_verdict(id: i64, v: &Verdict, planned: Option<&crate::store::NewReply>) {
    info!(
        stage = "judge",
        id,
        message_id = v.message_id.as_deref().unwrap_or(""),
        decision = v.decision.as_str(),
        kind = v.kind.as_deref().unwrap_or("-"),
        errors = ?v.errors.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        "judged"
    );
    if let Some(r) = planned {
        info!(stage = "reply", id, state = %r.state, to = %r.recipient, reason = r.reason.as_deref().unwrap_or(""), "reply planned");
    }
}

/// Sets our keyword (and one naming the decision) on judged messages.
async fn mark(
    shared: &Arc<Shared>,
    source: &mut Source,
    account: &str,
    folder: &str,
    uidvalidity: u32,
) -> Result<(), DaemonError> {
    let SourceConfig::Imap(imap) = &shared.cfg.source else { return Ok(()) };
    let (a, f) = (account.to_string(), folder.to_string());
    let pending = shared.store.call(move |c| Store::unmarked(c, &a, &f, uidvalidity)).await?;
    if pending.is_empty() {
        return Ok(());
    }
    let mut by_decision: std::collections::BTreeMap<String, Vec<u32>> = Default::default();
    for (uid, decision) in pending {
        by_decision.entry(decision).or_default().push(uid);
    }
    for (decision, uids) in by_decision {
        let keywords = vec![imap.keyword.clone(), format!("{}-{}", imap.keyword, decision)];
        // Keywords are for people; a server that refuses them must not stop intake.
        if let Err(e) = source.mark(&uids, &keywords).await {
            warn!(stage = "mark", count = uids.len(), error = %e, "cannot set keywords; the messages are handled all the same");
            if matches!(e, IntakeError::Io(ref m) if m.contains("no answer") || m.contains("closed")) {
                return Err(e.into());
            }
        }
        let (a, f) = (account.to_string(), folder.to_string());
        let n = uids.len();
        shared.store.call(move |c| Store::set_marked(c, &a, &f, uidvalidity, &uids)).await?;
        info!(stage = "mark", count = n, decision = %decision, "keywords set");
    }
    Ok(())
}

/// The intake loop with reconnect backoff, IDLE/poll, heartbeat and a single alert.
async fn intake_loop(shared: &Arc<Shared>, shutdown: &mut watch::Receiver<bool>) {
    let mut source = Source::new(&shared.cfg.source, &shared.cfg.daemon);
    let mut failures = 0u32;
    let mut backoff = Duration::from_secs(1);
    let mut last_heartbeat = std::time::Instant::now();
    let poll = match &shared.cfg.source {
        SourceConfig::Imap(c) => c.poll_interval,
        SourceConfig::Maildir { .. } => Duration::from_secs(5),
    };
    loop {
        if *shutdown.borrow() {
            break;
        }
        let round = tokio::select! {
            r = intake_round(shared, &mut source) => r,
            _ = shutdown.changed() => break,
        };
        match round {
            Ok((stored, judged)) => {
                if failures >= shared.cfg.daemon.alert_after_failures {
                    info!(failures, "mailbox reachable again");
                }
                failures = 0;
                backoff = Duration::from_secs(1);
                if stored > 0 || judged > 0 {
                    info!(stage = "poll", stored, judged, "poll done");
                }
                if last_heartbeat.elapsed() >= Duration::from_secs(600) {
                    info!(stage = "heartbeat", "alive; last successful poll just now");
                    last_heartbeat = std::time::Instant::now();
                }
                // Wait for new mail (IDLE) or the poll interval, whichever first.
                let waited = tokio::select! {
                    w = source.wait(poll, shared.cfg.daemon.idle_renew) => w,
                    _ = shutdown.changed() => break,
                };
                if let Err(e) = waited {
                    warn!(error = %e, "waiting for new mail failed; reconnecting");
                }
            }
            Err(e) => {
                failures += 1;
                if failures == shared.cfg.daemon.alert_after_failures {
                    error!(failures, error = %e, "ALERT: the mailbox has failed {failures} times in a row; mail is not being processed");
                } else {
                    warn!(failures, error = %e, retry_in = ?backoff, "mailbox round failed; will retry");
                }
                source.logout().await;
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => break,
                }
                backoff = (backoff * 2).min(shared.cfg.daemon.reconnect_max);
            }
        }
    }
    source.logout().await;
}

/// The office's Sent folder: looked in for interrupted sends; appended to when configured.
pub(crate) enum SentStore {
    Imap { folder: Box<SentFolder>, append: bool },
    Maildir { path: std::path::PathBuf, folder: String },
}

pub(crate) fn sent_folder(cfg: &Config) -> SentStore {
    match &cfg.source {
        SourceConfig::Imap(c) => SentStore::Imap {
            folder: Box::new(SentFolder::new(c.clone(), cfg.daemon.io_timeout)),
            append: c.append_sent,
        },
        SourceConfig::Maildir { path, sent_folder } => {
            SentStore::Maildir { path: path.clone(), folder: sent_folder.clone() }
        }
    }
}

impl SentStore {
    pub(crate) async fn contains(&mut self, message_id: &str) -> Result<bool, IntakeError> {
        match self {
            SentStore::Imap { folder, .. } => folder.contains(message_id).await,
            SentStore::Maildir { path, folder } => Ok(maildir::sent_contains(path, folder, message_id)),
        }
    }

    /// Whether a sent reply needs a copy from us (the provider files none of its own).
    pub(crate) fn needs_copy(&self) -> bool {
        !matches!(self, SentStore::Imap { append: false, .. })
    }

    /// Appends our copy (unless the provider files its own at acceptance).
    pub(crate) async fn append(&mut self, message_id: &str, raw: &[u8]) -> Result<(), IntakeError> {
        match self {
            SentStore::Imap { append: false, .. } => Ok(()),
            SentStore::Imap { folder, .. } => {
                if folder.contains(message_id).await? {
                    return Ok(());
                }
                folder.append(raw).await
            }
            SentStore::Maildir { path, folder } => maildir::append_sent(path, folder, message_id, raw)
                .map_err(|e| IntakeError::Io(format!("cannot write the Sent copy: {e}"))),
        }
    }
}

/// Rows left in `sending` by a crash, once `sent_check_delay` has passed since the send
/// began: if the Sent folder has the reply, it went out; otherwise the SMTP exchange did not
/// complete, and the row is sent again.
async fn resolve_ambiguous(shared: &Arc<Shared>, sent: &mut SentStore) -> Result<(), DaemonError> {
    let before = Utc::now() - chrono::Duration::from_std(shared.cfg.reply.sent_check_delay).unwrap_or_default();
    let rows = shared.store.call(move |c| Store::ambiguous_replies(c, &before)).await?;
    for r in rows {
        let found = match sent.contains(&r.reply_message_id).await {
            Ok(found) => found,
            Err(e) => {
                warn!(reply = r.id, error = %e, "cannot look in the Sent folder; the reply stays unresolved for now");
                continue;
            }
        };
        let id = r.id;
        if found {
            info!(stage = "send", reply = id, "interrupted reply found in the Sent folder: it was sent");
            shared
                .store
                .call(move |c| Store::sent(c, id, "found in Sent after restart").and_then(|_| Store::appended(c, id)))
                .await?;
        } else {
            info!(stage = "send", reply = id, "interrupted reply not in the Sent folder: sending it again");
            let now = Utc::now();
            shared
                .store
                .call(move |c| Store::retry_later(c, id, "interrupted before the server accepted it", &now))
                .await?;
        }
    }
    Ok(())
}

/// Sends every due reply; returns how many were sent. With `until_empty`, keeps going
/// while transient failures are due again immediately (never sleeps).
async fn drain_outbox(
    shared: &Arc<Shared>,
    transport: &Transport,
    sent: &mut SentStore,
    until_empty: bool,
) -> Result<u64, DaemonError> {
    let mut count = 0;
    // Copies of sent replies that never reached the Sent folder (crash after acceptance).
    let unappended = shared.store.call(|c| Store::unappended_replies(c)).await?;
    for r in unappended {
        append_copy(shared, sent, &r).await?;
    }
    loop {
        let now = Utc::now();
        let due = shared.store.call(move |c| Store::due_replies(c, &now, 20)).await?;
        if due.is_empty() {
            return Ok(count);
        }
        if let Some(dir) = transport.dir().filter(|_| !sent.needs_copy()) {
            count += write_page(shared, dir, due).await?;
        } else {
            let mut accepted = None;
            for r in due {
                if send_one(shared, transport, sent, &r, &mut accepted).await? {
                    count += 1;
                }
            }
            if let Some((id, response)) = accepted {
                shared.store.call(move |c| Store::sent_complete(c, id, &response)).await?;
            }
        }
        if !until_empty {
            return Ok(count);
        }
    }
}

/// Replies written as files (`[outbox_dir]`) when no Sent copy is ours to make: a page at a
/// time, claimed in one transaction, written on all cores, recorded in one transaction.
/// A crash in between leaves the page `sending`; writing such a reply again replaces the
/// same file (its name comes from the reply's Message-ID), so nothing is doubled.
async fn write_page(shared: &Arc<Shared>, dir: &std::path::Path, due: Vec<Reply>) -> Result<u64, DaemonError> {
    let ids: Vec<i64> = due.iter().map(|r| r.id).collect();
    shared
        .store
        .call(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for id in &ids {
                Store::begin_send(&tx, *id)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await?;
    failpoint("before_smtp");
    let dir = dir.to_path_buf();
    let (due, results) = tokio::task::spawn_blocking(move || {
        let replies: Vec<(&str, &[u8])> = due.iter().map(|r| (r.reply_message_id.as_str(), r.raw.as_slice())).collect();
        let results = crate::reply::transport::write_files(&dir, &replies);
        drop(replies);
        (due, results)
    })
    .await
    .map_err(|e| StoreError::Worker(e.to_string()))?;
    failpoint("after_smtp_accept");
    let outcomes: Vec<(i64, SendOutcome)> =
        due.iter().zip(results).map(|(r, result)| (r.id, send_outcome(shared, r, result))).collect();
    let written = outcomes.iter().filter(|(_, o)| matches!(o, SendOutcome::Sent(_))).count() as u64;
    shared
        .store
        .call(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for (id, outcome) in &outcomes {
                outcome.record(&tx, *id)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(written)
}

/// What became of one send.
enum SendOutcome {
    /// Accepted (or written), with the server's answer.
    Sent(String),
    /// A temporary failure: tried again at that moment.
    Retry(String, DateTime<Utc>),
    /// Refused for good, or failed too often: flagged for the office.
    Failed(String),
}

impl SendOutcome {
    /// Records it, for a reply whose Sent copy (if any) is the provider's business.
    fn record(&self, conn: &rusqlite::Connection, id: i64) -> Result<(), StoreError> {
        match self {
            SendOutcome::Sent(response) => Store::sent_complete(conn, id, response),
            SendOutcome::Retry(error, at) => Store::retry_later(conn, id, error, at),
            SendOutcome::Failed(error) => Store::failed(conn, id, error),
        }
    }
}

/// Logs and classifies what a send of `r` gave.
fn send_outcome(shared: &Shared, r: &Reply, result: Result<String, SendError>) -> SendOutcome {
    let attempts = r.attempts + 1;
    match result {
        Ok(response) => {
            info!(stage = "send", reply = r.id, message = r.message, to = %r.recipient, kind = %r.kind, "reply sent");
            SendOutcome::Sent(response)
        }
        Err(SendError::Permanent(e)) => {
            error!(stage = "send", reply = r.id, to = %r.recipient, error = %e, "reply refused permanently; flagged for the office");
            SendOutcome::Failed(e)
        }
        Err(SendError::Transient(e)) if attempts >= shared.cfg.reply.max_attempts => {
            error!(stage = "send", reply = r.id, attempts, error = %e, "reply failed too often; flagged for the office");
            SendOutcome::Failed(e)
        }
        Err(SendError::Transient(e)) => {
            let at = retry_at(shared, attempts);
            warn!(stage = "send", reply = r.id, attempts, retry_at = %at, error = %e, "reply not sent; will retry");
            SendOutcome::Retry(e, at)
        }
    }
}

/// When a reply that failed `attempts` times is tried again: `retry_backoff` doubled per
/// attempt, at most an hour.
fn retry_at(shared: &Shared, attempts: u32) -> DateTime<Utc> {
    let delay = shared.cfg.reply.retry_backoff * 2u32.saturating_pow(attempts.saturating_sub(1)).min(120);
    let delay = delay.min(Duration::from_secs(3600));
    Utc::now() + chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::hours(1))
}

async fn append_copy(shared: &Arc<Shared>, sent: &mut SentStore, r: &Reply) -> Result<(), DaemonError> {
    failpoint("before_sent_append");
    match sent.append(&r.reply_message_id, &r.raw).await {
        Ok(()) => {
            let id = r.id;
            shared.store.call(move |c| Store::appended(c, id)).await?;
            info!(stage = "sent-folder", reply = id, "copy appended to the Sent folder");
        }
        Err(e) => warn!(reply = r.id, error = %e, "cannot append the reply to the Sent folder; will retry"),
    }
    Ok(())
}

/// One reply: `sending` → SMTP → `sent` (→ Sent folder), or back to `pending` / `failed`.
///
/// `accepted` carries a reply the server accepted whose `sent` is still to be written (when
/// the provider files the Sent copy, nothing else follows it): it is written in the same
/// transaction as this reply's `sending`, one write per reply instead of two. Until then it
/// reads `sending`, as after a crash between the server's answer and our write: such a row
/// is looked up in the Sent folder.
async fn send_one(
    shared: &Arc<Shared>,
    transport: &Transport,
    sent: &mut SentStore,
    r: &Reply,
    accepted: &mut Option<(i64, String)>,
) -> Result<bool, DaemonError> {
    let id = r.id;
    let previous = accepted.take();
    shared
        .store
        .call(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            if let Some((previous, response)) = &previous {
                Store::sent_complete(&tx, *previous, response)?;
            }
            Store::begin_send(&tx, id)?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    failpoint("before_smtp");
    let from = shared.cfg.transport.from().to_string();
    let result = transport.send(&from, &r.recipient, &r.reply_message_id, &r.raw).await;
    if result.is_ok() {
        failpoint("after_smtp_accept");
    }
    match send_outcome(shared, r, result) {
        SendOutcome::Sent(response) if sent.needs_copy() => {
            shared.store.call(move |c| Store::sent(c, id, &response)).await?;
            append_copy(shared, sent, r).await?;
            Ok(true)
        }
        SendOutcome::Sent(response) => {
            // The provider files its own copy: `sent` is written with the next claim.
            *accepted = Some((id, response));
            Ok(true)
        }
        not_sent => {
            shared.store.call(move |c| not_sent.record(c, id)).await?;
            Ok(false)
        }
    }
}

async fn outbox_loop(
    shared: Arc<Shared>,
    transport: Transport,
    mut shutdown: watch::Receiver<bool>,
) -> Result<u64, DaemonError> {
    let mut sent = sent_folder(&shared.cfg);
    let mut total = 0;
    loop {
        if *shutdown.borrow() {
            return Ok(total);
        }
        resolve_ambiguous(&shared, &mut sent).await?;
        total += drain_outbox(&shared, &transport, &mut sent, false).await?;
        let next = shared.store.call(|c| Store::next_due(c)).await?;
        if next.is_some_and(|t| t <= Utc::now()) {
            // More replies are due already (a page was sent): go on without waiting.
            continue;
        }
        let oldest_sending = shared.store.call(|c| Store::oldest_sending(c)).await?;
        let check_at = oldest_sending
            .map(|t| t + chrono::Duration::from_std(shared.cfg.reply.sent_check_delay).unwrap_or_default());
        let next = match (next, check_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let wait = next
            .map(|t| (t - Utc::now()).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(Duration::from_secs(60))
            .min(Duration::from_secs(60))
            .max(Duration::from_millis(50));
        tokio::select! {
            _ = shared.outbox_wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return Ok(total),
        }
    }
}

/// The daily digest: sleeps until the next `[digest] at` in its zone, sends that day's digest
/// unless it was sent already (by an earlier run or by hand), and stops on shutdown. A start
/// after `at` sends the day's digest at once; a temporary failure is retried every 5 minutes
/// that day.
async fn digest_loop(shared: Arc<Shared>, transport: Transport, mut shutdown: watch::Receiver<bool>) {
    const RETRY: Duration = Duration::from_secs(300);
    const MAX_SLEEP: Duration = Duration::from_secs(3600);
    let dc = shared.cfg.digest.clone();
    let mut sent = sent_folder(&shared.cfg);
    info!(stage = "digest", at = %dc.at, zone = %dc.timezone, to = ?dc.to, "daily digest scheduled");
    loop {
        if *shutdown.borrow() {
            return;
        }
        let now = Utc::now();
        let (due, next) = crate::digest::schedule(now, dc.at, dc.timezone);
        let mut wait = (next - now).to_std().unwrap_or(Duration::ZERO);
        if let Some(date) = due {
            // Not cancelled by a shutdown: a send is bounded by the transport's timeout, and
            // finishing it saves a Sent-folder check at the next start.
            let outcome =
                crate::digest::send_once(&shared.store, &shared.cfg, &shared.rules, date, &transport, &mut sent, false)
                    .await;
            match outcome {
                Ok(crate::digest::Outcome::Sent { message_id, .. }) => {
                    info!(stage = "digest", %date, %message_id, "daily digest sent");
                }
                Ok(crate::digest::Outcome::AlreadySent { .. }) => {}
                Ok(crate::digest::Outcome::InProgress) => {
                    wait = wait.min(shared.cfg.reply.sent_check_delay + Duration::from_secs(1));
                }
                Ok(crate::digest::Outcome::Failed { .. }) => {}
                Err(crate::digest::DigestError::Send(SendError::Permanent(e))) => {
                    error!(stage = "digest", %date, error = %e, "ALERT: the daily digest was refused; not retried today (send it with `mail-intake digest --send`)");
                }
                Err(e) => {
                    warn!(stage = "digest", %date, error = %e, retry_in = ?RETRY, "daily digest not sent; will retry");
                    wait = wait.min(RETRY);
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(wait.clamp(Duration::from_millis(50), MAX_SLEEP)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Whether a transport writes files (the embedded default).
pub fn is_file_transport(cfg: &Config) -> bool {
    matches!(cfg.transport, TransportConfig::Dir { .. })
}
