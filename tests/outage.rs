//! Outage test (issue 5): IMAP down for a while, then SMTP down for a while. The daemon
//! neither crashes nor spins (bounded CPU and log volume), reconnects, and delivers every
//! pending reply afterwards.

use std::time::{Duration, Instant};

use crate::support::daemon::{Daemon, PLAIN, demo, write_config};
use crate::support::mailserver::{MailServer, OFFICE, SCHOOLS};

fn log_lines(d: &Daemon) -> usize {
    d.log_text().lines().count()
}

#[test]
fn imap_then_smtp_outage_loses_nothing_and_does_not_spin() {
    let Some(server) = MailServer::start_or_skip("imap_then_smtp_outage_loses_nothing_and_does_not_spin") else {
        return;
    };
    let school = SCHOOLS[0];
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&server, dir.path(), PLAIN);
    let daemon = Daemon::start(&config, &dir.path().join("daemon.log"));
    server.send(&demo(0, school, "before-outage"), school, OFFICE);
    assert!(server.wait_for(school, "INBOX", 1, Duration::from_secs(60)), "{}", daemon.log_text());

    // IMAP down for 12 s.
    let outage = Duration::from_secs(12);
    let (cpu0, lines0) = (daemon.cpu_ticks(), log_lines(&daemon));
    server.kill_imap();
    std::thread::sleep(outage);
    let (cpu1, lines1) = (daemon.cpu_ticks(), log_lines(&daemon));
    server.start_imap();
    let ticks_per_s = 100; // USER_HZ on Linux
    eprintln!(
        "IMAP outage {outage:?}: daemon CPU {} ms, {} log lines",
        (cpu1 - cpu0) * 1000 / ticks_per_s,
        lines1 - lines0
    );
    assert!(cpu1 - cpu0 < 3 * ticks_per_s, "the daemon spun during the IMAP outage: {} ticks", cpu1 - cpu0);
    assert!(lines1 - lines0 < 40, "too much logging during the outage:\n{}", daemon.log_text());

    server.send(&demo(4, school, "after-imap-outage"), school, OFFICE);
    assert!(
        server.wait_for(school, "INBOX", 2, Duration::from_secs(60)),
        "no reply after IMAP came back:\n{}",
        daemon.log_text()
    );

    // SMTP down: a submission arrives (appended straight into the mailbox), its reply cannot
    // go out; after SMTP is back, the pending reply is delivered.
    server.stop_smtp();
    let (cpu2, lines2) = (daemon.cpu_ticks(), log_lines(&daemon));
    let mut imap = server.imap_login(OFFICE);
    assert!(imap.append("INBOX", "", &demo(2, school, "during-smtp-outage")).ok);
    imap.logout();
    std::thread::sleep(outage);
    let (cpu3, lines3) = (daemon.cpu_ticks(), log_lines(&daemon));
    eprintln!(
        "SMTP outage {outage:?}: daemon CPU {} ms, {} log lines",
        (cpu3 - cpu2) * 1000 / ticks_per_s,
        lines3 - lines2
    );
    assert!(cpu3 - cpu2 < 3 * ticks_per_s, "the daemon spun during the SMTP outage");
    assert!(lines3 - lines2 < 40, "too much logging during the SMTP outage:\n{}", daemon.log_text());
    assert_eq!(server.count_messages(school, "INBOX"), 2);
    server.start_smtp();
    let t = Instant::now();
    assert!(
        server.wait_for(school, "INBOX", 3, Duration::from_secs(90)),
        "the pending reply was not delivered after SMTP came back:\n{}",
        daemon.log_text()
    );
    eprintln!("pending reply delivered {:?} after SMTP came back", t.elapsed());
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(server.count_messages(school, "INBOX"), 3, "exactly one reply each");
    assert!(daemon.stop().success());
}
