//! The register as plain tables, before they become an `.xlsx` workbook or CSV files.
//!
//! Sheets, in order: one per kind (the current submissions of that kind), `专家` (the experts
//! of current expert submissions, columns as in 附件3), `报送情况` (every roster school and
//! what it has sent) and `全部邮件` (every stored message, superseded and unanswered ones
//! included). Both file formats render exactly these rows, so they cannot disagree.

use crate::store;
use crate::store::MessageState;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, FixedOffset};
use rusqlite::Connection;

use super::{ExportError, words};
use crate::rules::{KindRule, Part, Rules, SchoolRole};
use crate::store::messages::{Filter, MessageRow};
use crate::verdict::Verdict;

/// One cell: text (names, dates, phone numbers — never converted) or a count.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
}

impl Cell {
    /// The cell as text, as a CSV file holds it.
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Number(n) => n.to_string(),
        }
    }
}

fn t(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn opt(s: Option<&str>) -> Cell {
    Cell::Text(s.unwrap_or_default().to_string())
}

/// One table: a title row and data rows of the same width.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub name: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// The name of the experts sheet.
pub const EXPERTS: &str = "专家";
/// The name of the roster sheet.
pub const ROSTER: &str = "报送情况";
/// The name of the sheet with every message.
pub const ALL_MAIL: &str = "全部邮件";

/// When a message arrived, best known first: the verdict's arrival, INTERNALDATE, when it was
/// stored.
pub fn arrival(a: &store::messages::Arrival) -> Option<DateTime<FixedOffset>> {
    a.best()
}

/// A moment as office time, `YYYY-MM-DD HH:MM:SS`.
pub fn office_time(d: &DateTime<FixedOffset>, rules: &Rules) -> String {
    d.with_timezone(&rules.timezone).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Whether a listed message is a submission (a recognised kind, answered).
pub fn is_submission(m: &MessageRow) -> bool {
    m.kind.is_some() && matches!(m.decision.as_deref(), Some("acknowledge" | "request_correction"))
}

/// Builds every sheet of the register from the store.
pub fn register_sheets(conn: &Connection, rules: &Rules) -> Result<Vec<Sheet>, ExportError> {
    let all = store::messages::list(conn, &Filter::default())?;
    let arrivals: HashMap<i64, String> = store::messages::arrivals(conn)?
        .iter()
        .filter_map(|a| arrival(a).map(|d| (a.id, office_time(&d, rules))))
        .collect();
    let when = |id: i64| arrivals.get(&id).cloned().unwrap_or_default();
    let current: Vec<&MessageRow> = all.iter().filter(|m| m.superseded_by.is_none() && is_submission(m)).collect();

    let mut sheets = Vec::new();
    for kind in &rules.kinds {
        sheets.push(kind_sheet(conn, kind, &current, &when, rules)?);
    }
    sheets.push(super::submissions::submissions_sheet(conn, rules)?);
    sheets.push(experts_sheet(conn, rules)?);
    sheets.push(roster_sheet(&current, rules));
    sheets.push(super::submissions::contacts_sheet(conn)?);
    sheets.push(super::submissions::listed_sheet(conn)?);
    sheets.push(all_mail_sheet(&all, &when, rules));
    Ok(sheets)
}

/// The current submissions of one kind, a row each.
fn kind_sheet(
    conn: &Connection,
    kind: &KindRule,
    current: &[&MessageRow],
    when: &dyn Fn(i64) -> String,
    rules: &Rules,
) -> Result<Sheet, ExportError> {
    let rows: Vec<&MessageRow> = current.iter().copied().filter(|m| m.kind.as_deref() == Some(&kind.id)).collect();
    let mut verdicts = Vec::with_capacity(rows.len());
    for m in &rows {
        verdicts.push(store::verdicts::verdict(conn, m.id)?);
    }
    let fields = kind_fields(kind, &verdicts);
    let mut header = vec!["编号".to_string(), "到达时间".to_string()];
    header.extend(fields.iter().map(|f| words::field(f)));
    header.extend(["结论", "问题", "提示", "附件", "发件人", "主题", "回执", "报送编号"].map(String::from));
    let out = rows.iter().zip(&verdicts).map(|(m, v)| kind_row(m, v.as_ref(), &fields, when, rules)).collect();
    Ok(Sheet { name: kind.name.clone(), header, rows: out })
}

/// The field columns of a kind's sheet: school first, then the kind's other subject parts,
/// then any other field seen.
fn kind_fields(kind: &KindRule, verdicts: &[Option<Verdict>]) -> Vec<String> {
    let mut fields: Vec<String> = vec![Part::School.field().to_string()];
    for p in &kind.subject_parts {
        if !fields.iter().any(|f| f == p.field()) {
            fields.push(p.field().to_string());
        }
    }
    let extra: BTreeSet<&String> =
        verdicts.iter().flatten().flat_map(|v| v.fields.keys()).filter(|k| !fields.contains(k)).collect();
    fields.extend(extra.into_iter().cloned());
    fields
}

/// One submission's row in its kind's sheet.
fn kind_row(
    m: &MessageRow,
    v: Option<&Verdict>,
    fields: &[String],
    when: &dyn Fn(i64) -> String,
    rules: &Rules,
) -> Vec<Cell> {
    let mut row = vec![t(m.id.to_string()), t(when(m.id))];
    for f in fields {
        let value = v.and_then(|v| v.fields.get(f)).cloned().or_else(|| match f.as_str() {
            "school" => m.school.clone(),
            "expert_name" => m.expert_name.clone(),
            "category" => m.category.clone(),
            _ => None,
        });
        row.push(t(value.unwrap_or_default()));
    }
    row.extend([
        t(words::decision(m.decision.as_deref().unwrap_or_default())),
        t(words::errors(&m.errors)),
        t(words::warnings(&m.warnings, rules)),
        t(v.map(attachments_text).unwrap_or_default()),
        opt(m.sender.as_deref()),
        t(m.subject.clone()),
        t(words::reply_state(m.reply_state)),
        t(m.dossier.map(|d| d.to_string()).unwrap_or_default()),
    ]);
    row
}

/// The submission's current parts (from any of its mails), else the mail's own attachments,
/// a line each.
fn attachments_text(v: &Verdict) -> String {
    match &v.submission {
        Some(s) => s
            .parts
            .iter()
            .map(|p| format!("{}（{}，#{}）", p.filename, words::role(p.role), p.message))
            .collect::<Vec<_>>()
            .join("\n"),
        None => v
            .attachments
            .iter()
            .map(|a| format!("{}（{}{}）", a.filename, words::role(a.role), words::seal_note(a)))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// The experts of current expert submissions, as 附件3 lists them.
fn experts_sheet(conn: &Connection, rules: &Rules) -> Result<Sheet, ExportError> {
    let header = [
        "序号",
        "姓名",
        "性别",
        "出生年月",
        "职称",
        "职称级别",
        "工作单位",
        "专业大类",
        "手机",
        "电子邮箱",
        "推荐学校",
        "邮件编号",
    ]
    .map(String::from)
    .to_vec();
    let mut experts = Vec::new();
    for kind in rules.kinds_with(SchoolRole::Experts) {
        experts.extend(store::verdicts::current_experts(conn, &kind.id)?);
    }
    let rows = experts
        .into_iter()
        .enumerate()
        .map(|(i, (message, school, e))| {
            vec![
                Cell::Number((i + 1) as f64),
                t(e.name),
                opt(e.gender.as_deref()),
                opt(e.birth.as_deref()),
                opt(e.title.as_deref()),
                t(words::title_level(&e.title_level)),
                opt(e.employer.as_deref()),
                opt(e.category.as_deref()),
                opt(e.phone.as_deref()),
                opt(e.email.as_deref()),
                opt(school.as_deref()),
                t(message.to_string()),
            ]
        })
        .collect();
    Ok(Sheet { name: EXPERTS.into(), header, rows })
}

/// What one school has sent (current submissions only).
#[derive(Debug, Default)]
struct SchoolTally {
    experts: usize,
    categories: BTreeSet<String>,
    summary: bool,
    corrections: usize,
}

/// Every roster school: level, flags, what it sent, and whether that is everything asked of it.
///
/// A submission counts by its kind's `school_role` in the rules. Status: `未报送` nothing at
/// all; `已报送` the experts the rules ask of the school, a lead application where the rules
/// want one, the summary where the rules have one, and nothing waiting for a correction;
/// `部分` anything in between.
fn roster_sheet(current: &[&MessageRow], rules: &Rules) -> Sheet {
    let mut tally: BTreeMap<&str, SchoolTally> = BTreeMap::new();
    for m in current {
        let (Some(school), Some(kind)) = (m.school.as_deref(), m.kind.as_deref()) else { continue };
        let s = tally.entry(school).or_default();
        match rules.role_of(kind) {
            Some(SchoolRole::Experts) => s.experts += 1,
            // A lead application whose 专业大类 could not be read still arrived.
            Some(SchoolRole::Leads) => {
                s.categories.insert(m.category.clone().unwrap_or_else(|| "未识别专业大类".into()));
            }
            Some(SchoolRole::Summary) => s.summary = true,
            None => {}
        }
        if m.decision.as_deref() == Some("request_correction") {
            s.corrections += 1;
        }
    }
    let header = ["学校", "层次", "标志", "专家推荐", "牵头院校", "总结", "待更正", "状态"].map(String::from).to_vec();
    let empty = SchoolTally::default();
    let rows = rules
        .schools
        .iter()
        .map(|school| {
            let s = tally.get(school.name.as_str()).unwrap_or(&empty);
            let anything = s.experts > 0 || !s.categories.is_empty() || s.summary;
            let complete = s.experts >= rules.experts_wanted(&school.flags)
                && (!rules.lead_wanted(&school.flags) || !s.categories.is_empty())
                && (s.summary || !rules.summary_wanted())
                && s.corrections == 0;
            let status = if !anything {
                "未报送"
            } else if complete {
                "已报送"
            } else {
                "部分"
            };
            vec![
                t(school.name.clone()),
                t(school.level.clone()),
                t(school.flags.join("、")),
                Cell::Number(s.experts as f64),
                t(s.categories.iter().cloned().collect::<Vec<_>>().join("、")),
                t(if s.summary { "是" } else { "否" }),
                Cell::Number(s.corrections as f64),
                t(status),
            ]
        })
        .collect();
    Sheet { name: ROSTER.into(), header, rows }
}

/// Every stored message, with what became of it.
fn all_mail_sheet(all: &[MessageRow], when: &dyn Fn(i64) -> String, rules: &Rules) -> Sheet {
    let header = [
        "编号",
        "到达时间",
        "发件人",
        "主题",
        "结论",
        "类别",
        "学校",
        "专家/专业大类",
        "问题",
        "提示",
        "回执",
        "状态",
        "报送编号",
    ]
    .map(String::from)
    .to_vec();
    let rows = all
        .iter()
        .map(|m| {
            let kind = m.kind.as_deref().map(|k| rules.kind(k).map(|r| r.name.clone()).unwrap_or_else(|| k.into()));
            let status = match (m.state, m.superseded_by) {
                (MessageState::Failed, _) => format!("判定失败：{}", m.error.as_deref().unwrap_or("")),
                (MessageState::Stored, _) => "未判定".to_string(),
                (_, Some(by)) => format!("已被 #{by} 取代"),
                _ => "当前".to_string(),
            };
            vec![
                t(m.id.to_string()),
                t(when(m.id)),
                opt(m.sender.as_deref()),
                t(m.subject.clone()),
                t(m.decision.as_deref().map(words::decision).unwrap_or_default()),
                t(kind.unwrap_or_default()),
                opt(m.school.as_deref()),
                opt(m.expert_name.as_deref().or(m.category.as_deref())),
                t(words::errors(&m.errors)),
                t(words::warnings(&m.warnings, rules)),
                t(words::reply_state(m.reply_state)),
                t(status),
                t(m.dossier.map(|d| d.to_string()).unwrap_or_default()),
            ]
        })
        .collect();
    Sheet { name: ALL_MAIL.into(), header, rows }
}
