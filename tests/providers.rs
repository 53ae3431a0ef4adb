//! The office's real mailbox, emulated on our own Dovecot + Postfix: provider folder
//! layouts (163's `已发送`/`草稿箱`/`已删除` with SPECIAL-USE, Exmail's `Sent Messages`
//! without it), two folders flagged `\Sent`, none at all, a name with `&` and non-BMP
//! characters — each reply lands once in the right Sent folder; `config check --connect`
//! tells the office what it found; one IMAP session is held across polls (logins counted in
//! Dovecot's log) and a connection dropped mid-IDLE is reconnected.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::daemon::{Daemon, PLAIN, demo, write_config};
use crate::support::mailserver::{MailServer, OFFICE, SCHOOLS};

const SCHOOL1: &str = SCHOOLS[0];

/// The standard test configuration with `sent_folder = "Sent"` replaced by `extra` lines.
fn config_with(server: &MailServer, dir: &Path, extra: &str) -> PathBuf {
    let config = write_config(server, dir, PLAIN);
    let text = std::fs::read_to_string(&config).unwrap().replace("sent_folder = \"Sent\"\n", &format!("{extra}\n"));
    std::fs::write(&config, text).unwrap();
    config
}

/// One submission in, one reply out, then the reply's single copy in `sent` (and nothing in
/// any other folder named in `not_in`).
fn one_reply_lands_in(server: &MailServer, config: &Path, log: &Path, sent: &str, not_in: &[&str]) -> Daemon {
    let daemon = Daemon::start(config, log);
    server.send(&demo(0, SCHOOL1, "provider-1"), SCHOOL1, OFFICE);
    assert!(
        server.wait_for(SCHOOL1, "INBOX", 1, Duration::from_secs(60)),
        "no reply; daemon log:\n{}",
        daemon.log_text()
    );
    assert!(
        server.wait_for(OFFICE, sent, 1, Duration::from_secs(30)),
        "no copy in “{sent}”; daemon log:\n{}",
        daemon.log_text()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(server.count_messages(SCHOOL1, "INBOX"), 1, "one reply");
    assert_eq!(server.count_messages(OFFICE, sent), 1, "one copy in “{sent}”");
    for other in not_in {
        assert_eq!(server.count_messages(OFFICE, other), 0, "nothing in “{other}”");
    }
    daemon
}

fn connect_report(config: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mail-intake"))
        .args(["config", "check", "-c", config.to_str().unwrap(), "--connect"])
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    text
}

#[test]
fn a_163_layout_files_the_reply_in_its_sent_folder_once() {
    let Some(server) = MailServer::start_with_env_or_skip(
        "a_163_layout_files_the_reply_in_its_sent_folder_once",
        &[("MAIL_FOLDERS", "已发送=\\Sent;草稿箱=\\Drafts;已删除=\\Trash;垃圾邮件=\\Junk")],
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The preset (id on, Sent “已发送”); host, port and TLS from the file override it.
    let config = config_with(&server, dir.path(), "provider = \"163\"");
    let report = connect_report(&config);
    for expected in
        ["已发送", "草稿箱", "已删除", "&XfJT0ZAB-", "Sent:   “已发送”", "\\Sent (RFC 6154)", "客户端发信保存到已发送"]
    {
        assert!(report.contains(expected), "missing {expected:?} in:\n{report}");
    }
    let log = dir.path().join("daemon.log");
    let daemon = one_reply_lands_in(&server, &config, &log, "已发送", &["Sent"]);
    assert!(daemon.log_text().contains("Sent folder chosen"), "{}", daemon.log_text());
    assert!(daemon.stop().success());
}

#[test]
fn an_exmail_layout_without_special_use_uses_the_preset_name() {
    let Some(server) = MailServer::start_with_env_or_skip(
        "an_exmail_layout_without_special_use_uses_the_preset_name",
        &[("MAIL_FOLDERS", "Sent Messages;Drafts;Deleted Messages;Junk")],
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = config_with(&server, dir.path(), "provider = \"exmail\"");
    let report = connect_report(&config);
    assert!(report.contains("Sent:   “Sent Messages” — no folder is flagged \\Sent"), "{report}");
    assert!(report.contains("preset"), "{report}");
    let log = dir.path().join("daemon.log");
    let daemon = one_reply_lands_in(&server, &config, &log, "Sent Messages", &["Sent"]);
    let text = daemon.log_text();
    assert!(text.contains("flags no folder \\\\Sent") || text.contains("flags no folder \\Sent"), "{text}");
    assert!(daemon.stop().success());
}

#[test]
fn two_sent_folders_and_a_name_with_ampersand_and_emoji() {
    let odd = "回执&存档😀";
    let Some(server) = MailServer::start_with_env_or_skip(
        "two_sent_folders_and_a_name_with_ampersand_and_emoji",
        &[("MAIL_FOLDERS", &format!("Sent=\\Sent;{odd}=\\Sent;Drafts=\\Drafts"))],
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Two \Sent folders: the configured one wins, with a warning.
    let config = config_with(&server, dir.path(), &format!("sent_folder = \"{odd}\""));
    let report = connect_report(&config);
    assert!(report.contains(&format!("Sent:   “{odd}”")), "{report}");
    assert!(report.contains("2 folders are flagged \\Sent"), "{report}");
    let log = dir.path().join("daemon.log");
    let daemon = one_reply_lands_in(&server, &config, &log, odd, &["Sent"]);
    assert!(daemon.stop().success());
}

#[test]
fn no_sent_folder_at_all_creates_the_configured_one() {
    let Some(server) = MailServer::start_with_env_or_skip(
        "no_sent_folder_at_all_creates_the_configured_one",
        &[("MAIL_FOLDERS", "Drafts=\\Drafts")],
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = config_with(&server, dir.path(), "sent_folder = \"发件箱\"");
    let report = connect_report(&config);
    assert!(report.contains("“发件箱” will be created"), "{report}");
    let log = dir.path().join("daemon.log");
    let daemon = one_reply_lands_in(&server, &config, &log, "发件箱", &["Sent"]);
    assert!(daemon.log_text().contains("lists no Sent folder"), "{}", daemon.log_text());
    assert!(daemon.stop().success());
}

/// The quiet period: the "≤ 2 logins in 10 minutes at a 60 s poll interval" is 10
/// polls; here the poll interval is 1 s and the period 30 s (30 polls).
fn quiet_period_costs_few_logins(name: &str, idle: bool) {
    let Some(server) = MailServer::start_or_skip(name) else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&server, dir.path(), PLAIN);
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("poll_interval = \"3s\"", "poll_interval = \"1s\"")
        .replace("idle = true", &format!("idle = {idle}"));
    std::fs::write(&config, text).unwrap();
    let log = dir.path().join("daemon.log");
    let before = server.imap_logins(OFFICE);
    let daemon = Daemon::start(&config, &log);
    let quiet = Instant::now();
    while quiet.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(500));
    }
    let logins = server.imap_logins(OFFICE) - before;
    eprintln!("{name}: {logins} IMAP login(s) over a 30 s quiet period at a 1 s poll interval (idle = {idle})");
    assert!(logins >= 1, "the daemon never logged in; Dovecot log format changed? daemon log:\n{}", daemon.log_text());
    assert!(logins <= 2, "{logins} logins in a quiet period: one session must be held across polls");
    // A mail arriving now is still seen (by IDLE, or by the next poll) and answered.
    server.send(&demo(0, SCHOOL1, name), SCHOOL1, OFFICE);
    assert!(
        server.wait_for(SCHOOL1, "INBOX", 1, Duration::from_secs(30)),
        "the new mail was not answered; daemon log:\n{}",
        daemon.log_text()
    );
    assert!(daemon.stop().success());
}

#[test]
fn a_quiet_period_with_idle_costs_few_logins() {
    quiet_period_costs_few_logins("a_quiet_period_with_idle_costs_few_logins", true);
}

#[test]
fn a_quiet_period_polling_costs_few_logins() {
    quiet_period_costs_few_logins("a_quiet_period_polling_costs_few_logins", false);
}

#[test]
fn a_connection_dropped_mid_idle_is_reconnected() {
    let Some(server) = MailServer::start_or_skip("a_connection_dropped_mid_idle_is_reconnected") else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&server, dir.path(), PLAIN);
    let log = dir.path().join("daemon.log");
    let daemon = Daemon::start(&config, &log);
    server.send(&demo(0, SCHOOL1, "before-drop"), SCHOOL1, OFFICE);
    assert!(server.wait_for(SCHOOL1, "INBOX", 1, Duration::from_secs(60)), "{}", daemon.log_text());
    // SIGKILL: connections just drop, no BYE.
    server.kill_imap();
    server.start_imap();
    server.send(&demo(4, SCHOOL1, "after-drop"), SCHOOL1, OFFICE);
    assert!(server.wait_for(SCHOOL1, "INBOX", 2, Duration::from_secs(60)), "{}", daemon.log_text());
    let text = daemon.log_text();
    assert!(text.contains("waiting for new mail failed; reconnecting"), "{text}");
    assert!(daemon.stop().success());
}

#[test]
fn default_config_for_a_provider_is_ready_to_fill_in() {
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_mail-intake")).args(args).output().unwrap();
    let out = run(&["default-config", "--provider", "163"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("provider = \"163\""), "{text}");
    assert!(text.contains("# host = \"imap.163.com\"") && text.contains("# host = \"smtp.163.com\""), "{text}");
    // Filled in with an address and a password, it is a valid configuration.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, text.replace("password = \"\"", "password = \"授权码\"")).unwrap();
    let check = run(&["config", "check", "-c", path.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success() && said.contains("imap.163.com:993"), "{said}");

    let bad = run(&["default-config", "--provider", "hotmail"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("exmail, qq, 163"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}
