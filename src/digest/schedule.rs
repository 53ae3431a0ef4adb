//! When the digest is due, and the daemon's daily timer that sends it.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use tokio::sync::watch;
use tracing::{error, info, warn};

use super::{DigestError, Outcome, send_once};
use crate::config::Config;
use crate::intake::sent::sent_folder;
use crate::reply::transport::{SendError, Transport};
use crate::rules::Rules;
use crate::store::Store;

/// When the digest is due, for a daily time `at` in zone `tz`: the date whose digest is due
/// at `now` (today's, once `at` has passed; a day missed entirely is not sent late), and the
/// next moment to look again (the next `at`).
pub fn schedule(now: DateTime<Utc>, at: NaiveTime, tz: Tz) -> (Option<NaiveDate>, DateTime<Utc>) {
    let today = now.with_timezone(&tz).date_naive();
    let at_on = |d: NaiveDate| -> DateTime<Utc> {
        let naive = d.and_time(at);
        tz.from_local_datetime(&naive)
            .earliest()
            // A time skipped by a clock change: an hour later exists.
            .or_else(|| tz.from_local_datetime(&(naive + chrono::Duration::hours(1))).earliest())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&naive))
    };
    let due = at_on(today);
    if now >= due { (Some(today), at_on(today + chrono::Duration::days(1))) } else { (None, due) }
}

/// The daily digest: sleeps until the next `[digest] at` in its zone, sends that day's digest
/// unless it was sent already (by an earlier run or by hand), and stops on shutdown. A start
/// after `at` sends the day's digest at once; a temporary failure is retried every 5 minutes
/// that day.
pub async fn run_daily(
    cfg: Config,
    rules: Rules,
    store: Store,
    transport: Transport,
    mut shutdown: watch::Receiver<bool>,
) {
    const RETRY: Duration = Duration::from_secs(300);
    const MAX_SLEEP: Duration = Duration::from_secs(3600);
    let dc = cfg.digest.clone();
    let mut sent = sent_folder(&cfg);
    info!(stage = "digest", at = %dc.at, zone = %dc.timezone, to = ?dc.to, "daily digest scheduled");
    loop {
        if *shutdown.borrow() {
            return;
        }
        let now = Utc::now();
        let (due, next) = schedule(now, dc.at, dc.timezone);
        let mut wait = (next - now).to_std().unwrap_or(Duration::ZERO);
        if let Some(date) = due {
            // Not cancelled by a shutdown: a send is bounded by the transport's timeout, and
            // finishing it saves a Sent-folder check at the next start.
            let outcome = send_once(&store, &cfg, &rules, date, &transport, &mut sent, false).await;
            match outcome {
                Ok(Outcome::Sent { message_id, .. }) => {
                    info!(stage = "digest", %date, %message_id, "daily digest sent");
                }
                Ok(Outcome::AlreadySent { .. }) => {}
                Ok(Outcome::InProgress) => {
                    wait = wait.min(cfg.reply.sent_check_delay + Duration::from_secs(1));
                }
                Ok(Outcome::Failed { .. }) => {}
                Err(DigestError::Send(SendError::Permanent(e))) => {
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
