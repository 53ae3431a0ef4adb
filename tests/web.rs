//! The web view over HTTP: every route's status codes, no access without a session, CSRF
//! refusal, roles, malformed ids and query strings (400/404, never a 500 or a dead server),
//! the actions' effects (the same code path as `mail-intake reply` / `reparse`), and login
//! slowing. The store is filled by the daemon from the demo's sample mails.

use crate::support::http::{Client, Response, hidden};
use crate::support::mail_intake;
use crate::support::web::{ADMIN, READER, WebServer, demo_store};

const PAGES: [&str; 7] = ["/", "/schools", "/submissions", "/mails", "/mails/1", "/submissions/1", "/export"];

fn logged_in(server: &WebServer, who: (&str, &str)) -> Client {
    let mut c = server.client();
    let r = c.login(who.0, who.1);
    assert_eq!(r.status, 303, "login as {}: {}", who.0, r.text());
    assert_eq!(r.header("location"), Some("/"));
    c
}

fn show_json(config: &std::path::Path, id: i64) -> serde_json::Value {
    let out = mail_intake(&["show", "-c", config.to_str().unwrap(), &id.to_string(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Ids of the demo's messages by decision (from `mail-intake list --json --all`).
fn ids_with(config: &std::path::Path, decision: &str) -> Vec<i64> {
    let out = mail_intake(&["list", "-c", config.to_str().unwrap(), "--all", "--json"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["decision"].as_str() == Some(decision))
        .map(|v| v["id"].as_i64().unwrap())
        .collect()
}

fn assert_no_server_error(r: &Response, what: &str) {
    assert!(r.status < 500, "{what}: {} {}", r.status, r.text());
    assert!(!r.text().contains("panicked"), "{what}");
}

#[test]
fn every_route_needs_a_session_and_answers_with_the_right_status() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo_store(dir.path());
    let mut server = WebServer::start(&config);

    // Without a session: every page and download sends to the login page, and remembers where.
    let mut anon = server.client();
    for p in
        PAGES.iter().chain(&["/mails/1/raw", "/mails/1/files/1", "/export/register.xlsx", "/export/attachments.zip"])
    {
        let r = anon.get(p);
        assert_eq!(r.status, 303, "{p}");
        assert!(r.header("location").unwrap().starts_with("/login?next="), "{p}");
    }
    let r = anon.post("/actions/1/rejudge", &[("csrf", "x")]);
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    let r = anon.get("/no/such/page");
    assert_eq!(r.status, 404);

    // The login form: its own CSRF cookie; a POST without it is refused.
    let r = anon.get("/login");
    assert_eq!(r.status, 200);
    let login_cookie = r.set_cookies().into_iter().find(|c| c.starts_with("mi_login=")).unwrap().to_string();
    assert!(login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Strict"), "{login_cookie}");
    let mut stranger = server.client();
    let r = stranger.post("/login", &[("csrf", "0123"), ("user", ADMIN.0), ("password", ADMIN.1)]);
    assert_eq!(r.status, 403, "a login POST without the form's cookie");
    assert!(!stranger.cookies.contains_key("mi_session"));
    let r = anon.login(ADMIN.0, "wrong password");
    assert_eq!(r.status, 401);
    assert!(r.text().contains("用户名或密码不对"));

    // Logged in: the session cookie is HttpOnly and SameSite=Strict (not Secure without TLS).
    let mut c = server.client();
    let r = c.login(ADMIN.0, ADMIN.1);
    assert_eq!(r.status, 303);
    let session = r.set_cookies().into_iter().find(|c| c.starts_with("mi_session=")).unwrap().to_string();
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict") && !session.contains("Secure"));

    for p in PAGES {
        let r = c.get(p);
        assert_eq!(r.status, 200, "{p}: {}", r.text());
        assert!(r.header("content-type").unwrap().starts_with("text/html"), "{p}");
        assert!(r.header("content-security-policy").is_some() && r.header("x-frame-options") == Some("DENY"));
        let t = r.text();
        assert!(!t.contains("$argon2") && !t.to_lowercase().contains("password_hash"), "{p} shows a secret");
    }

    // The overview is the digest, live: the same numbers as `digest --text`.
    let digest = mail_intake(&["digest", "-c", config.to_str().unwrap(), "--text"]);
    let digest = String::from_utf8_lossy(&digest.stdout).into_owned();
    let missing = digest.split("尚无任何材料的学校：").nth(1).unwrap().split(' ').next().unwrap().to_string();
    let page = c.get("/").text();
    assert!(page.contains(&format!("id=\"missing\">{missing}<")), "digest says {missing}");
    assert!(page.contains(&digest.lines().nth(3).unwrap().split('：').next().unwrap().to_string()));
    let line = digest.lines().find(|l| l.contains("报送（同一学校")).expect("the digest counts submissions");
    let complete = line.split("齐全 ").nth(1).unwrap().split('、').next().unwrap();
    assert!(page.contains(&format!("齐全 <a href=\"/submissions?state=complete\">{complete}</a>")), "{line}");

    // Schools: the roster with statuses; a school's page; an unknown one is 404.
    let r = c.get("/schools");
    assert!(r.text().contains("未报送") && r.text().contains("昆明理工大学"));
    assert_eq!(c.get("/schools?status=未报送").status, 200);
    assert_eq!(c.get("/schools?status=%E6%9C%AA%E6%8A%A5%E9%80%81&level=%E6%9C%AC%E7%A7%91").status, 200);
    assert_eq!(c.get("/schools?status=bogus").status, 400);
    assert_eq!(c.get("/schools/%E6%98%86%E6%98%8E%E7%90%86%E5%B7%A5%E5%A4%A7%E5%AD%A6").status, 200);
    assert_eq!(c.get("/schools/%E6%B2%A1%E6%9C%89%E8%BF%99%E6%89%80").status, 404);
    assert_eq!(c.get("/schools?page=9").status, 404);

    // Submissions and their filters; bad filter values are 400, pages past the end 404.
    assert_eq!(c.get("/submissions?kind=expert_recommendation&state=complete").status, 200);
    assert_eq!(c.get("/submissions?since=2023-03-01&until=2023-03-31&warning=late&all=1").status, 200);
    for bad in [
        "/submissions?kind=bogus",
        "/submissions?state=maybe",
        "/submissions?since=2023-13-45",
        "/submissions?until=%FF%FE",
        "/submissions?warning=nope",
        "/submissions?page=abc",
        "/submissions?page=-1",
        "/mails?page=%ZZ",
        "/mails?view=bogus",
        "/mails?page=99999999999999999999999",
    ] {
        let r = c.get(bad);
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    assert_eq!(c.get("/submissions?page=50").status, 404);
    let holds = ids_with(&config, "hold");
    assert!(!holds.is_empty());

    // Mails: the hold queue first.
    let list = c.get("/mails").text();
    let first = list.split("<a href=\"/mails/").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert_eq!(first, holds[0].to_string(), "the first mail listed is the one on hold");
    assert!(c.get("/mails?view=hold").text().contains(&format!("/mails/{}\"", holds[0])));
    assert_eq!(c.get("/mails?view=failed").status, 200);

    // One mail: headers, SHA-256; its raw bytes are exactly what was stored.
    let page = c.get("/mails/1").text();
    assert!(page.contains("Message-ID") && page.contains("SHA-256"));
    let sha = page.split("<code>").nth(1).unwrap().split('<').next().unwrap().to_string();
    let raw = c.get("/mails/1/raw");
    assert_eq!(raw.status, 200);
    assert_eq!(raw.header("content-type"), Some("message/rfc822"));
    assert!(raw.header("content-disposition").unwrap().starts_with("attachment;"));
    use sha2::Digest as _;
    assert_eq!(format!("{:x}", sha2::Sha256::digest(&raw.body)), sha);
    let file = c.get("/mails/1/files/1");
    assert_eq!(file.status, 200);
    assert!(!file.body.is_empty());
    assert_eq!(file.header("content-length").unwrap(), file.body.len().to_string());

    // A scan is shown inline (framed by this site's own page only); other files are downloads.
    let mut inline_pdf = 0;
    for n in 1..=4 {
        let r = c.get(&format!("/mails/1/files/{n}?inline=1"));
        if r.status != 200 {
            break;
        }
        if r.header("content-type") == Some("application/pdf") {
            inline_pdf += 1;
            assert!(r.header("content-disposition").unwrap().starts_with("inline;"));
            assert_eq!(r.header("x-frame-options"), Some("SAMEORIGIN"));
            assert!(r.body.starts_with(b"%PDF"));
        } else {
            assert!(r.header("content-disposition").unwrap().starts_with("attachment;"));
            assert_eq!(r.header("content-security-policy"), Some("sandbox"));
        }
    }
    assert_eq!(inline_pdf, 1, "mail #1 carries one stamped scan");

    // Malformed and hostile ids: 400 or 404, never 500.
    for (path, status) in [
        ("/mails/abc", 400),
        ("/mails/-1", 400),
        ("/mails/1.5", 400),
        ("/mails/99999", 404),
        ("/mails/99999999999999999999999999", 400),
        ("/mails/99999/raw", 404),
        ("/mails/abc/raw", 400),
        ("/mails/..%2F..%2Fetc%2Fpasswd/raw", 400),
        ("/mails/1/files/..%2F..%2Fetc%2Fpasswd", 400),
        ("/mails/1/files/%2e%2e", 400),
        ("/mails/1/files/0", 404),
        ("/mails/1/files/999", 404),
        ("/mails/1/files/1?inline=2", 400),
        ("/mails/%00/raw", 400),
        ("/submissions/..%2F1", 400),
        ("/submissions/99999", 404),
        ("/actions/1/explode", 404),
        ("/actions/abc/rejudge", 400),
    ] {
        let r = c.get(path);
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert_no_server_error(&r, path);
    }
    // Raw request targets a browser would never send.
    for target in ["/mails/../../etc/passwd", "/mails/1/files/../../../etc/passwd", "//etc/passwd", "/mails/%ff%fe"] {
        let r = c.raw("GET", target, None);
        assert!([400, 404].contains(&r.status), "{target}: {}", r.status);
    }

    // Export: the same workbook and attachments as `mail-intake export`.
    let x = c.get("/export/register.xlsx");
    assert_eq!(x.status, 200);
    assert!(x.body.starts_with(b"PK"));
    let z = c.get("/export/attachments.zip");
    assert_eq!(z.status, 200);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(z.body.clone())).unwrap();
    let cli_dir = dir.path().join("cli-files");
    let out = mail_intake(&["export", "-c", config.to_str().unwrap(), "--attachments", cli_dir.to_str().unwrap()]);
    assert!(out.status.success());
    let mut cli_files = Vec::new();
    for e in walk(&cli_dir) {
        cli_files.push(e.strip_prefix(&cli_dir).unwrap().to_string_lossy().into_owned());
    }
    cli_files.sort();
    let mut zip_files: Vec<String> =
        (0..zip.len()).map(|i| zip.by_index(i).unwrap().name().unwrap().to_string()).collect();
    zip_files.sort();
    assert_eq!(zip_files, cli_files);
    assert!(!zip_files.is_empty());

    assert!(server.alive(), "the server died");
    let log = server.log_text();
    assert!(!log.contains("panicked"), "{log}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

#[test]
fn actions_are_for_admins_with_the_csrf_token_and_take_effect() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo_store(dir.path());
    let mut server = WebServer::start(&config);
    let acknowledged = ids_with(&config, "acknowledge");
    let id = acknowledged[0];
    let hold = ids_with(&config, "hold")[0];

    // A reader sees no actions and may not run one.
    let mut reader = logged_in(&server, READER);
    let page = reader.get(&format!("/mails/{id}")).text();
    assert!(!page.contains("id=\"actions\""));
    assert_eq!(reader.get(&format!("/actions/{id}/resend")).status, 403);
    let csrf = hidden(&page, "csrf").unwrap();
    assert_eq!(reader.post(&format!("/actions/{id}/resend"), &[("csrf", &csrf)]).status, 403);
    assert_eq!(show_json(&config, id)["replies"][0]["state"], "sent");

    // An admin: without or with a wrong CSRF token, nothing happens.
    let mut admin = logged_in(&server, ADMIN);
    let page = admin.get(&format!("/mails/{id}")).text();
    assert!(page.contains("id=\"act-resend\""), "{page}");
    let csrf = hidden(&page, "csrf").unwrap();
    assert_eq!(admin.post(&format!("/actions/{id}/resend"), &[]).status, 403);
    assert_eq!(admin.post(&format!("/actions/{id}/resend"), &[("csrf", &csrf[..10])]).status, 403);
    assert_eq!(admin.post(&format!("/actions/{id}/resend"), &[("csrf", &reader_csrf(&mut reader))]).status, 403);
    assert_eq!(show_json(&config, id)["replies"][0]["state"], "sent");

    // Confirmed, with the token: the reply goes back into the outbox, recorded with who did it.
    let confirm = admin.get(&format!("/actions/{id}/resend"));
    assert_eq!(confirm.status, 200);
    assert!(confirm.text().contains("id=\"confirm\""));
    let r = admin.post(&format!("/actions/{id}/resend"), &[("csrf", &csrf)]);
    assert_eq!((r.status, r.header("location")), (303, Some(format!("/mails/{id}").as_str())));
    let page = admin.get(&format!("/mails/{id}")).text();
    assert!(page.contains("重发回执：已完成"), "{page}");
    assert!(page.contains("待发送"));
    let shown = show_json(&config, id);
    let reply = &shown["replies"][0];
    assert_eq!(reply["state"], "pending");
    assert_eq!(reply["reason"], "re-send requested by an admin (web: clerk)");

    // Suppress it again, then release it: the same policy as `mail-intake reply`.
    assert_eq!(admin.post(&format!("/actions/{id}/suppress"), &[("csrf", &csrf)]).status, 303);
    assert_eq!(show_json(&config, id)["replies"][0]["state"], "suppressed");
    assert!(admin.get(&format!("/mails/{id}")).text().contains("id=\"act-release\""));
    assert_eq!(admin.post(&format!("/actions/{id}/release"), &[("csrf", &csrf)]).status, 303);
    assert_eq!(show_json(&config, id)["replies"][0]["state"], "pending");

    // Refused by the policy: a held mail gets no reply; the page says why.
    assert_eq!(admin.post(&format!("/actions/{hold}/resend"), &[("csrf", &csrf)]).status, 303);
    assert!(admin.get(&format!("/mails/{hold}")).text().contains("重发回执：未执行"));
    // Re-judging works on any mail.
    assert_eq!(admin.post(&format!("/actions/{hold}/rejudge"), &[("csrf", &csrf)]).status, 303);
    assert!(admin.get(&format!("/mails/{hold}")).text().contains("重新判定：已完成"));
    assert_eq!(admin.post("/actions/99999/rejudge", &[("csrf", &csrf)]).status, 303);

    let log = server.log_text();
    assert!(log.contains("web action done") && log.contains("clerk"), "{log}");
    assert!(log.contains("CSRF"), "the refusals are logged");

    // Logging out needs the token too; afterwards the session is gone.
    assert_eq!(admin.post("/logout", &[]).status, 403);
    assert_eq!(admin.post("/logout", &[("csrf", &csrf)]).status, 303);
    let r = admin.get("/");
    assert_eq!(r.status, 303);
    assert!(server.alive());
}

fn reader_csrf(reader: &mut Client) -> String {
    hidden(&reader.get("/").text(), "csrf").unwrap()
}

#[test]
fn failed_logins_are_slowed_and_logged_but_the_real_user_still_gets_in() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo_store(dir.path());
    let mut server = WebServer::start(&config);
    let mut attacker = server.client();
    let tries = 10;
    for i in 0..tries {
        let r = attacker.login(ADMIN.0, &format!("guess {i}"));
        assert!([401, 429].contains(&r.status), "{}", r.status);
    }
    // Same address, right password: slowed, not refused.
    let mut user = server.client();
    let r = user.login(ADMIN.0, ADMIN.1);
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(user.get("/").status, 200);
    let log = server.log_text();
    let lines = log.lines().filter(|l| l.contains("web login failed")).count();
    assert!(lines >= 5 && lines < tries, "{lines} log lines for {tries} failures:\n{log}");
    assert!(log.contains("slowed_ms"));
    assert!(server.alive());
}

#[test]
fn the_daemon_serves_the_web_view_while_it_judges_new_mail_and_stops_with_it() {
    use crate::support::daemon::{Daemon, demo};
    let dir = tempfile::tempdir().unwrap();
    let config = demo_store(dir.path());
    let log = dir.path().join("daemon.log");
    let daemon = Daemon::start(&config, &log);
    // `run` logs where the web view listens ([web] listen = "127.0.0.1:0": a free port).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let addr = loop {
        let text = daemon.log_text();
        if let Some(line) = text.lines().find(|l| l.contains("web view listening")) {
            break line.split("addr=").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
        }
        assert!(std::time::Instant::now() < deadline, "no web view in the daemon's log:\n{text}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let mut c = Client::new(&addr);
    assert_eq!(c.login(ADMIN.0, ADMIN.1).status, 303);
    assert!(c.get("/mails").text().contains("全部（10）"));

    // A new mail arrives while the view is open: the daemon stores and judges it, the view
    // shows it (the store is shared through SQLite's WAL).
    let inbox = config.parent().unwrap().join("inbox/new");
    std::fs::write(inbox.join("1700000000.new1.test:2,"), demo(0, "late@kmxy.example.cn", "while-serving")).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !c.get("/mails").text().contains("全部（11）") {
        assert!(std::time::Instant::now() < deadline, "the new mail never showed:\n{}", daemon.log_text());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(c.get("/").status, 200);
    let status = daemon.stop();
    assert!(status.success(), "the daemon and its web view stop cleanly on SIGTERM");
    assert!(std::net::TcpStream::connect(&addr).is_err(), "the web view stopped with the daemon");
}

#[test]
fn demo_serve_prints_its_address_and_serves_the_demo_register() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mail-intake"))
        .args(["demo", "--dir", dir.path().join("demo").to_str().unwrap(), "--serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.by_ref().map_while(Result::ok).find(|l| l.starts_with("web view: http://")).unwrap();
    assert!(line.contains("demo / demo"), "{line}");
    let addr = line.trim_start_matches("web view: http://").split('/').next().unwrap().to_string();
    let mut c = Client::new(&addr);
    assert_eq!(c.login("demo", "demo").status, 303);
    let page = c.get("/").text();
    assert!(page.contains("id=\"missing\">86<"), "the demo's ten mails leave 86 roster schools with nothing");
    let _ = child.kill();
    let _ = child.wait();
}

/// A mail with a 3 MB scan (base64), a small picture and a forwarded mail carrying a second
/// scan, as a school's client writes it.
fn big_mail() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    use base64::Engine as _;
    let noise = |n: usize, seed: u32, head: &[u8]| {
        let mut x = seed;
        let mut v = head.to_vec();
        while v.len() < n {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            v.push((x >> 16) as u8);
        }
        v
    };
    let lines = |b: &[u8]| {
        let s = base64::engine::general_purpose::STANDARD.encode(b);
        s.as_bytes().chunks(76).map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap())).collect::<String>()
    };
    let scan = noise(3_000_001, 7, b"%PDF-1.4\n");
    let inner_scan = noise(1_500_000, 8, b"%PDF-1.5\n");
    let png = noise(2_000, 9, b"\x89PNG\r\n\x1a\n");
    let part = |ctype: &str, name: &str, body: &[u8]| {
        format!(
            "--B\r\nContent-Type: {ctype}\r\nContent-Disposition: attachment; filename*=UTF-8''{name}\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
            lines(body)
        )
    };
    let inner = format!(
        "From: b@kmu.edu.cn\r\nSubject: fwd\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n{}--B--\r\n",
        part("application/pdf", "inner.pdf", &inner_scan)
    );
    let mail = format!(
        "Return-Path: <a@kmu.edu.cn>\r\nFrom: a@kmu.edu.cn\r\nTo: office@example.edu.cn\r\nSubject: =?UTF-8?B?5piG5piO5a2m6ZmiLeW8oOS4iQ==?=\r\nMessage-ID: <big-1@kmu.edu.cn>\r\nDate: Tue, 14 Mar 2023 10:00:00 +0800\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nmaterials\r\n{}{}--B\r\nContent-Type: message/rfc822\r\n\r\n{inner}\r\n--B--\r\n",
        part("application/pdf", "%E6%89%AB%E6%8F%8F%E4%BB%B6.pdf", &scan),
        part("image/png", "a.png", &png),
    );
    (mail.into_bytes(), scan, inner_scan)
}

#[test]
fn a_big_attachment_downloads_whole_and_exact_from_a_streamed_body() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo_store(dir.path());
    let (mail, scan, inner_scan) = big_mail();
    std::fs::write(config.with_file_name("inbox").join("new").join("1700000000.M1P1.big"), &mail).unwrap();
    let out = mail_intake(&["run", "-c", config.to_str().unwrap(), "--once"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list = mail_intake(&["list", "-c", config.to_str().unwrap(), "--all", "--json"]);
    let id = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_i64().unwrap())
        .max()
        .unwrap();
    let mut server = WebServer::start(&config);
    let mut c = logged_in(&server, READER);

    let page = c.get(&format!("/mails/{id}"));
    assert_eq!(page.status, 200);
    assert!(page.text().contains("2.9 MB") && page.text().contains("扫描件.pdf"), "{}", page.text());
    let r = c.get(&format!("/mails/{id}/files/1"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/pdf"));
    assert_eq!(r.header("content-length").unwrap(), scan.len().to_string());
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"___.pdf\"; filename*=UTF-8''%E6%89%AB%E6%8F%8F%E4%BB%B6.pdf")
    );
    assert!(r.body == scan, "the scan comes out byte for byte");
    let r = c.get(&format!("/mails/{id}/files/2"));
    assert!(r.body.starts_with(b"\x89PNG") && r.body.len() == 2_000);
    let r = c.get(&format!("/mails/{id}/files/3?inline=1"));
    assert_eq!(r.header("content-disposition").map(|d| d.starts_with("inline;")), Some(true));
    assert!(r.body == inner_scan, "a forwarded mail's scan too");
    assert_eq!(c.get(&format!("/mails/{id}/files/4")).status, 404);
    assert!(c.get(&format!("/mails/{id}/raw")).body == mail);
    let log = server.log_text();
    assert_eq!(log.matches("streamed=true").count(), 2, "{log}");
    assert!(server.alive());
}
