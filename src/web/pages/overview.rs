//! `/`: the digest, live — the same `Digest::compute` as `mail-intake digest --text`, for
//! today in the digest's zone — with links into everything it counts (long lists of mails
//! show their first 30 and link to the full list).

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use minijinja::context;

use super::super::App;
use super::super::auth::Session;
use super::super::render::PageError;
use crate::digest::Digest;

/// `GET /`.
pub async fn page(State(app): State<Arc<App>>, Extension(s): Extension<Session>) -> Result<Response, PageError> {
    let d = super::read(&app, |c, app| {
        let date = Utc::now().with_timezone(&app.cfg.digest.timezone).date_naive();
        Digest::compute(c, &app.rules, date, Utc::now()).map_err(|e| PageError::Internal(e.to_string()))
    })
    .await?;
    super::render(&app, &s, "overview", "overview.html", context! { title => "概览", d => super::v(d) })
}
