//! `mail-intake stats`: submissions by kind and state, messages by kind and decision, mails
//! per day, and totals.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;

use super::admin::{Admin, arrivals, emit, office_date, open};
use super::table::{pad, width};
use crate::export::sheets;
use crate::rules::Rules;
use crate::store;
use crate::store::messages::Filter;
use crate::verdict::Decision;

#[derive(Serialize)]
struct KindDecision {
    kind: Option<String>,
    decision: String,
    count: i64,
}

#[derive(Serialize)]
struct Totals {
    stored: i64,
    judged: i64,
    failed: i64,
    waiting: i64,
    current_submissions: usize,
    superseded: usize,
    replies: BTreeMap<String, i64>,
}

#[derive(Serialize)]
struct Stats {
    /// Submissions (spec §8) by kind and state: what the office counts.
    submissions: BTreeMap<String, BTreeMap<&'static str, usize>>,
    by_kind_decision: Vec<KindDecision>,
    /// Messages per arrival day (office time).
    per_day: BTreeMap<String, usize>,
    totals: Totals,
}

/// `mail-intake stats`.
pub fn run(config: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let admin = open(config)?;
    let stats = gather(&admin)?;
    let mut out: Vec<u8> = Vec::new();
    if json {
        writeln!(out, "{}", serde_json::to_string(&stats)?)?;
        return emit(&out);
    }
    write_tables(&mut out, &stats, &admin.rules)?;
    write_days_and_totals(&mut out, &stats, &admin.rules)?;
    emit(&out)
}

/// Every figure `stats` shows, read from the store.
fn gather(admin: &Admin) -> anyhow::Result<Stats> {
    let rules = &admin.rules;
    let matrix = admin.store.with(|c| store::verdicts::counts_by_kind_decision(c, None))?;
    let mut per_day: BTreeMap<String, usize> = BTreeMap::new();
    for d in arrivals(&admin.store)?.values() {
        *per_day.entry(office_date(d, rules).to_string()).or_default() += 1;
    }
    let (stored, judged, failed, _) = admin.store.with(|c| store::verdicts::counts(c))?;
    let all = admin.store.with(|c| store::messages::list(c, &Filter::default()))?;
    let totals = Totals {
        stored,
        judged,
        failed,
        waiting: stored - judged - failed,
        current_submissions: all.iter().filter(|m| m.superseded_by.is_none() && sheets::is_submission(m)).count(),
        superseded: all.iter().filter(|m| m.superseded_by.is_some()).count(),
        replies: admin
            .store
            .with(|c| store::replies::reply_counts(c))?
            .into_iter()
            .map(|(s, n)| (s.to_string(), n))
            .collect(),
    };
    let dossiers = admin.store.with(|c| crate::register::view::dossiers(c, &Default::default(), rules))?;
    let mut submissions: BTreeMap<String, BTreeMap<&'static str, usize>> = BTreeMap::new();
    for d in &dossiers {
        *submissions.entry(d.kind.clone()).or_default().entry(d.state).or_default() += 1;
    }
    Ok(Stats {
        submissions,
        by_kind_decision: matrix
            .into_iter()
            .map(|(kind, decision, count)| KindDecision { kind, decision, count })
            .collect(),
        per_day,
        totals,
    })
}

/// Submissions by kind and state, then messages by kind and decision.
fn write_tables(out: &mut Vec<u8>, stats: &Stats, rules: &Rules) -> std::io::Result<()> {
    // Rows: the rules' kinds (all of them, zeros included), then kinds the rules no longer
    // know, then messages of no kind.
    let mut kinds: Vec<Option<String>> = rules.kinds.iter().map(|k| Some(k.id.clone())).collect();
    for k in &stats.by_kind_decision {
        if !kinds.contains(&k.kind) && k.kind.is_some() {
            kinds.push(k.kind.clone());
        }
    }
    kinds.push(None);
    let count = |kind: &Option<String>, decision: &str| -> i64 {
        stats.by_kind_decision.iter().filter(|k| &k.kind == kind && k.decision == decision).map(|k| k.count).sum()
    };
    let kw = kinds.iter().map(|k| k.as_deref().map(width).unwrap_or(1)).max().unwrap_or(4).max(5);
    writeln!(out, "Submissions by kind and state (one per school and expert / 专业大类 / summary)")?;
    for k in &rules.kinds {
        let of = |state: &str| stats.submissions.get(&k.id).and_then(|m| m.get(state)).copied().unwrap_or(0);
        writeln!(
            out,
            "  {}  complete {} · incomplete {} · superseded {}",
            pad(&k.id, kw),
            of("complete"),
            of("incomplete"),
            of("superseded")
        )?;
    }
    writeln!(out, "\nMessages by kind and decision")?;
    let mut head = pad("kind", kw);
    for d in Decision::ALL.map(Decision::as_str) {
        head.push_str(&format!("  {d:>w$}", w = d.len()));
    }
    writeln!(out, "{head}  {:>5}", "total")?;
    let mut column_totals = [0i64; 4];
    for kind in &kinds {
        let counts: Vec<i64> = Decision::ALL.iter().map(|d| count(kind, d.as_str())).collect();
        if kind.is_none() && counts.iter().all(|n| *n == 0) {
            continue;
        }
        let mut line = pad(kind.as_deref().unwrap_or("-"), kw);
        for (i, (d, n)) in Decision::ALL.map(Decision::as_str).iter().zip(&counts).enumerate() {
            column_totals[i] += n;
            line.push_str(&format!("  {n:>w$}", w = d.len()));
        }
        writeln!(out, "{line}  {:>5}", counts.iter().sum::<i64>())?;
    }
    let mut line = pad("total", kw);
    for (d, n) in Decision::ALL.map(Decision::as_str).iter().zip(&column_totals) {
        line.push_str(&format!("  {n:>w$}", w = d.len()));
    }
    writeln!(out, "{line}  {:>5}", column_totals.iter().sum::<i64>())?;

    Ok(())
}

/// Mails per arrival day and the totals.
fn write_days_and_totals(out: &mut Vec<u8>, stats: &Stats, rules: &Rules) -> std::io::Result<()> {
    writeln!(out, "\nMails per day (arrival, {})", rules.timezone)?;
    if stats.per_day.is_empty() {
        writeln!(out, "  (none)")?;
    }
    for (day, n) in &stats.per_day {
        writeln!(out, "  {day}  {n:>4}")?;
    }

    let t = &stats.totals;
    writeln!(out, "\nTotals")?;
    writeln!(
        out,
        "  stored {} · judged {} · failed {} · waiting to be judged {}",
        t.stored, t.judged, t.failed, t.waiting
    )?;
    writeln!(out, "  current submissions {} · superseded {}", t.current_submissions, t.superseded)?;
    let replies: Vec<String> = t.replies.iter().map(|(s, n)| format!("{s} {n}")).collect();
    writeln!(out, "  replies: {}", if replies.is_empty() { "none".to_string() } else { replies.join(" · ") })?;
    Ok(())
}
