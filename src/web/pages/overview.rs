//! `/`: the digest, live — the same `Digest::compute` as `mail-intake digest --text`, for
//! today in the digest's zone — with links into everything it counts (long lists of mails
//! show their first 30 and link to the full list).
//!
//! The digest is kept computed in the background ([`refresh`]): at start-up, and whenever the
//! store changed (SQLite's `data_version` on the overview's own connection moves with every
//! commit of another connection — the daemon's, an action's), the day turned, or it is 30
//! seconds old — while someone looks at it (shown in the last 15 minutes; once at start-up
//! whoever looks). A page checks the same connection first: when the digest on hand was computed
//! from the store as it is now, it is shown at once; else (a commit the background has not seen
//! yet) the page computes it, or waits for the computation under way, so it never shows
//! numbers older than the store.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use minijinja::context;

use super::super::App;
use super::super::auth::Session;
use super::super::render::PageError;
use crate::digest::Digest;
use crate::store::{Store, StoreError};

/// How long a computed digest is shown at most (its "generated at" minute moves on).
const FRESH: Duration = Duration::from_secs(30);
/// How often the background looks at the store.
const POLL: Duration = Duration::from_millis(500);
/// The background keeps the digest computed this long after the overview was last shown
/// (a daemon judging a backlog with nobody looking does not recompute it after each batch).
const WATCHED: Duration = Duration::from_secs(15 * 60);

/// The overview's connection and the last digest computed on it.
pub struct Cached {
    conn: Store,
    last: Mutex<Option<Entry>>,
    /// When the overview was last shown.
    viewed: Mutex<Option<Instant>>,
}

struct Entry {
    version: i64,
    day: NaiveDate,
    at: Instant,
    digest: Arc<Digest>,
}

impl Cached {
    /// Opens the overview's own connection to the store.
    pub fn open(path: &std::path::Path) -> Result<Cached, StoreError> {
        Ok(Cached { conn: Store::open(path)?, last: Mutex::new(None), viewed: Mutex::new(None) })
    }

    /// The digest of the store as it is now: the one on hand, or computed afresh.
    pub fn current(&self, app: &App) -> Result<Arc<Digest>, PageError> {
        self.conn.with(|c| {
            let day = Utc::now().with_timezone(&app.cfg.digest.timezone).date_naive();
            let version: i64 = c.query_row("PRAGMA data_version", [], |r| r.get(0))?;
            if let Ok(last) = self.last.lock()
                && let Some(e) = last.as_ref()
                && e.version == version
                && e.day == day
                && e.at.elapsed() < FRESH
            {
                return Ok(Ok(e.digest.clone()));
            }
            let started = Instant::now();
            let d = match Digest::compute(c, &app.rules, day, Utc::now()) {
                Ok(d) => Arc::new(d),
                Err(e) => return Ok(Err(PageError::Internal(e.to_string()))),
            };
            tracing::debug!(stage = "web", ms = started.elapsed().as_millis() as u64, "overview digest computed");
            if let Ok(mut last) = self.last.lock() {
                *last = Some(Entry { version, day, at: Instant::now(), digest: d.clone() });
            }
            Ok(Ok(d))
        })?
    }
}

/// Keeps the overview's digest computed while the web view runs (until `app` is dropped).
pub fn refresh(app: Weak<App>) {
    tokio::spawn(async move {
        let mut first = true;
        loop {
            let Some(a) = app.upgrade() else { break };
            let watched = a.overview.viewed.lock().map(|t| t.is_some_and(|t| t.elapsed() < WATCHED)).unwrap_or(true);
            let startup = std::mem::take(&mut first);
            if !watched && !startup {
                drop(a);
                tokio::time::sleep(POLL).await;
                continue;
            }
            let done = tokio::task::spawn_blocking(move || a.overview.current(&a).map(|_| ())).await;
            if let Ok(Err(e)) = done {
                tracing::warn!(stage = "web", error = ?e, "computing the overview's digest failed");
            }
            tokio::time::sleep(POLL).await;
        }
    });
}

/// `GET /`.
pub async fn page(State(app): State<Arc<App>>, Extension(s): Extension<Session>) -> Result<Response, PageError> {
    if let Ok(mut t) = app.overview.viewed.lock() {
        *t = Some(Instant::now());
    }
    let a = app.clone();
    let d = tokio::task::spawn_blocking(move || a.overview.current(&a))
        .await
        .map_err(|e| PageError::Internal(format!("the overview stopped: {e}")))??;
    super::render(&app, &s, "overview", "overview.html", context! { title => "概览", d => super::v(&*d) })
}
