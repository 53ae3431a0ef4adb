//! The admin commands (`list`, `show`, `reply`, `export`, `stats`) through the binary, on a
//! store filled by the daemon from real mail: the bundled demo inbox, plus one resubmission
//! (曲靖财经学校 sends 王芳's form again with the missing scan) that supersedes message #3.
//!
//! After `setup` the store holds 11 messages:
//! #1 ack expert 昆明学院/张明 · #2 ack expert 云南机电职业技术学院/李华 (title warning) ·
//! #3 request_correction expert 曲靖财经学校/王芳 missing_scan, superseded by #11 ·
//! #4 request_correction expert 云南大学 subject_incomplete · #5 ack lead 昆明冶金高等专科学校 ·
//! #6 request_correction lead 云南旅游职业学院 unknown_category · #7 ack summary 云南交通职业技术学院 ·
//! #8 hold (a question) · #9 ignore (auto-reply) · #10 request_correction expert 大理大学/陈静
//! (cloud link, late, 2023-03-26) · #11 ack expert 曲靖财经学校/王芳 (2023-03-15).

use mail_intake::store;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use calamine::{Data, Reader as _};
use mail_intake::store::Store;

use crate::support::build::{ExpertForm, Mail, scan_pdf};
use crate::support::mail_intake;

struct Demo {
    _dir: tempfile::TempDir,
    work: PathBuf,
    config: String,
}

impl Demo {
    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut all: Vec<&str> = vec![args[0], "-c", &self.config];
        all.extend_from_slice(&args[1..]);
        mail_intake(&all)
    }

    /// Runs a command that must succeed; returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed ({:?}):\n{}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The ids `list --json` gives for these filters.
    fn ids(&self, filters: &[&str]) -> Vec<i64> {
        let mut args = vec!["list", "--json"];
        args.extend_from_slice(filters);
        self.ok(&args)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_i64().unwrap())
            .collect()
    }

    fn store(&self) -> Store {
        Store::open(&self.work.join("mail-intake.sqlite3")).unwrap()
    }

    fn show_json(&self, id: i64) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["show", &id.to_string(), "--json"])).unwrap()
    }
}

/// The demo inbox judged by the daemon, then one resubmission delivered and judged.
fn setup() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("demo");
    let out = mail_intake(&["demo", "--dir", work.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let config = work.join("mail-intake.toml").to_str().unwrap().to_string();

    let resubmission = Mail::new("专家推荐+曲靖财经学校+王芳")
        .from("学校老师 <jwc@qjcj.example.cn>")
        .to("office@example.edu.cn")
        .message_id("<resubmission-11@qjcj.example.cn>")
        .attach("推荐表.docx", ExpertForm::new("王芳", "曲靖财经学校").docx())
        .attach("盖章扫描件.pdf", scan_pdf())
        .build();
    // Delivered 2023-03-15 10:21:07 +08:00 (the Maildir delivery time is the file's mtime);
    // named to sort after the demo's files, so it gets the next UID.
    let secs = 1_678_846_867;
    let path = work.join("inbox/cur/1679900000.M11P1.test:2,");
    std::fs::write(&path, resubmission).unwrap();
    let f = std::fs::File::options().write(true).open(&path).unwrap();
    f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs)).unwrap();
    let demo = Demo { _dir: dir, work, config };
    let text = demo.ok(&["run", "--once"]);
    assert!(text.contains("stored 1 new message(s), judged 1, sent 1 reply(ies)"), "{text}");
    demo
}

#[test]
fn list_filters_give_exact_counts() {
    let d = setup();
    assert_eq!(d.ids(&[]), vec![1, 2, 4, 5, 6, 7, 8, 9, 10, 11], "default: current submissions and the rest");
    assert_eq!(d.ids(&["--all"]), (1..=11).collect::<Vec<_>>());
    assert_eq!(d.ids(&["--decision", "acknowledge"]), vec![1, 2, 5, 7, 11]);
    assert_eq!(d.ids(&["--decision", "request_correction"]), vec![4, 6, 10]);
    assert_eq!(d.ids(&["--decision", "request_correction", "--all"]), vec![3, 4, 6, 10]);
    assert_eq!(d.ids(&["--decision", "hold"]), vec![8]);
    assert_eq!(d.ids(&["--decision", "ignore"]), vec![9]);
    assert_eq!(d.ids(&["--kind", "expert_recommendation"]), vec![1, 2, 4, 10, 11]);
    assert_eq!(d.ids(&["--kind", "lead_institution"]), vec![5, 6]);
    assert_eq!(d.ids(&["--kind", "pilot_summary"]), vec![7]);
    assert_eq!(d.ids(&["--school", "曲靖财经学校"]), vec![11]);
    assert_eq!(d.ids(&["--school", "曲靖财经学校", "--all"]), vec![3, 11]);
    assert_eq!(d.ids(&["--school", "云南机电职院"]), vec![2], "an alias means its school");
    assert_eq!(d.ids(&["--school", "昆明"]), vec![1, 5], "part of a name");
    assert_eq!(d.ids(&["--since", "2023-03-20"]), vec![10]);
    assert_eq!(d.ids(&["--until", "2023-03-14"]), vec![1, 2, 4, 5, 6, 7, 8, 9]);
    assert_eq!(d.ids(&["--since", "2023-03-15", "--until", "2023-03-15"]), vec![11], "both ends inclusive");
    assert_eq!(d.ids(&["--since", "2023-03-14", "--until", "2023-03-14", "--all"]).len(), 9);
    assert_eq!(d.ids(&["--error", "missing_scan"]), Vec::<i64>::new());
    assert_eq!(d.ids(&["--error", "missing_scan", "--all"]), vec![3]);
    assert_eq!(d.ids(&["--error", "attachment_link"]), vec![10]);
    assert_eq!(
        d.ids(&["--kind", "expert_recommendation", "--decision", "acknowledge", "--since", "2023-03-15"]),
        vec![11]
    );
    assert_eq!(d.ids(&["--failed"]), Vec::<i64>::new());

    // The table: one line per message, CJK-aware columns, the hidden history mentioned.
    let table = d.ok(&["list"]);
    assert!(table.lines().next().unwrap().starts_with("id "), "{table}");
    assert!(table.contains("10 message(s)") && table.contains("1 superseded submission(s) not shown"), "{table}");
    let line3 = d.ok(&["list", "--all", "--school", "曲靖财经学校"]);
    assert!(line3.contains("superseded by #11") && line3.contains("missing_scan"), "{line3}");
    // Columns line up: the reply column starts at the same display column on every row.
    let rows: Vec<&str> = table.lines().skip(1).take_while(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 10);

    // JSON lines carry the whole row.
    let json = d.ok(&["list", "--json", "--school", "云南机电职业技术学院"]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["decision"], "acknowledge");
    assert_eq!(v["warnings"][0], "expert_title_below_senior");
    assert_eq!(v["arrival"], "2023-03-14T10:02:00+08:00");

    // A failed judging shows up under --failed.
    let store = d.store();
    store.with(|c| store::messages::mark_failed(c, 9, "judging crashed: test")).unwrap();
    assert_eq!(d.ids(&["--failed"]), vec![9]);

    // Mistakes are explained, not ignored.
    for (args, says) in [
        (vec!["list", "--decision", "accepted"], "use one of acknowledge"),
        (vec!["list", "--kind", "experts"], "use one of expert_recommendation"),
        (vec!["list", "--error", "no_scan"], "missing_scan"),
        (vec!["list", "--since", "14.03.2023"], "YYYY-MM-DD"),
        (vec!["list", "--since", "2023-03-20", "--until", "2023-03-10"], "after --until"),
    ] {
        let out = d.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// SHA-256 of one attachment of a raw message, as parse gives it.
fn attachment_sha(raw: &[u8], name: &str) -> String {
    let mail = mail_intake::parse::parse(raw, &mail_intake::limits::Limits::default());
    let a = mail.attachments.iter().find(|a| a.filename == name).unwrap();
    mail_intake::store::sha256_hex(&a.bytes)
}

#[test]
fn show_tells_everything_about_one_message() {
    let d = setup();
    let raw = d.store().with(|c| store::messages::raw(c, 3)).unwrap().unwrap();
    let sha = attachment_sha(&raw, "推荐表.docx");

    let text = d.ok(&["show", "3"]);
    for needle in [
        "Message #3 — request_correction (expert_recommendation)",
        "From:           学校老师 <jwc@qjcj.example.cn>",
        "Return-Path:",
        "Message-ID:     <demo-3@qjcj.example.cn>",
        "Subject:        回复：专家推荐+曲靖财经学校+王芳",
        "folder INBOX",
        "UID ",
        "INTERNALDATE 2023-03-14T02:03:00+00:00",
        "missing_scan (缺少盖章扫描件)",
        "未收到盖章扫描件（PDF 或图片），请补发。",
        "推荐表.docx · docx · form (电子版表格)",
        &format!("sha256 {sha}"),
        "王芳 · 男 · born 1969-08 · 高级讲师 (副高)",
        "→ jwc@qjcj.example.cn · state sent · attempts 1",
        "subject 请更正：专家推荐+曲靖财经学校+王芳",
        "superseded by #11",
        "← this message",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }

    let text = d.ok(&["show", "11"]);
    // #11 completes the submission #3 left incomplete: not a duplicate (spec §8).
    assert!(text.contains("supersedes #3") && !text.contains("duplicate_submission"), "{text}");
    assert!(text.contains("· complete"), "{text}");
    assert!(text.contains("born 1975-06") && text.contains("13888123456"), "{text}");
    assert!(text.contains("盖章扫描件.pdf · pdf · scan (盖章扫描件)"), "{text}");

    // JSON: the stored verdict as check prints it, the replies, the history.
    let v = d.show_json(3);
    assert_eq!(v["message"]["superseded_by"], 11);
    assert_eq!(v["verdict"]["errors"][0], "missing_scan");
    assert_eq!(v["verdict"]["attachments"][0]["sha256"], sha.as_str());
    assert_eq!(v["replies"][0]["state"], "sent");
    assert!(v["locations"][0]["uid"].as_u64().is_some_and(|u| u > 0), "{}", v["locations"]);
    let history: Vec<i64> = v["history"].as_array().unwrap().iter().map(|h| h["id"].as_i64().unwrap()).collect();
    assert_eq!(history, vec![3, 11]);
    assert_eq!(d.show_json(11)["supersedes"], serde_json::json!([3]));

    // The configuration is never printed; a missing message is refused.
    assert!(!text.contains("mail-intake.toml") && !text.contains("[outbox_dir]"));
    let out = d.run(&["show", "99"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no message #99"));
}

#[test]
fn reply_resend_and_suppress_change_states_and_the_outbox_sends_only_the_resent_one() {
    let d = setup();
    let before = d.show_json(3)["replies"][0].clone();
    assert_eq!(before["state"], "sent");

    // A reply that went out cannot be suppressed; hold, ignore and unknown ids are refused.
    for (args, says) in [
        (vec!["reply", "3", "--suppress"], "no pending reply"),
        (vec!["reply", "8", "--resend"], "on hold"),
        (vec!["reply", "9", "--resend"], "automatic mail"),
        (vec!["reply", "99", "--resend"], "no message #99"),
    ] {
        let out = d.run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let text = d.ok(&["reply", "3", "--resend"]);
    assert!(text.contains("sent → pending"), "{text}");
    let r = d.show_json(3)["replies"][0].clone();
    assert_eq!((r["state"].as_str(), r["attempts"].as_i64()), (Some("pending"), Some(0)));

    // Queued then suppressed: it stays unsent.
    d.ok(&["reply", "1", "--resend"]);
    let text = d.ok(&["reply", "1", "--suppress"]);
    assert!(text.contains("suppressed"), "{text}");
    let r = d.show_json(1)["replies"][0].clone();
    assert_eq!((r["state"].as_str(), r["reason"].as_str()), (Some("suppressed"), Some("suppressed by an admin")));

    // A submission whose reply row is gone (say, a failed plan) gets one planned.
    let conn = rusqlite::Connection::open(d.work.join("mail-intake.sqlite3")).unwrap();
    conn.execute("DELETE FROM replies WHERE message = 5", []).unwrap();
    let text = d.ok(&["reply", "5", "--resend"]);
    assert!(text.contains("planned: pending") && text.contains("jwc@kmyz.example.cn"), "{text}");

    let text = d.ok(&["run", "--once"]);
    assert!(text.contains("stored 0 new message(s), judged 0, sent 2 reply(ies)"), "{text}");
    let after = d.show_json(3)["replies"][0].clone();
    assert_eq!((after["state"].as_str(), after["attempts"].as_i64()), (Some("sent"), Some(1)));
    assert!(after["sent_at"].as_str() > before["sent_at"].as_str(), "sent again");
    assert_eq!(d.show_json(1)["replies"][0]["state"], "suppressed");
    assert_eq!(d.show_json(5)["replies"][0]["state"], "sent");
    for id in [2, 4, 6, 7, 10, 11] {
        assert_eq!(d.show_json(id)["replies"][0]["attempts"], 1, "#{id} was not sent again");
    }
    // Nothing more is due.
    assert!(d.ok(&["run", "--once"]).contains("sent 0 reply(ies)"));
}

fn cell_text(c: &Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn sheet_rows(wb: &mut calamine::Xlsx<std::io::BufReader<std::fs::File>>, name: &str) -> Vec<Vec<String>> {
    let range = wb.worksheet_range(name).unwrap();
    range.rows().map(|r| r.iter().map(cell_text).collect()).collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        out.push(e.path());
        if e.file_type().unwrap().is_dir() {
            walk(&e.path(), out);
        }
    }
}

#[test]
fn export_round_trips_through_xlsx_and_csv_and_writes_attachment_folders() {
    use std::os::unix::fs::PermissionsExt;
    let d = setup();
    let out = d.work.join("out");
    let xlsx = out.join("register.xlsx");
    let csv_dir = out.join("csv");
    let att = out.join("attachments");
    let text = d.ok(&[
        "export",
        "--xlsx",
        xlsx.to_str().unwrap(),
        "--csv",
        csv_dir.to_str().unwrap(),
        "--attachments",
        att.to_str().unwrap(),
    ]);
    assert!(text.contains("9 sheets") && text.contains("9 CSV file(s)"), "{text}");

    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let names = wb.sheet_names();
    assert_eq!(
        names,
        [
            "专家推荐",
            "牵头院校上报",
            "试点工作总结",
            "报送",
            "专家",
            "报送情况",
            "联系人（附件1）",
            "汇总表（附件3）",
            "全部邮件"
        ]
    );

    // 专家: exactly the store's current experts, every value as text.
    let store = d.store();
    let experts = store.with(|c| store::verdicts::current_experts(c, "expert_recommendation")).unwrap();
    let rows = sheet_rows(&mut wb, "专家");
    assert_eq!(
        rows[0],
        [
            "序号",
            "姓名",
            "性别",
            "出生年月",
            "职称",
            "职称级别",
            "工作单位",
            "专业大类",
            "手机",
            "电子邮箱",
            "推荐学校",
            "邮件编号"
        ]
    );
    assert_eq!(rows.len() - 1, experts.len());
    assert_eq!(experts.len(), 4, "张明, 李华, 赵强 and the resubmitted 王芳 (not the superseded one)");
    for (i, (row, (message, school, e))) in rows[1..].iter().zip(&experts).enumerate() {
        let level = if e.title_level == "none" { "无".to_string() } else { e.title_level.clone() };
        let want = [
            (i + 1).to_string(),
            e.name.clone(),
            e.gender.clone().unwrap_or_default(),
            e.birth.clone().unwrap_or_default(),
            e.title.clone().unwrap_or_default(),
            level,
            e.employer.clone().unwrap_or_default(),
            e.category.clone().unwrap_or_default(),
            e.phone.clone().unwrap_or_default(),
            e.email.clone().unwrap_or_default(),
            school.clone().unwrap_or_default(),
            message.to_string(),
        ];
        assert_eq!(row, &want);
    }
    let range = wb.worksheet_range("专家").unwrap();
    let wang = rows.iter().position(|r| r[11] == "11").unwrap();
    assert_eq!(range.get((wang, 8)), Some(&Data::String("13888123456".into())), "phone stays text");
    assert_eq!(range.get((wang, 3)), Some(&Data::String("1975-06".into())), "birth stays text");

    // 专家推荐: the current expert submissions with their fields.
    let rows = sheet_rows(&mut wb, "专家推荐");
    assert_eq!(&rows[0][..4], ["编号", "到达时间", "学校名称", "专家姓名"]);
    let current = store
        .with(|c| {
            store::messages::list(
                c,
                &store::messages::Filter {
                    current_only: true,
                    kind: Some("expert_recommendation".into()),
                    ..Default::default()
                },
            )
        })
        .unwrap();
    let got: Vec<(String, String, String)> =
        rows[1..].iter().map(|r| (r[0].clone(), r[2].clone(), r[3].clone())).collect();
    let want: Vec<(String, String, String)> = current
        .iter()
        .map(|m| (m.id.to_string(), m.school.clone().unwrap_or_default(), m.expert_name.clone().unwrap_or_default()))
        .collect();
    assert_eq!(got, want);
    let r11 = rows.iter().find(|r| r[0] == "11").unwrap();
    assert_eq!(r11[1], "2023-03-15 10:21:07");
    assert!(r11.contains(&"已受理".to_string()) && !r11.iter().any(|c| c.contains("重复报送")), "{r11:?}");
    let r10 = rows.iter().find(|r| r[0] == "10").unwrap();
    assert!(r10.contains(&"需更正".to_string()) && r10.iter().any(|c| c == "附件为超大附件下载链接"), "{r10:?}");

    // 报送情况: every roster school once.
    let rows = sheet_rows(&mut wb, "报送情况");
    assert_eq!(rows[0], ["学校", "层次", "标志", "专家推荐", "牵头院校", "总结", "待更正", "状态"]);
    assert_eq!(rows.len() - 1, mail_intake::Rules::embedded().schools.len());
    let school = |name: &str| rows.iter().find(|r| r[0] == name).unwrap().clone();
    assert_eq!(&school("曲靖财经学校")[3..], ["1", "", "否", "0", "部分"]);
    assert_eq!(&school("昆明冶金高等专科学校")[3..5], ["0", "电子与信息大类"]);
    assert_eq!(&school("云南交通职业技术学院")[5], "是");
    assert_eq!(&school("云南旅游职业学院")[3..], ["0", "未识别专业大类", "否", "1", "部分"]);
    assert_eq!(&school("昆明理工大学")[7], "未报送");

    // 全部邮件: every stored message, with what became of it.
    let rows = sheet_rows(&mut wb, "全部邮件");
    assert_eq!(rows.len() - 1, 11);
    assert_eq!(rows[3][0], "3");
    assert_eq!(rows[3][11], "已被 #11 取代");
    assert_eq!(rows[3][12], rows[11][12], "#3 and #11 are one submission");
    assert_eq!(rows[8][4], "待人工处理");

    // CSV: a BOM, then the very same rows.
    for name in names {
        let bytes = std::fs::read(csv_dir.join(format!("{name}.csv"))).unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "{name}.csv has no BOM");
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(&bytes[3..]);
        let csv_rows: Vec<Vec<String>> =
            reader.records().map(|r| r.unwrap().iter().map(String::from).collect()).collect();
        assert_eq!(csv_rows, sheet_rows(&mut wb, &name), "{name}.csv differs from the sheet");
    }

    // Attachments: kind/school/expert-or-category/original-name, nothing outside the folder.
    let mut paths = Vec::new();
    walk(&att, &mut paths);
    let root = att.canonicalize().unwrap();
    for p in &paths {
        assert!(p.canonicalize().unwrap().starts_with(&root), "{} escapes the target", p.display());
    }
    let files: BTreeSet<String> = paths
        .iter()
        .filter(|p| p.is_file())
        .map(|p| p.strip_prefix(&att).unwrap().to_str().unwrap().to_string())
        .collect();
    let want: BTreeSet<String> = [
        "专家推荐/昆明学院/张明/附件2：专家推荐表（张明）.docx",
        "专家推荐/昆明学院/张明/张明推荐表盖章扫描件.pdf",
        "专家推荐/云南机电职业技术学院/李华/新建 Microsoft Word 文档.docx",
        "专家推荐/云南机电职业技术学院/李华/扫描全能王 2023-03-15 10.21.pdf",
        "专家推荐/曲靖财经学校/王芳/推荐表.docx",
        "专家推荐/曲靖财经学校/王芳/推荐表 (2).docx",
        "专家推荐/曲靖财经学校/王芳/盖章扫描件.pdf",
        "专家推荐/云南大学/赵强/附件2.docx",
        "专家推荐/云南大学/赵强/盖章.pdf",
        "牵头院校上报/昆明冶金高等专科学校/电子与信息大类/附件1：申请表.docx",
        "牵头院校上报/昆明冶金高等专科学校/电子与信息大类/申请表盖章版.pdf",
        "牵头院校上报/云南旅游职业学院/未识别专业大类/申请表盖章版.pdf",
        "试点工作总结/云南交通职业技术学院/试点工作总结.docx",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(files, want);
    // The same bytes as the stored message carries.
    let raw = store.with(|c| store::messages::raw(c, 1)).unwrap().unwrap();
    let written = std::fs::read(att.join("专家推荐/昆明学院/张明/张明推荐表盖章扫描件.pdf")).unwrap();
    assert_eq!(mail_intake::store::sha256_hex(&written), attachment_sha(&raw, "张明推荐表盖章扫描件.pdf"));

    // Owner-only, everything.
    for p in paths.iter().chain([&xlsx, &csv_dir, &att, &out]) {
        let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let want = if p.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode, want, "{} is {mode:o}", p.display());
    }
    for e in std::fs::read_dir(&csv_dir).unwrap().flatten() {
        assert_eq!(e.metadata().unwrap().permissions().mode() & 0o777, 0o600);
    }

    // Never into a folder that holds something already; the workbook is simply replaced.
    let again = d.run(&["export", "--attachments", att.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not empty"));
    d.ok(&["export", "--xlsx", xlsx.to_str().unwrap()]);
    let nothing = d.run(&["export"]);
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("nothing to export"));
}

#[test]
fn register_xlsx_is_the_exported_workbook() {
    let d = setup();
    let rules = mail_intake::Rules::embedded();
    let bytes = d.store().with(|c| Ok(mail_intake::export::register_xlsx(c, &rules))).unwrap().unwrap();
    let mut wb = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(wb.sheet_names().len(), 9);
    let experts = wb.worksheet_range("专家").unwrap();
    assert_eq!(experts.rows().count(), 5);
}

#[test]
fn stats_counts_are_exact() {
    let d = setup();
    let v: serde_json::Value = serde_json::from_str(&d.ok(&["stats", "--json"])).unwrap();
    let count = |kind: Option<&str>, decision: &str| {
        v["by_kind_decision"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kind"].as_str() == kind && k["decision"] == decision)
            .map(|k| k["count"].as_i64().unwrap())
            .unwrap_or(0)
    };
    assert_eq!(count(Some("expert_recommendation"), "acknowledge"), 3);
    assert_eq!(count(Some("expert_recommendation"), "request_correction"), 3);
    assert_eq!(count(Some("lead_institution"), "acknowledge"), 1);
    assert_eq!(count(Some("lead_institution"), "request_correction"), 1);
    assert_eq!(count(Some("pilot_summary"), "acknowledge"), 1);
    assert_eq!(count(None, "hold"), 1);
    assert_eq!(count(None, "ignore"), 1);
    assert_eq!(v["per_day"], serde_json::json!({"2023-03-14": 9, "2023-03-15": 1, "2023-03-26": 1}));
    let t = &v["totals"];
    assert_eq!((t["stored"].as_i64(), t["judged"].as_i64(), t["failed"].as_i64()), (Some(11), Some(11), Some(0)));
    assert_eq!((t["current_submissions"].as_i64(), t["superseded"].as_i64()), (Some(8), Some(1)));
    assert_eq!(t["replies"], serde_json::json!({"sent": 9}));

    let text = d.ok(&["stats"]);
    let line = |start: &str| {
        text.lines().find(|l| l.starts_with(start)).unwrap().split_whitespace().skip(1).collect::<Vec<_>>().join(" ")
    };
    assert_eq!(line("expert_recommendation"), "3 3 0 0 6");
    assert_eq!(line("total"), "5 4 1 1 11");
    assert!(text.contains("2023-03-15     1") && text.contains("replies: sent 9"), "{text}");
}

#[test]
fn admin_commands_on_a_real_dovecot_store() {
    use crate::support::mailserver::{MailServer, skip_without_servers};
    use std::time::Duration;
    const OFFICE: &str = "office@example.edu.cn";
    const SCHOOL: &str = "school1@school1.example.cn";
    const SECRET: &str = "Adm1n-Secret-pw-7q";
    if skip_without_servers("admin_commands_on_a_real_dovecot_store") {
        return;
    }
    let server = MailServer::start_with_users(&[(OFFICE, SECRET), (SCHOOL, "school1-pw")]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mail-intake.toml");
    std::fs::write(
        &config,
        format!(
            "[mailbox]\nhost = \"{host}\"\nport = {imap}\ntls = \"none\"\nuser = \"{OFFICE}\"\npassword = \"{SECRET}\"\n\
             poll_interval = \"3s\"\n\n[smtp]\nhost = \"{host}\"\nport = {smtp}\ntls = \"none\"\nfrom = \"省学分银行 <{OFFICE}>\"\n\n\
             [store]\npath = \"{store}\"\n\n[reply]\nreply_since = \"2000-01-01\"\n",
            host = server.host,
            imap = server.imap_port,
            smtp = server.smtp_port,
            store = dir.path().join("store.sqlite3").display(),
        ),
    )
    .unwrap();
    let c = config.to_str().unwrap();
    // One at a time, so UID 1 is the one missing its scan.
    server.send(&crate::support::daemon::demo(2, SCHOOL, "admin-missing-scan"), SCHOOL, OFFICE);
    assert!(server.wait_for(OFFICE, "INBOX", 1, Duration::from_secs(60)), "mail delivered");
    server.send(&crate::support::daemon::demo(0, SCHOOL, "admin-expert-ok"), SCHOOL, OFFICE);
    assert!(server.wait_for(OFFICE, "INBOX", 2, Duration::from_secs(60)), "mail delivered");
    let run = |args: &[&str]| {
        let out = mail_intake(args);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{args:?}: {stdout}\n{stderr}");
        assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET), "{args:?} printed the password");
        stdout
    };
    let text = run(&["run", "-c", c, "--once"]);
    assert!(text.contains("stored 2 new message(s), judged 2, sent 2 reply(ies)"), "{text}");
    assert!(server.wait_for(SCHOOL, "INBOX", 2, Duration::from_secs(60)), "two replies");

    // Where it was seen: the real account, folder, UIDVALIDITY, UID and INTERNALDATE.
    let shown: serde_json::Value = serde_json::from_str(&run(&["show", "-c", c, "1", "--json"])).unwrap();
    let seen = &shown["locations"][0];
    assert_eq!((seen["folder"].as_str(), seen["uid"].as_i64()), (Some("INBOX"), Some(1)));
    assert!(seen["account"].as_str().unwrap().contains(OFFICE), "{seen}");
    assert!(seen["uidvalidity"].as_i64().unwrap() > 0 && seen["internal_date"].is_string(), "{seen}");
    let text = run(&["show", "-c", c, "1"]);
    assert!(text.contains("folder INBOX · UIDVALIDITY") && text.contains("missing_scan"), "{text}");
    assert_eq!(run(&["list", "-c", c, "--json", "--error", "missing_scan"]).lines().count(), 1);

    // Re-sent through the real SMTP server: the school gets it a second time, nothing else moves.
    run(&["reply", "-c", c, "1", "--resend"]);
    let text = run(&["run", "-c", c, "--once"]);
    assert!(text.contains("stored 0 new message(s), judged 0, sent 1 reply(ies)"), "{text}");
    assert!(server.wait_for(SCHOOL, "INBOX", 3, Duration::from_secs(60)), "the re-sent reply arrived");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(server.count_messages(SCHOOL, "INBOX"), 3);

    let stats: serde_json::Value = serde_json::from_str(&run(&["stats", "-c", c, "--json"])).unwrap();
    assert_eq!(stats["totals"]["replies"], serde_json::json!({"sent": 2}));
    let att = dir.path().join("attachments");
    run(&[
        "export",
        "-c",
        c,
        "--attachments",
        att.to_str().unwrap(),
        "--xlsx",
        dir.path().join("r.xlsx").to_str().unwrap(),
    ]);
    assert!(att.join("专家推荐/曲靖财经学校/王芳/推荐表.docx").is_file());
}
