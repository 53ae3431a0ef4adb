//! The daily digest end to end: the demo inbox judged by the daemon, then
//! `mail-intake digest` renders it (`--text`, `--html`) and sends it (`--send`, once per day),
//! and the daemon sends it by itself at `[digest] at` — once, even across a restart.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use calamine::Reader as _;

use crate::support::daemon::Daemon;
use crate::support::mail_intake;

/// The demo (10 sample mails judged by `run --once`), with a `[digest]` section added.
fn demo(extra: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("demo");
    let out = mail_intake(&["demo", "--dir", work.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let config = work.join("mail-intake.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!("\n[digest]\nto = [\"office@example.edu.cn\"]\n{extra}"));
    std::fs::write(&config, text).unwrap();
    (dir, work, config)
}

fn digest(config: &Path, args: &[&str]) -> String {
    let mut all = vec!["digest", "-c", config.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = mail_intake(&all);
    assert!(out.status.success(), "digest {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Files named `digest.*.eml` in the outbox (replies are `reply.*.eml`).
fn digest_files(outbox: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(outbox)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    name.starts_with("digest.") && name.ends_with(".eml")
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The school names listed in section 三 of the text digest.
fn missing_schools(text: &str) -> BTreeSet<String> {
    let start = text.find("三、").expect("section 三");
    let end = text.find("四、").expect("section 四");
    text[start..end]
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("    "))
        .flat_map(|l| l.trim().split('、').map(str::to_string).collect::<Vec<_>>())
        .collect()
}

#[test]
fn text_digest_of_the_demo_inbox_counts_exactly() {
    let (_dir, _work, config) = demo("");
    let text = digest(&config, &["--date", "2023-03-20", "--text"]);
    for want in [
        "收件日报 2023-03-20（星期一）",
        "截止日期 2023-03-22：还有 2 天",
        "一、新到邮件（自开始收件以来）：共 10 封",
        "  专家推荐：5 封（已确认 2 · 待更正 3）",
        "  牵头院校上报：2 封（已确认 1 · 待更正 1）",
        "  试点工作总结：1 封（已确认 1）",
        "  未识别：2 封（待人工 1 · 自动邮件 1）",
        "二、累计：共 10 封",
        "当前有效提交（同一学校同一专家或专业大类只计最新一次）：专家推荐 5 · 牵头院校上报 2 · 试点工作总结 1",
        "三、尚无任何材料的学校：86 所（名单共 94 所，已有材料 8 所）",
        "  本科（未报 29 / 共 32）：",
        "  高职（未报 52 / 共 56）：",
        "  中职（未报 4 / 共 5）：",
        "    麒麟职业技术学校、曲靖农业学校、云南省曲靖应用技术学校、罗平县职业技术学校",
        "  开放大学（未报 1 / 共 1）：",
        "四、双高/双优学校专家不足 3 人：8 所",
        "  云南机电职业技术学院（双高专业群）：已确认 1 人（李华）",
        "  曲靖财经学校（双优、国家中职示范校）：已确认 0 人；待更正 1 人（王芳）",
        "  尚无牵头申报的专业大类：18 个",
        "  多于一所学校申报的专业大类：0 个",
        "  尚未申报牵头的双高学校：昆明工业职业技术学院、云南机电职业技术学院",
        "六、待人工处理（hold）：1 封",
        "  #8  03-14 10:08  t01@ynjg.example.cn  请问专家推荐表在哪里下载？",
        "七、处理失败：0 封",
        "八、退信（回复未能送达）：0 封",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    // Exactly the roster less the eight schools that sent a recognised submission.
    let submitted = [
        "昆明学院",
        "云南机电职业技术学院",
        "曲靖财经学校",
        "云南大学",
        "昆明冶金高等专科学校",
        "云南旅游职业学院",
        "云南交通职业技术学院",
        "大理大学",
    ];
    let rules = mail_intake::Rules::embedded();
    let expected: BTreeSet<String> =
        rules.schools.iter().map(|s| s.name.clone()).filter(|n| !submitted.contains(&n.as_str())).collect();
    assert_eq!(expected.len(), 86);
    assert_eq!(missing_schools(&text), expected);

    // After the deadline the count goes negative.
    let late = digest(&config, &["--date", "2023-03-25"]);
    assert!(late.contains("截止日期 2023-03-22：已过截止 3 天"), "{late}");
}

#[test]
fn html_digest_is_written_to_a_file() {
    let (dir, _work, config) = demo("");
    let html = dir.path().join("digest.html");
    let out = digest(&config, &["--date", "2023-03-20", "--html", html.to_str().unwrap()]);
    assert!(out.is_empty(), "--html alone prints nothing on stdout: {out}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<meta charset=\"utf-8\">"));
    assert!(page.contains("收件日报 2023-03-20") && page.contains("<table"));
    for banned in ["<script", "<link", "<style", "<img", "src=", "url("] {
        assert!(!page.contains(banned), "{banned} in the HTML digest");
    }
}

#[test]
fn sent_by_hand_once_per_day_with_the_register_attached() {
    let (_dir, work, config) = demo("");
    let outbox = work.join("outbox");
    let first = digest(&config, &["--date", "2023-03-20", "--send"]);
    assert!(first.contains("sent the digest for 2023-03-20 to office@example.edu.cn"), "{first}");
    let second = digest(&config, &["--date", "2023-03-20", "--send"]);
    assert!(second.contains("already sent"), "{second}");
    let files = digest_files(&outbox);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with("digest.2023-03-20_example.edu.cn.eml"), "{files:?}");
    // A copy sits in the Maildir's Sent folder, as for replies.
    let sent_copies = std::fs::read_dir(work.join("inbox/.Sent/cur"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("digest."))
        .count();
    assert_eq!(sent_copies, 1);

    let raw = std::fs::read(&files[0]).unwrap();
    let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert_eq!(msg.message_id(), Some("digest.2023-03-20@example.edu.cn"));
    assert_eq!(msg.header_raw("Auto-Submitted").map(str::trim), Some("auto-generated"));
    assert_eq!(msg.to().and_then(|a| a.first()).and_then(|a| a.address()), Some("office@example.edu.cn"));
    assert!(msg.body_text(0).unwrap().contains("三、尚无任何材料的学校：86 所"));
    assert!(msg.body_html(0).unwrap().contains("<table"));
    let attachment = msg.attachment(0).expect("the register is attached");
    use mail_parser::MimeHeaders as _;
    assert_eq!(attachment.attachment_name(), Some("登记表-2023-03-20.xlsx"));

    // The register re-read: every current submission of the demo is a row.
    let mut wb = calamine::Xlsx::new(std::io::Cursor::new(attachment.contents().to_vec())).unwrap();
    let mut cells: BTreeSet<String> = BTreeSet::new();
    for name in wb.sheet_names() {
        let range = wb.worksheet_range(&name).unwrap();
        for row in range.rows() {
            cells.extend(row.iter().map(|c| c.to_string()));
        }
    }
    for school in
        ["昆明学院", "云南机电职业技术学院", "曲靖财经学校", "昆明冶金高等专科学校", "云南交通职业技术学院", "大理大学"]
    {
        assert!(cells.contains(school), "{school} not in the attached register");
    }
    assert!(
        cells.iter().any(|c| c.contains("牵头院校上报+电子信息大类+昆明冶金高等专科学校")),
        "subjects are in the register"
    );

    // The next digest counts arrivals from this one's cut-off: nothing new since.
    let next = digest(&config, &["--date", "2023-03-21"]);
    assert!(next.contains("一、新到邮件（自上次日报 ") && next.contains("以来）：共 0 封"), "{next}");
    assert!(next.contains("二、累计：共 10 封"), "{next}");
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn daemon_sends_the_days_digest_once_across_a_restart() {
    // `at = 00:00`: today's digest is due as soon as the daemon starts.
    let (_dir, work, config) = demo("at = \"00:00\"\n");
    let outbox = work.join("outbox");
    let sent_copy = || {
        std::fs::read_dir(work.join("inbox/.Sent/cur"))
            .map(|d| d.flatten().filter(|e| e.file_name().to_string_lossy().starts_with("digest.")).count())
            .unwrap_or(0)
    };
    let log = work.join("daemon.log");
    let daemon = Daemon::start(&config, &log);
    // The Sent copy is made after the digest is marked sent.
    wait_for("the daemon's digest", Duration::from_secs(30), || sent_copy() == 1);
    daemon.stop_cleanly();
    assert_eq!(digest_files(&outbox).len(), 1);

    let again = Daemon::start(&config, &log);
    std::thread::sleep(Duration::from_secs(3));
    again.stop_cleanly();
    assert_eq!(digest_files(&outbox).len(), 1, "a restart sends no second digest the same day");
    assert_eq!(sent_copy(), 1);
    // By hand, the same day: already sent.
    let out = digest(&config, &["--send"]);
    assert!(out.contains("already sent"), "{out}");
}
