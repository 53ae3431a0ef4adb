//! `mail-intake show ID`: one message in full — headers, where it was seen, its verdict and
//! attachments, its submission, its replies and the history of its submission.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;

use super::admin::{Admin, arrivals, emit, local, open, printable, refuse, size_text};
use crate::export;
use crate::rules::Rules;
use crate::store;
use crate::store::messages::MessageRow;
use crate::store::{ReplyState, sha256_hex};
use crate::verdict::{AttachmentInfo, Verdict};

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

/// `mail-intake show`.
pub fn run(config: &Path, id: i64, json: bool) -> anyhow::Result<ExitCode> {
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
    write_summary(&mut out, &s, rules)?;
    write_headers_and_places(&mut out, &s)?;
    match &s.verdict {
        Some(v) => {
            write_verdict(&mut out, v, rules)?;
            write_attachments(&mut out, v)?;
            write_experts(&mut out, v)?;
        }
        None => writeln!(out, "\nVerdict\n  (not judged yet)")?,
    }
    write_replies(&mut out, &s, rules)?;
    write_history(&mut out, &s, id, rules)?;
    emit(&out)
}

type Out = std::io::Result<()>;

/// The first lines: what the mail is, when it came, its submission.
fn write_summary(out: &mut Vec<u8>, s: &Shown, rules: &Rules) -> Out {
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

    Ok(())
}

/// The headers that matter and every place the mail was seen.
fn write_headers_and_places(out: &mut Vec<u8>, s: &Shown) -> Out {
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

    Ok(())
}

/// The decision, kind, fields, codes (with their words) and reasons.
fn write_verdict(out: &mut Vec<u8>, v: &Verdict, rules: &Rules) -> Out {
    writeln!(out, "\nVerdict")?;
    writeln!(out, "  {:<11} {}", "decision", v.decision)?;
    let kind_name = v.kind.as_deref().and_then(|k| rules.kind(k)).map(|k| format!(" ({})", k.name));
    writeln!(out, "  {:<11} {}{}", "kind", v.kind.as_deref().unwrap_or("-"), kind_name.unwrap_or_default())?;
    for (k, value) in &v.fields {
        writeln!(out, "  {:<11} {}", k, printable(value))?;
    }
    let errors: Vec<String> =
        v.errors.iter().map(|e| format!("{} ({})", e.as_str(), export::words::error(e.as_str()))).collect();
    let warnings: Vec<String> =
        v.warnings.iter().map(|w| format!("{} ({})", w.as_str(), export::words::warning(w.as_str(), rules))).collect();
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

    Ok(())
}

/// Each attachment: name, kind, role, size and what was learnt from it.
fn write_attachments(out: &mut Vec<u8>, v: &Verdict) -> Out {
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
        let extra = attachment_facts(a);
        writeln!(out, "     {}", extra.join(" · "))?;
    }

    Ok(())
}

/// What is known of one attachment beyond its name: hash, pages, seal, text read, problem.
fn attachment_facts(a: &AttachmentInfo) -> Vec<String> {
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
    extra
}

/// The experts the forms name, and the 附件3 rows.
fn write_experts(out: &mut Vec<u8>, v: &Verdict) -> Out {
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
    Ok(())
}

/// Every reply of the mail with its life so far.
fn write_replies(out: &mut Vec<u8>, s: &Shown, rules: &Rules) -> Out {
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

    Ok(())
}

/// The mails of the same submission, oldest first.
fn write_history(out: &mut Vec<u8>, s: &Shown, id: i64, rules: &Rules) -> Out {
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
    Ok(())
}
