//! The daemon against a real Dovecot (IMAP, IDLE) and Postfix (SMTP → LMTP → Dovecot):
//! submissions delivered by SMTP get exactly one reply of the right kind in the sender's
//! mailbox; automatic mail gets none; a kill -9 mid-backlog loses nothing and answers nothing
//! twice; the daemon survives the IMAP server restarting; TLS and STARTTLS work with a
//! private CA given as `ca_file`.

use mail_intake::store;
use std::process::Command;
use std::time::{Duration, Instant};

use mail_intake::store::Store;

use crate::support::daemon::{Daemon, PLAIN, Setup, demo, write_config};
use crate::support::mailserver::{MailServer, OFFICE, SCHOOLS};

const SCHOOL1: &str = SCHOOLS[0];
const SCHOOL2: &str = SCHOOLS[1];

fn subjects(server: &MailServer, user: &str) -> Vec<String> {
    server
        .messages(user, "INBOX")
        .iter()
        .filter_map(|raw| mail_parser::MessageParser::default().parse(raw).and_then(|m| m.subject().map(String::from)))
        .collect()
}

/// Waits until `user` has `n` messages, then a little longer to catch any extra one.
fn settle(server: &MailServer, user: &str, n: usize, daemon: &Daemon) {
    assert!(
        server.wait_for(user, "INBOX", n, Duration::from_secs(60)),
        "{user} has {} message(s), expected {n}; daemon log:\n{}",
        server.count_messages(user, "INBOX"),
        daemon.log_text()
    );
    std::thread::sleep(Duration::from_secs(2));
}

#[test]
fn submissions_get_exactly_one_reply_and_automatic_mail_none() {
    let Some(server) = MailServer::start_or_skip("submissions_get_exactly_one_reply_and_automatic_mail_none") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&server, dir.path(), PLAIN);
    let daemon = Daemon::start(&config, &dir.path().join("daemon.log"));
    std::thread::sleep(Duration::from_millis(500));

    let t0 = Instant::now();
    server.send(&demo(0, SCHOOL1, "ok-1"), SCHOOL1, OFFICE);
    settle_first(&server, SCHOOL1, &daemon);
    let latency = t0.elapsed();
    eprintln!(
        "reply latency with IDLE on loopback: {latency:?} (from SMTP acceptance to the reply in the school's Maildir)"
    );

    server.send(&demo(2, SCHOOL1, "scan-missing"), SCHOOL1, OFFICE);
    server.send(&demo(7, SCHOOL2, "question"), SCHOOL2, OFFICE);
    server.send(&demo(8, SCHOOL2, "vacation"), SCHOOL2, OFFICE);
    let bounce = format!(
        "From: MAILER-DAEMON@school2.example.cn (Mail Delivery System)\r\nTo: {OFFICE}\r\nSubject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <bounce-1@school2.example.cn>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nmailbox unavailable\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; nobody@school2.example.cn\r\nAction: failed\r\nStatus: 5.1.1\r\n--b--\r\n"
    );
    server.send(bounce.as_bytes(), "", OFFICE);
    settle(&server, SCHOOL1, 2, &daemon);

    let s1 = subjects(&server, SCHOOL1);
    assert_eq!(s1.len(), 2, "exactly one reply per submission: {s1:?}");
    assert!(s1.iter().any(|s| s.starts_with("回执：专家推荐+昆明学院+张明")), "{s1:?}");
    assert!(s1.iter().any(|s| s.starts_with("请更正：专家推荐+曲靖财经学校+王芳")), "{s1:?}");
    assert_eq!(server.count_messages(SCHOOL2, "INBOX"), 0, "a question and an auto-reply get no automatic reply");

    // Threading headers and the marker of automatic replies.
    let replies = server.messages(SCHOOL1, "INBOX");
    let text = String::from_utf8_lossy(&replies[0]).to_string();
    assert!(text.contains("Auto-Submitted: auto-replied"), "{text}");
    assert!(text.contains("In-Reply-To: <"), "{text}");

    // Staff see the replies in Sent and the keywords on the judged mail.
    assert!(server.wait_for(OFFICE, "Sent", 2, Duration::from_secs(20)), "replies appended to Sent");
    let mut imap = server.imap_login(OFFICE);
    imap.command("SELECT INBOX");
    let flags = imap.command("FETCH 1:* (FLAGS)");
    // Each reply also reached the office's INBOX as its proof of acceptance (proof_copy,
    // on by default with append_sent): flagged read with its own keyword, never judged.
    let (proofs, mail): (Vec<&String>, Vec<&String>) =
        flags.lines.iter().filter(|l| l.contains("FETCH")).partition(|l| l.contains("$MailIntakeSent"));
    assert_eq!(proofs.len(), 2, "one proof copy per reply: {:?}", flags.lines);
    assert!(proofs.iter().all(|l| l.contains("\\Seen")), "proof copies are flagged read: {proofs:?}");
    let marked = mail.iter().filter(|l| l.contains("$MailIntake")).count();
    assert_eq!(marked, 5, "every judged message carries the keyword: {:?}", flags.lines);
    assert!(mail.iter().all(|l| !l.contains("\\Seen")), "the daemon never sets \\Seen on mail: {:?}", flags.lines);
    imap.logout();

    let status = daemon.stop();
    assert!(status.success(), "clean exit on SIGTERM");
    let store = Store::open(&dir.path().join("store.sqlite3")).unwrap();
    let (messages, judged, failed, sent) = store.with(|c| store::verdicts::counts(c)).unwrap();
    assert_eq!((messages, judged, failed, sent), (5, 5, 0, 2));
}

fn settle_first(server: &MailServer, user: &str, daemon: &Daemon) {
    assert!(
        server.wait_for(user, "INBOX", 1, Duration::from_secs(60)),
        "no reply arrived; daemon log:\n{}",
        daemon.log_text()
    );
}

#[test]
fn kill_nine_mid_backlog_loses_nothing_and_answers_nothing_twice() {
    // The server files what the office sends into its Sent folder at acceptance (as QQ/163
    // do): that copy is how an interrupted send is known to have been accepted.
    let Some(server) =
        MailServer::start_with_sent_copies_or_skip("kill_nine_mid_backlog_loses_nothing_and_answers_nothing_twice")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&server, dir.path(), Setup { server_sent_copies: true, ..PLAIN });
    let n = 24;
    for i in 0..n {
        // Alternate acknowledgements and correction requests.
        let which = if i % 2 == 0 { 0 } else { 2 };
        server.send(&demo(which, SCHOOL1, &format!("backlog-{i}")), SCHOOL1, OFFICE);
    }
    assert!(server.wait_for(OFFICE, "INBOX", n, Duration::from_secs(60)), "backlog delivered");

    let log = dir.path().join("daemon.log");
    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while server.count_messages(SCHOOL1, "INBOX") < n && Instant::now() < deadline {
        let mut daemon = Daemon::start(&config, &log);
        // Let it work a little, then pull the plug.
        std::thread::sleep(Duration::from_millis(300 + 150 * kills as u64));
        daemon.kill9();
        kills += 1;
        if kills >= 6 {
            break;
        }
    }
    // Finish cleanly.
    let daemon = Daemon::start(&config, &log);
    settle(&server, SCHOOL1, n, &daemon);
    let status = daemon.stop();
    assert!(status.success());

    let replies = server.count_messages(SCHOOL1, "INBOX");
    let store = Store::open(&dir.path().join("store.sqlite3")).unwrap();
    let (messages, judged, failed, sent) = store.with(|c| store::verdicts::counts(c)).unwrap();
    eprintln!(
        "backlog {n} mails, {kills} kill -9: stored {messages}, judged {judged}, failed {failed}, replies {replies}"
    );
    if replies != n {
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        let interesting: Vec<&str> = log
            .lines()
            .filter(|l| {
                l.contains("interrupted") || l.contains("retry") || l.contains("ERROR") || l.contains("starting")
            })
            .collect();
        eprintln!("daemon log (selected):\n{}", interesting.join("\n"));
    }
    assert_eq!(messages, n as i64, "every mail stored once");
    assert_eq!(judged, n as i64);
    assert_eq!(sent, n as i64);
    assert_eq!(replies, n, "every mail answered exactly once");
    assert_eq!(server.count_messages(OFFICE, "Sent"), n, "one server-side copy per reply");
}

#[test]
fn survives_the_imap_server_restarting() {
    let Some(server) = MailServer::start_or_skip("survives_the_imap_server_restarting") else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&server, dir.path(), PLAIN);
    let daemon = Daemon::start(&config, &dir.path().join("daemon.log"));
    server.send(&demo(0, SCHOOL1, "before-restart"), SCHOOL1, OFFICE);
    settle_first(&server, SCHOOL1, &daemon);

    server.restart_imap();
    server.send(&demo(4, SCHOOL1, "after-restart"), SCHOOL1, OFFICE);
    settle(&server, SCHOOL1, 2, &daemon);
    assert_eq!(server.count_messages(SCHOOL1, "INBOX"), 2);
    let status = daemon.stop();
    assert!(status.success());
}

fn tls_round(setup: Setup, name: &str) {
    let Some(server) = MailServer::start_or_skip(name) else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&server, dir.path(), setup);
    server.send(&demo(0, SCHOOL1, name), SCHOOL1, OFFICE);
    assert!(server.wait_for(OFFICE, "INBOX", 1, Duration::from_secs(30)));
    let out = Command::new(env!("CARGO_BIN_EXE_mail-intake"))
        .args(["run", "--config", config.to_str().unwrap(), "--once"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("sent 1 reply"), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(server.wait_for(SCHOOL1, "INBOX", 1, Duration::from_secs(30)));
}

#[test]
fn implicit_tls_with_a_private_ca() {
    tls_round(
        Setup { imap_tls: "tls", smtp_tls: "tls", smtp_auth: true, server_sent_copies: false },
        "implicit_tls_with_a_private_ca",
    );
}

#[test]
fn starttls_with_a_private_ca() {
    tls_round(
        Setup { imap_tls: "starttls", smtp_tls: "starttls", smtp_auth: true, server_sent_copies: false },
        "starttls_with_a_private_ca",
    );
}

#[test]
fn a_wrong_ca_is_refused_with_a_clear_error() {
    let Some(server) = MailServer::start_or_skip("a_wrong_ca_is_refused_with_a_clear_error") else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        &server,
        dir.path(),
        Setup { imap_tls: "tls", smtp_tls: "tls", smtp_auth: true, server_sent_copies: false },
    );
    let text = std::fs::read_to_string(&config).unwrap().replace(&server.ca_file.display().to_string(), "");
    std::fs::write(&config, text.replace("reconnect_max = \"2s\"", "reconnect_max = \"1s\"")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mail-intake"))
        .args(["run", "--config", config.to_str().unwrap(), "--once"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TLS") || err.contains("certificate"), "{err}");
}

#[test]
fn a_bounce_of_our_reply_marks_it_bounced() {
    let Some(server) = MailServer::start_or_skip("a_bounce_of_our_reply_marks_it_bounced") else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&server, dir.path(), PLAIN);
    let daemon = Daemon::start(&config, &dir.path().join("daemon.log"));
    server.send(&demo(0, SCHOOL1, "will-bounce"), SCHOOL1, OFFICE);
    settle_first(&server, SCHOOL1, &daemon);
    let reply = &server.messages(SCHOOL1, "INBOX")[0];
    let reply_id =
        mail_parser::MessageParser::default().parse(reply).and_then(|m| m.message_id().map(String::from)).unwrap();

    // The school's server later bounces it (as a DSN quoting the reply's headers).
    let dsn = format!(
        "From: MAILER-DAEMON@school1.example.cn (Mail Delivery System)\r\nTo: {OFFICE}\r\nSubject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <dsn-1@school1.example.cn>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nmailbox full\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; {SCHOOL1}\r\nAction: failed\r\nStatus: 5.2.2\r\n\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: {OFFICE}\r\nTo: {SCHOOL1}\r\nMessage-ID: <{reply_id}>\r\nSubject: reply\r\n\r\n--b--\r\n"
    );
    server.send(dsn.as_bytes(), "", OFFICE);
    let store_path = dir.path().join("store.sqlite3");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut state = String::new();
    while Instant::now() < deadline {
        let store = Store::open(&store_path).unwrap();
        state = store
            .with(|c| store::replies::replies_of(c, 1))
            .unwrap()
            .first()
            .map(|r| r.state.to_string())
            .unwrap_or_default();
        if state == "bounced" {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(state, "bounced", "daemon log:\n{}", daemon.log_text());
    assert_eq!(server.count_messages(SCHOOL1, "INBOX"), 1, "a bounce is never answered");
    assert!(daemon.stop().success());
}

#[test]
fn old_mail_is_recorded_but_not_answered() {
    let Some(server) = MailServer::start_or_skip("old_mail_is_recorded_but_not_answered") else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&server, dir.path(), PLAIN);
    // Everything already in the mailbox arrived before reply_since.
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(2)).format("%Y-%m-%d").to_string();
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("reply_since = \"2000-01-01\"", &format!("reply_since = \"{tomorrow}\""));
    std::fs::write(&config, text).unwrap();
    server.send(&demo(0, SCHOOL1, "old-1"), SCHOOL1, OFFICE);
    server.send(&demo(2, SCHOOL1, "old-2"), SCHOOL1, OFFICE);
    assert!(server.wait_for(OFFICE, "INBOX", 2, Duration::from_secs(30)));
    let out = Command::new(env!("CARGO_BIN_EXE_mail-intake"))
        .args(["run", "--config", config.to_str().unwrap(), "--once"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("stored 2 new message(s), judged 2, sent 0 reply(ies)"));
    let store = Store::open(&dir.path().join("store.sqlite3")).unwrap();
    let states: Vec<String> = store
        .with(|c| Ok(vec![store::replies::replies_of(c, 1)?, store::replies::replies_of(c, 2)?]))
        .unwrap()
        .into_iter()
        .flatten()
        .map(|r| r.state.to_string())
        .collect();
    assert_eq!(states, vec!["suppressed", "suppressed"]);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(server.count_messages(SCHOOL1, "INBOX"), 0);
}
