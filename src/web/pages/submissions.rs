//! `/submissions` and `/submissions/{id}`: the register's submissions (current ones unless
//! asked), filtered by kind, state, school, arrival date and warning; one submission's page
//! shows its mails in order, its current parts (scans shown inline), the form fields read,
//! errors and warnings in plain words and the replies sent with their text.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use minijinja::context;
use serde::Serialize;

use super::super::App;
use super::super::auth::Session;
use super::super::render::PageError;
use super::super::rows::{self, Pager, query_base};
use super::mails::{Detail, detail};
use super::v;
use crate::export::{sheets, words};
use crate::store::query::{self, Filter};
use crate::verdict::WarningCode;

#[derive(serde::Deserialize)]
pub struct SubmissionQuery {
    kind: Option<String>,
    state: Option<String>,
    school: Option<String>,
    since: Option<String>,
    until: Option<String>,
    warning: Option<String>,
    all: Option<String>,
    page: Option<u64>,
}

const WARNINGS: [WarningCode; 5] = [
    WarningCode::Late,
    WarningCode::ExpertOverAge,
    WarningCode::ExpertTitleBelowSenior,
    WarningCode::DuplicateSubmission,
    WarningCode::FormIncomplete,
];

#[derive(Serialize)]
struct Named {
    code: String,
    text: String,
}

/// `GET /submissions`.
pub async fn list(
    State(app): State<Arc<App>>,
    Extension(s): Extension<Session>,
    Query(q): Query<SubmissionQuery>,
) -> Result<Response, PageError> {
    let rules = &app.rules;
    let kind = super::given(&q.kind);
    let state = super::given(&q.state);
    let school = super::given(&q.school);
    let warning = super::given(&q.warning);
    let all = super::given(&q.all).is_some();
    if let Some(k) = kind
        && rules.kind(k).is_none()
    {
        return Err(PageError::BadRequest(format!("没有“{}”这类报送", rows::printable(&crate::text::clip(k, 30)))));
    }
    if let Some(st) = state
        && !["acknowledge", "request_correction"].contains(&st)
    {
        return Err(PageError::BadRequest("状态应为 acknowledge 或 request_correction".into()));
    }
    if let Some(w) = warning
        && !WARNINGS.iter().any(|x| x.as_str() == w)
    {
        return Err(PageError::BadRequest(format!("没有“{}”这种提示", rows::printable(&crate::text::clip(w, 30)))));
    }
    let since = super::parse_date(super::given(&q.since), "起始日期")?;
    let until = super::parse_date(super::given(&q.until), "截止日期")?;
    let filter = Filter {
        decision: state.map(str::to_string),
        kind: kind.map(str::to_string),
        school: school.map(|x| rules.school(x).map(|s| s.name.clone()).unwrap_or_else(|| x.to_string())),
        current_only: !all,
        ..Filter::default()
    };
    let w = warning.map(str::to_string);
    let found = super::read(&app, move |c, app| {
        let tz = app.rules.timezone;
        Ok(query::list(c, &filter)?
            .into_iter()
            .filter(|m| sheets::is_submission(m))
            .filter(|m| w.as_ref().is_none_or(|w| m.warnings.contains(w)))
            .filter(|m| {
                let day = m
                    .arrived
                    .as_deref()
                    .or(Some(m.stored_at.as_str()))
                    .and_then(|a| chrono::DateTime::parse_from_rfc3339(a).ok())
                    .map(|d| d.with_timezone(&tz).date_naive());
                since.is_none_or(|s| day.is_some_and(|d| d >= s)) && until.is_none_or(|u| day.is_some_and(|d| d <= u))
            })
            .rev()
            .map(|m| rows::row(&m, &app.rules))
            .collect::<Vec<_>>())
    })
    .await?;
    let base = query_base(
        "/submissions",
        &[
            ("kind", kind),
            ("state", state),
            ("school", school),
            ("since", super::given(&q.since)),
            ("until", super::given(&q.until)),
            ("warning", warning),
            ("all", all.then_some("1")),
        ],
    );
    let pager = Pager::new(q.page, found.len() as u64, base)?;
    let rows = pager.slice(&found).to_vec();
    let kinds: Vec<Named> = rules.kinds.iter().map(|k| Named { code: k.id.clone(), text: k.name.clone() }).collect();
    let kinds: Vec<_> = kinds.iter().map(|k| context! { id => k.code.clone(), name => k.text.clone() }).collect();
    let warnings: Vec<Named> = WARNINGS
        .iter()
        .map(|w| Named { code: w.as_str().to_string(), text: words::warning(w.as_str(), rules) })
        .collect();
    let f = context! {
        kind, state, school, warning, all,
        since => super::given(&q.since), until => super::given(&q.until),
    };
    super::render(
        &app,
        &s,
        "submissions",
        "submissions.html",
        context! { title => "报送", rows => v(rows), pager => v(pager), f, kinds, warnings => v(warnings) },
    )
}

/// `GET /submissions/{id}`: the submission whose latest mail (or any of its mails) is `id`.
pub async fn one(
    State(app): State<Arc<App>>,
    Extension(s): Extension<Session>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = super::parse_id(&id)?;
    let d: Detail = super::read(&app, move |c, app| detail(c, app, id)).await?;
    if !sheets::is_submission(&d.message) {
        return Err(PageError::NotFound(format!("邮件 #{id} 不是一份报送（可在邮件页查看）")));
    }
    let m = &d.message;
    let kind_name = rows::kind_name(m.kind.as_deref(), &app.rules);
    let who = m.expert_name.clone().or_else(|| m.category.clone());
    let msg = rows::row(m, &app.rules);
    super::render(
        &app,
        &s,
        "submissions",
        "submission.html",
        context! {
            title => format!("报送 #{id}"), msg => v(msg), kind_name, who, when => d.when.clone(),
            history => v(&d.history), files => v(&d.files), v => v(&d.verdict), replies => v(&d.replies),
        },
    )
}
