//! `/schools` and `/schools/{name}`: every roster school with its status (已报送 / 部分 /
//! 未报送, as in the register's 报送情况 sheet), experts confirmed and awaiting correction,
//! lead categories and summary; schools off the roster that sent something are marked.

use std::collections::{BTreeMap, BTreeSet};
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
use super::v;
use crate::export::sheets::{self, Cell};
use crate::rules::Part;
use crate::store::query::{self, Filter, MessageRow};

#[derive(serde::Deserialize)]
pub struct SchoolQuery {
    level: Option<String>,
    flag: Option<String>,
    status: Option<String>,
    page: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
struct SchoolRow {
    name: String,
    level: String,
    flags: String,
    experts_ok: usize,
    experts_pending: usize,
    experts_wanted: usize,
    categories: String,
    summary: String,
    status: String,
    off_roster: bool,
}

fn text(c: Option<&Cell>) -> String {
    c.map(Cell::text).unwrap_or_default()
}

/// Every school: the roster (in roster order), then schools off the roster.
fn school_rows(all_current: &[MessageRow], app: &App) -> Vec<SchoolRow> {
    let rules = &app.rules;
    let current: Vec<&MessageRow> = all_current.iter().filter(|m| sheets::is_submission(m)).collect();
    let roster = sheets::roster_sheet(&current, rules);
    let mut experts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for m in &current {
        let is_expert =
            m.kind.as_deref().and_then(|k| rules.kind(k)).is_some_and(|k| k.subject_parts.contains(&Part::ExpertName));
        if let (true, Some(school)) = (is_expert, m.school.as_deref()) {
            let e = experts.entry(school).or_default();
            if m.decision.as_deref() == Some("acknowledge") {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
    }
    let mut out: Vec<SchoolRow> = roster
        .rows
        .iter()
        .zip(&rules.schools)
        .map(|(r, school)| {
            let (ok, pending) = experts.get(school.name.as_str()).copied().unwrap_or_default();
            SchoolRow {
                name: school.name.clone(),
                level: school.level.clone(),
                flags: school.flags.join("、"),
                experts_ok: ok,
                experts_pending: pending,
                experts_wanted: if school.is_flagship() { 3 } else { 1 },
                categories: text(r.get(4)),
                summary: text(r.get(5)),
                status: text(r.get(7)),
                off_roster: false,
            }
        })
        .collect();
    let listed: BTreeSet<&str> = rules.schools.iter().map(|s| s.name.as_str()).collect();
    let mut off: BTreeMap<&str, SchoolRow> = BTreeMap::new();
    for m in &current {
        let Some(school) = m.school.as_deref().filter(|s| !listed.contains(s)) else { continue };
        let (ok, pending) = experts.get(school).copied().unwrap_or_default();
        let row = off.entry(school).or_insert_with(|| SchoolRow {
            name: school.to_string(),
            level: String::new(),
            flags: String::new(),
            experts_ok: ok,
            experts_pending: pending,
            experts_wanted: 0,
            categories: String::new(),
            summary: "否".into(),
            status: "部分".into(),
            off_roster: true,
        });
        let parts = m.kind.as_deref().and_then(|k| rules.kind(k)).map(|k| k.subject_parts.clone()).unwrap_or_default();
        if parts.contains(&Part::Category) {
            if let Some(c) = &m.category {
                if !row.categories.is_empty() {
                    row.categories.push('、');
                }
                row.categories.push_str(c);
            }
        } else if !parts.contains(&Part::ExpertName) {
            row.summary = "是".into();
        }
    }
    out.extend(off.into_values());
    out
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
        return Err(PageError::BadRequest(format!("没有“{}”这种状态", rows::printable(&crate::text::clip(st, 20)))));
    }
    let all = super::read(&app, |c, app| {
        let current = query::list(c, &Filter { current_only: true, ..Filter::default() })?;
        Ok(school_rows(&current, app))
    })
    .await?;
    let mut counts: BTreeMap<String, usize> = ["已报送", "部分", "未报送"].iter().map(|s| (s.to_string(), 0)).collect();
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

#[derive(Serialize)]
struct ExpertRow {
    id: i64,
    name: String,
    gender: String,
    birth: String,
    title: String,
    category: String,
    employer: String,
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
    let (school, mails, current, experts) = super::read(&app, move |c, app| {
        let rules = &app.rules;
        let wanted = rules.school(&wanted).map(|x| x.name.clone()).unwrap_or(wanted);
        let mails: Vec<MessageRow> = query::list(c, &Filter { school: Some(wanted.clone()), ..Filter::default() })?
            .into_iter()
            .filter(|m| m.school.as_deref() == Some(wanted.as_str()))
            .collect();
        let on_roster = rules.schools.iter().any(|x| x.name == wanted);
        if !on_roster && mails.is_empty() {
            return Err(PageError::NotFound(format!("名册中没有“{}”，也没有它的邮件", rows::printable(&wanted))));
        }
        let current_all = query::list(c, &Filter { current_only: true, ..Filter::default() })?;
        let school = school_rows(&current_all, app).into_iter().find(|r| r.name == wanted);
        let current: Vec<rows::Row> = current_all
            .iter()
            .filter(|m| m.school.as_deref() == Some(wanted.as_str()) && sheets::is_submission(m))
            .map(|m| rows::row(m, rules))
            .collect();
        let experts: Vec<ExpertRow> = query::current_experts(c)?
            .into_iter()
            .filter(|(_, school, _)| school.as_deref() == Some(wanted.as_str()))
            .map(|(id, _, e)| ExpertRow {
                id,
                name: e.name,
                gender: e.gender.unwrap_or_default(),
                birth: e.birth.unwrap_or_default(),
                title: e.title.unwrap_or_default(),
                category: e.category.unwrap_or_default(),
                employer: e.employer.unwrap_or_default(),
            })
            .collect();
        let mails: Vec<rows::Row> = mails.iter().rev().map(|m| rows::row(m, rules)).collect();
        Ok((school, mails, current, experts))
    })
    .await?;
    let off_roster = school.as_ref().is_none_or(|s| s.off_roster);
    let display = school.as_ref().map(|s| s.name.clone()).unwrap_or(name);
    super::render(
        &app,
        &s,
        "schools",
        "school.html",
        context! { title => display.clone(), name => display, school => v(school), off_roster, current => v(current), experts => v(experts), mails => v(mails) },
    )
}
