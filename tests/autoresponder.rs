//! Loop test (issue 5): a second mailbox answers every mail it receives at once (an
//! auto-responder, in all the styles seen in the wild); it also sends submissions. After a
//! fixed time, the number of replies we sent is exactly the number of its submissions.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::support::daemon::{Daemon, PLAIN, demo, write_config};
use crate::support::mailserver::{MailServer, OFFICE, SCHOOLS};

/// An automatic answer to `subject`, in style `n`.
fn auto_answer(n: usize, from: &str, subject: &str, id: &str, in_reply_to: &str) -> Vec<u8> {
    let (extra, subj) = match n % 5 {
        0 => ("Auto-Submitted: auto-replied\r\n", format!("自动回复：{subject}")),
        1 => ("X-Autoreply: yes\r\n", format!("Re: {subject}")),
        2 => ("Precedence: auto_reply\r\n", "这是一封自动回复邮件".to_string()),
        3 => ("", format!("Automatic reply: {subject}")),
        // No marker at all: looks like a person replying "thanks" without attachments.
        _ => ("", format!("Re: {subject}")),
    };
    format!(
        "From: school <{from}>\r\nTo: {OFFICE}\r\nSubject: =?UTF-8?B?{}?=\r\nMessage-ID: <{id}@auto.example>\r\nIn-Reply-To: {in_reply_to}\r\nDate: {}\r\n{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n您好，我现在休假中，会尽快回复您的邮件。\r\n",
        base64_encode(subj.as_bytes()),
        chrono::Utc::now().to_rfc2822()
    )
    .into_bytes()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[test]
fn an_autoresponder_gets_exactly_one_reply_per_submission() {
    let Some(server) = MailServer::start_or_skip("an_autoresponder_gets_exactly_one_reply_per_submission") else {
        return;
    };
    let responder = SCHOOLS[1];
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&server, dir.path(), PLAIN);
    let daemon = Daemon::start(&config, &dir.path().join("daemon.log"));

    let submissions = 6;
    for i in 0..submissions {
        // Alternate acknowledgements and correction requests.
        server.send(&demo(if i % 2 == 0 { 0 } else { 2 }, responder, &format!("loop-{i}")), responder, OFFICE);
    }
    // The auto-responder: answer everything that arrives, at once, for a fixed time.
    let mut answered: HashSet<Vec<u8>> = HashSet::new();
    let mut answers = 0;
    let deadline = Instant::now() + Duration::from_secs(25);
    while Instant::now() < deadline {
        for raw in server.messages(responder, "INBOX") {
            if !answered.insert(raw.clone()) {
                continue;
            }
            let m = mail_parser::MessageParser::default().parse(&raw).expect("a reply");
            let subject = m.subject().unwrap_or("").to_string();
            let id = m.message_id().map(|i| format!("<{i}>")).unwrap_or_default();
            server.send(&auto_answer(answers, responder, &subject, &format!("auto-{answers}"), &id), responder, OFFICE);
            answers += 1;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let replies = server.count_messages(responder, "INBOX");
    eprintln!(
        "loop test: {submissions} submissions, {answers} automatic answers sent to us, {replies} replies from us"
    );
    assert_eq!(
        replies,
        submissions,
        "exactly one reply per submission, none to automatic answers:\n{}",
        daemon.log_text()
    );
    assert_eq!(answers, submissions);
    assert!(daemon.stop().success());
}
