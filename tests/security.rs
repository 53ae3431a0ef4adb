//! Security review points (issue 6): secrets never in the log, owner-only files and folders,
//! replies only to the envelope sender (Reply-To only within the sender's domain).

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use mail_intake::reply::{ReplyContext, plan, recipient};
use mail_intake::{JudgeOptions, Rules, judge};

use crate::support::build::{ExpertForm, Mail, scan_pdf};

const IMAP_SECRET: &str = "imap-Hunter2-授权码-SECRET";
const SMTP_SECRET: &str = "smtp-Correct-Horse-SECRET";

/// A one-shot IMAP server on loopback that greets, records the LOGIN line and refuses it.
fn refusing_imap_server() -> (u16, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else { return String::new() };
        let mut out = stream.try_clone().expect("clone");
        let _ = out.write_all(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] fake ready\r\n");
        let mut lines = BufReader::new(stream);
        let mut seen = String::new();
        let mut line = String::new();
        while lines.read_line(&mut line).is_ok_and(|n| n > 0) {
            seen.push_str(&line);
            let tag = line.split_whitespace().next().unwrap_or("*").to_string();
            let upper = line.to_ascii_uppercase();
            let answer = if upper.contains(" LOGIN ") {
                format!("{tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n")
            } else if upper.contains(" LOGOUT") {
                format!("* BYE\r\n{tag} OK bye\r\n")
            } else {
                format!("{tag} BAD unexpected\r\n")
            };
            let _ = out.write_all(answer.as_bytes());
            if upper.contains(" LOGIN ") || upper.contains(" LOGOUT") {
                break;
            }
            line.clear();
        }
        seen
    });
    (port, handle)
}

#[test]
fn secrets_never_reach_the_log_even_at_trace() {
    let (port, server) = refusing_imap_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let pw_file = dir.path().join("smtp-password");
    std::fs::write(&pw_file, format!("{SMTP_SECRET}\n")).expect("password file");
    let config = dir.path().join("mail-intake.toml");
    std::fs::write(
        &config,
        format!(
            "[mailbox]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nuser = \"office@example.edu.cn\"\npassword = \"{IMAP_SECRET}\"\nid = false\n\n[smtp]\nhost = \"127.0.0.1\"\nport = 1\ntls = \"none\"\nuser = \"office@example.edu.cn\"\npassword_file = \"{}\"\nfrom = \"office@example.edu.cn\"\n\n[store]\npath = \"store/x.sqlite3\"\n",
            pw_file.display()
        ),
    )
    .expect("config");
    let out = Command::new(env!("CARGO_BIN_EXE_mail-intake"))
        .args(["run", "--once", "--config", config.to_str().expect("utf-8")])
        .env("RUST_LOG", "trace")
        .output()
        .expect("run");
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let received = server.join().expect("server");
    // The password did go over the wire (so a protocol trace would have shown it)…
    assert!(received.contains(IMAP_SECRET), "the fake server saw no LOGIN: {received:?}\nlog: {log}");
    assert!(!out.status.success(), "a refused login ends `run --once` with an error");
    // …and the log, at trace level, says what failed without saying the password.
    assert!(log.contains("refused the login"), "{log}");
    for secret in [IMAP_SECRET, SMTP_SECRET] {
        let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
        assert!(!log.contains(secret) && !log.contains(&b64), "a secret in the log:\n{log}");
    }
    // `config check` prints the configuration without them.
    let out = crate::support::mail_intake(&["config", "check", "--config", config.to_str().expect("utf-8")]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!text.contains(IMAP_SECRET) && !text.contains(SMTP_SECRET), "{text}");
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777
}

#[test]
fn store_outbox_and_export_folders_are_owner_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path();
    let inbox = work.join("inbox");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(inbox.join(sub)).expect("maildir");
    }
    let mail = Mail::new("专家推荐+昆明学院+张三")
        .attach("推荐表.docx", ExpertForm::new("张三", "昆明学院").docx())
        .attach("扫描件.pdf", scan_pdf());
    std::fs::write(inbox.join("cur/1678000001.M1P1.host:2,"), mail.build()).expect("mail");
    let config = work.join("mail-intake.toml");
    std::fs::write(
        &config,
        "[maildir]\npath = \"inbox\"\n\n[outbox_dir]\npath = \"replies/outbox\"\nfrom = \"省学分银行 <office@example.edu.cn>\"\n\n[store]\npath = \"var/lib/mail-intake.sqlite3\"\n\n[reply]\nreply_since = \"2023-01-01\"\n",
    )
    .expect("config");
    let out = crate::support::mail_intake(&["run", "--config", config.to_str().expect("utf-8"), "--once"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    for folder in ["var", "var/lib", "replies", "replies/outbox"] {
        assert_eq!(mode(&work.join(folder)), 0o700, "{folder}");
    }
    assert_eq!(mode(&work.join("var/lib/mail-intake.sqlite3")) & 0o077, 0, "the store file");
    let replies: Vec<_> = std::fs::read_dir(work.join("replies/outbox")).expect("outbox").flatten().collect();
    assert_eq!(replies.len(), 1);
    for r in replies {
        assert_eq!(mode(&r.path()), 0o600, "{}", r.path().display());
    }

    // Export folders and files (the export module's writers).
    let export = work.join("export/2023/register.xlsx");
    mail_intake::export::write_private_file(&export, b"xlsx bytes").expect("export");
    assert_eq!(mode(&work.join("export")), 0o700);
    assert_eq!(mode(&work.join("export/2023")), 0o700);
    assert_eq!(mode(&export), 0o600);
    let out = crate::support::mail_intake(&[
        "export",
        "--config",
        config.to_str().expect("utf-8"),
        "--attachments",
        work.join("files/attachments").to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut stack = vec![work.join("files")];
    while let Some(d) = stack.pop() {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
        for e in std::fs::read_dir(&d).expect("export folder").flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                assert_eq!(mode(&e.path()), 0o600, "{}", e.path().display());
            }
        }
    }

    // `show` prints the stored message, and no secret of a configuration that has some.
    let secret_config = work.join("with-secrets.toml");
    std::fs::write(
        &secret_config,
        format!(
            "[mailbox]\nhost = \"imap.example.edu.cn\"\nuser = \"office@example.edu.cn\"\npassword = \"{IMAP_SECRET}\"\n\n[smtp]\nhost = \"smtp.example.edu.cn\"\nuser = \"office@example.edu.cn\"\npassword = \"{SMTP_SECRET}\"\nfrom = \"office@example.edu.cn\"\n\n[store]\npath = \"var/lib/mail-intake.sqlite3\"\n"
        ),
    )
    .expect("config");
    for args in [&["show", "1"][..], &["show", "1", "--json"], &["list"], &["stats"]] {
        let mut all = args.to_vec();
        all.extend(["--config", secret_config.to_str().expect("utf-8")]);
        let out = crate::support::mail_intake(&all);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{args:?}: {text}");
        assert!(!text.contains(IMAP_SECRET) && !text.contains(SMTP_SECRET), "a secret in {args:?}: {text}");
    }
}

// ---------------------------------------------------------------------------------------
// Replies go to the envelope sender only.

fn ctx(rules: &Rules) -> ReplyContext<'_> {
    ReplyContext {
        rules,
        from: "省学分银行 <office@example.edu.cn>",
        enabled: true,
        reply_since: DateTime::parse_from_rfc3339("2023-01-01T00:00:00Z").expect("date").with_timezone(&Utc),
        recent_to_recipient: 0,
        max_per_sender_per_day: 20,
    }
}

/// Plans the reply to `raw` and returns (recipient, raw reply).
fn reply_to(raw: &[u8]) -> (String, String) {
    let rules = Rules::embedded();
    let v = judge("r.eml", raw, &rules, &JudgeOptions::default());
    let r = plan(raw, &v, None, &ctx(&rules)).expect("plan").expect("a reply is due");
    (r.recipient, String::from_utf8_lossy(&r.raw).into_owned())
}

/// A complete submission whose body, form and file names all carry other addresses.
fn submission() -> Mail {
    Mail::new("专家推荐+昆明学院+张三")
        .header("Return-Path: <jwc@school.edu.cn>")
        .body("老师您好：\r\n回执请发到 receipts@phish.example.cn 或 mailto:other@gmail.com，谢谢！\r\nReply-To: attacker@evil.example\r\n")
        .attach("推荐表 回复至 boss@elsewhere.cn.docx", ExpertForm::new("张三", "昆明学院").docx())
        .attach("扫描件.pdf", scan_pdf())
}

#[test]
fn addresses_in_the_body_or_attachments_are_never_used() {
    let (to, reply) = reply_to(&submission().build());
    assert_eq!(to, "jwc@school.edu.cn");
    let headers = &reply[..reply.find("\r\n\r\n").unwrap_or(reply.len())];
    for other in ["phish.example.cn", "gmail.com", "evil.example", "elsewhere.cn", "expert@school.edu.cn"] {
        assert!(!headers.contains(other), "{other} in the reply's headers:\n{headers}");
    }
    assert!(headers.contains("To: jwc@school.edu.cn"), "{headers}");
}

#[test]
fn reply_to_is_honoured_only_within_the_from_domain() {
    let with = |reply_to: &str| {
        submission()
            .from("=?UTF-8?B?5pWZ5Yqh5aSE?= <jwc@school.edu.cn>")
            .header(&format!("Reply-To: {reply_to}"))
            .build()
    };
    // Same domain: a colleague's box the school's mail system routes replies to.
    assert_eq!(reply_to(&with("wang@school.edu.cn")).0, "wang@school.edu.cn");
    assert_eq!(reply_to(&with("Wang <WANG@School.EDU.cn>")).0, "wang@school.edu.cn");
    // Another domain, a look-alike, a subdomain, a list of several: the envelope sender.
    for other in [
        "receipts@phish.example.cn",
        "jwc@school.edu.cn.evil.example",
        "jwc@mail.school.edu.cn",
        "jwc@school-edu.cn",
        "\"jwc@school.edu.cn\" <x@evil.example>",
        "x@evil.example, wang@school.edu.cn",
    ] {
        assert_eq!(reply_to(&with(other)).0, "jwc@school.edu.cn", "Reply-To: {other}");
    }
}

/// Review finding: mail-parser's `return_path()` is the *last* `Return-Path`, so a sender who
/// wrote their own below the one the delivering server prepends chose where replies went.
#[test]
fn only_the_return_path_the_delivering_server_added_counts() {
    let mut raw = b"Return-Path: <jwc@school.edu.cn>\r\n".to_vec();
    raw.extend(submission().header("Return-Path: <victim@evil.example>").build());
    let (to, reply) = reply_to(&raw);
    assert_eq!(to, "jwc@school.edu.cn");
    assert!(!reply.contains("evil.example"));
}

#[test]
fn without_return_path_the_from_address_is_the_envelope_sender() {
    let raw = Mail::new("专家推荐+昆明学院+张三")
        .header("Reply-To: receipts@phish.example.cn")
        .attach("推荐表.docx", ExpertForm::new("张三", "昆明学院").docx())
        .build();
    assert_eq!(recipient(&raw).as_deref(), Some("jwc@school.edu.cn"));
}

#[test]
fn a_subject_cannot_inject_headers_into_the_reply() {
    let raw = Mail::new("专家推荐+昆明学院+张三\r\nBcc: victim@evil.example\r\nX-Injected: 1")
        .header("Return-Path: <jwc@school.edu.cn>")
        .build();
    let (to, reply) = reply_to(&raw);
    assert_eq!(to, "jwc@school.edu.cn");
    for line in reply.lines() {
        assert!(!line.starts_with("Bcc:") && !line.starts_with("X-Injected:"), "injected header: {line}");
    }
}
