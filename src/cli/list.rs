//! `mail-intake list`: the register's messages, filtered, as a table or JSON lines.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::Serialize;

use super::admin::{Admin, arrivals, emit, office_date, open, printable, short_time};
use super::table::{pad, width};
use crate::rules::Rules;
use crate::store;
use crate::store::MessageState;
use crate::store::messages::{Filter, MessageRow};
use crate::verdict::{Decision, ErrorCode};

fn parse_date(value: &str, flag: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .with_context(|| format!("{flag} {value}: expected a date like 2023-03-14 (YYYY-MM-DD, office time)"))
}

/// The store filter for the command-line filter, every value checked against the rules.
fn store_filter(f: &super::ListFilter, rules: &Rules) -> anyhow::Result<Filter> {
    if let Some(d) = &f.decision
        && !Decision::ALL.iter().any(|x| x.as_str() == d)
    {
        let names: Vec<&str> = Decision::ALL.iter().map(|x| x.as_str()).collect();
        bail!("--decision {d}: unknown decision; use one of {}", names.join(", "));
    }
    if let Some(k) = &f.kind
        && rules.kind(k).is_none()
    {
        let ids: Vec<&str> = rules.kinds.iter().map(|k| k.id.as_str()).collect();
        bail!("--kind {k}: unknown kind; use one of {}", ids.join(", "));
    }
    if let Some(e) = &f.error
        && serde_json::from_value::<ErrorCode>(serde_json::Value::String(e.clone())).is_err()
    {
        let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        bail!("--error {e}: unknown error code; use one of {}", codes.join(", "));
    }
    // An alias (云南机电职院) means its school; anything else matches part of a name.
    let school = f.school.as_deref().map(|s| rules.school(s).map(|x| x.name.clone()).unwrap_or_else(|| s.to_string()));
    Ok(Filter {
        decision: f.decision.clone(),
        kind: f.kind.clone(),
        school,
        since: None,
        until: None,
        error: f.error.clone(),
        failed: f.failed,
        current_only: !f.all,
    })
}

/// A listed message with its best-known arrival.
type Arrived = (MessageRow, Option<DateTime<FixedOffset>>);

/// Messages matching the command-line filter, with their arrival, and how many superseded
/// submissions the filter left out.
fn filtered(admin: &Admin, f: &super::ListFilter) -> anyhow::Result<(Vec<Arrived>, usize)> {
    let filter = store_filter(f, &admin.rules)?;
    let since = f.since.as_deref().map(|s| parse_date(s, "--since")).transpose()?;
    let until = f.until.as_deref().map(|s| parse_date(s, "--until")).transpose()?;
    if let (Some(s), Some(u)) = (since, until)
        && s > u
    {
        bail!("--since {s} is after --until {u}: nothing can match");
    }
    let arrivals = arrivals(&admin.store)?;
    let in_range = |m: &MessageRow| {
        let day = arrivals.get(&m.id).map(|d| office_date(d, &admin.rules));
        match day {
            Some(day) => since.is_none_or(|s| day >= s) && until.is_none_or(|u| day <= u),
            None => since.is_none() && until.is_none(),
        }
    };
    let rows: Vec<Arrived> = admin
        .store
        .with(|c| store::messages::list(c, &filter))?
        .into_iter()
        .filter(|m| in_range(m))
        .map(|m| {
            let a = arrivals.get(&m.id).copied();
            (m, a)
        })
        .collect();
    // How many superseded submissions the same filter would add.
    let hidden = if filter.current_only {
        let everything =
            admin.store.with(|c| store::messages::list(c, &Filter { current_only: false, ..filter.clone() }))?;
        everything.iter().filter(|m| m.superseded_by.is_some() && in_range(m)).count()
    } else {
        0
    };
    Ok((rows, hidden))
}

#[derive(Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    row: &'a MessageRow,
    /// Best-known arrival in office time (the verdict's, else INTERNALDATE, else storage).
    arrival: Option<String>,
}

/// `mail-intake list`.
pub fn run(config: &Path, filter: &super::ListFilter, json: bool) -> anyhow::Result<ExitCode> {
    let admin = open(config)?;
    let (rows, hidden) = filtered(&admin, filter)?;
    let mut out: Vec<u8> = Vec::new();
    if json {
        for (m, a) in &rows {
            let arrival = a.map(|d| d.with_timezone(&admin.rules.timezone).fixed_offset().to_rfc3339());
            writeln!(out, "{}", serde_json::to_string(&Listed { row: m, arrival })?)?;
        }
        return emit(&out);
    }
    let cells: Vec<(Vec<String>, String)> = rows
        .iter()
        .map(|(m, a)| {
            let mut notes: Vec<String> = m.dossier.map(|d| format!("submission {d}")).into_iter().collect();
            notes.extend(m.errors.iter().chain(&m.warnings).cloned());
            if let Some(by) = m.superseded_by {
                notes.push(format!("superseded by #{by}"));
            }
            if m.state == MessageState::Failed {
                notes.push(format!("judging failed: {}", printable(m.error.as_deref().unwrap_or(""))));
            } else if m.state == MessageState::Stored {
                notes.push("not judged yet".into());
            }
            if m.decision.as_deref() == Some("hold") && notes.is_empty() {
                notes.push(printable(&crate::text::clip(&m.subject, 40)));
            }
            let cols = [
                format!("#{}", m.id),
                short_time(a.as_ref(), &admin.rules),
                m.decision.clone().unwrap_or_else(|| m.state.to_string()),
                m.kind.clone().unwrap_or_default(),
                printable(m.school.as_deref().unwrap_or_default()),
                printable(m.expert_name.as_deref().or(m.category.as_deref()).unwrap_or_default()),
                m.reply_state.map(|s| s.to_string()).unwrap_or_default(),
            ]
            .map(|s| if s.is_empty() { "-".to_string() } else { s })
            .to_vec();
            (cols, notes.join(", "))
        })
        .collect();
    let header = ["id", "arrived", "decision", "kind", "school", "expert/category", "reply"];
    let caps = [8, 16, 18, 22, 30, 16, 10];
    let widths: Vec<usize> = (0..header.len())
        .map(|i| cells.iter().map(|(c, _)| width(&c[i])).chain([width(header[i])]).max().unwrap_or(0).min(caps[i]))
        .collect();
    let line = |cols: &[&str], notes: &str| {
        let mut s: Vec<String> = cols.iter().zip(&widths).map(|(c, w)| pad(c, *w)).collect();
        s.push(notes.to_string());
        s.join("  ").trim_end().to_string()
    };
    writeln!(out, "{}", line(&header, "errors / warnings / notes"))?;
    for (cols, notes) in &cells {
        let cols: Vec<&str> = cols.iter().map(String::as_str).collect();
        writeln!(out, "{}", line(&cols, notes))?;
    }
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for (m, _) in &rows {
        *by.entry(m.decision.as_deref().unwrap_or(m.state.as_str())).or_default() += 1;
    }
    let summary: Vec<String> = by.iter().map(|(k, n)| format!("{k} {n}")).collect();
    write!(out, "\n{} message(s)", rows.len())?;
    if !summary.is_empty() {
        write!(out, ": {}", summary.join(" · "))?;
    }
    writeln!(out)?;
    if hidden > 0 {
        writeln!(out, "({hidden} superseded submission(s) not shown; --all shows them)")?;
    }
    emit(&out)
}
