//! The real mail servers of `support::mailserver` (Dovecot + Postfix on loopback) work the way
//! the daemon's tests rely on: SMTP delivery into the office Maildir, IMAP with UIDVALIDITY,
//! keywords and a Sent folder, a Dovecot restart, and a stop that leaves nothing behind.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::support::mailserver::{MailServer, OFFICE, SCHOOLS, processes_mentioning};

const SUBJECT: &str = "关于张三同学转学的申请";

/// A message the way a school's Foxmail writes it: GBK subject (RFC 2047), GBK 8-bit body,
/// bare LF line ends, and a body line starting with "." (dot-stuffing).
fn gbk_mail(from: &str, message_id: &str) -> Vec<u8> {
    let (subject, _, _) = encoding_rs::GBK.encode(SUBJECT);
    let subject = base64::engine::general_purpose::STANDARD.encode(&subject);
    let (body, _, _) = encoding_rs::GBK.encode("您好，附件是转学申请。\n.以点开头的一行\n");
    let mut eml = format!(
        "From: <{from}>\nTo: <{OFFICE}>\nSubject: =?GBK?B?{subject}?=\n\
         Message-ID: <{message_id}>\nDate: Fri, 29 Nov 2024 10:00:00 +0800\n\
         MIME-Version: 1.0\nContent-Type: text/plain; charset=GBK\n\
         Content-Transfer-Encoding: 8bit\n\n"
    )
    .into_bytes();
    eml.extend_from_slice(&body);
    eml
}

fn uidvalidity(reply: &crate::support::mailserver::ImapReply) -> u64 {
    let line = reply.find("[UIDVALIDITY ").unwrap_or_else(|| panic!("no UIDVALIDITY in SELECT: {reply:?}"));
    let rest = &line[line.find("[UIDVALIDITY ").unwrap() + 13..];
    rest[..rest.find(']').unwrap()].parse().unwrap()
}

#[test]
fn mailserver_smtp_to_maildir_imap_restart_and_clean_stop() {
    let t = Instant::now();
    let Some(srv) = MailServer::start_or_skip("mailserver_smtp_to_maildir_imap_restart_and_clean_stop") else {
        return;
    };
    eprintln!("mailserver: started in {:?} at {}", t.elapsed(), srv.dir.display());
    assert_eq!(srv.host, "127.0.0.1");
    assert!(srv.ca_file.is_file());
    assert_eq!(srv.password(OFFICE), "office-pw");
    assert!(srv.users.iter().any(|(u, _)| u == SCHOOLS[0]));

    // --- SMTP in, Maildir on disk
    let eml = gbk_mail(SCHOOLS[0], "smoke-1@school1.example.cn");
    let t = Instant::now();
    srv.send(&eml, SCHOOLS[0], OFFICE);
    assert!(srv.wait_for(OFFICE, "INBOX", 1, Duration::from_secs(10)), "mail not delivered to the office INBOX");
    eprintln!("mailserver: SMTP -> Maildir in {:?}", t.elapsed());
    let stored = srv.messages(OFFICE, "INBOX");
    assert_eq!(stored.len(), 1);
    let stored = &stored[0];
    let find = |needle: &[u8]| stored.windows(needle.len()).any(|w| w == needle);
    assert!(find(b"Subject: =?GBK?B?"), "raw GBK subject kept");
    assert!(find(b"Message-ID: <smoke-1@school1.example.cn>"));
    let (dotted, _, _) = encoding_rs::GBK.encode("\n.以点开头的一行");
    assert!(find(&dotted), "dot-stuffed line arrives unchanged");
    assert_eq!(srv.count_messages(SCHOOLS[0], "INBOX"), 0);

    // --- IMAP: LOGIN, SELECT, UID FETCH, keywords, Sent
    let mut imap = srv.imap();
    let reply = imap.command(&format!("LOGIN {OFFICE} office-pw"));
    assert!(reply.ok, "{reply:?}");
    let caps = imap.command("CAPABILITY");
    assert!(caps.find(" IDLE").is_some(), "IDLE advertised: {caps:?}");
    let select = imap.command("SELECT INBOX");
    assert!(select.ok, "{select:?}");
    let validity = uidvalidity(&select);
    assert!(select.find("* 1 EXISTS").is_some(), "{select:?}");
    assert!(select.find("PERMANENTFLAGS").is_some_and(|l| l.contains("\\*")), "keywords allowed: {select:?}");
    let fetch = imap.command("UID FETCH 1:* (UID FLAGS)");
    assert!(fetch.ok, "{fetch:?}");
    assert_eq!(fetch.lines.len(), 1, "{fetch:?}");
    assert!(fetch.lines[0].contains("UID 1 "), "{fetch:?}");
    let subject = imap.command("UID FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])");
    assert!(subject.find("=?GBK?B?").is_some(), "{subject:?}");
    let store = imap.command("UID STORE 1 +FLAGS.SILENT (Registered \\Seen)");
    assert!(store.ok, "{store:?}");
    let list = imap.command("LIST \"\" \"*\"");
    assert!(list.find("\\Sent").is_some_and(|l| l.ends_with(" Sent")), "Sent folder with \\Sent: {list:?}");
    let appended = imap.append("Sent", "\\Seen", b"Subject: reply\r\n\r\nreceived\r\n");
    assert!(appended.ok, "{appended:?}");
    assert_eq!(srv.count_messages(OFFICE, "Sent"), 1);
    let created = imap.command("CREATE \"&XfJT0ZAB-/2024\""); // 已发送/2024
    assert!(created.ok, "{created:?}");
    let appended = imap.append("&XfJT0ZAB-/2024", "", b"Subject: x\r\n\r\nx\r\n");
    assert!(appended.ok, "{appended:?}");
    assert_eq!(srv.count_messages(OFFICE, "已发送/2024"), 1);
    imap.logout();

    // --- Dovecot restart: same UIDVALIDITY, message and keyword still there
    let t = Instant::now();
    srv.restart_imap();
    eprintln!("mailserver: restart_imap in {:?}", t.elapsed());
    let mut imap = srv.imap_login(OFFICE);
    let select = imap.command("SELECT INBOX");
    assert!(select.ok, "{select:?}");
    assert_eq!(uidvalidity(&select), validity);
    let fetch = imap.command("UID FETCH 1:* (UID FLAGS)");
    assert!(fetch.lines.len() == 1 && fetch.lines[0].contains("Registered"), "{fetch:?}");
    imap.logout();

    // --- while Dovecot is down Postfix's smtpd has no SASL and drops connections; once
    // Dovecot is back SMTP works again within ~1 s (service_throttle_time = 1s, not 60 s)
    srv.kill_imap();
    let down = srv.try_send(&eml, SCHOOLS[1], &[OFFICE]);
    eprintln!("mailserver: SMTP while Dovecot is down: {down:?}");
    let accepted_while_down = usize::from(down.is_ok());
    srv.start_imap();
    let t = Instant::now();
    srv.send(&gbk_mail(SCHOOLS[1], "smoke-2@school2.example.cn"), SCHOOLS[1], OFFICE);
    eprintln!("mailserver: SMTP accepted {:?} after Dovecot came back", t.elapsed());
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(srv.wait_for(OFFICE, "INBOX", 2 + accepted_while_down, Duration::from_secs(10)));

    // --- Postfix restart
    let t = Instant::now();
    srv.restart_smtp();
    eprintln!("mailserver: restart_smtp in {:?}", t.elapsed());
    srv.send(&gbk_mail(SCHOOLS[2], "smoke-3@school3.example.cn"), SCHOOLS[2], OFFICE);
    assert!(srv.wait_for(OFFICE, "INBOX", 3 + accepted_while_down, Duration::from_secs(10)));

    // --- stop: nothing left behind
    let dir = srv.dir.clone();
    let (imap_port, smtp_port) = (srv.imap_port, srv.smtp_port);
    let t = Instant::now();
    drop(srv);
    eprintln!("mailserver: stopped (FAST) in {:?}", t.elapsed());
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert_eq!(processes_mentioning(&dir), Vec::<u32>::new());
    assert!(TcpStream::connect(("127.0.0.1", imap_port)).is_err());
    assert!(TcpStream::connect(("127.0.0.1", smtp_port)).is_err());
}

#[test]
fn mailserver_two_instances_in_parallel_are_isolated() {
    if crate::support::mailserver::skip_without_servers("mailserver_two_instances_in_parallel_are_isolated") {
        return;
    }
    let t = Instant::now();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(MailServer::start);
        let b = s.spawn(MailServer::start);
        (a.join().unwrap(), b.join().unwrap())
    });
    eprintln!("mailserver: two instances started in {:?}", t.elapsed());
    assert_ne!(a.dir, b.dir);
    let ports = |s: &MailServer| [s.imap_port, s.imaps_port, s.smtp_port, s.smtps_port, s.submission_port];
    assert!(ports(&a).iter().all(|p| !ports(&b).contains(p)));

    a.send(&gbk_mail(SCHOOLS[0], "only-a@school1.example.cn"), SCHOOLS[0], OFFICE);
    b.send(&gbk_mail(SCHOOLS[0], "only-b-1@school1.example.cn"), SCHOOLS[0], OFFICE);
    b.send(&gbk_mail(SCHOOLS[0], "only-b-2@school1.example.cn"), SCHOOLS[0], OFFICE);
    assert!(a.wait_for(OFFICE, "INBOX", 1, Duration::from_secs(10)));
    assert!(b.wait_for(OFFICE, "INBOX", 2, Duration::from_secs(10)));
    std::thread::sleep(Duration::from_millis(300)); // nothing more arrives late
    let ids = |s: &MailServer| -> Vec<bool> {
        s.messages(OFFICE, "INBOX").iter().map(|m| m.windows(8).any(|w| w == b"<only-a@")).collect()
    };
    assert_eq!(ids(&a), vec![true]);
    assert_eq!(ids(&b), vec![false, false]);

    // stopping one leaves the other running
    let a_dir = a.dir.clone();
    drop(a);
    assert!(!a_dir.exists());
    let mut imap = b.imap_login(OFFICE);
    assert!(imap.command("SELECT INBOX").find("* 2 EXISTS").is_some());
    imap.logout();
}
