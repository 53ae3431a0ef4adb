//! How the daemon is doing, for the office and for monitoring: the intake records each
//! poll's outcome in the store's `state` table; after `[daemon] alert_after_failures`
//! failed polls in a row one alert mail goes to the office (and one "recovered" mail when
//! the mailbox answers again — never one per failure, even across restarts); and
//! `mail-intake status` reads it all back: last poll, last successful send, queue sizes,
//! failures, with an exit code for systemd timers (0 healthy, 1 degraded, 2 down).

use crate::store;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;

use crate::store::{Store, StoreError};

/// `state` keys written by the daemon.
pub mod keys {
    /// RFC 3339 time of the last successful poll (written by the intake round).
    pub const LAST_POLL: &str = "last_poll";
    /// RFC 3339 time of the last failed poll.
    pub const LAST_POLL_FAILURE: &str = "last_poll_failure";
    /// Failed polls in a row (0 after a success).
    pub const POLL_FAILURES: &str = "poll_failures";
    /// The last failure, for people.
    pub const LAST_POLL_ERROR: &str = "last_poll_error";
    /// RFC 3339 time the open alert was mailed (absent: no alert open).
    pub const ALERT_SENT: &str = "alert_sent";
}

/// Overall state, as an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Healthy,
    Degraded,
    Down,
}

impl Level {
    pub fn exit_code(self) -> u8 {
        match self {
            Level::Healthy => 0,
            Level::Degraded => 1,
            Level::Down => 2,
        }
    }
}

/// What `mail-intake status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub level: Level,
    /// Why the level is not `healthy` (empty when it is).
    pub reasons: Vec<String>,
    pub last_poll: Option<String>,
    pub last_poll_failure: Option<String>,
    pub poll_failures: u32,
    pub last_poll_error: Option<String>,
    pub alert_open_since: Option<String>,
    pub last_send: Option<String>,
    pub messages: i64,
    pub unjudged: i64,
    pub judging_failed: i64,
    pub replies_pending: i64,
    pub replies_overdue: i64,
    pub replies_sending: i64,
    pub replies_failed: i64,
    pub replies_held_by_cap: i64,
}

fn ago(t: &Option<String>, now: DateTime<Utc>) -> Option<chrono::Duration> {
    t.as_deref().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|t| now - t.with_timezone(&Utc))
}

/// Reads the store and judges the state. `poll_interval`: the configured one (a poll older
/// than ten of them, and at least 10 minutes, means the daemon is not running or stuck).
pub fn status(
    conn: &Connection,
    now: DateTime<Utc>,
    poll_interval: std::time::Duration,
    alert_after: u32,
) -> Result<Status, StoreError> {
    let get = |k: &str| store::state::get(conn, k);
    let last_poll = get(keys::LAST_POLL)?;
    let last_poll_failure = get(keys::LAST_POLL_FAILURE)?;
    let poll_failures: u32 = get(keys::POLL_FAILURES)?.and_then(|s| s.parse().ok()).unwrap_or(0);
    let last_poll_error = get(keys::LAST_POLL_ERROR)?.filter(|_| poll_failures > 0);
    let alert_open_since = get(keys::ALERT_SENT)?.filter(|s| !s.is_empty());
    let messages = store::messages::pipeline_counts(conn)?;
    let outbox = store::replies::outbox_counts(conn, &(now - chrono::Duration::minutes(10)))?;
    let s = Status {
        level: Level::Healthy,
        reasons: Vec::new(),
        messages: messages.0,
        unjudged: messages.1,
        judging_failed: messages.2,
        replies_pending: outbox.pending,
        replies_overdue: outbox.overdue,
        replies_sending: outbox.stuck_sending,
        replies_failed: outbox.failed,
        replies_held_by_cap: outbox.held_by_cap,
        last_poll,
        last_poll_failure,
        poll_failures,
        last_poll_error,
        alert_open_since,
        last_send: outbox.last_send,
    };
    Ok(judge(s, now, poll_interval, alert_after))
}

fn judge(mut s: Status, now: DateTime<Utc>, poll_interval: std::time::Duration, alert_after: u32) -> Status {
    let stale = chrono::Duration::from_std(poll_interval * 10)
        .unwrap_or(chrono::Duration::hours(1))
        .max(chrono::Duration::minutes(10));
    let mut down = Vec::new();
    let mut degraded = Vec::new();
    match ago(&s.last_poll, now) {
        None => down.push("the mailbox has never been read successfully".to_string()),
        Some(a) if a > stale => down.push(format!(
            "no successful poll for {} minute(s) (is the daemon running? `systemctl status mail-intake`)",
            a.num_minutes()
        )),
        Some(_) => {}
    }
    if s.poll_failures >= alert_after.max(1) {
        down.push(format!("the mailbox failed {} time(s) in a row", s.poll_failures));
    } else if s.poll_failures > 0 {
        degraded.push(format!("the last {} poll(s) failed", s.poll_failures));
    }
    if s.replies_overdue > 0 {
        degraded.push(format!("{} reply(ies) overdue (SMTP trouble?)", s.replies_overdue));
    }
    if s.replies_sending > 0 {
        degraded.push(format!("{} reply(ies) stuck in sending", s.replies_sending));
    }
    if s.unjudged > 0 && !down.is_empty() {
        degraded.push(format!("{} stored message(s) not judged yet", s.unjudged));
    }
    s.level = if !down.is_empty() {
        Level::Down
    } else if !degraded.is_empty() {
        Level::Degraded
    } else {
        Level::Healthy
    };
    s.reasons = down.into_iter().chain(degraded).collect();
    s
}

/// An outage of the mailbox as the intake loop lives it: failed polls in a row (recorded in
/// the store), the single alert mail once there are `alert_after_failures` of them, the
/// single recovery mail at the first success after it. Survives restarts (the count and the
/// open alert are in the store).
pub struct Outage<'a> {
    store: &'a Store,
    cfg: &'a crate::config::Config,
    rules: &'a crate::Rules,
    transport: &'a crate::reply::transport::Transport,
    failures: u32,
    alert_open: bool,
}

impl<'a> Outage<'a> {
    pub async fn load(
        store: &'a Store,
        cfg: &'a crate::config::Config,
        rules: &'a crate::Rules,
        transport: &'a crate::reply::transport::Transport,
    ) -> Outage<'a> {
        let (failures, alert_open) = store
            .call(|c| {
                let failures = store::state::get(c, keys::POLL_FAILURES)?.and_then(|s| s.parse().ok()).unwrap_or(0u32);
                Ok((failures, store::state::get(c, keys::ALERT_SENT)?.is_some_and(|s| !s.is_empty())))
            })
            .await
            .unwrap_or((0, false));
        Outage { store, cfg, rules, transport, failures, alert_open }
    }

    fn threshold(&self) -> u32 {
        self.cfg.daemon.alert_after_failures.max(1)
    }

    /// A poll succeeded: the count goes back to 0; an open alert is closed by a recovery mail.
    pub async fn success(&mut self) {
        if self.failures >= self.threshold() {
            tracing::info!(failures = self.failures, "mailbox reachable again");
        }
        if self.failures > 0 {
            let _ = self.store.call(|c| store::state::set(c, keys::POLL_FAILURES, "0")).await;
        }
        self.failures = 0;
        if !self.alert_open {
            return;
        }
        let body = format!(
            "mail-intake reads the office mailbox again (at {}).\n\nMail that arrived meanwhile is being processed now; nothing was lost.\n",
            Utc::now().to_rfc3339()
        );
        let subject = "mail-intake：邮箱已恢复 / mailbox recovered";
        match mail_office(self.cfg, &self.rules.automatic.own_header, self.transport, subject, &body).await {
            Ok(to) => {
                tracing::info!(stage = "alert", to = ?to, "recovery mail sent to the office");
                self.alert_open = false;
                let _ = self.store.call(|c| store::state::set(c, keys::ALERT_SENT, "")).await;
            }
            Err(e) => tracing::warn!(
                stage = "alert",
                error = %e,
                "cannot mail the office that the mailbox recovered; will try after the next poll"
            ),
        }
    }

    /// A poll failed: recorded; at the threshold, one ALERT line and (once per outage) the
    /// alert mail — tried again at each later failure until it goes out.
    pub async fn failure(&mut self, error: &str, retry_in: std::time::Duration) {
        self.failures += 1;
        let failures = self.failures;
        let (n, err, now) = (failures.to_string(), error.to_string(), Utc::now().to_rfc3339());
        let _ = self
            .store
            .call(move |c| {
                store::state::set(c, keys::POLL_FAILURES, &n)?;
                store::state::set(c, keys::LAST_POLL_ERROR, &err)?;
                store::state::set(c, keys::LAST_POLL_FAILURE, &now)
            })
            .await;
        if failures == self.threshold() {
            tracing::error!(
                failures,
                error,
                "ALERT: the mailbox has failed {failures} times in a row; mail is not being processed"
            );
        } else {
            tracing::warn!(failures, error, retry_in = ?retry_in, "mailbox round failed; will retry");
        }
        if failures < self.threshold() || self.alert_open {
            return;
        }
        let body = format!(
            "mail-intake cannot read the office mailbox: {failures} attempts in a row have failed.\n\n\
             Last error: {error}\n\n\
             Until this is fixed, submissions are not registered and not answered (none are lost: they wait in the mailbox).\n\
             Check: the mailbox password / 授权码, that IMAP is switched on at the provider, the network.\n\
             `mail-intake config check -c FILE --connect` tests the login; `mail-intake status -c FILE` shows the state.\n\
             One more mail follows when the mailbox answers again.\n"
        );
        let subject = "mail-intake：邮箱无法读取 / mailbox unreachable";
        match mail_office(self.cfg, &self.rules.automatic.own_header, self.transport, subject, &body).await {
            Ok(to) => {
                tracing::error!(stage = "alert", to = ?to, failures, "ALERT mail sent to the office");
                self.alert_open = true;
                let now = Utc::now().to_rfc3339();
                let _ = self.store.call(move |c| store::state::set(c, keys::ALERT_SENT, &now)).await;
            }
            Err(e) => tracing::error!(
                stage = "alert",
                error = %e,
                "ALERT: cannot mail the office about the failing mailbox; will try again at the next failure"
            ),
        }
    }
}

/// Who hears about trouble: the `[digest] to` addresses, else the office's own address.
pub fn office_recipients(cfg: &crate::config::Config) -> Vec<String> {
    if cfg.digest.to.is_empty() {
        vec![crate::reply::transport::bare(cfg.transport.from()).to_string()]
    } else {
        cfg.digest.to.clone()
    }
}

/// Mails the office (alert or recovery); returns the recipients on success.
pub async fn mail_office(
    cfg: &crate::config::Config,
    own_header: &str,
    transport: &crate::reply::transport::Transport,
    subject: &str,
    body: &str,
) -> Result<Vec<String>, String> {
    let to = office_recipients(cfg);
    let from = cfg.transport.from();
    let (id, raw) = office_mail(from, &to, subject, body, own_header)?;
    transport.send_all(from, &to, &id, &raw).await.map_err(|e| e.to_string())?;
    Ok(to)
}

/// The alert (or recovery) mail to the office: `(message_id, raw)`. Marked as our own
/// automatic mail, so it is never judged as a submission when it lands in the mailbox.
pub fn office_mail(
    from: &str,
    to: &[String],
    subject: &str,
    body: &str,
    own_header: &str,
) -> Result<(String, Vec<u8>), String> {
    use lettre::message::header::{ContentType, HeaderName, HeaderValue};
    let from_mb: lettre::message::Mailbox = from.parse().map_err(|e| format!("from address {from}: {e}"))?;
    let domain = from_mb.email.domain().to_string();
    let now = Utc::now();
    let message_id = format!("<alert.{}.{}@{domain}>", now.timestamp_micros(), std::process::id());
    let mut b = lettre::Message::builder()
        .from(from_mb)
        .subject(subject)
        .message_id(Some(message_id.clone()))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".into()))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii(own_header.to_string())
                .unwrap_or_else(|_| HeaderName::new_from_ascii_str("X-Mail-Intake")),
            "alert".into(),
        ));
    for t in to {
        b = b.to(t.parse().map_err(|e| format!("recipient {t}: {e}"))?);
    }
    let m = b
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_string())
        .map_err(|e| format!("cannot build the office mail: {e}"))?;
    Ok((message_id, m.formatted()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_polls_and_queues() {
        let store = Store::memory().unwrap();
        let now = Utc::now();
        let minute = std::time::Duration::from_secs(60);
        store
            .with(|c| {
                let s = status(c, now, minute, 5)?;
                assert_eq!(s.level, Level::Down, "{:?}", s.reasons);
                store::state::set(c, keys::LAST_POLL, &now.to_rfc3339())?;
                assert_eq!(status(c, now, minute, 5)?.level, Level::Healthy);
                store::state::set(c, keys::POLL_FAILURES, "2")?;
                let s = status(c, now, minute, 5)?;
                assert_eq!((s.level, s.poll_failures), (Level::Degraded, 2), "{:?}", s.reasons);
                store::state::set(c, keys::POLL_FAILURES, "5")?;
                assert_eq!(status(c, now, minute, 5)?.level, Level::Down);
                store::state::set(c, keys::POLL_FAILURES, "0")?;
                let later = now + chrono::Duration::minutes(11);
                assert_eq!(status(c, later, minute, 5)?.level, Level::Down, "a stale poll: not running");
                Ok(())
            })
            .unwrap();
        assert_eq!(Level::Degraded.exit_code(), 1);
    }

    #[test]
    fn the_office_mail_is_marked_as_ours() {
        let (id, raw) = office_mail(
            "省学分银行 <office@example.edu.cn>",
            &["office@example.edu.cn".into()],
            "邮箱无法读取",
            "正文",
            "X-Mail-Intake",
        )
        .unwrap();
        let text = String::from_utf8_lossy(&raw);
        assert!(id.starts_with("<alert.") && id.ends_with("@example.edu.cn>"), "{id}");
        assert!(text.contains("Auto-Submitted: auto-generated") && text.contains("X-Mail-Intake: alert"), "{text}");
    }
}
