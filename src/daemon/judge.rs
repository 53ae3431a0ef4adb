//! Judging stored mail: the pure judge on all cores, then — in one transaction, in order —
//! the register binds each mail to its submission, the reply is planned, the verdict saved.

use super::*;
use crate::register;
use crate::reply::{self, ReplyContext};
use crate::store;
use crate::store::{StoreError, Stored};
use crate::validate::{JudgeOptions, judge};
use crate::verdict::Verdict;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tracing::{error, info};

/// Judges stored messages in store order.
pub(super) async fn judge_in_order(shared: &Arc<Shared>, to_judge: Vec<ToJudge>) -> Result<u64, DaemonError> {
    let mut judged = 0;
    for p in to_judge {
        judged += match p {
            ToJudge::Batch(batch) => judge_batch(shared, batch).await?,
            ToJudge::Large(id) => match shared.store.call(move |c| store::messages::stored(c, id)).await? {
                Some(m) => judge_batch(shared, vec![m]).await?,
                None => 0,
            },
        };
    }
    Ok(judged)
}

/// Judges every stored message that has no verdict yet (left by an earlier run).
pub(super) async fn judge_pending(shared: &Arc<Shared>) -> Result<u64, DaemonError> {
    let mut judged = 0u64;
    loop {
        let batch = shared.store.call(|c| store::messages::unjudged(c, 20)).await?;
        if batch.is_empty() {
            return Ok(judged);
        }
        judged += judge_batch(shared, batch).await?;
    }
}

/// What judging one message gave: its verdict and planned reply, or why judging crashed.
pub(super) type Outcome = Result<(Verdict, Option<crate::store::NewReply>), String>;

/// Judges a batch of stored messages — the pure judge on all cores — then, in one
/// transaction and in order, adds what only the register knows (duplicates, the per-sender
/// reply count), plans each reply and saves each verdict with its reply.
pub(super) async fn judge_batch(shared: &Arc<Shared>, batch: Vec<Stored>) -> Result<u64, DaemonError> {
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
                        store::verdicts::save_verdict_in(&tx, m.id, &v, planned.as_ref())?;
                        judged += 1;
                    }
                    Err(e) => {
                        let msg = format!("judging failed: {e}");
                        error!(stage = "judge", id = m.id, error = %msg, "judging failed; the raw message is kept for reparse");
                        store::messages::mark_failed(&tx, m.id, &msg)?;
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
pub(super) fn release_body(m: &mut Stored) {
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
pub(super) fn header_block_end(raw: &[u8]) -> Option<usize> {
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
pub(super) fn plan_reply(
    shared: &Shared,
    conn: &rusqlite::Connection,
    m: &Stored,
    v: &Verdict,
) -> Option<crate::store::NewReply> {
    let recipient = reply::recipient(&m.raw);
    let day_ago = Utc::now() - chrono::Duration::hours(24);
    let recent = match &recipient {
        Some(r) => store::replies::replies_to_since(conn, r, &day_ago).unwrap_or(0),
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

pub(super) fn log_verdict(id: i64, v: &Verdict, planned: Option<&crate::store::NewReply>) {
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
