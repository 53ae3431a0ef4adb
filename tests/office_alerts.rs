//! The office hears about trouble: a mailbox that keeps failing gets one alert mail to the
//! office (not one per failure, not again after a restart), then one "recovered" mail; and
//! `mail-intake status` says healthy / down with exit codes 0 / 2.

use std::process::Command;
use std::time::Duration;

use crate::support::daemon::{Daemon, PLAIN, write_config};
use crate::support::mailserver::{MailServer, OFFICE};

fn status(config: &std::path::Path) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_mail-intake"))
        .args(["status", "-c", config.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("status --json: {e}: {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap_or(-1), json)
}

fn subjects(server: &MailServer) -> Vec<String> {
    server
        .messages(OFFICE, "INBOX")
        .iter()
        .filter_map(|raw| mail_parser::MessageParser::default().parse(raw).and_then(|m| m.subject().map(String::from)))
        .collect()
}

#[test]
fn a_failing_mailbox_gets_one_alert_mail_and_one_recovery_mail() {
    let Some(server) = MailServer::start_or_skip("a_failing_mailbox_gets_one_alert_mail_and_one_recovery_mail") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&server, dir.path(), PLAIN);
    let good = std::fs::read_to_string(&config).unwrap().replace("[daemon]\n", "[daemon]\nalert_after_failures = 3\n");
    let pw = format!("password = \"{}\"", server.password(OFFICE));
    assert!(good.contains(&pw));
    // The mailbox refuses the login (a changed 授权码, say); SMTP still works.
    std::fs::write(&config, good.replacen(&pw, "password = \"wrong\"", 1)).unwrap();
    let log = dir.path().join("daemon.log");

    let mut daemon = Daemon::start(&config, &log);
    assert!(
        server.wait_for(OFFICE, "INBOX", 1, Duration::from_secs(60)),
        "no alert mail; daemon log:\n{}",
        daemon.log_text()
    );
    // More failures follow (backoff 1-2 s), and a restart: still one alert.
    std::thread::sleep(Duration::from_secs(5));
    daemon.kill9();
    let daemon = Daemon::start(&config, &log);
    std::thread::sleep(Duration::from_secs(5));
    let text = daemon.log_text();
    assert!(text.matches("mailbox round failed").count() + text.matches("ALERT").count() >= 4, "{text}");
    assert_eq!(server.count_messages(OFFICE, "INBOX"), 1, "one alert, not one per failure: {:?}", subjects(&server));
    assert!(subjects(&server)[0].contains("mailbox unreachable"), "{:?}", subjects(&server));
    let (code, json) = status(&config);
    assert_eq!((code, json["level"].as_str()), (2, Some("down")), "{json}");
    assert!(json["poll_failures"].as_u64().is_some_and(|n| n >= 3), "{json}");
    assert!(json["alert_open_since"].is_string(), "{json}");
    assert!(daemon.stop().success());

    // The office fixes the password: one recovery mail, status healthy.
    std::fs::write(&config, &good).unwrap();
    let daemon = Daemon::start(&config, &log);
    assert!(
        server.wait_for(OFFICE, "INBOX", 2, Duration::from_secs(60)),
        "no recovery mail; daemon log:\n{}",
        daemon.log_text()
    );
    std::thread::sleep(Duration::from_secs(3));
    let all = subjects(&server);
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all[1].contains("mailbox recovered"), "{all:?}");
    let (code, json) = status(&config);
    assert_eq!((code, json["level"].as_str()), (0, Some("healthy")), "{json}");
    assert!(json["alert_open_since"].is_null(), "{json}");
    assert!(daemon.stop().success());
}
