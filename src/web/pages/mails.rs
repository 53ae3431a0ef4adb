//! `/mails` and `/mails/{id}`: the hold queue and failures first; one mail's headers, verdict,
//! attachments, where it was seen, replies and submission history (downloads: `files`).

use crate::store;
use crate::store::ReplyState;
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
use super::super::rows::{self, PAGE, Pager, printable, query_base};
use super::super::skeleton::{self, Skeleton};
use super::v;
use crate::export::words;
use crate::parse::{Attachment, Mail};
use crate::store::messages::MessageRow;
use crate::store::web::{self as db, MailView};
use crate::verdict::{AttachmentInfo, Expert};

#[derive(serde::Deserialize)]
pub struct MailQuery {
    view: Option<String>,
    page: Option<u64>,
}

/// `GET /mails`.
pub async fn list(
    State(app): State<Arc<App>>,
    Extension(s): Extension<Session>,
    Query(q): Query<MailQuery>,
) -> Result<Response, PageError> {
    let (view_name, view) = match super::given(&q.view) {
        None | Some("all") => ("all", MailView::All),
        Some("hold") => ("hold", MailView::Hold),
        Some("failed") => ("failed", MailView::Failed),
        Some(_) => return Err(PageError::BadRequest("view 应为 all、hold 或 failed".into())),
    };
    let page = q.page;
    let (rows, pager, counts) = super::read(&app, move |c, app| {
        let (all, hold, failed) = db::mail_counts(c)?;
        let total = match view {
            MailView::All => all,
            MailView::Hold => hold,
            MailView::Failed => failed,
        };
        let pager = Pager::new(page, total, query_base("/mails", &[("view", Some(view_name))]))?;
        let (found, _) = db::mail_page(c, view, pager.offset(), PAGE)?;
        let rows: Vec<rows::Row> = found.iter().map(|m| rows::row(m, &app.rules)).collect();
        Ok((rows, pager, context! { all, hold, failed }))
    })
    .await?;
    super::render(
        &app,
        &s,
        "mails",
        "mails.html",
        context! { title => "邮件", rows => v(rows), pager => v(pager), counts, view => view_name },
    )
}

/// An attachment as listed.
#[derive(Debug, Clone, Serialize)]
pub struct FileRow {
    /// Its number in the mail (from 1); 0: not found in the mail any more.
    pub n: usize,
    pub message: i64,
    pub filename: String,
    pub kind: String,
    pub role: String,
    pub size: String,
    pub note: String,
    pub viewable: bool,
    pub image: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerdictView {
    decision_text: String,
    kind_name: String,
    fields: Vec<(String, String)>,
    errors: Vec<String>,
    warnings: Vec<String>,
    reasons: Vec<String>,
    experts: Vec<Expert>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReplyView {
    id: i64,
    message: i64,
    kind_text: String,
    recipient: String,
    subject: String,
    state: String,
    state_text: String,
    reason: Option<String>,
    sent_at: Option<String>,
    last_error: Option<String>,
    text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryRow {
    id: i64,
    when: String,
    outcome: String,
    notes: String,
    superseded_by: Option<i64>,
}

/// Everything shown about one message.
pub struct Detail {
    pub message: MessageRow,
    pub when: String,
    pub raw_size: u64,
    pub sha: String,
    pub headers: Vec<(String, String)>,
    pub hops: usize,
    pub seen: Vec<store::messages::Seen>,
    pub verdict: Option<VerdictView>,
    pub files: Vec<FileRow>,
    pub replies: Vec<ReplyView>,
    pub history: Vec<HistoryRow>,
}

/// Attachments of a mail and of the mails it forwards, in one numbering (1, 2, …).
pub fn flat(mail: &Mail) -> Vec<&Attachment> {
    let mut out: Vec<&Attachment> = mail.attachments.iter().collect();
    for inner in &mail.forwarded {
        out.extend(flat(inner));
    }
    out
}

/// What a browser may show inline: `(content type, is an image)`.
pub fn viewable(bytes: &[u8]) -> Option<(&'static str, bool)> {
    if bytes.starts_with(b"%PDF-") {
        Some(("application/pdf", false))
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", true))
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", true))
    } else {
        None
    }
}

pub fn size_text(n: u64) -> String {
    match n {
        n if n >= 1024 * 1024 => format!("{:.1} MB", n as f64 / (1024.0 * 1024.0)),
        n if n >= 1024 => format!("{:.1} KB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

fn file_rows(message: i64, mail: &Mail, skel: &Skeleton, infos: &[AttachmentInfo]) -> Vec<FileRow> {
    let mut used = vec![false; infos.len()];
    flat(mail)
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let info = infos
                .iter()
                .enumerate()
                .find(|(j, x)| !used[*j] && x.filename == a.filename && x.archive == a.archive)
                .map(|(j, x)| {
                    used[j] = true;
                    x
                });
            let view = viewable(&a.bytes);
            let mut note: Vec<String> = Vec::new();
            if let Some(arch) = &a.archive {
                note.push(format!("取自压缩包 {}", printable(arch)));
            }
            if let Some(x) = info {
                if let Some(p) = x.pages {
                    note.push(format!("{p} 页"));
                }
                if x.scanned == Some(true) {
                    note.push("扫描件".into());
                }
                if let Some(p) = &x.problem {
                    note.push(printable(p));
                }
            }
            FileRow {
                n: i + 1,
                message,
                filename: printable(&a.filename),
                kind: info.map(|x| x.kind.clone()).unwrap_or_else(|| a.declared_type.clone()),
                role: info.map(|x| words::role(x.role).to_string()).unwrap_or_default(),
                size: size_text(skel.size(a)),
                note: note.join("；"),
                viewable: view.is_some(),
                image: view.is_some_and(|(_, img)| img),
            }
        })
        .collect()
}

/// A verdict in the office's words.
pub fn verdict_view(v: &crate::verdict::Verdict, rules: &crate::rules::Rules) -> VerdictView {
    VerdictView {
        decision_text: words::decision(v.decision.as_str()),
        kind_name: rows::kind_name(v.kind.as_deref(), rules),
        fields: v.fields.iter().map(|(k, x)| (words::field(k), printable(x))).collect(),
        errors: v.errors.iter().map(|e| words::error(e.as_str())).collect(),
        warnings: v.warnings.iter().map(|w| words::warning(w.as_str(), rules)).collect(),
        reasons: v.reasons.iter().map(|r| printable(r)).collect(),
        experts: v.experts.clone(),
    }
}

/// The replies to a message, with their text.
pub fn replies_of(c: &Connection, app: &App, id: i64) -> Result<Vec<ReplyView>, PageError> {
    let mut replies = Vec::new();
    for r in store::replies::reply_details(c, id)? {
        let text = db::reply_raw(c, r.id)?
            .and_then(|raw| {
                mail_parser::MessageParser::default().parse(&raw).and_then(|m| m.body_text(0).map(|t| t.to_string()))
            })
            .unwrap_or_default();
        replies.push(ReplyView {
            id: r.id,
            message: id,
            kind_text: words::decision(&r.kind),
            recipient: printable(&r.recipient),
            subject: printable(&r.subject),
            state_text: words::reply_state(Some(r.state)),
            state: r.state.to_string(),
            reason: r.reason.map(|x| printable(&x)),
            sent_at: r.sent_at.map(|t| rows::office_time(Some(&t), &app.rules)),
            last_error: r.last_error.map(|x| printable(&x)),
            text: printable(&text),
        });
    }
    Ok(replies)
}

/// Gathers one message's page (404 when there is none).
pub fn detail(c: &mut Connection, app: &App, id: i64) -> Result<Detail, PageError> {
    let rules = &app.rules;
    let Some(message) = store::messages::message(c, id)? else {
        return Err(PageError::NotFound(format!("没有邮件 #{id}")));
    };
    // The skeleton: a 100 MB mail's page never holds its attachments.
    let skel = skeleton::load_cached(&app.skeletons, c, id)?.unwrap_or_default();
    let mail = skeleton::parse(&skel, &app.cfg.limits);
    let mut headers = Vec::new();
    for name in crate::parse::SHOWN_HEADERS {
        let lower = name.to_ascii_lowercase();
        for (_, value) in mail.headers.iter().filter(|(n, _)| *n == lower) {
            headers.push((name.to_string(), printable(value.trim())));
        }
    }
    let hops = mail.headers.iter().filter(|(n, _)| n == "received").count();
    let stored = store::verdicts::verdict(c, id)?;
    let files = file_rows(id, &mail, &skel, stored.as_ref().map(|v| v.attachments.as_slice()).unwrap_or_default());
    let verdict = stored.map(|v| verdict_view(&v, rules));
    let replies = replies_of(c, app, id)?;
    let mut history = Vec::new();
    if let Some(dossier) = message.dossier {
        for m in crate::store::dossiers::members(c, dossier, 1000)? {
            if let Some(row) = store::messages::message(c, m.message)? {
                let r = rows::row(&row, rules);
                history.push(HistoryRow {
                    id: m.message,
                    when: r.when,
                    outcome: r.outcome,
                    notes: r.notes,
                    superseded_by: row.superseded_by,
                });
            }
        }
    }
    let when = rows::office_time(message.arrived.as_deref().or(Some(message.stored_at.as_str())), rules);
    Ok(Detail {
        when,
        raw_size: db::raw_size(c, id)?.unwrap_or_default(),
        sha: db::sha256(c, id)?.unwrap_or_default(),
        headers,
        hops,
        seen: store::messages::locations(c, id)?,
        verdict,
        files,
        replies,
        history,
        message,
    })
}

#[derive(Serialize)]
struct ActionLink {
    action: &'static str,
    label: &'static str,
}

/// The actions worth offering on a message (the policy itself is checked when one is run).
fn offered(d: &Detail) -> Vec<ActionLink> {
    let mut out = vec![ActionLink { action: "rejudge", label: "重新判定" }];
    let answerable = matches!(d.message.decision.as_deref(), Some("acknowledge" | "request_correction"));
    let latest = d.replies.last().map(|r| r.state.as_str());
    if d.replies.iter().any(|r| r.state == ReplyState::Pending.as_str()) {
        out.push(ActionLink { action: "suppress", label: "不发送回执" });
    }
    if answerable {
        match latest {
            Some("suppressed") => out.push(ActionLink { action: "release", label: "放行被扣下的回执" }),
            Some("pending" | "sending") => {}
            _ => out.push(ActionLink { action: "resend", label: "重发回执" }),
        }
    }
    out
}

/// `GET /mails/{id}`.
pub async fn one(
    State(app): State<Arc<App>>,
    Extension(s): Extension<Session>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = super::parse_id(&id)?;
    let d = super::read(&app, move |c, app| detail(c, app, id)).await?;
    let actions = if s.is_admin() { offered(&d) } else { Vec::new() };
    let msg = rows::row(&d.message, &app.rules);
    let msg = context! { error => d.message.error.as_deref().map(printable), ..v(&msg) };
    super::render(
        &app,
        &s,
        "mails",
        "mail.html",
        context! {
            title => format!("邮件 #{id}"), msg, when => d.when,
            stored => rows::office_time(Some(&d.message.stored_at), &app.rules),
            size => size_text(d.raw_size), sha => d.sha, headers => d.headers, hops => d.hops, seen => v(d.seen),
            v => v(d.verdict), files => v(d.files), replies => v(d.replies), history => v(d.history), actions => v(actions),
            dossier => d.message.dossier,
        },
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_pdf_and_images_are_viewable() {
        assert_eq!(super::viewable(b"%PDF-1.4 x"), Some(("application/pdf", false)));
        assert_eq!(super::viewable(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(("image/jpeg", true)));
        assert_eq!(super::viewable(b"<html><script>"), None);
        assert_eq!(super::viewable(b""), None);
    }
}
