//! `/login` and `/logout`: the login form (with its own CSRF cookie, as there is no session
//! yet), password checking slowed per client address, the session cookie.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::context;

use super::super::App;
use super::super::auth::{self, Gate, LOGIN_COOKIE, SESSION_COOKIE, Session};
use super::super::render::{PageError, error_page};
use super::super::rows::printable;

#[derive(serde::Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only a path on this site (`/…`, not `//host` or `/\host`) is followed after login.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && !n.chars().any(char::is_control) =>
        {
            n.to_string()
        }
        _ => "/".into(),
    }
}

fn login_page(app: &App, status: StatusCode, next: &str, error: Option<&str>) -> Result<Response, PageError> {
    let token = auth::token();
    if token.is_empty() {
        return Err(PageError::Internal("no random bytes for the login form".into()));
    }
    let html = app.templates.get_template("login.html")?.render(context! {
        title => "登录", login_csrf => token.clone(), next, error,
    })?;
    let cookie =
        auth::set_cookie(LOGIN_COOKIE, &token, "/login", Some(Duration::from_secs(3600)), app.cfg.web.secure_cookies);
    let mut r = (status, Html(html)).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

/// `GET /login`.
pub async fn form(State(app): State<Arc<App>>, Query(q): Query<Next>) -> Result<Response, PageError> {
    login_page(&app, StatusCode::OK, &safe_next(q.next.as_deref()), None)
}

/// The client's address: the peer, or — when the peer is a proxy on this machine — the
/// address it names in `X-Real-IP`.
fn client(peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    if peer.ip().is_loopback()
        && let Some(ip) = headers.get("x-real-ip").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    peer.ip()
}

/// `POST /login`.
pub async fn submit(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let next = safe_next(form.get("next").map(String::as_str));
    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).and_then(|h| auth::cookie(h, LOGIN_COOKIE));
    let sent = form.get("csrf").map(String::as_str).unwrap_or_default();
    if !cookie.is_some_and(|c| auth::same_token(c, sent)) {
        return Ok(error_page(StatusCode::FORBIDDEN, "登录表单已过期", "请重新打开登录页再登录（表单校验码不符）。"));
    }
    let addr = client(peer, &headers);
    let name = form.get("user").map(|s| s.trim().to_string()).unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    match app.limiter.admit(addr) {
        Gate::Busy => {
            tracing::warn!(stage = "web", %addr, "login attempts from this address arrive too fast; answered 429");
            return Ok(error_page(StatusCode::TOO_MANY_REQUESTS, "登录尝试过于频繁", "请等几秒再试。"));
        }
        Gate::Wait(d) => {
            if !d.is_zero() {
                tokio::time::sleep(d).await;
            }
        }
    }
    let a = app.clone();
    let n = name.clone();
    let user = tokio::task::spawn_blocking(move || auth::check_password(&a.cfg.web.users, &n, &password).cloned())
        .await
        .map_err(|e| PageError::Internal(format!("password check stopped: {e}")));
    let user = match user {
        Ok(u) => u,
        Err(e) => {
            app.limiter.done(addr, false);
            return Err(e);
        }
    };
    let failures = app.limiter.done(addr, user.is_some());
    let Some(user) = user else {
        if auth::worth_logging(failures) {
            tracing::warn!(
                stage = "web",
                %addr,
                user = %printable(&crate::text::clip(&name, 40)),
                failures,
                slowed_ms = auth::delay_for(failures).as_millis() as u64,
                "web login failed"
            );
        }
        return login_page(&app, StatusCode::UNAUTHORIZED, &next, Some("用户名或密码不对。"));
    };
    let Some(session) = app.sessions.create(&user) else {
        return Err(PageError::Internal("cannot make a session token".into()));
    };
    tracing::info!(stage = "web", %addr, user = %user.name, "web login");
    let mut r = Redirect::to(&next).into_response();
    let secure = app.cfg.web.secure_cookies;
    let c = auth::set_cookie(SESSION_COOKIE, &session.token, "/", Some(app.sessions.ttl()), secure);
    let clear = auth::set_cookie(LOGIN_COOKIE, "", "/login", Some(Duration::ZERO), secure);
    for v in [c, clear] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(r)
}

/// Checks the CSRF token of a POST from a session.
pub fn check_csrf(s: &Session, form: &HashMap<String, String>) -> Result<(), Box<Response>> {
    let sent = form.get("csrf").map(String::as_str).unwrap_or_default();
    if auth::same_token(&s.csrf, sent) {
        Ok(())
    } else {
        tracing::warn!(stage = "web", user = %s.user, "a POST without the session's CSRF token was refused");
        Err(Box::new(error_page(
            StatusCode::FORBIDDEN,
            "请求被拒绝",
            "表单校验码不符（页面可能已过期）；请回到页面重新操作。",
        )))
    }
}

/// `POST /logout`.
pub async fn logout(
    State(app): State<Arc<App>>,
    Extension(s): Extension<Session>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(r) = check_csrf(&s, &form) {
        return *r;
    }
    app.sessions.remove(&s.token);
    tracing::info!(stage = "web", user = %s.user, "web logout");
    let mut r = Redirect::to("/login").into_response();
    let clear = auth::set_cookie(SESSION_COOKIE, "", "/", Some(Duration::ZERO), app.cfg.web.secure_cookies);
    if let Ok(v) = HeaderValue::from_str(&clear) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_stays_on_this_site() {
        use super::safe_next;
        assert_eq!(safe_next(Some("/mails/3")), "/mails/3");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "mails", ""] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
