//! `/mails/{id}/raw` and `/mails/{id}/files/{n}`: a message as received and each of its
//! attachments (PDF and images may be shown inline), streamed. An attachment is found in the
//! message's skeleton (`web::skeleton`: the raw bytes without their long base64 bodies) and,
//! when it is one of those bodies, decoded from the store a chunk at a time — memory does not
//! grow with its size. Only an attachment the skeleton cannot place is taken out of the whole
//! parsed mail, as the judge reads it.

use crate::store;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::Response;

use super::super::App;
use super::super::auth::Session;
use super::super::download;
use super::super::render::PageError;
use super::super::skeleton::{self, Source};
use super::mails::{flat, viewable};
use crate::parse::{self, Attachment, Mail};
use crate::store::web as db;

/// `GET /mails/{id}/raw`: the message as received, streamed.
pub async fn raw(
    State(app): State<Arc<App>>,
    Extension(s): Extension<Session>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = super::parse_id(&id)?;
    let size = super::read(&app, move |c, _| Ok(db::raw_size(c, id)?)).await?;
    let Some(size) = size else { return Err(PageError::NotFound(format!("没有邮件 #{id}"))) };
    tracing::info!(stage = "web", id, user = %s.user, "raw message downloaded");
    Ok(download::download(download::raw_body(app, id), "message/rfc822", &format!("mail-{id}.eml"), false, Some(size)))
}

#[derive(serde::Deserialize)]
pub struct FileQuery {
    inline: Option<String>,
}

/// An attachment found for a download.
struct Found {
    filename: String,
    /// Its first bytes (to tell a PDF or a picture).
    head: Vec<u8>,
    len: u64,
    body: Body,
}

enum Body {
    Bytes(Vec<u8>),
    /// Base64 to decode from this byte range of the raw message.
    Run(u64, u64),
}

/// `GET /mails/{id}/files/{n}`: attachment `n` (from 1) of the message.
pub async fn file(
    State(app): State<Arc<App>>,
    Extension(s): Extension<Session>,
    Path((id, n)): Path<(String, String)>,
    Query(q): Query<FileQuery>,
) -> Result<Response, PageError> {
    let id = super::parse_id(&id)?;
    let n = super::parse_id(&n)? as usize;
    let inline = match super::given(&q.inline) {
        None | Some("0") => false,
        Some("1") => true,
        Some(_) => return Err(PageError::BadRequest("inline 应为 0 或 1".into())),
    };
    let _permit = app.heavy.acquire().await.map_err(|e| PageError::Internal(e.to_string()))?;
    let a = app.clone();
    let found = tokio::task::spawn_blocking(move || find(&a, id, n))
        .await
        .map_err(|e| PageError::Internal(e.to_string()))??;
    let Some(f) = found else { return Err(PageError::NotFound(format!("邮件 #{id} 没有第 {n} 个附件"))) };
    let (content_type, inline) = match (inline, viewable(&f.head)) {
        (true, Some((t, _))) => (t, true),
        (false, Some((t, _))) => (t, false),
        _ => ("application/octet-stream", false),
    };
    let streamed = matches!(f.body, Body::Run(..));
    tracing::info!(stage = "web", id, n, user = %s.user, size = f.len, streamed, "attachment downloaded");
    let name = if f.filename.trim().is_empty() { format!("attachment-{n}") } else { f.filename };
    let body = match f.body {
        Body::Bytes(b) => download::bytes_body(b),
        Body::Run(start, end) => download::base64_body(app.clone(), id, start, end),
    };
    Ok(download::download(body, content_type, &name, inline, Some(f.len)))
}

/// Attachment `n` of message `id`: from its skeleton, else from the whole parsed mail.
fn find(app: &App, id: i64, n: usize) -> Result<Option<Found>, PageError> {
    let Some(skel) = app.bulk.with(|c| skeleton::load_cached(&app.skeletons, c, id))? else { return Ok(None) };
    let mail = skeleton::parse(&skel, &app.cfg.limits);
    let files = flat(&mail);
    let Some(a) = n.checked_sub(1).and_then(|i| files.get(i)) else { return Ok(None) };
    let found = match skel.source(a) {
        Source::Whole => Found {
            filename: a.filename.clone(),
            head: a.bytes.iter().take(16).copied().collect(),
            len: a.bytes.len() as u64,
            body: Body::Bytes(a.bytes.clone()),
        },
        Source::Streamed(run) => Found {
            filename: a.filename.clone(),
            head: a.bytes.iter().take(16).copied().collect(),
            len: run.decoded_len,
            body: Body::Run(run.start, run.end),
        },
        Source::Unsure => {
            drop(mail);
            return whole(app, id, n);
        }
    };
    Ok(Some(found))
}

/// Attachment `n` taken out of the whole parsed mail (memory: the mail, parsed).
fn whole(app: &App, id: i64, n: usize) -> Result<Option<Found>, PageError> {
    let Some(raw) = app.bulk.with(|c| store::messages::raw(c, id))? else { return Ok(None) };
    let mut mail = parse::parse(&raw, &app.cfg.limits);
    drop(raw);
    let Some(mut index) = n.checked_sub(1) else { return Ok(None) };
    // Take the attachment out of the parsed mail rather than copying it.
    fn take(mail: &mut Mail, index: &mut usize) -> Option<Attachment> {
        if *index < mail.attachments.len() {
            return Some(mail.attachments.swap_remove(*index));
        }
        *index -= mail.attachments.len();
        mail.forwarded.iter_mut().find_map(|inner| take(inner, index))
    }
    Ok(take(&mut mail, &mut index).map(|a| Found {
        filename: a.filename,
        head: a.bytes.iter().take(16).copied().collect(),
        len: a.bytes.len() as u64,
        body: Body::Bytes(a.bytes),
    }))
}
