//! `/submissions` and `/submissions/{id}`: the register's submissions (spec §8: one per
//! school + expert, school + 专业大类, or school), read through `register::view` — the same
//! data as `mail-intake dossiers --json`. Filter by kind, state, school, date of the latest
//! mail and warning. A submission's page shows its mails in order, its current parts (scans
//! shown inline, each a download), the form fields read, errors and warnings in plain words,
//! and the replies sent with their text.

use crate::store;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use minijinja::context;
use rusqlite::Connection;
use serde::Serialize;

use super::super::App;
use super::super::auth::Session;
use super::super::render::PageError;
use super::super::rows::{self, Pager, printable, query_base};
use super::super::skeleton::{self, Skeleton, Source};
use super::mails::{FileRow, ReplyView, VerdictView, flat, replies_of, size_text, verdict_view, viewable};
use super::v;
use crate::export::words;
use crate::parse;
use crate::register::view::{self, DossierView};
use crate::store::dossiers::{self, DossierFilter};
use crate::verdict::{DossierState, WarningCode};

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

/// A submission state in words.
pub fn state_text(state: &str) -> &'static str {
    match state {
        "complete" => "齐全",
        "incomplete" => "待补正",
        "superseded" => "已被替代",
        _ => "未知",
    }
}

/// A submission as a table row.
#[derive(Debug, Clone, Serialize)]
pub struct SubRow {
    pub id: i64,
    pub kind_name: String,
    pub school: Option<String>,
    pub who: String,
    pub state: String,
    pub state_text: String,
    pub notes: String,
    pub parts: usize,
    pub mails: usize,
    pub updated: String,
    pub superseded_by: Option<i64>,
}

pub fn sub_row(d: &DossierView, app: &App) -> SubRow {
    let rules = &app.rules;
    let mut notes: Vec<String> = Vec::new();
    let e = words::errors(&d.errors);
    if !e.is_empty() {
        notes.push(e);
    }
    let w = words::warnings(&d.warnings, rules);
    if !w.is_empty() {
        notes.push(w);
    }
    SubRow {
        id: d.id,
        kind_name: rows::kind_name(Some(&d.kind), rules),
        school: d.school.clone(),
        who: d.expert_name.clone().or_else(|| d.category.clone()).unwrap_or_default(),
        state: d.state.to_string(),
        state_text: state_text(d.state).to_string(),
        notes: notes.join("；"),
        parts: d.parts.len(),
        mails: d.messages.len(),
        updated: rows::office_time(d.updated.as_deref(), rules),
        superseded_by: d.superseded_by,
    }
}

#[derive(Serialize)]
struct Named {
    code: String,
    text: String,
}

/// The list's filters, checked (400 for a value that names nothing).
struct Checked {
    filter: DossierFilter,
    state_filter: Option<DossierState>,
    school_name: Option<String>,
    warning: Option<String>,
    all: bool,
    since: Option<chrono::NaiveDate>,
    until: Option<chrono::NaiveDate>,
}

fn check(q: &SubmissionQuery, rules: &crate::rules::Rules) -> Result<Checked, PageError> {
    let kind = super::given(&q.kind);
    if let Some(k) = kind
        && rules.kind(k).is_none()
    {
        return Err(PageError::BadRequest(format!("没有“{}”这类报送", printable(&crate::text::clip(k, 30)))));
    }
    let state_filter = match super::given(&q.state) {
        None => None,
        Some(st) => Some(
            DossierState::parse(st)
                .ok_or_else(|| PageError::BadRequest("状态应为 complete、incomplete 或 superseded".into()))?,
        ),
    };
    let warning = super::given(&q.warning);
    if let Some(w) = warning
        && !WARNINGS.iter().any(|x| x.as_str() == w)
    {
        return Err(PageError::BadRequest(format!("没有“{}”这种提示", printable(&crate::text::clip(w, 30)))));
    }
    let school = super::given(&q.school);
    Ok(Checked {
        filter: DossierFilter { kind: kind.map(str::to_string), school: None, state: state_filter },
        state_filter,
        school_name: school.map(|x| rules.school(x).map(|s| s.name.clone()).unwrap_or_else(|| x.to_string())),
        warning: warning.map(str::to_string),
        all: super::given(&q.all).is_some(),
        since: super::parse_date(super::given(&q.since), "起始日期")?,
        until: super::parse_date(super::given(&q.until), "截止日期")?,
    })
}

/// The submissions the filters let through, newest first.
fn filtered(c: &Connection, app: &App, f: &Checked) -> Result<Vec<SubRow>, PageError> {
    let tz = app.rules.timezone;
    let mut found: Vec<SubRow> = view::dossiers(c, &f.filter, &app.rules)?
        .into_iter()
        .filter(|d| f.all || f.state_filter.is_some() || d.state != "superseded")
        .filter(|d| f.school_name.as_ref().is_none_or(|s| d.school.as_deref().is_some_and(|x| x.contains(s.as_str()))))
        .filter(|d| f.warning.as_ref().is_none_or(|w| d.warnings.contains(w)))
        .filter(|d| {
            let day = d
                .updated
                .as_deref()
                .and_then(|a| chrono::DateTime::parse_from_rfc3339(a).ok())
                .map(|x| x.with_timezone(&tz).date_naive());
            f.since.is_none_or(|s| day.is_some_and(|x| x >= s)) && f.until.is_none_or(|u| day.is_some_and(|x| x <= u))
        })
        .map(|d| sub_row(&d, app))
        .collect();
    found.reverse();
    Ok(found)
}

/// `GET /submissions`.
pub async fn list(
    State(app): State<Arc<App>>,
    Extension(s): Extension<Session>,
    Query(q): Query<SubmissionQuery>,
) -> Result<Response, PageError> {
    let rules = &app.rules;
    let checked = check(&q, rules)?;
    let all = checked.all;
    let found = super::read(&app, move |c, app| filtered(c, app, &checked)).await?;
    let (kind, state, school, warning) =
        (super::given(&q.kind), super::given(&q.state), super::given(&q.school), super::given(&q.warning));
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
    let kinds: Vec<_> = rules.kinds.iter().map(|k| context! { id => k.id.clone(), name => k.name.clone() }).collect();
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

/// One mail of a submission.
#[derive(Debug, Clone, Serialize)]
struct MemberRow {
    id: i64,
    when: String,
    outcome: String,
    notes: String,
    sender: String,
}

/// A current part, found again in its mail so that it can be downloaded.
fn part_files(c: &Connection, app: &App, parts: &[crate::verdict::DossierPart]) -> Result<Vec<FileRow>, PageError> {
    let mut out = Vec::new();
    // Each mail's skeleton: a part 60 MB long is never read whole for this page.
    let mut parsed: Option<(i64, std::sync::Arc<Skeleton>, parse::Mail)> = None;
    for p in parts {
        if parsed.as_ref().is_none_or(|(id, ..)| *id != p.message) {
            let skel = skeleton::load_cached(&app.skeletons, c, p.message)?.unwrap_or_default();
            let mail = skeleton::parse(&skel, &app.cfg.limits);
            parsed = Some((p.message, skel, mail));
        }
        let Some((_, skel, mail)) = &parsed else { continue };
        let files = flat(mail);
        let same = |a: &parse::Attachment| match skel.source(a) {
            Source::Streamed(run) => run.decoded_len == p.size,
            _ => crate::store::sha256_hex(&a.bytes) == p.sha256,
        };
        let n = files
            .iter()
            .position(|a| a.filename == p.filename && same(a))
            .or_else(|| files.iter().position(|a| a.filename == p.filename));
        let view = n.and_then(|n| viewable(&files[n].bytes));
        out.push(FileRow {
            n: n.map(|n| n + 1).unwrap_or(0),
            message: p.message,
            filename: printable(&p.filename),
            kind: n.map(|n| files[n].declared_type.clone()).unwrap_or_default(),
            role: words::role(p.role).to_string(),
            size: size_text(p.size),
            note: format!("来自邮件 #{}", p.message),
            viewable: view.is_some(),
            image: view.is_some_and(|(_, img)| img),
        });
    }
    Ok(out)
}

struct SubmissionPage {
    row: SubRow,
    members: Vec<MemberRow>,
    files: Vec<FileRow>,
    verdict: Option<VerdictView>,
    replies: Vec<ReplyView>,
    latest: Option<i64>,
}

fn gather(c: &mut Connection, app: &App, id: i64) -> Result<SubmissionPage, PageError> {
    let Some(d) = dossiers::get(c, id)? else {
        return Err(PageError::NotFound(format!("没有报送 #{id}")));
    };
    let members = dossiers::members(c, id, 1000)?;
    let files = part_files(c, app, &d.parts)?;
    let dv = view::dossiers(
        c,
        &DossierFilter { kind: Some(d.kind.clone()), school: d.school.clone(), state: None },
        &app.rules,
    )?
    .into_iter()
    .find(|x| x.id == id)
    .ok_or_else(|| PageError::NotFound(format!("没有报送 #{id}")))?;
    let row = sub_row(&dv, app);
    let latest = members.last().map(|m| m.message);
    let verdict = members.last().map(|m| verdict_view(&m.verdict, &app.rules));
    let mut replies = Vec::new();
    let mut rows_out = Vec::new();
    for m in &members {
        replies.extend(replies_of(c, app, m.message)?);
        let message = store::messages::message(c, m.message)?;
        let r = message.as_ref().map(|x| rows::row(x, &app.rules));
        rows_out.push(MemberRow {
            id: m.message,
            when: rows::office_time(m.arrived.as_deref(), &app.rules),
            outcome: r.as_ref().map(|r| r.outcome.clone()).unwrap_or_default(),
            notes: r.map(|r| r.notes).unwrap_or_default(),
            sender: printable(m.sender.as_deref().unwrap_or_default()),
        });
    }
    Ok(SubmissionPage { row, members: rows_out, files, verdict, replies, latest })
}

/// `GET /submissions/{id}`.
pub async fn one(
    State(app): State<Arc<App>>,
    Extension(s): Extension<Session>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = super::parse_id(&id)?;
    let p = super::read(&app, move |c, app| gather(c, app, id)).await?;
    super::render(
        &app,
        &s,
        "submissions",
        "submission.html",
        context! {
            title => format!("报送 #{id}"), sub => v(&p.row), members => v(&p.members), files => v(&p.files),
            v => v(&p.verdict), replies => v(&p.replies), latest => p.latest,
        },
    )
}
