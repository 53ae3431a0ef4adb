//! `/`: the digest, live — the same `Digest::compute` as `mail-intake digest --text`, for
//! today in the digest's zone — with links into everything it counts (long lists of mails
//! show their first 30 and link to the full list). The digest is computed again whenever the
//! store changed (SQLite's `data_version`), the day turned, or after 30 seconds.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use minijinja::context;

use super::super::App;
use super::super::auth::Session;
use super::super::render::PageError;
use crate::digest::Digest;

/// How long a computed digest is shown at most (its "generated at" minute moves on).
const FRESH: Duration = Duration::from_secs(30);

/// The last digest computed, and what it was computed from: the store's `data_version` (it
/// changes whenever another connection — the daemon, an action — commits) and the day.
#[derive(Default)]
pub struct Cached(Mutex<Option<(i64, NaiveDate, Instant, Digest)>>);

/// `GET /`.
pub async fn page(State(app): State<Arc<App>>, Extension(s): Extension<Session>) -> Result<Response, PageError> {
    let d = super::read(&app, |c, app| {
        let date = Utc::now().with_timezone(&app.cfg.digest.timezone).date_naive();
        let version: i64 =
            c.query_row("PRAGMA data_version", [], |r| r.get(0)).map_err(crate::store::StoreError::from)?;
        if let Ok(cache) = app.overview.0.lock()
            && let Some((v, day, at, d)) = cache.as_ref()
            && *v == version
            && *day == date
            && at.elapsed() < FRESH
        {
            return Ok(d.clone());
        }
        let d = Digest::compute(c, &app.rules, date, Utc::now()).map_err(|e| PageError::Internal(e.to_string()))?;
        if let Ok(mut cache) = app.overview.0.lock() {
            *cache = Some((version, date, Instant::now(), d.clone()));
        }
        Ok(d)
    })
    .await?;
    super::render(&app, &s, "overview", "overview.html", context! { title => "概览", d => super::v(d) })
}
