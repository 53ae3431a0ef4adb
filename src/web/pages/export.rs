//! `/export`: the register as `.xlsx` and the attachments as a `.zip` — the same content as
//! `mail-intake export --xlsx` and `--attachments` (the same functions write them). The zip is
//! built in a private temporary folder, then streamed from disk and removed.

use std::io::Write as _;
use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use minijinja::context;

use super::super::App;
use super::super::auth::{Session, token};
use super::super::download;
use super::super::render::PageError;
use crate::export::{self, attachments};

/// `GET /export`.
pub async fn page(State(app): State<Arc<App>>, Extension(s): Extension<Session>) -> Result<Response, PageError> {
    super::render(&app, &s, "export", "export.html", context! { title => "导出" })
}

fn stamp(app: &App) -> String {
    chrono::Utc::now().with_timezone(&app.rules.timezone).format("%Y%m%d-%H%M").to_string()
}

/// `GET /export/register.xlsx`.
pub async fn xlsx(State(app): State<Arc<App>>, Extension(s): Extension<Session>) -> Result<Response, PageError> {
    let _permit = app.heavy.acquire().await.map_err(|e| PageError::Internal(e.to_string()))?;
    let a = app.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        a.bulk.with(|c| Ok(export::register_xlsx(c, &a.rules))).map_err(PageError::from)?.map_err(PageError::from)
    })
    .await
    .map_err(|e| PageError::Internal(e.to_string()))??;
    tracing::info!(stage = "web", user = %s.user, size = bytes.len(), "register exported");
    let len = bytes.len() as u64;
    Ok(download::download(
        download::bytes_body(bytes),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &format!("登记表-{}.xlsx", stamp(&app)),
        false,
        Some(len),
    ))
}

/// Writes the attachment export into a fresh private folder and zips it; returns the open
/// zip file (its folder already removed) and its size.
fn build_zip(app: &App) -> Result<(std::fs::File, u64), PageError> {
    let id = token();
    if id.is_empty() {
        return Err(PageError::Internal("no random bytes for a temporary folder".into()));
    }
    let dir = std::env::temp_dir().join(format!("mail-intake-web-{}", &id[..16]));
    let result = (|| {
        export::create_private_dir_all(&dir)?;
        let files = dir.join("files");
        let done =
            app.bulk.with(|c| Ok(attachments::export_attachments(c, &app.rules, &app.cfg.limits, &files, false)))??;
        let zip_path = dir.join("attachments.zip");
        let out = export::new_private_file(&zip_path).map_err(|e| PageError::Internal(e.to_string()))?;
        let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(out));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        for relative in &done.written {
            let name = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            zip.start_file(name, options).map_err(|e| PageError::Internal(e.to_string()))?;
            let mut f = std::fs::File::open(files.join(relative)).map_err(|e| PageError::Internal(e.to_string()))?;
            std::io::copy(&mut f, &mut zip).map_err(|e| PageError::Internal(e.to_string()))?;
        }
        let mut w = zip.finish().map_err(|e| PageError::Internal(e.to_string()))?;
        w.flush().map_err(|e| PageError::Internal(e.to_string()))?;
        drop(w);
        let f = std::fs::File::open(&zip_path).map_err(|e| PageError::Internal(e.to_string()))?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        Ok((f, len))
    })();
    // The open file stays readable; the folder goes now, whatever happened.
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// `GET /export/attachments.zip`.
pub async fn zip(State(app): State<Arc<App>>, Extension(s): Extension<Session>) -> Result<Response, PageError> {
    let _permit = app.heavy.acquire().await.map_err(|e| PageError::Internal(e.to_string()))?;
    let a = app.clone();
    let (file, len) =
        tokio::task::spawn_blocking(move || build_zip(&a)).await.map_err(|e| PageError::Internal(e.to_string()))??;
    tracing::info!(stage = "web", user = %s.user, size = len, "attachments exported");
    Ok(download::download(
        download::file_body(file),
        "application/zip",
        &format!("附件-{}.zip", stamp(&app)),
        false,
        Some(len),
    ))
}
