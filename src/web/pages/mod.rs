//! One module per page (or group of routes), plus what they share: rendering a page for a
//! session, reading the store off the async threads, and checking ids from the URL.

pub mod actions;
pub mod export;
pub mod files;
pub mod login;
pub mod mails;
pub mod overview;
pub mod schools;
pub mod submissions;

use std::sync::Arc;

use axum::response::{Html, IntoResponse, Response};
use minijinja::{Value, context};
use rusqlite::Connection;

use super::App;
use super::auth::Session;
use super::render::PageError;

/// Renders `template` with the page's values and the session's (user, CSRF token, flash).
pub fn render(app: &App, s: &Session, nav: &str, template: &str, values: Value) -> Result<Response, PageError> {
    let flash = app.sessions.take_flash(&s.token);
    let t = app.templates.get_template(template)?;
    let user = context! { name => s.user.clone(), role => v(s.role) };
    let html = t.render(context! { user, csrf => s.csrf.clone(), nav, flash, ..values })?;
    Ok(Html(html).into_response())
}

/// Any serializable value for a template.
pub fn v<T: serde::Serialize>(x: T) -> Value {
    Value::from(minijinja::value::Serde(x))
}

/// Runs `f` on the pages' store connection on a blocking thread.
pub async fn read<T, F>(app: &Arc<App>, f: F) -> Result<T, PageError>
where
    T: Send + 'static,
    F: FnOnce(&mut Connection, &App) -> Result<T, PageError> + Send + 'static,
{
    let app = app.clone();
    tokio::task::spawn_blocking(move || {
        let a = app.clone();
        app.store.with(|c| Ok(f(c, &a)))?
    })
    .await
    .map_err(|e| PageError::Internal(format!("a page's store call stopped: {e}")))?
}

/// A message id from the URL: digits only, else 400.
pub fn parse_id(s: &str) -> Result<i64, PageError> {
    if s.is_empty() || s.len() > 15 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PageError::BadRequest(format!(
            "“{}” 不是编号（应为数字）",
            super::rows::printable(&crate::text::clip(s, 40))
        )));
    }
    s.parse().map_err(|_| PageError::BadRequest("编号有误".into()))
}

/// An optional query value: empty is none.
pub fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A date from a filter (`YYYY-MM-DD`), else 400.
pub fn parse_date(v: Option<&str>, what: &str) -> Result<Option<chrono::NaiveDate>, PageError> {
    v.map(|v| {
        chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
            PageError::BadRequest(format!(
                "{what}“{}”不是日期（应如 2023-03-14）",
                super::rows::printable(&crate::text::clip(v, 30))
            ))
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_digits() {
        assert_eq!(parse_id("42").unwrap(), 42);
        for bad in ["", "-1", "1e3", "../1", "999999999999999999999", "１"] {
            assert!(matches!(parse_id(bad), Err(PageError::BadRequest(_))), "{bad}");
        }
    }
}
