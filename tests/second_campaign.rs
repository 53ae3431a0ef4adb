//! A second, made-up campaign, written as a rules folder in code: another province (四川省),
//! another office, other kinds, keywords, subject parts, forms, roster, 专业大类, quotas and
//! reply prefixes. It runs end to end — `rules check`, `check --json`, the daemon's
//! `run --once` on a Maildir and `schools --json` — with nothing in `src/` knowing it.

use std::path::Path;

use crate::support::build::{ExpertForm, Mail, report_docx, scan_pdf};
use crate::support::mail_intake;

const CAMPAIGN: &str = r#"
[campaign]
name = "2026 年职业教育导师与实训基地遴选"
notice = "四川省教育厅关于开展 2026 年职业教育导师与实训基地遴选工作的通知"
office = "四川省职业教育研究中心"
timezone = "Asia/Shanghai"
expert_max_age = 60
senior_levels = ["正高", "副高"]
province_prefix = "四川省"

[[kind]]
id = "mentor_nomination"
name = "导师推荐"
convention = "导师推荐+学校名称+导师姓名"
keywords = ["导师推荐", "推荐导师"]
subject_parts = ["school", "expert_name"]
requires = ["form", "scan"]
form = "mentor"
deadline = "2030-06-30T23:59:59+08:00"
school_role = "experts"

[[kind]]
id = "base_application"
name = "实训基地申报"
convention = "实训基地申报+专业大类名称+学校名称"
keywords = ["实训基地"]
subject_parts = ["category", "school"]
requires = ["scan"]
deadline = "2030-06-30T23:59:59+08:00"
school_role = "leads"

[[kind]]
id = "annual_report"
name = "年度报告"
convention = "年度报告+学校名称"
keywords = ["年度报告"]
subject_parts = ["school"]
requires = ["report"]
deadline = "2030-06-30T23:59:59+08:00"
school_role = "summary"

[register]
experts_wanted = 2
flagship_flags = ["示范校"]
flagship_experts = 4
lead_flags = ["示范校"]

[reply]
acknowledge_prefix = "已收到："
request_correction_prefix = "请补正："

[reasons.errors]
subject_incomplete = "主题请按“{convention}”填写。"
unknown_school = "“{unknown_school}”不在遴选学校名单中。"
unknown_category = "“{unknown_category}”不是 {categories} 个专业大类之一。"
missing_form = "缺少{form}。"
missing_scan = "缺少盖章扫描件。"
missing_report = "未收到{kind}（Word 或 PDF），请补发。"
unreadable_attachment = "附件无法打开：{files}。"
name_mismatch = "主题中的导师“{expert_name}”与推荐表中的“{form_names}”不一致。"
school_mismatch = "主题中的学校“{school}”与表中的不一致。"
unsupported_archive = "压缩包无法打开。"
scan_unstamped = "扫描件未见公章。"
attachment_link = "请勿使用网盘链接。"

[reasons.warnings]
late = "提示：逾期。"
expert_over_age = "提示：导师年龄超过 {max_age} 周岁。"
expert_title_below_senior = "提示：导师职称低于副高级。"
duplicate_submission = "提示：重复报送，以本次为准。"
form_incomplete = "提示：推荐表有空项。"
expert_recommended_by_other_school = "提示：该导师也由其他学校推荐。"
school_not_on_roster = "提示：学校不在名单中。"
thread_from_stranger = "提示：回复了发给他人的邮件。"
seal_unverified = "提示：扫描件为灰度图像，未能确认公章。"

[subject]
prefixes = ["re", "fw", "fwd", "回复", "转发", "已收到", "请补正"]
separators = "+＋-－—_、/|,，:："
noise = ["申报", "材料", "附件", "四川省", "2026", "年"]
question_words = ["咨询", "请问", "？", "?"]
own_reply_prefixes = ["已收到", "请补正"]
department_suffixes = ["学院", "系", "部"]
honorifics = ["老师"]
institution_suffixes = ["学院", "学校"]
school_name_suffixes = ["学院", "学校"]
school_name_infixes = ["职业"]
note_words = ["补", "更新"]
public_mail_domains = ["qq.com", "163.com"]

[automatic]
senders = ["mailer-daemon", "postmaster", "noreply"]
sender_names = ["Mail Delivery System"]
subject_prefixes = ["自动回复", "undeliverable"]
precedence = ["bulk", "junk", "list", "auto_reply"]
own_header = "X-Mail-Intake"

[links]
patterns = ["pan.baidu.com"]
words = ["网盘"]

[attachments]
min_scan_side = 300
decoration_max_bytes = 20000
min_report_chars = 60

[form.mentor]
title = "职业教育导师推荐表"
markers = ["推荐表"]
required = ["name", "employer", "title"]
[form.mentor.labels]
name = ["姓名"]
gender = ["性别"]
birth = ["出生年月"]
employer = ["工作单位"]
title = ["专业技术职称", "职称"]
category = ["所属专业大类", "专业大类"]
phone = ["手机"]
email = ["电子邮箱"]
"#;

const SCHOOLS: &str = r#"
levels = ["高职", "中职"]

[[school]]
name = "成都航空职业技术学院"
aliases = ["成航院"]
level = "高职"
flags = ["示范校"]

[[school]]
name = "四川交通职业技术学院"
level = "高职"

[[school]]
name = "四川省商务学校"
level = "中职"
"#;

const CATEGORIES: &str = r#"
[[category]]
name = "交通运输大类"
aliases = ["交通运输"]

[[category]]
name = "电子与信息大类"
aliases = ["电子信息大类"]
"#;

const TITLES: &str = r#"
levels = ["正高", "副高", "中级", "初级"]

[[title]]
name = "教授"
level = "正高"

[[title]]
name = "副教授"
level = "副高"

[[title]]
name = "讲师"
level = "中级"
"#;

const ACKNOWLEDGE: &str = "{{ school }}：{{ office }}已收到{{ kind_name }}材料。\n";
const CORRECTION: &str =
    "{{ school }}：{{ office }}收到的{{ kind_name }}材料需要补正：\n{% for e in errors %}{{ e }}\n{% endfor %}";

/// The rules folder above, written under `dir`.
fn write_rules(dir: &Path) {
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    for (name, text) in [
        ("campaign.toml", CAMPAIGN),
        ("schools.toml", SCHOOLS),
        ("categories.toml", CATEGORIES),
        ("titles.toml", TITLES),
        ("templates/acknowledge.txt", ACKNOWLEDGE),
        ("templates/request_correction.txt", CORRECTION),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// The schools' mails, in arrival order: (file name, sender, raw message).
fn mails() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let mentor = |name: &str| {
        Mail::new(&format!("导师推荐+四川省成都航空职业技术学院+{name}"))
            .from("jwc@cap.example.cn")
            .attach(&format!("{name}推荐表.docx"), ExpertForm::new(name, "成都航空职业技术学院").docx())
            .attach("推荐表盖章扫描件.pdf", scan_pdf())
    };
    let report =
        "本年度我校围绕职业教育导师队伍建设和实训基地建设开展了大量工作，取得了明显成效，现将有关情况报告如下。";
    vec![
        ("1.eml", "jwc@cap.example.cn", mentor("张伟").build()),
        ("2.eml", "jwc@cap.example.cn", mentor("李娜").build()),
        (
            "3.eml",
            "jwc@sctc.example.cn",
            Mail::new("实训基地申报+交通运输大类+四川交通职业技术学院")
                .from("jwc@sctc.example.cn")
                .attach("申报书盖章扫描件.pdf", scan_pdf())
                .build(),
        ),
        (
            "4.eml",
            "office@scsw.example.cn",
            Mail::new("年度报告+四川省商务学校").from("office@scsw.example.cn").build(),
        ),
        (
            "5.eml",
            "jwc@sctc.example.cn",
            Mail::new("四川交通职业技术学院年度报告")
                .from("jwc@sctc.example.cn")
                .attach("年度报告.docx", report_docx("年度报告", &[report, report]))
                .build(),
        ),
        // The first campaign's subject means nothing here.
        (
            "6.eml",
            "jwc@cap.example.cn",
            Mail::new("专家推荐+成都航空职业技术学院+王芳").from("jwc@cap.example.cn").build(),
        ),
    ]
}

fn json_lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect()
}

#[test]
fn a_second_campaign_runs_from_its_rules_folder_alone() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    write_rules(&rules);
    let out = mail_intake(&["rules", "check", rules.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));

    // `check --json`: kinds, schools (the province prefix dropped) and decisions from these rules.
    let mails = mails();
    let files = dir.path().join("mails");
    std::fs::create_dir_all(&files).unwrap();
    let mut paths = Vec::new();
    for (name, _, raw) in &mails {
        std::fs::write(files.join(name), raw).unwrap();
        paths.push(files.join(name).display().to_string());
    }
    let mut args = vec!["check", "--json", "--rules", rules.to_str().unwrap()];
    args.extend(paths.iter().map(String::as_str));
    let lines = json_lines(&mail_intake(&args));
    let at = |i: usize, key: &str| lines[i][key].clone();
    assert_eq!(at(0, "kind"), "mentor_nomination", "{}", lines[0]);
    assert_eq!(at(0, "decision"), "acknowledge", "{}", lines[0]);
    assert_eq!(at(0, "fields")["school"], "成都航空职业技术学院");
    assert_eq!(at(0, "fields")["expert_name"], "张伟");
    assert_eq!(at(0, "experts")[0]["title_level"], "正高");
    assert_eq!((at(2, "kind"), at(2, "decision")), ("base_application".into(), "acknowledge".into()), "{}", lines[2]);
    assert_eq!(at(2, "fields")["category"], "交通运输大类");
    assert_eq!(at(3, "kind"), "annual_report");
    assert_eq!(at(3, "decision"), "request_correction");
    assert_eq!(at(3, "errors"), serde_json::json!(["missing_report"]));
    assert_eq!(at(3, "reasons"), serde_json::json!(["未收到年度报告（Word 或 PDF），请补发。"]), "{}", lines[3]);
    assert_eq!((at(4, "kind"), at(4, "decision")), ("annual_report".into(), "acknowledge".into()), "{}", lines[4]);
    assert_eq!(at(5, "kind"), serde_json::Value::Null, "{}", lines[5]);

    // The daemon on a Maildir: replies carry this campaign's subject prefixes.
    let inbox = dir.path().join("inbox");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(inbox.join(sub)).unwrap();
    }
    for (i, (_, _, raw)) in mails.iter().enumerate() {
        std::fs::write(inbox.join("cur").join(format!("{}.M{i}P1.test:2,", 1_780_000_000 + 60 * i)), raw).unwrap();
    }
    let config = dir.path().join("mail-intake.toml");
    std::fs::write(
        &config,
        "[maildir]\npath = \"inbox\"\n\n[outbox_dir]\npath = \"outbox\"\nfrom = \"四川省职业教育研究中心 <office@example.sc.cn>\"\n\n\
         [store]\npath = \"store.sqlite3\"\n\n[reply]\nreply_since = \"2000-01-01\"\n\n[rules]\ndir = \"rules\"\n",
    )
    .unwrap();
    let c = config.to_str().unwrap();
    let out = mail_intake(&["run", "--config", c, "--once"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("stored 6 new message(s), judged 6"), "{text}");
    let mut subjects = Vec::new();
    for entry in std::fs::read_dir(dir.path().join("outbox")).unwrap().flatten() {
        let raw = std::fs::read(entry.path()).unwrap();
        let message = mail_parser::MessageParser::default().parse(&raw[..]).expect("a reply");
        subjects.push(message.subject().unwrap_or_default().to_string());
    }
    subjects.sort();
    for wanted in [
        "已收到：导师推荐+四川省成都航空职业技术学院+张伟",
        "已收到：导师推荐+四川省成都航空职业技术学院+李娜",
        "已收到：实训基地申报+交通运输大类+四川交通职业技术学院",
        "已收到：四川交通职业技术学院年度报告",
        "请补正：年度报告+四川省商务学校",
    ] {
        assert!(subjects.iter().any(|s| s == wanted), "no reply `{wanted}` in {subjects:?}");
    }
    assert!(subjects.iter().all(|s| !s.starts_with("回执") && !s.starts_with("请更正")), "{subjects:?}");

    // `schools --json`: the register counts by this campaign's roles and quotas.
    let schools = json_lines(&mail_intake(&["schools", "--config", c, "--json"]));
    let school = |name: &str| schools.iter().find(|s| s["school"] == name).cloned().expect(name);
    let cap = school("成都航空职业技术学院");
    assert_eq!(cap["experts_complete"], serde_json::json!(["张伟", "李娜"]), "{cap}");
    assert_eq!(cap["status"], "部分", "a 示范校 is asked for 4 experts and a base: {cap}");
    let sctc = school("四川交通职业技术学院");
    assert_eq!(sctc["lead_categories"], serde_json::json!(["交通运输大类"]), "{sctc}");
    assert_eq!(sctc["summary"], true);
    assert_eq!(sctc["status"], "部分", "two experts wanted, none sent: {sctc}");
    let sw = school("四川省商务学校");
    assert_eq!((sw["level"].clone(), sw["status"].clone()), ("中职".into(), "部分".into()), "{sw}");
    assert_eq!(schools.len(), 3, "no other school: {schools:?}");
}
