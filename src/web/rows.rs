//! Register rows in the office's words, shared by the pages: when a message arrived (office
//! time), its outcome, kind name, who (expert or category), problems and reply state.

use chrono::DateTime;
use serde::Serialize;

use crate::export::words;
use crate::rules::Rules;
use crate::store::MessageState;
use crate::store::messages::MessageRow;

/// A message as a table row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub id: i64,
    pub when: String,
    /// A decision, or `failed` / `stored` when there is none.
    pub outcome: String,
    pub kind: Option<String>,
    pub kind_name: String,
    pub school: Option<String>,
    pub who: String,
    pub subject: String,
    pub notes: String,
    pub reply: String,
    pub superseded_by: Option<i64>,
    pub sender: String,
}

/// An RFC 3339 time as office time `YYYY-MM-DD HH:MM` (text as it is when it is not one).
pub fn office_time(s: Option<&str>, rules: &Rules) -> String {
    match s.and_then(|s| DateTime::parse_from_rfc3339(s).ok()) {
        Some(d) => d.with_timezone(&rules.timezone).format("%Y-%m-%d %H:%M").to_string(),
        None => s.unwrap_or_default().to_string(),
    }
}

/// The outcome column: the decision, else `failed` or `stored`.
pub fn outcome(m: &MessageRow) -> String {
    if m.state == MessageState::Failed {
        return "failed".into();
    }
    m.decision.clone().unwrap_or_else(|| m.state.to_string())
}

pub fn kind_name(kind: Option<&str>, rules: &Rules) -> String {
    kind.map(|k| rules.kind(k).map(|r| r.name.clone()).unwrap_or_else(|| k.to_string())).unwrap_or_default()
}

/// Mail text made safe to show: control characters become spaces.
pub fn printable(s: &str) -> String {
    s.chars().map(|c| if c.is_control() && c != '\n' { ' ' } else { c }).collect()
}

pub fn row(m: &MessageRow, rules: &Rules) -> Row {
    let mut notes: Vec<String> = Vec::new();
    let e = words::errors(&m.errors);
    if !e.is_empty() {
        notes.push(e);
    }
    let w = words::warnings(&m.warnings, rules);
    if !w.is_empty() {
        notes.push(w);
    }
    if let Some(err) = &m.error {
        notes.push(format!("处理失败：{}", printable(err)));
    }
    Row {
        id: m.id,
        when: office_time(m.arrived.as_deref().or(Some(m.stored_at.as_str())), rules),
        outcome: outcome(m),
        kind: m.kind.clone(),
        kind_name: kind_name(m.kind.as_deref(), rules),
        school: m.school.clone(),
        who: m.expert_name.clone().or_else(|| m.category.clone()).unwrap_or_default(),
        subject: printable(&crate::text::clip(&m.subject, 80)),
        notes: notes.join("；"),
        reply: words::reply_state(m.reply_state),
        superseded_by: m.superseded_by,
        sender: printable(m.sender.as_deref().unwrap_or_default()),
    }
}

/// Which page of how many, for the pager.
#[derive(Debug, Serialize)]
pub struct Pager {
    pub page: u64,
    pub pages: u64,
    pub total: u64,
    /// The page's URL up to `page=` (`/mails?view=hold&`).
    pub base: String,
}

/// Rows on one page.
pub const PAGE: u64 = 50;

impl Pager {
    /// Refuses a page past the end (404) except the first.
    pub fn new(page: Option<u64>, total: u64, base: String) -> Result<Pager, super::render::PageError> {
        let pages = total.div_ceil(PAGE).max(1);
        let page = page.unwrap_or(1);
        if page == 0 || page > pages {
            return Err(super::render::PageError::NotFound(format!("没有第 {page} 页（共 {pages} 页）")));
        }
        Ok(Pager { page, pages, total, base })
    }

    pub fn offset(&self) -> u64 {
        (self.page - 1) * PAGE
    }

    /// This page's part of `items`.
    pub fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = (self.offset() as usize).min(items.len());
        let end = (start + PAGE as usize).min(items.len());
        &items[start..end]
    }
}

/// `key=value&` pairs for a page URL, empty values left out, values URL-encoded.
pub fn query_base(path: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let mut s = format!("{path}?");
    for (k, v) in pairs {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            s.push_str(k);
            s.push('=');
            for b in v.bytes() {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    s.push(b as char);
                } else {
                    s.push_str(&format!("%{b:02X}"));
                }
            }
            s.push('&');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_urls() {
        let p = Pager::new(Some(2), 120, "/x?".into()).unwrap();
        assert_eq!((p.pages, p.offset()), (3, 50));
        let items: Vec<u32> = (0..120).collect();
        assert_eq!(p.slice(&items).len(), 50);
        assert!(Pager::new(Some(4), 120, String::new()).is_err());
        assert!(Pager::new(Some(0), 120, String::new()).is_err());
        assert_eq!(Pager::new(None, 0, String::new()).unwrap().pages, 1);
        assert_eq!(
            query_base("/s", &[("school", Some("昆明 学院")), ("kind", None)]),
            "/s?school=%E6%98%86%E6%98%8E%20%E5%AD%A6%E9%99%A2&"
        );
    }
}
