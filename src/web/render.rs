//! Templates (compiled into the binary) and the error pages: a bad request, a missing page or
//! a refused one says so in plain words; an internal failure is logged and shown without
//! details (never a stack trace).

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;

use crate::store::StoreError;

const TEMPLATES: [(&str, &str); 14] = [
    ("base.html", include_str!("templates/base.html")),
    ("macros.html", include_str!("templates/macros.html")),
    ("parts.html", include_str!("templates/parts.html")),
    ("login.html", include_str!("templates/login.html")),
    ("error.html", include_str!("templates/error.html")),
    ("overview.html", include_str!("templates/overview.html")),
    ("schools.html", include_str!("templates/schools.html")),
    ("school.html", include_str!("templates/school.html")),
    ("submissions.html", include_str!("templates/submissions.html")),
    ("submission.html", include_str!("templates/submission.html")),
    ("mails.html", include_str!("templates/mails.html")),
    ("mail.html", include_str!("templates/mail.html")),
    ("export.html", include_str!("templates/export.html")),
    ("confirm.html", include_str!("templates/confirm.html")),
];

/// The environment with every page template (HTML-escaped by their `.html` names).
pub fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        env.add_template(name, source)?;
    }
    Ok(env)
}

/// Why a page was not shown.
#[derive(Debug)]
pub enum PageError {
    BadRequest(String),
    NotFound(String),
    Forbidden(String),
    Internal(String),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        PageError::Internal(e.to_string())
    }
}

impl From<minijinja::Error> for PageError {
    fn from(e: minijinja::Error) -> Self {
        PageError::Internal(format!("template: {e:#}"))
    }
}

impl From<crate::export::ExportError> for PageError {
    fn from(e: crate::export::ExportError) -> Self {
        PageError::Internal(e.to_string())
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A plain error page (no template, so it cannot fail itself).
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body style=\"font-family:sans-serif;margin:20px\"><h1>{t}</h1><p>{m}</p><p><a href=\"/\">回到概览</a></p></body></html>",
        t = escape(title),
        m = escape(message)
    );
    (status, Html(body)).into_response()
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::BadRequest(m) => error_page(StatusCode::BAD_REQUEST, "请求有误", &m),
            PageError::NotFound(m) => error_page(StatusCode::NOT_FOUND, "找不到", &m),
            PageError::Forbidden(m) => error_page(StatusCode::FORBIDDEN, "不允许", &m),
            PageError::Internal(m) => {
                tracing::error!(stage = "web", error = %m, "a page failed");
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "出错了",
                    "服务器内部错误，已记入日志；请稍后再试或联系管理员。",
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_compiles() {
        let env = super::environment().unwrap();
        for (name, _) in super::TEMPLATES {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
    }
}
