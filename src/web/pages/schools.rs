//! `/schools` and `/schools/{name}`: every roster school (then schools off the roster that
//! sent something), read through `register::view::schools` — the same data as
//! `mail-intake schools --json`: status (已报送 / 部分 / 未报送), experts complete / incomplete
//! / listed but not received, lead categories, summary. Filter by level, flag and status.

use crate::store;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use minijinja::context;
use serde::Serialize;

use super::super::App;
use super::super::auth::Session;
use super::super::render::PageError;
use super::super::rows::{self, Pager, printable, query_base};
use super::submissions::{SubRow, sub_row};
use super::v;
use crate::register::view::{self, SchoolView};
use crate::rules::Rules;
use crate::store::dossiers::DossierFilter;
use crate::store::messages::{Filter, MessageRow};

#[derive(serde::Deserialize)]
pub struct SchoolQuery {
    level: Option<String>,
    flag: Option<String>,
    status: Option<String>,
    page: Option<u64>,
}

/// A school as a table row.
#[derive(Debug, Clone, Serialize)]
struct SchoolRow {
    name: String,
    level: String,
    flags: String,
    off_roster: bool,
    status: String,
    experts_complete: String,
    experts_incomplete: String,
    experts_not_received: String,
    experts_wanted: usize,
    n_complete: usize,
    categories: String,
    summary: &'static str,
}

fn school_row(s: SchoolView, rules: &Rules) -> SchoolRow {
    SchoolRow {
        level: s.level.unwrap_or_default(),
        flags: s.flags.join("、"),
        off_roster: !s.on_roster,
        status: s.status.to_string(),
        n_complete: s.experts_complete.len(),
        experts_complete: s.experts_complete.join("、"),
        experts_incomplete: s.experts_incomplete.join("、"),
        experts_not_received: s.experts_listed_not_received.join("、"),
        experts_wanted: if s.on_roster { rules.experts_wanted(&s.flags) } else { 0 },
        categories: s.lead_categories.join("、"),
        summary: if s.summary { "是" } else { "否" },
        name: s.school,
    }
}

/// `GET /schools`.
pub async fn list(
    State(app): State<Arc<App>>,
    Extension(s): Extension<Session>,
    Query(q): Query<SchoolQuery>,
) -> Result<Response, PageError> {
    let (level, flag, status) = (super::given(&q.level), super::given(&q.flag), super::given(&q.status));
    if let Some(st) = status
        && !["已报送", "部分", "未报送", "has"].contains(&st)
    {
        return Err(PageError::BadRequest(format!("没有“{}”这种状态", printable(&crate::text::clip(st, 20)))));
    }
    let all: Vec<SchoolRow> = super::read(&app, |c, app| {
        Ok(view::schools(c, &app.rules)?.into_iter().map(|s| school_row(s, &app.rules)).collect())
    })
    .await?;
    let mut counts: std::collections::BTreeMap<String, usize> =
        ["已报送", "部分", "未报送"].iter().map(|s| (s.to_string(), 0)).collect();
    for r in all.iter().filter(|r| !r.off_roster) {
        *counts.entry(r.status.clone()).or_default() += 1;
    }
    let off_roster = all.iter().filter(|r| r.off_roster).count();
    let mut levels: Vec<String> = Vec::new();
    let mut flags: Vec<String> = Vec::new();
    for school in &app.rules.schools {
        if !levels.contains(&school.level) {
            levels.push(school.level.clone());
        }
        for f in &school.flags {
            if !flags.contains(f) {
                flags.push(f.clone());
            }
        }
    }
    let shown: Vec<SchoolRow> = all
        .into_iter()
        .filter(|r| level.is_none_or(|l| r.level == l))
        .filter(|r| flag.is_none_or(|f| r.flags.split('、').any(|x| x == f)))
        .filter(|r| match status {
            None => true,
            Some("has") => r.status != "未报送",
            Some(st) => r.status == st,
        })
        .collect();
    let base = query_base("/schools", &[("level", level), ("flag", flag), ("status", status)]);
    let pager = Pager::new(q.page, shown.len() as u64, base)?;
    let rows = pager.slice(&shown).to_vec();
    let f = context! { level, flag, status };
    let roster = app.rules.schools.len();
    super::render(
        &app,
        &s,
        "schools",
        "schools.html",
        context! { title => "学校", rows => v(rows), pager => v(pager), f, levels, flags, counts, off_roster, roster },
    )
}

/// `GET /schools/{name}`.
pub async fn one(
    State(app): State<Arc<App>>,
    Extension(s): Extension<Session>,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(PageError::BadRequest("学校名称有误".into()));
    }
    let wanted = name.clone();
    let (school, submissions, mails) = super::read(&app, move |c, app| {
        let rules = &app.rules;
        let wanted = rules.school(&wanted).map(|x| x.name.clone()).unwrap_or(wanted);
        let Some(school) = view::schools(c, rules)?.into_iter().find(|s| s.school == wanted) else {
            return Err(PageError::NotFound(format!("名册中没有“{}”，也没有它的报送", printable(&wanted))));
        };
        let mut submissions: Vec<SubRow> =
            view::dossiers(c, &DossierFilter { school: Some(wanted.clone()), ..DossierFilter::default() }, rules)?
                .iter()
                .filter(|d| d.school.as_deref() == Some(wanted.as_str()))
                .map(|d| sub_row(d, app))
                .collect();
        submissions.sort_by_key(|d| (d.state == "superseded", d.kind_name.clone(), d.who.clone()));
        let mails: Vec<rows::Row> =
            store::messages::list(c, &Filter { school: Some(wanted.clone()), ..Filter::default() })?
                .iter()
                .rev()
                .filter(|m: &&MessageRow| m.school.as_deref() == Some(wanted.as_str()))
                .map(|m| rows::row(m, rules))
                .collect();
        Ok((school_row(school, rules), submissions, mails))
    })
    .await?;
    super::render(
        &app,
        &s,
        "schools",
        "school.html",
        context! { title => school.name.clone(), school => v(&school), submissions => v(submissions), mails => v(mails) },
    )
}
