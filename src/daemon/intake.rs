//! The intake task: fetch → store (raw first) → judge → mark, then wait (IDLE or poll),
//! reconnecting with capped backoff; proof copies of our own replies are recognised here.

use super::outbox::NOT_ACCEPTED;
use super::*;
use crate::config::{Config, SourceConfig, TransportConfig};
use crate::intake::{IntakeError, Source, proof};
use crate::reply::transport::Transport;
use crate::store;
use crate::store::ReplyState;
use crate::store::{Fetched, StoreError, Stored};
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::{info, warn};

/// One full pass: fetch everything new, store it, judge everything stored, mark it.
///
/// A pipeline over bounded batches: batch k+1 is fetched while batch k — already committed to
/// the store — is judged on all cores; each batch is stored in one transaction and its
/// verdicts (each with its reply) saved in another.
pub(super) async fn intake_round(shared: &Arc<Shared>, source: &mut Source) -> Result<(u64, u64), DaemonError> {
    let info = source.ensure_connected().await?;
    let mut stored = 0u64;
    // Stored by an earlier run but never judged (it stopped in between).
    let mut judged = judge_pending(shared).await?;
    mark(shared, source, &info).await?;
    loop {
        let mailbox = info.clone();
        let last = shared.store.call(move |c| store::messages::cursor(c, &mailbox)).await?;
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
            mark(shared, source, &info).await?;
            let Some((new, batch)) = next else { break };
            stored += new;
            to_judge = batch;
        }
    }
    judged += judge_pending(shared).await?;
    mark(shared, source, &info).await?;
    let now = Utc::now().to_rfc3339();
    shared.store.call(move |c| store::state::set(c, "last_poll", &now)).await?;
    Ok((stored, judged))
}

/// A batch being judged while the next is fetched, unless it holds more bytes than this.
pub(super) const OVERLAP_MAX_BYTES: usize = 32 << 20;

/// Fetches one chunk of UIDs and stores it (`None` when there is no chunk left).
pub(super) async fn fetch_and_store(
    shared: &Arc<Shared>,
    source: &mut Source,
    chunk: Option<&[u32]>,
) -> Result<Option<(u64, Vec<ToJudge>)>, DaemonError> {
    let Some(uids) = chunk else { return Ok(None) };
    let fetched = source.fetch(uids).await?;
    let (fetched, proofs) = split_proof_copies(shared, fetched).await?;
    let stored = store_batch(shared, fetched).await?;
    record_proof_copies(shared, source, proofs).await?;
    Ok(Some(stored))
}

/// Whether replies also go to the office's own address as proof of acceptance.
pub(super) fn proof_copies_on(cfg: &Config) -> bool {
    matches!(&cfg.source, SourceConfig::Imap(c) if c.proof_copy) && matches!(cfg.transport, TransportConfig::Smtp(_))
}

/// Where proof copies go: the mailbox the daemon reads (its login, when that is an
/// address), else the office's From address.
pub(super) fn proof_address(cfg: &Config) -> String {
    match &cfg.source {
        SourceConfig::Imap(c) if c.user.parse::<lettre::Address>().is_ok() => c.user.clone(),
        _ => crate::reply::transport::bare(cfg.transport.from()).to_string(),
    }
}

/// A proof copy met by the intake: where it is, and the reply it proves.
pub(super) struct ProofCopy {
    location: crate::store::Location,
    reply: i64,
    state: ReplyState,
    /// The reply waits to be sent again only because its copy was not found in time: the
    /// proof shows the earlier attempt was accepted after all.
    late_proof: bool,
}

/// Takes the proof copies of our own replies out of a fetched batch (see
/// [`crate::intake::proof`]); the rest is stored as usual.
pub(super) async fn split_proof_copies(
    shared: &Arc<Shared>,
    fetched: Vec<Fetched>,
) -> Result<(Vec<Fetched>, Vec<ProofCopy>), DaemonError> {
    if !proof_copies_on(&shared.cfg) {
        return Ok((fetched, Vec::new()));
    }
    let own = &shared.rules.automatic.own_header;
    let candidates: Vec<(usize, String)> =
        fetched.iter().enumerate().filter_map(|(i, f)| proof::own_message_id(&f.raw, own).map(|id| (i, id))).collect();
    if candidates.is_empty() {
        return Ok((fetched, Vec::new()));
    }
    let known = shared
        .store
        .call(move |c| {
            let mut known = Vec::new();
            for (i, id) in candidates {
                if let Some((reply, state, last_error)) = store::replies::reply_by_message_id(c, &id)? {
                    let late = state == ReplyState::Pending && last_error.as_deref() == Some(NOT_ACCEPTED);
                    known.push((i, reply, state, late));
                }
            }
            Ok(known)
        })
        .await?;
    let mut proofs = Vec::with_capacity(known.len());
    let mut keep = Vec::with_capacity(fetched.len());
    let mut known = known.into_iter().peekable();
    for (i, f) in fetched.into_iter().enumerate() {
        match known.next_if(|(k, _, _, _)| *k == i) {
            Some((_, reply, state, late_proof)) => {
                proofs.push(ProofCopy { location: f.location, reply, state, late_proof })
            }
            None => keep.push(f),
        }
    }
    Ok((keep, proofs))
}

/// Records proof copies (after the rest of their batch is stored, so the cursor never
/// passes an unstored message): the reply they prove is sent, the cursor moves past them,
/// and they are flagged read for the office.
pub(super) async fn record_proof_copies(
    shared: &Arc<Shared>,
    source: &mut Source,
    proofs: Vec<ProofCopy>,
) -> Result<(), DaemonError> {
    if proofs.is_empty() {
        return Ok(());
    }
    let uids: Vec<u32> = proofs.iter().map(|p| p.location.uid).collect();
    for p in &proofs {
        info!(stage = "proof", uid = p.location.uid, reply = p.reply, state = %p.state, "proof copy of our reply received; not a submission");
    }
    shared
        .store
        .call(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for p in &proofs {
                // Not a reply queued again by hand (`reply --resend`): that one must go out.
                if p.state == ReplyState::Sending || p.late_proof {
                    store::replies::sent(&tx, p.reply, "accepted: its proof copy reached the office mailbox")?;
                }
                store::messages::skip_uid(&tx, &p.location)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await?;
    if let Err(e) = source.flag_proof(&uids).await {
        warn!(stage = "proof", count = uids.len(), error = %e, "cannot flag the proof copies read; they stay unread in the mailbox");
        if matches!(e, IntakeError::Lost(_)) {
            return Err(e.into());
        }
    }
    Ok(())
}

/// Stored messages waiting to be judged, in store order: runs of messages in memory (judged
/// together, on all cores) and large messages left in the store (judged one at a time).
pub(super) enum ToJudge {
    Batch(Vec<Stored>),
    Large(i64),
}

/// Bytes of messages waiting in memory; `usize::MAX` when a large one is among them.
pub(super) fn bytes_in_memory(to_judge: &[ToJudge]) -> usize {
    to_judge.iter().fold(0usize, |sum, p| match p {
        ToJudge::Batch(b) => sum.saturating_add(b.iter().map(|m| m.raw.len()).sum()),
        ToJudge::Large(_) => usize::MAX,
    })
}

/// Stores a fetched batch in one transaction (the raw bytes before anything else happens);
/// returns how many were new and the new ones, ready to be judged in order (their bytes
/// moved, not copied; a large one handed over to the store and read back when its turn
/// comes). Bytes seen before are not judged again.
pub(super) async fn store_batch(
    shared: &Arc<Shared>,
    mut fetched: Vec<Fetched>,
) -> Result<(u64, Vec<ToJudge>), DaemonError> {
    if fetched.is_empty() {
        return Ok((0, Vec::new()));
    }
    failpoint("before_store");
    let store = shared.store.clone();
    let (fetched, ids) = tokio::task::spawn_blocking(move || {
        let ids = store.with(|c| store::messages::store_batch(c, &mut fetched));
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

/// Sets our keyword (and one naming the decision) on judged messages.
pub(super) async fn mark(
    shared: &Arc<Shared>,
    source: &mut Source,
    mailbox: &crate::store::Mailbox,
) -> Result<(), DaemonError> {
    let SourceConfig::Imap(imap) = &shared.cfg.source else { return Ok(()) };
    let of = mailbox.clone();
    let pending = shared.store.call(move |c| store::messages::unmarked(c, &of)).await?;
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
            if matches!(e, IntakeError::Lost(_)) {
                return Err(e.into());
            }
        }
        let (of, n) = (mailbox.clone(), uids.len());
        shared.store.call(move |c| store::messages::set_marked(c, &of, &uids)).await?;
        info!(stage = "mark", count = n, decision = %decision, "keywords set");
    }
    Ok(())
}

/// The intake loop: one session held across polls, reconnect backoff, IDLE/poll, heartbeat,
/// and one alert mail (and one recovery mail) per outage ([`crate::health::Outage`]).
pub(super) async fn intake_loop(shared: &Arc<Shared>, transport: &Transport, shutdown: &mut watch::Receiver<bool>) {
    let mut source = Source::new(&shared.cfg.source, &shared.cfg.daemon);
    let mut outage = crate::health::Outage::load(&shared.store, &shared.cfg, &shared.rules, transport).await;
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
                outage.success().await;
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
                outage.failure(&e.to_string(), backoff).await;
                source.disconnect();
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
