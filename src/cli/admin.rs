//! Admin commands over the store: `list`, `show`, `reply`, `export`, `stats`.
//!
//! Each opens the configuration (for the store path, the rules and the limits; nothing else
//! from it is ever printed) and works on the SQLite store while the daemon may be running:
//! reads are plain queries in WAL mode, and the only writes (`reply`) are single statements the
//! daemon's outbox picks up on its next round. Text that came from a mail is stripped of
//! control characters before it reaches a terminal. Exit codes: 0 done, 1 refused (with the
//! reason), 2 a usage or IO error.

use crate::store;
use crate::store::{MessageState, ReplyState};
use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::Serialize;

use super::table::{pad, width};
use crate::config::Config;
use crate::export::{self, attachments, sheets};
use crate::rules::Rules;
use crate::store::messages::{Filter, MessageRow};
use crate::store::{Store, sha256_hex};
use crate::verdict::{ErrorCode, Verdict};

/// The configuration, rules and store an admin command works with.
pub(crate) struct Admin {
    pub(crate) cfg: Config,
    pub(crate) rules: Rules,
    pub(crate) store: Store,
}

pub(crate) fn open(config: &Path) -> anyhow::Result<Admin> {
    let cfg = Config::load(config).with_context(|| format!("cannot use the configuration {}", config.display()))?;
    if !cfg.store_path.exists() {
        bail!(
            "there is no store at {} yet: run the daemon first (`mail-intake run -c {}`), or fix [store] path",
            cfg.store_path.display(),
            config.display()
        );
    }
    let rules = super::run::rules_for(&cfg)?;
    let store =
        Store::open(&cfg.store_path).with_context(|| format!("cannot open the store {}", cfg.store_path.display()))?;
    crate::daemon::rebuild_if_needed(&store, &rules, &cfg.limits)?;
    Ok(Admin { cfg, rules, store })
}

/// Mail-derived text made safe for a terminal: control characters (escape sequences) become
/// spaces.
pub(crate) fn printable(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Prints a command's output; a reader that went away (`| head`) is not an error.
pub(crate) fn emit(out: &[u8]) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(out).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("cannot write to stdout"))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// Refuses with a reason: printed, exit code 1.
fn refuse(message: &str) -> anyhow::Result<ExitCode> {
    eprintln!("error: {message}");
    Ok(ExitCode::from(1))
}

/// When each message arrived (best known), by id.
fn arrivals(store: &Store) -> anyhow::Result<HashMap<i64, DateTime<FixedOffset>>> {
    let all = store.with(|c| store::messages::arrivals(c))?;
    Ok(all.iter().filter_map(|a| sheets::arrival(a).map(|d| (a.id, d))).collect())
}

fn office_date(d: &DateTime<FixedOffset>, rules: &Rules) -> NaiveDate {
    d.with_timezone(&rules.timezone).date_naive()
}

fn short_time(d: Option<&DateTime<FixedOffset>>, rules: &Rules) -> String {
    d.map(|d| d.with_timezone(&rules.timezone).format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()
}

const DECISIONS: [&str; 4] = ["acknowledge", "request_correction", "hold", "ignore"];

fn parse_date(value: &str, flag: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .with_context(|| format!("{flag} {value}: expected a date like 2023-03-14 (YYYY-MM-DD, office time)"))
}

/// The store filter for the command-line filter, every value checked against the rules.
fn store_filter(f: &super::ListFilter, rules: &Rules) -> anyhow::Result<Filter> {
    if let Some(d) = &f.decision
        && !DECISIONS.contains(&d.as_str())
    {
        bail!("--decision {d}: unknown decision; use one of {}", DECISIONS.join(", "));
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
        let codes = [
            ErrorCode::SubjectIncomplete,
            ErrorCode::UnknownSchool,
            ErrorCode::UnknownCategory,
            ErrorCode::MissingForm,
            ErrorCode::MissingScan,
            ErrorCode::MissingReport,
            ErrorCode::UnreadableAttachment,
            ErrorCode::NameMismatch,
            ErrorCode::SchoolMismatch,
            ErrorCode::UnsupportedArchive,
            ErrorCode::AttachmentLink,
            ErrorCode::ScanUnstamped,
        ];
        let codes: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
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
pub fn list(config: &Path, filter: &super::ListFilter, json: bool) -> anyhow::Result<ExitCode> {
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

/// One submission with the same key (kind, school, expert or category).
#[derive(Serialize)]
struct HistoryEntry {
    id: i64,
    arrival: Option<String>,
    decision: Option<String>,
    superseded_by: Option<i64>,
}

/// A submission as `show` prints it.
#[derive(Serialize)]
struct SubmissionShown {
    id: i64,
    state: &'static str,
    superseded_by: Option<i64>,
    errors: Vec<String>,
    warnings: Vec<String>,
    parts: Vec<crate::verdict::DossierPart>,
}

#[derive(Serialize)]
struct Shown {
    message: MessageRow,
    arrival: Option<String>,
    size: usize,
    sha256: String,
    headers: Vec<(String, String)>,
    received_hops: usize,
    locations: Vec<store::messages::Seen>,
    verdict: Option<Verdict>,
    replies: Vec<store::replies::ReplyDetail>,
    /// The submission (spec §8) this mail belongs to, as it stands now.
    submission: Option<SubmissionShown>,
    /// Every mail of the same submission, oldest first (this one included).
    history: Vec<HistoryEntry>,
    /// Earlier submissions this one replaced.
    supersedes: Vec<i64>,
}

fn gather(admin: &Admin, id: i64) -> anyhow::Result<Option<Shown>> {
    let rules = &admin.rules;
    let Some(message) = admin.store.with(|c| store::messages::message(c, id))? else { return Ok(None) };
    let raw = admin.store.with(|c| store::messages::raw(c, id))?.unwrap_or_default();
    let mail = crate::parse::parse(&raw, &admin.cfg.limits);
    let mut headers = Vec::new();
    for name in crate::parse::SHOWN_HEADERS {
        let lower = name.to_ascii_lowercase();
        for (_, value) in mail.headers.iter().filter(|(n, _)| *n == lower) {
            headers.push((name.to_string(), value.trim().to_string()));
        }
    }
    let received_hops = mail.headers.iter().filter(|(n, _)| n == "received").count();
    let arrivals = arrivals(&admin.store)?;
    let when = |id: i64| arrivals.get(&id).map(|d| d.with_timezone(&rules.timezone).fixed_offset().to_rfc3339());
    let locations = admin.store.with(|c| store::messages::locations(c, id))?;
    let verdict = admin.store.with(|c| store::verdicts::verdict(c, id))?;
    let replies = admin.store.with(|c| store::replies::reply_details(c, id))?;
    let mut history = Vec::new();
    let dossier = verdict.as_ref().and_then(|v| v.submission.as_ref()).map(|s| s.id);
    let submission = match dossier {
        Some(d) => admin.store.with(|c| crate::store::dossiers::get(c, d))?,
        None => None,
    };
    if let Some(d) = dossier {
        for other in admin.store.with(|c| crate::store::dossiers::message_ids(c, d))? {
            if let Some(m) = admin.store.with(|c| store::messages::message(c, other))? {
                history.push(HistoryEntry {
                    id: other,
                    arrival: when(other),
                    decision: m.decision,
                    superseded_by: m.superseded_by,
                });
            }
        }
        history.sort_by(|a, b| (a.arrival.as_deref(), a.id).cmp(&(b.arrival.as_deref(), b.id)));
    }
    let supersedes = history.iter().filter(|h| h.superseded_by == Some(id)).map(|h| h.id).collect();
    Ok(Some(Shown {
        arrival: when(id),
        size: raw.len(),
        sha256: sha256_hex(&raw),
        message,
        headers,
        received_hops,
        locations,
        verdict,
        replies,
        submission: submission.map(|d| SubmissionShown {
            id: d.id,
            state: d.state.as_str(),
            superseded_by: d.superseded_by,
            errors: d.errors,
            warnings: d.warnings,
            parts: d.parts,
        }),
        history,
        supersedes,
    }))
}

fn size_text(n: u64) -> String {
    match n {
        n if n >= 1024 * 1024 => format!("{:.1} MB", n as f64 / (1024.0 * 1024.0)),
        n if n >= 1024 => format!("{:.1} KB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

fn local(s: Option<&str>, rules: &Rules) -> String {
    s.and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| short_time(Some(&d), rules))
        .or_else(|| s.map(str::to_string))
        .unwrap_or_else(|| "-".into())
}

/// `mail-intake show`.
pub fn show(config: &Path, id: i64, json: bool) -> anyhow::Result<ExitCode> {
    let admin = open(config)?;
    let Some(s) = gather(&admin, id)? else {
        return refuse(&format!("there is no message #{id} in {}", admin.cfg.store_path.display()));
    };
    let mut out: Vec<u8> = Vec::new();
    if json {
        writeln!(out, "{}", serde_json::to_string(&s)?)?;
        return emit(&out);
    }
    let rules = &admin.rules;
    let m = &s.message;
    writeln!(
        out,
        "Message #{} — {}{}",
        m.id,
        m.decision.as_deref().unwrap_or(m.state.as_str()),
        m.kind.as_deref().map(|k| format!(" ({k})")).unwrap_or_default()
    )?;
    writeln!(out, "  arrived {} · stored {}", local(s.arrival.as_deref(), rules), local(Some(&m.stored_at), rules))?;
    writeln!(out, "  {} · sha256 {} · state {}", size_text(s.size as u64), s.sha256, m.state)?;
    if let Some(e) = &m.error {
        writeln!(
            out,
            "  judging failed: {} (run `mail-intake reparse {}` after fixing the cause)",
            printable(e),
            m.id
        )?;
    }
    if let Some(d) = &s.submission {
        let closed = d.superseded_by.map(|b| format!(", closed in favour of submission {b}")).unwrap_or_default();
        writeln!(out, "  submission {} · {}{closed} (`mail-intake dossiers` lists them)", d.id, d.state)?;
        for p in &d.parts {
            writeln!(
                out,
                "    {:?} from #{}: {} · {} · sha256 {}",
                p.role,
                p.message,
                printable(&p.filename),
                size_text(p.size),
                p.sha256.chars().take(16).collect::<String>()
            )?;
        }
    }
    if let Some(by) = m.superseded_by {
        writeln!(out, "  superseded by #{by} (a later mail of the same submission)")?;
    }
    if !s.supersedes.is_empty() {
        let ids: Vec<String> = s.supersedes.iter().map(|i| format!("#{i}")).collect();
        writeln!(out, "  supersedes {}", ids.join(", "))?;
    }

    writeln!(out, "\nHeaders")?;
    for (name, value) in &s.headers {
        writeln!(out, "  {:<15} {}", format!("{name}:"), printable(value))?;
    }
    writeln!(out, "  {:<15} {} hop(s)", "Received:", s.received_hops)?;

    writeln!(out, "\nSeen at")?;
    if s.locations.is_empty() {
        writeln!(out, "  (no location recorded)")?;
    }
    for l in &s.locations {
        writeln!(
            out,
            "  {} · folder {} · UIDVALIDITY {} · UID {} · flags {} · INTERNALDATE {}",
            printable(&l.account),
            printable(&l.folder),
            l.uidvalidity,
            l.uid,
            if l.flags.is_empty() { "-" } else { &l.flags },
            l.internal_date.as_deref().unwrap_or("-")
        )?;
    }

    if let Some(v) = &s.verdict {
        writeln!(out, "\nVerdict")?;
        writeln!(out, "  {:<11} {}", "decision", v.decision)?;
        let kind_name = v.kind.as_deref().and_then(|k| rules.kind(k)).map(|k| format!(" ({})", k.name));
        writeln!(out, "  {:<11} {}{}", "kind", v.kind.as_deref().unwrap_or("-"), kind_name.unwrap_or_default())?;
        for (k, value) in &v.fields {
            writeln!(out, "  {:<11} {}", k, printable(value))?;
        }
        let errors: Vec<String> =
            v.errors.iter().map(|e| format!("{} ({})", e.as_str(), export::words::error(e.as_str()))).collect();
        let warnings: Vec<String> = v
            .warnings
            .iter()
            .map(|w| format!("{} ({})", w.as_str(), export::words::warning(w.as_str(), rules)))
            .collect();
        writeln!(out, "  {:<11} {}", "errors", if errors.is_empty() { "-".into() } else { errors.join(", ") })?;
        writeln!(out, "  {:<11} {}", "warnings", if warnings.is_empty() { "-".into() } else { warnings.join(", ") })?;
        if let Some(a) = &v.automatic {
            writeln!(out, "  {:<11} {a}", "automatic")?;
        }
        if v.forwarded {
            writeln!(out, "  judged from the forwarded message inside")?;
        }
        writeln!(out, "  reasons:")?;
        for r in &v.reasons {
            writeln!(out, "    - {}", printable(r))?;
        }

        writeln!(out, "\nAttachments ({})", v.attachments.len())?;
        for (i, a) in v.attachments.iter().enumerate() {
            let role = serde_json::to_value(a.role).ok().and_then(|r| r.as_str().map(String::from)).unwrap_or_default();
            writeln!(
                out,
                "  {}. {} · {} · {} ({}) · {}",
                i + 1,
                printable(&a.filename),
                a.kind,
                role,
                export::words::role(a.role),
                size_text(a.size)
            )?;
            let mut extra = vec![format!("sha256 {}", a.sha256)];
            if let Some(p) = a.pages {
                extra.push(format!("{p} page(s){}", if a.scanned == Some(true) { ", scanned" } else { "" }));
            }
            if let (Some(w), Some(h)) = (a.width, a.height) {
                extra.push(format!("{w}×{h}"));
            }
            if let Some(z) = &a.archive {
                extra.push(format!("from archive {}", printable(z)));
            }
            if let Some(seal) = a.seal {
                extra.push(match &a.seal_at {
                    Some(at) => format!(
                        "seal found on page {} at [{:.3}, {:.3}, {:.3}, {:.3}] ({})",
                        at.page,
                        at.bbox[0],
                        at.bbox[1],
                        at.bbox[2],
                        at.bbox[3],
                        at.describe()
                    ),
                    None => format!("seal {}", seal.as_str()),
                });
            }
            if let Some(b) = a.blank_pages.filter(|b| *b > 0) {
                extra.push(format!("{b} blank page(s)"));
            }
            if let Some(t) = &a.scan_text {
                let mark = |b: Option<bool>| match b {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "-",
                };
                extra.push(format!(
                    "text read: title {} · name {} · school {} · “{}”",
                    mark(Some(t.title)),
                    mark(t.name),
                    mark(t.school),
                    printable(&crate::text::clip(&t.text.replace('\n', " "), 60))
                ));
            }
            if let Some(p) = &a.problem {
                extra.push(format!("problem: {}", printable(p)));
            }
            writeln!(out, "     {}", extra.join(" · "))?;
        }

        if !v.experts.is_empty() {
            writeln!(out, "\nExperts ({})", v.experts.len())?;
            for e in &v.experts {
                let f = |o: &Option<String>| printable(o.as_deref().unwrap_or("-"));
                writeln!(
                    out,
                    "  {} · {} · born {} · {} ({}) · {} · {} · {} · {}",
                    printable(&e.name),
                    f(&e.gender),
                    f(&e.birth),
                    f(&e.title),
                    export::words::title_level(&e.title_level),
                    f(&e.employer),
                    f(&e.category),
                    f(&e.phone),
                    f(&e.email)
                )?;
            }
        }
        if !v.summary_rows.is_empty() {
            writeln!(out, "  (+ a 附件3 summary table with {} row(s))", v.summary_rows.len())?;
        }
    } else {
        writeln!(out, "\nVerdict\n  (not judged yet)")?;
    }

    writeln!(out, "\nReplies ({})", s.replies.len())?;
    for r in &s.replies {
        writeln!(
            out,
            "  #{} {} → {} · state {} · attempts {}",
            r.id,
            r.kind,
            printable(&r.recipient),
            r.state,
            r.attempts
        )?;
        writeln!(out, "     subject {}", printable(&r.subject))?;
        writeln!(out, "     Message-ID {}", printable(&r.reply_message_id))?;
        let mut when = vec![format!("created {}", local(Some(&r.created_at), rules))];
        if let Some(t) = &r.sent_at {
            when.push(format!("sent {}", local(Some(t), rules)));
        }
        if r.state == ReplyState::Pending
            && let Some(t) = &r.next_attempt_at
        {
            when.push(format!("next attempt {}", local(Some(t), rules)));
        }
        if r.appended {
            when.push("copied to Sent".into());
        }
        writeln!(out, "     {}", when.join(" · "))?;
        if let Some(reason) = &r.reason {
            writeln!(
                out,
                "     {} {}",
                if r.state == ReplyState::Sent { "server:" } else { "reason:" },
                printable(reason)
            )?;
        }
        if let Some(e) = &r.last_error {
            writeln!(out, "     last error: {}", printable(e))?;
        }
    }

    if s.history.len() > 1 {
        writeln!(out, "\nHistory (the mails of the same submission)")?;
        for h in &s.history {
            let status = match h.superseded_by {
                Some(by) => format!("superseded by #{by}"),
                None => "current".into(),
            };
            writeln!(
                out,
                "  #{:<5} {}  {:<18} {}{}",
                h.id,
                local(h.arrival.as_deref(), rules),
                h.decision.as_deref().unwrap_or("-"),
                status,
                if h.id == id { "   ← this message" } else { "" }
            )?;
        }
    }
    emit(&out)
}

/// `mail-intake reply --resend | --suppress`: the policy is [`crate::actions::reply`], shared
/// with the web view.
pub fn reply(config: &Path, id: i64, resend: bool, suppress: bool) -> anyhow::Result<ExitCode> {
    if resend == suppress {
        bail!("give exactly one of --resend or --suppress");
    }
    let admin = open(config)?;
    let action = if suppress { crate::actions::ReplyAction::Suppress } else { crate::actions::ReplyAction::Resend };
    let hint = config.display().to_string();
    match crate::actions::reply(&admin.cfg, &admin.rules, &admin.store, id, action, None, &hint) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(crate::actions::ActionError::Refused(why)) => refuse(&why),
        Err(e) => Err(anyhow::Error::new(e)),
    }
}

/// `mail-intake export`.
pub fn export(
    config: &Path,
    xlsx: Option<PathBuf>,
    csv: Option<PathBuf>,
    attachments_dir: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    if xlsx.is_none() && csv.is_none() && attachments_dir.is_none() {
        bail!("nothing to export: give --xlsx FILE, --csv DIR and/or --attachments DIR");
    }
    let admin = open(config)?;
    if xlsx.is_some() || csv.is_some() {
        let sheets =
            admin.store.with(|c| Ok(export::register_sheets(c, &admin.rules)))?.context("cannot read the register")?;
        let counts: Vec<String> = sheets.iter().map(|s| format!("{} {}", s.name, s.rows.len())).collect();
        if let Some(path) = &xlsx {
            let bytes = export::sheets_xlsx(&sheets).context("cannot build the workbook")?;
            export::write_private_file(path, &bytes)?;
            println!("wrote {} ({} sheets: {})", path.display(), sheets.len(), counts.join(", "));
        }
        if let Some(dir) = &csv {
            let files = export::write_csv_dir(&sheets, dir)?;
            println!("wrote {} CSV file(s) (UTF-8 with BOM) into {}", files.len(), dir.display());
        }
    }
    if let Some(dir) = &attachments_dir {
        let progress = std::io::stdout().is_terminal();
        let done = admin
            .store
            .with(|c| Ok(attachments::export_attachments(c, &admin.rules, &admin.cfg.limits, dir, progress)))?
            .with_context(|| format!("cannot export the attachments into {}", dir.display()))?;
        print!(
            "wrote {} file(s) ({}) from {} message(s) into {}",
            done.files,
            size_text(done.bytes),
            done.messages,
            dir.display()
        );
        if done.duplicates > 0 {
            print!("; {} identical cop(ies) left out", done.duplicates);
        }
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

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
pub fn stats(config: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let admin = open(config)?;
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
    let stats = Stats {
        submissions,
        by_kind_decision: matrix
            .into_iter()
            .map(|(kind, decision, count)| KindDecision { kind, decision, count })
            .collect(),
        per_day,
        totals,
    };
    let mut out: Vec<u8> = Vec::new();
    if json {
        writeln!(out, "{}", serde_json::to_string(&stats)?)?;
        return emit(&out);
    }

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
    for d in DECISIONS {
        head.push_str(&format!("  {d:>w$}", w = d.len()));
    }
    writeln!(out, "{head}  {:>5}", "total")?;
    let mut column_totals = [0i64; 4];
    for kind in &kinds {
        let counts: Vec<i64> = DECISIONS.iter().map(|d| count(kind, d)).collect();
        if kind.is_none() && counts.iter().all(|n| *n == 0) {
            continue;
        }
        let mut line = pad(kind.as_deref().unwrap_or("-"), kw);
        for (i, (d, n)) in DECISIONS.iter().zip(&counts).enumerate() {
            column_totals[i] += n;
            line.push_str(&format!("  {n:>w$}", w = d.len()));
        }
        writeln!(out, "{line}  {:>5}", counts.iter().sum::<i64>())?;
    }
    let mut line = pad("total", kw);
    for (d, n) in DECISIONS.iter().zip(&column_totals) {
        line.push_str(&format!("  {n:>w$}", w = d.len()));
    }
    writeln!(out, "{line}  {:>5}", column_totals.iter().sum::<i64>())?;

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
    emit(&out)
}
