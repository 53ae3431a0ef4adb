//! The web view in a real browser: headless Chromium (the OS package) logs in, opens a school,
//! opens one of its submissions, downloads its stamped scan, runs an action and sees its
//! effect. A screenshot of the overview is written to `target/web-artifacts/overview.png`.

use std::time::{Duration, Instant};

use crate::support::cdp::{Browser, chromium};
use crate::support::web::{ADMIN, WebServer, demo_store};

#[test]
fn a_clerk_logs_in_finds_a_school_downloads_a_scan_and_resends_a_receipt() {
    let Some(binary) = chromium() else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "chromium is not installed: `.ci/run` installs it as root (apt-get install chromium fonts-noto-cjk)"
            );
        }
        eprintln!(
            "\n!!! SKIPPED: chromium is not installed (apt-get install chromium); this test checked nothing !!!\n"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = demo_store(dir.path());
    let server = WebServer::start(&config);
    let mut b = Browser::start(&binary);
    let downloads = dir.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    b.allow_downloads(&downloads);

    // Not logged in: the browser lands on the login form; log in there.
    b.goto(&server.url("/"));
    assert!(b.path().starts_with("/login"), "{}", b.path());
    b.eval(&format!(
        "document.getElementById('user').value = {:?}; document.getElementById('password').value = {:?}; true",
        ADMIN.0, ADMIN.1
    ));
    b.and_wait("document.getElementById('login').click(); true");
    assert_eq!(b.path(), "/");
    let overview = b.text();
    assert!(overview.contains("尚无材料") && overview.contains("待人工处理"), "{overview}");

    // The overview as an artifact (and for the README).
    let artifacts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/web-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let png = b.screenshot();
    assert!(png.starts_with(b"\x89PNG"));
    std::fs::write(artifacts.join("overview.png"), &png).unwrap();

    // Schools → a school that sent something.
    b.and_wait("document.querySelector('header a[href=\"/schools\"]').click(); true");
    assert_eq!(b.path(), "/schools");
    b.and_wait(
        "[...document.querySelectorAll('#schools tr')].find(r => r.innerText.includes('已报送') || r.innerText.includes('部分')).querySelector('a').click(); true",
    );
    assert!(b.path().starts_with("/schools/"), "{}", b.path());
    let school = b.eval("document.querySelector('h1').innerText").as_str().unwrap().to_string();

    // → one of its submissions, with a stamped scan (clicked from the school's page).
    let school_url = b.eval("location.href").as_str().unwrap().to_string();
    let links = b
        .eval("[...document.querySelectorAll('#current a[href^=\"/submissions/\"]')].map(a => a.getAttribute('href'))");
    let mut found = None;
    for link in links.as_array().unwrap().iter().filter_map(|l| l.as_str()) {
        b.goto(&school_url);
        b.and_wait(&format!("document.querySelector('#current a[href=\"{link}\"]').click(); true"));
        assert_eq!(b.path(), link);
        if b.text().contains("盖章扫描件") {
            found = Some(link.to_string());
            break;
        }
    }
    assert!(found.is_some(), "{school} has no submission with a scan");
    assert!(b.text().contains("当前材料"));
    std::fs::write(artifacts.join("submission.png"), b.screenshot()).unwrap();

    // Download the scan by clicking its link.
    let name = b
        .eval("[...document.querySelectorAll('#files tr')].find(r => r.innerText.includes('盖章扫描件')).querySelector('a.download').innerText")
        .as_str()
        .unwrap()
        .to_string();
    b.eval("[...document.querySelectorAll('#files tr')].find(r => r.innerText.includes('盖章扫描件')).querySelector('a.download').click(); true");
    let deadline = Instant::now() + Duration::from_secs(60);
    let file = loop {
        let done: Vec<_> = std::fs::read_dir(&downloads)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| !p.to_string_lossy().ends_with(".crdownload"))
            .collect();
        if let Some(f) = done.first() {
            break f.clone();
        }
        assert!(Instant::now() < deadline, "the scan {name} was not downloaded");
        std::thread::sleep(Duration::from_millis(100));
    };
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"%PDF") || bytes.starts_with(&[0xFF, 0xD8, 0xFF]), "{}", file.display());

    // An action: resend the receipt, confirmed; the page shows it queued again.
    let mail = b
        .eval("document.querySelector('h1 + p a[href^=\"/mails/\"]').getAttribute('href')")
        .as_str()
        .unwrap()
        .to_string();
    b.goto(&server.url(&mail));
    assert!(b.text().contains("已发送"));
    b.and_wait("document.getElementById('act-resend').click(); true");
    assert!(b.path().starts_with("/actions/"));
    b.and_wait("document.getElementById('confirm').click(); true");
    assert_eq!(b.path(), mail);
    let after = b.text();
    assert!(after.contains("重发回执：已完成") && after.contains("待发送"), "{after}");
}
