//! `mail-intake dossiers` and `mail-intake schools`: the register as submissions (spec §8),
//! a readable table or one JSON object per line.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;

use super::admin::{emit, open, printable};
use super::table::pad;
use crate::register::view;
use crate::store::dossiers::DossierFilter;
use crate::verdict::DossierState;

/// Prints the submissions.
pub fn dossiers(
    config: &Path,
    kind: Option<String>,
    school: Option<String>,
    state: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let state = match state {
        None => None,
        Some(s) => match DossierState::parse(s) {
            Some(x) => Some(x),
            None => bail!("unknown state `{s}`: use complete, incomplete or superseded"),
        },
    };
    let admin = open(config)?;
    if let Some(k) = &kind
        && admin.rules.kind(k).is_none()
    {
        let ids: Vec<&str> = admin.rules.kinds.iter().map(|k| k.id.as_str()).collect();
        bail!("unknown kind `{k}`: use one of {}", ids.join(", "));
    }
    let filter = DossierFilter { kind, school, state };
    let rows = admin.store.with(|c| view::dossiers(c, &filter, &admin.rules))?;
    let mut out = Vec::new();
    if json {
        for d in &rows {
            serde_json::to_writer(&mut out, d)?;
            writeln!(out)?;
        }
    } else {
        writeln!(
            out,
            "{} {} {} {} {} 问题 / 邮件",
            pad("#", 6),
            pad("类别", 10),
            pad("学校", 30),
            pad("专家/专业大类", 16),
            pad("状态", 12),
        )?;
        for d in &rows {
            let kind = admin.rules.kind(&d.kind).map(|k| k.name.as_str()).unwrap_or(d.kind.as_str());
            let detail = d.expert_name.as_deref().or(d.category.as_deref()).unwrap_or("");
            let state = match d.superseded_by {
                Some(by) => format!("superseded→#{by}"),
                None => d.state.to_string(),
            };
            let mails: Vec<String> = d.messages.iter().map(|m| format!("#{m}")).collect();
            writeln!(
                out,
                "{} {} {} {} {} {} [{}]",
                pad(&d.id.to_string(), 6),
                pad(kind, 10),
                pad(&printable(d.school.as_deref().unwrap_or("?")), 30),
                pad(&printable(detail), 16),
                pad(&state, 12),
                d.errors.iter().chain(&d.warnings).cloned().collect::<Vec<_>>().join(","),
                mails.join(" ")
            )?;
        }
        writeln!(out, "{} submission(s)", rows.len())?;
    }
    emit(&out)
}

/// Prints every school with what it has sent.
pub fn schools(config: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let admin = open(config)?;
    let rows = admin.store.with(|c| view::schools(c, &admin.rules))?;
    let mut out = Vec::new();
    if json {
        for s in &rows {
            serde_json::to_writer(&mut out, s)?;
            writeln!(out)?;
        }
    } else {
        for s in &rows {
            writeln!(
                out,
                "{} {} {} 专家 {}/{}{} 牵头 {} 总结 {}",
                pad(&printable(&s.school), 34),
                pad(s.status, 8),
                pad(if s.on_roster { "" } else { "名单外" }, 8),
                s.experts_complete.len(),
                s.experts_complete.len() + s.experts_incomplete.len(),
                if s.experts_listed_not_received.is_empty() {
                    String::new()
                } else {
                    format!("（汇总表列出未收到：{}）", s.experts_listed_not_received.join("、"))
                },
                if s.lead_categories.is_empty() { "-".to_string() } else { s.lead_categories.join("、") },
                if s.summary { "有" } else { "无" }
            )?;
        }
    }
    emit(&out)
}
