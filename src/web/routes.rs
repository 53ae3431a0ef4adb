//! The URL map, the login guard in front of every page but `/login`, and headers every
//! response gets (no framing, no referrer, a content policy for pages).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::pages::{actions, export, files, login, mails, overview, schools, submissions};
use super::render::error_page;
use super::{App, auth};

/// Every route of the web view.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(overview::page))
        .route("/schools", get(schools::list))
        .route("/schools/{name}", get(schools::one))
        .route("/submissions", get(submissions::list))
        .route("/submissions/{id}", get(submissions::one))
        .route("/mails", get(mails::list))
        .route("/mails/{id}", get(mails::one))
        .route("/mails/{id}/raw", get(files::raw))
        .route("/mails/{id}/files/{n}", get(files::file))
        .route("/export", get(export::page))
        .route("/export/register.xlsx", get(export::xlsx))
        .route("/export/attachments.zip", get(export::zip))
        .route("/actions/{id}/{action}", get(actions::confirm).post(actions::run))
        .route("/logout", post(login::logout))
        .route_layer(from_fn_with_state(app.clone(), guard))
        .route("/login", get(login::form).post(login::submit))
        .fallback(not_found)
        .layer(from_fn(headers))
        .with_state(app)
}

async fn not_found() -> Response {
    error_page(StatusCode::NOT_FOUND, "找不到", "没有这个页面。")
}

/// Lets a request with a live session through (the session goes into its extensions);
/// anything else is sent to the login page.
async fn guard(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    let session = req
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| auth::cookie(h, auth::SESSION_COOKIE))
        .and_then(|t| app.sessions.get(t));
    match session {
        Some(s) => {
            req.extensions_mut().insert(s);
            next.run(req).await
        }
        None if req.method() == Method::GET => {
            let back = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let mut to = String::from("/login?next=");
            for b in back.bytes() {
                if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
                    to.push(b as char);
                } else {
                    to.push_str(&format!("%{b:02X}"));
                }
            }
            Redirect::to(&to).into_response()
        }
        None => Redirect::to("/login").into_response(),
    }
}

async fn headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.entry(header::X_FRAME_OPTIONS).or_insert(HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.entry(header::X_CONTENT_TYPE_OPTIONS).or_insert(HeaderValue::from_static("nosniff"));
    let is_html = h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; object-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ));
        h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    }
    r
}
