//! `mail-intake config check --connect`: logs in as the daemon would and reports what it
//! found — the server's extensions, every folder (decoded), the folder the daemon will read,
//! the folder it will use as Sent and why, and whether the provider files SMTP-sent mail
//! into Sent itself. Read-only: EXAMINE, never SELECT; nothing is created or flagged.

use std::fmt::Write as _;
use std::time::Duration;

use super::IntakeError;
use super::imap::{discover_sent, login};
use super::mutf7;
use crate::config::ImapConfig;
use crate::config::presets::SentFiling;

/// The report, one fact per line, for people.
pub async fn report(cfg: &ImapConfig, timeout: Duration, smtp: bool) -> Result<String, IntakeError> {
    let mut session = login(cfg, timeout).await?;
    let mut out = String::new();
    let caps = tokio::time::timeout(timeout, session.capabilities())
        .await
        .map_err(|_| IntakeError::Lost("CAPABILITY: no answer".into()))?
        .map_err(|e| IntakeError::Io(format!("CAPABILITY: {e}")))?;
    let wanted = ["IDLE", "ID", "MOVE", "UIDPLUS", "SPECIAL-USE", "LIST-EXTENDED", "CONDSTORE"];
    let has: Vec<&str> = wanted.iter().copied().filter(|c| caps.has_str(*c)).collect();
    let _ = writeln!(out, "  logged in: {}@{}:{} ({:?})", cfg.user, cfg.host, cfg.port, cfg.tls);
    let _ = writeln!(
        out,
        "  server offers: {}",
        if has.is_empty() { "none of IDLE, ID, MOVE, SPECIAL-USE".into() } else { has.join(" ") }
    );
    let (folders, choice) = discover_sent(&mut session, cfg, timeout).await?;
    let _ = writeln!(out, "  folders ({}):", folders.len());
    for f in &folders {
        let attrs: Vec<&str> = f.attributes.iter().map(String::as_str).filter(|a| !a.starts_with("\\Has")).collect();
        let wire = if f.wire != f.name { format!("  [on the wire: {}]", f.wire) } else { String::new() };
        let _ = writeln!(out, "    {}  {}{}", f.name, attrs.join(" "), wire);
    }
    let wire = mutf7::encode(&cfg.folder);
    match tokio::time::timeout(timeout, session.examine(&wire)).await {
        Ok(Ok(m)) => {
            let _ = writeln!(
                out,
                "  reads:  “{}” ({} message(s), UIDVALIDITY {})",
                cfg.folder,
                m.exists,
                m.uid_validity.map(|v| v.to_string()).unwrap_or_else(|| "none".into())
            );
        }
        Ok(Err(e)) => {
            let _ = writeln!(out, "  reads:  “{}” — CANNOT OPEN IT: {e}; check [mailbox] folder", cfg.folder);
        }
        Err(_) => {
            let _ = writeln!(out, "  reads:  “{}” — no answer to EXAMINE", cfg.folder);
        }
    }
    let _ = writeln!(out, "  Sent:   “{}” — {}", choice.name, choice.why);
    if let Some(w) = &choice.warning {
        let _ = writeln!(out, "  note:   {w}");
    }
    let filing = cfg.provider.map(|p| p.files_sent).unwrap_or(SentFiling::Unknown);
    let _ = writeln!(out, "  provider files SMTP-sent mail in Sent itself: {}", filing.describe());
    let copy = if !smtp {
        "replies are written as files ([outbox_dir]); no Sent copy, no proof copy".to_string()
    } else {
        let mut s = if cfg.append_sent {
            "mail-intake appends a copy of each reply to Sent (append_sent = true)".to_string()
        } else {
            "mail-intake leaves the Sent copy to the provider (append_sent = false)".to_string()
        };
        if cfg.proof_copy {
            s.push_str("; each reply also goes to the office's own address as proof of acceptance (proof_copy = true), flagged read on arrival");
        }
        if cfg.append_sent && filing == SentFiling::Always {
            s.push_str("; WARNING: this provider files its own copy too, so each reply will be in Sent twice (set append_sent = false)");
        }
        s
    };
    let _ = writeln!(out, "  replies: {copy}");
    let _ = tokio::time::timeout(Duration::from_secs(5), session.logout()).await;
    Ok(out)
}
