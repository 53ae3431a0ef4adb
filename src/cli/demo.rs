//! `mail-intake demo`: the daemon's main job on a bundled sample inbox, with no mail server —
//! a Maildir source and replies written as files — then the register, the replies, and what
//! tomorrow's digest will say.

use crate::store;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use tokio::sync::watch;

use super::demo_inbox::INBOX;
use crate::config::Config;
use crate::store::Store;

fn config_text() -> String {
    String::from(
        r#"# Written by `mail-intake demo`: the embedded default (no mail server needed).
[maildir]
path = "inbox"

[outbox_dir]
path = "outbox"
from = "省学分银行 <office@example.edu.cn>"

[store]
path = "mail-intake.sqlite3"

[reply]
# The sample mails are from March 2023: answer them.
reply_since = "2023-01-01"
"#,
    )
}

/// Runs the demo in `dir` (made afresh); with `serve`, then serves the register in a browser
/// on `listen` until Ctrl-C.
pub fn run(dir: &Path, serve: bool, listen: &str) -> anyhow::Result<ExitCode> {
    let addr: std::net::SocketAddr =
        listen.parse().with_context(|| format!("--listen {listen}: expected an address like 127.0.0.1:8025"))?;
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    let inbox = dir.join("inbox");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(inbox.join(sub)).with_context(|| format!("cannot create {}", inbox.display()))?;
    }
    for (name, raw) in INBOX {
        let path = inbox.join("cur").join(name);
        std::fs::write(&path, raw).context("cannot write the sample inbox")?;
        // Maildir delivery time (what Dovecot reports as INTERNALDATE) is the file's mtime;
        // the name starts with it.
        if let Some(secs) = name.split('.').next().and_then(|n| n.parse::<u64>().ok()) {
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
            std::fs::File::options().write(true).open(&path).and_then(|f| f.set_modified(t)).ok();
        }
    }
    let config_path = dir.join("mail-intake.toml");
    std::fs::write(&config_path, config_text()).context("cannot write the demo configuration")?;
    let cfg = Config::load(&config_path)?;
    let web_cfg = cfg.clone();
    let rules = super::load_rules(None)?;
    let store_path = cfg.store_path.clone();
    let outbox: PathBuf = dir.join("outbox");

    println!("mail-intake demo — {} sample mails in {}\n", INBOX.len(), inbox.display());
    let started = std::time::Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let rules2 = rules.clone();
    let summary = runtime.block_on(async move {
        let (_tx, rx) = watch::channel(false);
        crate::daemon::run(cfg, rules2, true, rx).await
    })?;
    println!(
        "daemon run: stored {} message(s), judged {}, wrote {} reply(ies) in {:.1} s\n",
        summary.stored,
        summary.judged,
        summary.replies_sent,
        started.elapsed().as_secs_f64()
    );

    let store = Store::open(&store_path)?;
    let rows = store.with(|c| store::verdicts::register(c))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "== The register ({})", store_path.display())?;
    for r in &rows {
        let who = r.expert_name.as_deref().or(r.category.as_deref()).unwrap_or("");
        let mut notes: Vec<String> = r.errors.clone();
        notes.extend(r.warnings.iter().cloned());
        writeln!(
            out,
            "#{:<3} {:<18} {:<22} {:<14} {:<10} reply: {:<10} {}",
            r.id,
            r.decision,
            r.kind.as_deref().unwrap_or("-"),
            r.school.as_deref().unwrap_or("-"),
            who,
            r.reply_state.map_or("-", |s| s.as_str()),
            notes.join(", ")
        )?;
    }

    writeln!(out, "\n== The submissions (what the office counts: one per school and expert / 专业大类 / summary)")?;
    let dossiers = store.with(|c| crate::register::view::dossiers(c, &Default::default(), &rules))?;
    for d in &dossiers {
        let mails: Vec<String> = d.messages.iter().map(|m| format!("#{m}")).collect();
        writeln!(
            out,
            "S{:<3} {:<10} {:<22} {:<14} {:<10} mails {:<8} {}",
            d.id,
            d.state,
            d.kind,
            d.school.as_deref().unwrap_or("-"),
            d.expert_name.as_deref().or(d.category.as_deref()).unwrap_or(""),
            mails.join(" "),
            d.errors.iter().chain(&d.warnings).cloned().collect::<Vec<_>>().join(", ")
        )?;
    }

    writeln!(out, "\n== The replies ({})", outbox.display())?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&outbox)
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "eml")).collect())
        .unwrap_or_default();
    files.sort();
    for f in &files {
        let raw = std::fs::read(f)?;
        if let Some(m) = mail_parser::MessageParser::default().parse(&raw) {
            let to = m.to().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or("");
            writeln!(out, "-- To: {to}\n   Subject: {}", m.subject().unwrap_or(""))?;
            if let Some(body) = m.body_text(0) {
                for line in body.lines().filter(|l| !l.trim().is_empty()).take(8) {
                    writeln!(out, "   | {line}")?;
                }
            }
        }
    }

    // The digest as the office would get it the morning after the newest mail.
    let newest = rows
        .iter()
        .filter_map(|r| r.arrived.as_deref())
        .filter_map(|a| chrono::DateTime::parse_from_rfc3339(a).ok())
        .max()
        .map(|a| a.with_timezone(&rules.timezone).date_naive() + chrono::Duration::days(1))
        .unwrap_or_else(|| chrono::Utc::now().with_timezone(&rules.timezone).date_naive());
    let digest = store.with(|c| Ok(crate::digest::Digest::compute(c, &rules, newest, chrono::Utc::now())))??;
    let html_path = dir.join("digest.html");
    std::fs::write(&html_path, crate::digest::render_html(&digest)?).context("cannot write the digest")?;
    writeln!(out, "\n== The digest-to-be (for {newest}; as HTML in {})", html_path.display())?;
    for line in crate::digest::render_text(&digest)?.lines() {
        writeln!(out, "  {line}")?;
    }
    writeln!(out, "\nEverything is in {} — run it again any time; it starts afresh.", dir.display())?;
    if !serve {
        writeln!(out, "To see the register in a browser: mail-intake demo --serve (cargo run -- demo --serve)")?;
        return Ok(ExitCode::SUCCESS);
    }
    drop(out);
    let mut cfg = web_cfg;
    let hash =
        crate::web::auth::hash_password("demo").map_err(|e| anyhow::anyhow!("cannot hash the demo password: {e}"))?;
    cfg.web.users = vec![crate::web::config::User {
        name: "demo".into(),
        role: crate::web::config::Role::Admin,
        password_hash: hash,
    }];
    let app = crate::web::App::new(cfg, rules, config_path.display().to_string())?;
    super::web::serve_until_stopped(app, addr, true, " — log in as demo / demo (admin); Ctrl-C stops")?;
    Ok(ExitCode::SUCCESS)
}
