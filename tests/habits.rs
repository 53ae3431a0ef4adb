//! The habits of schools' mail, built in code and judged as a careful clerk would (spec §2–§4).
//!
//! Every test is data: build a mail with `support::build`, judge it, and compare the
//! decision, kind, fields, errors, warnings, experts and attachments with what the spec says.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use mail_intake::verdict::Role;
use mail_intake::{Decision, ErrorCode, JudgeOptions, Rules, Verdict, WarningCode, judge};

use crate::support::build::{
    Birth, BodyCharset, ExpertForm, HeaderText, Labels, LeadForm, Mail, MemberName, NameStyle, SummaryRow,
    corrupt_docx, dsn, encrypted_docx, encrypted_zip, fake_7z, fake_rar, jpeg, jpeg_of_size, raw_zip, report_docx,
    scan_pdf, summary_docx, summary_xlsx, text_pdf, truncated_docx,
};

use Decision::{Acknowledge, Hold, Ignore, RequestCorrection};
use ErrorCode as E;
use WarningCode as W;

const EXPERT: Option<&str> = Some("expert_recommendation");
const LEAD: Option<&str> = Some("lead_institution");
const SUMMARY: Option<&str> = Some("pilot_summary");

static RULES: LazyLock<Rules> = LazyLock::new(Rules::embedded);

fn judged(mail: &Mail) -> Verdict {
    judge("habit.eml", &mail.build(), &RULES, &JudgeOptions::default())
}

/// What the verdict must say, all of it.
struct Want<'a> {
    decision: Decision,
    kind: Option<&'a str>,
    fields: &'a [(&'a str, &'a str)],
    errors: &'a [ErrorCode],
    warnings: &'a [WarningCode],
}

fn check(v: &Verdict, want: Want<'_>) {
    let ctx = format!(
        "subject {:?}, reasons {:?}, attachments {:?}",
        v.subject,
        v.reasons,
        v.attachments.iter().map(|a| (&a.filename, &a.kind, a.role, &a.problem)).collect::<Vec<_>>()
    );
    assert_eq!(v.decision, want.decision, "decision; {ctx}");
    assert_eq!(v.kind.as_deref(), want.kind, "kind; {ctx}");
    let fields: BTreeMap<String, String> = want.fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    assert_eq!(v.fields, fields, "fields; {ctx}");
    let mut errors = v.errors.clone();
    errors.sort();
    let mut want_errors = want.errors.to_vec();
    want_errors.sort();
    assert_eq!(errors, want_errors, "errors; {ctx}");
    let mut warnings = v.warnings.clone();
    warnings.sort();
    let mut want_warnings = want.warnings.to_vec();
    want_warnings.sort();
    assert_eq!(warnings, want_warnings, "warnings; {ctx}");
    match v.decision {
        Acknowledge => assert!(v.errors.is_empty()),
        RequestCorrection => assert!(!v.errors.is_empty()),
        Hold | Ignore => {
            assert_eq!(v.kind, None, "hold/ignore have no kind");
            assert!(v.errors.is_empty(), "hold/ignore have no errors");
        }
    }
}

/// (file name, sniffed type, role) of every attachment, in order.
fn check_attachments(v: &Verdict, want: &[(&str, &str, Role)]) {
    let got: Vec<(&str, &str, Role)> =
        v.attachments.iter().map(|a| (a.filename.as_str(), a.kind.as_str(), a.role)).collect();
    assert_eq!(got, want, "attachments of {:?}", v.subject);
}

/// (name, birth, title, title_level) of every expert, in order.
fn check_experts(v: &Verdict, want: &[(&str, Option<&str>, Option<&str>, &str)]) {
    let got: Vec<(&str, Option<&str>, Option<&str>, &str)> = v
        .experts
        .iter()
        .map(|e| (e.name.as_str(), e.birth.as_deref(), e.title.as_deref(), e.title_level.as_str()))
        .collect();
    assert_eq!(got, want, "experts of {:?}", v.subject);
}

/// Every field of the default [`ExpertForm`] came through.
fn check_full_expert(v: &Verdict, name: &str, employer: &str) {
    assert_eq!(v.experts.len(), 1, "one expert in {:?}", v.subject);
    let e = &v.experts[0];
    assert_eq!(e.name, name);
    assert_eq!(e.gender.as_deref(), Some("男"));
    assert_eq!(e.birth.as_deref(), Some("1975-06"));
    assert_eq!(e.title.as_deref(), Some("教授"));
    assert_eq!(e.title_level, "正高");
    assert_eq!(e.employer.as_deref(), Some(employer));
    assert_eq!(e.category.as_deref(), Some("电子与信息大类"));
    assert_eq!(e.phone.as_deref(), Some("13888123456"));
    assert_eq!(e.email.as_deref(), Some("expert@school.edu.cn"));
}

const FORM_NAME: &str = "附件2：“1+X”证书制度试点工作专家组专家推荐表.docx";
const SCAN_NAME: &str = "扫描全能王 2023-03-15 10.21.pdf";

/// A complete expert submission: the form and the stamped scan.
fn expert_mail(subject: &str, form: &ExpertForm) -> Mail {
    Mail::new(subject).attach(FORM_NAME, form.docx()).attach(SCAN_NAME, scan_pdf())
}

/// The verdict of a complete, correct expert submission.
fn check_expert_ok(v: &Verdict, school: &str, name: &str) {
    check(
        v,
        Want {
            decision: Acknowledge,
            kind: EXPERT,
            fields: &[("expert_name", name), ("school", school)],
            errors: &[],
            warnings: &[],
        },
    );
}

// ---------------------------------------------------------------------------------------
// §2 Reading a subject: charsets

#[test]
fn qq_mail_gb18030_subject_and_body() {
    let mail = Mail::new("专家推荐+云南交通职业技术学院+张伟")
        .subject_as(HeaderText::GbWord("gb18030"))
        .body_charset(BodyCharset::Gb("gb18030"))
        .attach_as(
            "附件2：专家推荐表（张伟）.docx",
            ExpertForm::new("张伟", "云南交通职业技术学院").docx(),
            NameStyle::Word("gb18030"),
        )
        .attach(SCAN_NAME, scan_pdf());
    let v = judged(&mail);
    assert_eq!(v.subject, "专家推荐+云南交通职业技术学院+张伟");
    assert_eq!(v.from.as_deref(), Some("jwc@school.edu.cn"));
    assert_eq!(v.message_id.as_deref(), Some(mail.id()));
    assert_eq!(v.arrived.as_deref(), Some("2023-03-15T10:21:07+08:00"));
    check_expert_ok(&v, "云南交通职业技术学院", "张伟");
    check_attachments(&v, &[("附件2：专家推荐表（张伟）.docx", "docx", Role::Form), (SCAN_NAME, "pdf", Role::Scan)]);
    check_full_expert(&v, "张伟", "云南交通职业技术学院");
    let scan = &v.attachments[1];
    assert_eq!((scan.pages, scan.scanned), (Some(1), Some(true)));
    assert_eq!(scan.sha256.len(), 64);
    assert!(scan.size > 0);
}

#[test]
fn foxmail_gb2312_label_carrying_a_gbk_only_character() {
    // 镕 is in GBK but not in GB2312: Foxmail labels GBK bytes as GB2312 anyway.
    let mail = Mail::new("专家推荐+昆明学院+王镕")
        .subject_as(HeaderText::GbWord("GB2312"))
        .body_charset(BodyCharset::Gb("GB2312"))
        .attach_as(
            "附件2专家推荐表（王镕）.docx",
            ExpertForm::new("王镕", "昆明学院").docx(),
            NameStyle::Word("GB2312"),
        )
        .attach_as("王镕盖章扫描件.pdf", scan_pdf(), NameStyle::Word("GB2312"));
    let v = judged(&mail);
    assert_eq!(v.subject, "专家推荐+昆明学院+王镕");
    check_expert_ok(&v, "昆明学院", "王镕");
    check_attachments(
        &v,
        &[("附件2专家推荐表（王镕）.docx", "docx", Role::Form), ("王镕盖章扫描件.pdf", "pdf", Role::Scan)],
    );
    check_experts(&v, &[("王镕", Some("1975-06"), Some("教授"), "正高")]);
}

#[test]
fn encoded_words_split_inside_a_character() {
    let mail = expert_mail("专家推荐+云南农业职业技术学院+李春燕", &ExpertForm::new("李春燕", "云南农业职业技术学院"))
        .subject_as(HeaderText::SplitGbk);
    let v = judged(&mail);
    assert_eq!(v.subject, "专家推荐+云南农业职业技术学院+李春燕");
    check_expert_ok(&v, "云南农业职业技术学院", "李春燕");
    check_full_expert(&v, "李春燕", "云南农业职业技术学院");
}

#[test]
fn raw_8bit_gbk_subject_and_filename() {
    let mail = Mail::new("专家推荐+昆明冶金高等专科学校+赵丽")
        .subject_as(HeaderText::RawGbk)
        .body_charset(BodyCharset::Gb("GBK"))
        .attach_as(
            "新建 Microsoft Word 文档.docx",
            ExpertForm::new("赵丽", "昆明冶金高等专科学校").docx(),
            NameStyle::RawGbk,
        )
        .attach_as("推荐表盖章版.pdf", scan_pdf(), NameStyle::RawGbk);
    let v = judged(&mail);
    assert_eq!(v.subject, "专家推荐+昆明冶金高等专科学校+赵丽");
    check_expert_ok(&v, "昆明冶金高等专科学校", "赵丽");
    check_attachments(
        &v,
        &[("新建 Microsoft Word 文档.docx", "docx", Role::Form), ("推荐表盖章版.pdf", "pdf", Role::Scan)],
    );
}

#[test]
fn raw_8bit_utf8_subject_and_rfc2231_filenames() {
    let mail = Mail::new("专家推荐+云南林业职业技术学院+杨帆")
        .subject_as(HeaderText::RawUtf8)
        .attach_as(
            "附件2-专家推荐表-杨帆.docx",
            ExpertForm::new("杨帆", "云南林业职业技术学院").docx(),
            NameStyle::Rfc2231,
        )
        .attach_as("附件2-盖章扫描件.pdf", scan_pdf(), NameStyle::Rfc2231);
    let v = judged(&mail);
    assert_eq!(v.subject, "专家推荐+云南林业职业技术学院+杨帆");
    check_expert_ok(&v, "云南林业职业技术学院", "杨帆");
    check_attachments(
        &v,
        &[("附件2-专家推荐表-杨帆.docx", "docx", Role::Form), ("附件2-盖章扫描件.pdf", "pdf", Role::Scan)],
    );
}

#[test]
fn gb18030_four_byte_character_in_a_name() {
    // 䶮 (U+4DAE) is outside GBK: GB18030 writes it in four bytes.
    let mail = Mail::new("专家推荐+昆明学院+刘䶮")
        .subject_as(HeaderText::GbWord("gb18030"))
        .attach_as("附件2（刘䶮）.docx", ExpertForm::new("刘䶮", "昆明学院").docx(), NameStyle::Word("gb18030"))
        .attach(SCAN_NAME, scan_pdf());
    let v = judged(&mail);
    assert_eq!(v.subject, "专家推荐+昆明学院+刘䶮");
    check_expert_ok(&v, "昆明学院", "刘䶮");
    check_attachments(&v, &[("附件2（刘䶮）.docx", "docx", Role::Form), (SCAN_NAME, "pdf", Role::Scan)]);
}

#[test]
fn quoted_printable_gb2312_subject() {
    let v = judged(
        &expert_mail("专家推荐 昆明学院 张三", &ExpertForm::new("张三", "昆明学院"))
            .subject_as(HeaderText::GbQ("gb2312")),
    );
    assert_eq!(v.subject, "专家推荐 昆明学院 张三");
    check_expert_ok(&v, "昆明学院", "张三");
}

#[test]
fn long_file_names_cut_into_several_words_or_continuations() {
    let form_name = "附件2：“1+X”证书制度试点工作专家组专家推荐表（云南交通职业技术学院张伟）.docx";
    let scan_name = "附件2：专家推荐表盖章扫描件（云南交通职业技术学院张伟）.pdf";
    let form = ExpertForm::new("张伟", "云南交通职业技术学院").docx();
    for (form_style, scan_style) in
        [(NameStyle::SplitWords, NameStyle::Rfc2231Continued), (NameStyle::Rfc2231Continued, NameStyle::SplitWords)]
    {
        let mail = Mail::new("专家推荐+云南交通职业技术学院+张伟")
            .attach_as(form_name, form.clone(), form_style)
            .attach_as(scan_name, scan_pdf(), scan_style);
        let v = judged(&mail);
        check_expert_ok(&v, "云南交通职业技术学院", "张伟");
        check_attachments(&v, &[(form_name, "docx", Role::Form), (scan_name, "pdf", Role::Scan)]);
    }
}

#[test]
fn file_name_only_in_content_type() {
    let mail = Mail::new("专家推荐+昆明学院+张三")
        .attach_as("专家推荐表（张三）.docx", ExpertForm::new("张三", "昆明学院").docx(), NameStyle::ContentTypeOnly)
        .attach_as("盖章扫描件.pdf", scan_pdf(), NameStyle::ContentTypeOnly);
    let v = judged(&mail);
    check_expert_ok(&v, "昆明学院", "张三");
    check_attachments(&v, &[("专家推荐表（张三）.docx", "docx", Role::Form), ("盖章扫描件.pdf", "pdf", Role::Scan)]);
}

// ---------------------------------------------------------------------------------------
// §2 Reading a subject: form

#[test]
fn full_width_plus_separators() {
    let v = judged(&expert_mail("专家推荐＋昆明学院＋张三", &ExpertForm::new("张三", "昆明学院")));
    check_expert_ok(&v, "昆明学院", "张三");
}

#[test]
fn stacked_reply_prefixes() {
    let v = judged(&expert_mail("回复：RE: 专家推荐+昆明学院+张三", &ExpertForm::new("张三", "昆明学院")));
    check_expert_ok(&v, "昆明学院", "张三");
}

#[test]
fn school_written_as_its_roster_alias() {
    let mail = Mail::new("专家推荐+昆明铁道职院+周建国")
        .attach_as("专家推荐表.docx", ExpertForm::new("周建国", "昆明铁道职业技术学院").docx(), NameStyle::Rfc2231)
        .attach_as("扫描件.pdf", scan_pdf(), NameStyle::Rfc2231);
    let v = judged(&mail);
    check_expert_ok(&v, "昆明铁道职业技术学院", "周建国");
    // And the other way round: the official name in the subject, the alias in the form.
    let v = judged(&expert_mail("专家推荐+昆明铁道职业技术学院+周建国", &ExpertForm::new("周建国", "昆铁职院")));
    check_expert_ok(&v, "昆明铁道职业技术学院", "周建国");
}

#[test]
fn province_prefix_added_or_dropped() {
    let v = judged(&expert_mail("专家推荐+云南省昆明学院+张三", &ExpertForm::new("张三", "昆明学院")));
    check_expert_ok(&v, "昆明学院", "张三");
    let v = judged(&expert_mail("专家推荐+曲靖应用技术学校+李华", &ExpertForm::new("李华", "云南省曲靖应用技术学校")));
    check_expert_ok(&v, "云南省曲靖应用技术学校", "李华");
}

#[test]
fn name_and_school_swapped() {
    let v = judged(&expert_mail("专家推荐+张三+昆明学院", &ExpertForm::new("张三", "昆明学院")));
    check_expert_ok(&v, "昆明学院", "张三");
}

#[test]
fn category_from_the_2015_catalogue() {
    let mail = Mail::new("牵头院校上报+电子信息大类+云南机电职业技术学院")
        .attach("附件1：牵头院校申请表.docx", LeadForm::new("云南机电职业技术学院", "电子信息大类").docx())
        .attach("附件1盖章扫描件.pdf", scan_pdf());
    let v = judged(&mail);
    check(
        &v,
        Want {
            decision: Acknowledge,
            kind: LEAD,
            fields: &[("category", "电子与信息大类"), ("school", "云南机电职业技术学院")],
            errors: &[],
            warnings: &[],
        },
    );
    check_attachments(
        &v,
        &[("附件1：牵头院校申请表.docx", "docx", Role::Form), ("附件1盖章扫描件.pdf", "pdf", Role::Scan)],
    );
    assert!(v.experts.is_empty(), "a lead form names no expert");
}

#[test]
fn category_without_dalei() {
    let mail = Mail::new("牵头院校上报-装备制造-云南机电职业技术学院").attach("附件1盖章扫描件.pdf", scan_pdf());
    check(
        &judged(&mail),
        Want {
            decision: Acknowledge,
            kind: LEAD,
            fields: &[("category", "装备制造大类"), ("school", "云南机电职业技术学院")],
            errors: &[],
            warnings: &[],
        },
    );
}

#[test]
fn unknown_category() {
    let mail = Mail::new("牵头院校上报+智能制造大类+云南机电职业技术学院").attach("附件1盖章扫描件.pdf", scan_pdf());
    check(
        &judged(&mail),
        Want {
            decision: RequestCorrection,
            kind: LEAD,
            fields: &[("school", "云南机电职业技术学院")],
            errors: &[E::UnknownCategory],
            warnings: &[],
        },
    );
}

#[test]
fn unknown_school() {
    // A school's name off the roster is a real submission (spec §8): acknowledged, shown.
    let v = judged(&expert_mail("专家推荐+云南星辰职业学院+张三", &ExpertForm::new("张三", "云南星辰职业学院")));
    check(
        &v,
        Want {
            decision: Acknowledge,
            kind: EXPERT,
            fields: &[("school", "云南星辰职业学院"), ("expert_name", "张三")],
            errors: &[],
            warnings: &[W::SchoolNotOnRoster],
        },
    );
    // A school part that is no school's name stays an error, named in the correction.
    let v = judged(&expert_mail("专家推荐+星辰信息中心+张三", &ExpertForm::new("张三", "星辰信息中心")));
    check(
        &v,
        Want {
            decision: RequestCorrection,
            kind: EXPERT,
            fields: &[("expert_name", "张三")],
            errors: &[E::UnknownSchool],
            warnings: &[],
        },
    );
    assert!(
        v.reasons.iter().any(|r| r.contains("星辰信息中心")),
        "the correction names the unknown school: {:?}",
        v.reasons
    );
}

#[test]
fn expert_name_missing_from_subject() {
    let v = judged(&expert_mail("专家推荐+昆明学院", &ExpertForm::new("张三", "昆明学院信息工程学院")));
    check(
        &v,
        Want {
            decision: RequestCorrection,
            kind: EXPERT,
            fields: &[("school", "昆明学院")],
            errors: &[E::SubjectIncomplete],
            warnings: &[],
        },
    );
    // The experts are still read from the form.
    check_full_expert(&v, "张三", "昆明学院信息工程学院");
}

// ---------------------------------------------------------------------------------------
// §3 Attachments

#[test]
fn scan_missing() {
    let mail = Mail::new("专家推荐+昆明学院+张三").attach(FORM_NAME, ExpertForm::new("张三", "昆明学院").docx());
    let v = judged(&mail);
    check(
        &v,
        Want {
            decision: RequestCorrection,
            kind: EXPERT,
            fields: &[("expert_name", "张三"), ("school", "昆明学院")],
            errors: &[E::MissingScan],
            warnings: &[],
        },
    );
    check_attachments(&v, &[(FORM_NAME, "docx", Role::Form)]);
}

#[test]
fn form_missing() {
    let mail = Mail::new("专家推荐+昆明学院+张三").attach("附件2盖章扫描件.pdf", scan_pdf());
    let v = judged(&mail);
    check(
        &v,
        Want {
            decision: RequestCorrection,
            kind: EXPERT,
            fields: &[("expert_name", "张三"), ("school", "昆明学院")],
            errors: &[E::MissingForm],
            warnings: &[],
        },
    );
    check_attachments(&v, &[("附件2盖章扫描件.pdf", "pdf", Role::Scan)]);
}

fn summary_rows() -> Vec<SummaryRow> {
    vec![
        SummaryRow {
            name: "张三", gender: "男", birth: Birth::Text("1975.6"), title: "教授", employer: "昆明学院"
        },
        SummaryRow {
            name: "李四",
            gender: "女",
            birth: Birth::Date(1980, 11, 1),
            title: "副教授",
            employer: "昆明学院",
        },
    ]
}

#[test]
fn summary_table_xlsx_instead_of_the_form() {
    let mail = Mail::new("专家推荐+昆明学院+张三")
        .attach("附件3：专家推荐汇总表.xlsx", summary_xlsx("昆明学院", &summary_rows()))
        .attach(SCAN_NAME, scan_pdf());
    let v = judged(&mail);
    check(
        &v,
        Want {
            decision: RequestCorrection,
            kind: EXPERT,
            fields: &[("expert_name", "张三"), ("school", "昆明学院")],
            errors: &[E::MissingForm],
            warnings: &[],
        },
    );
    check_attachments(
        &v,
        &[("附件3：专家推荐汇总表.xlsx", "xlsx", Role::SummaryTable), (SCAN_NAME, "pdf", Role::Scan)],
    );
    // The 附件3 row of the subject's expert stands for the expert (spec §4).
    check_experts(&v, &[("张三", Some("1975-06"), Some("教授"), "正高")]);
    // Birth as typed text and as a real Excel date cell, header row at row 4.
    let rows: Vec<(&str, Option<&str>, &str)> =
        v.summary_rows.iter().map(|e| (e.name.as_str(), e.birth.as_deref(), e.title_level.as_str())).collect();
    assert_eq!(rows, vec![("张三", Some("1975-06"), "正高"), ("李四", Some("1980-11"), "副高")]);
}

#[test]
fn summary_table_docx_named_like_the_form() {
    // `附件2.docx` holding the summary table: roles come from content, not names.
    let mail = Mail::new("专家推荐+昆明学院+张三")
        .attach("附件2.docx", summary_docx(&summary_rows()))
        .attach(SCAN_NAME, scan_pdf());
    let v = judged(&mail);
    check(
        &v,
        Want {
            decision: RequestCorrection,
            kind: EXPERT,
            fields: &[("expert_name", "张三"), ("school", "昆明学院")],
            errors: &[E::MissingForm],
            warnings: &[],
        },
    );
    check_attachments(&v, &[("附件2.docx", "docx", Role::SummaryTable), (SCAN_NAME, "pdf", Role::Scan)]);
    assert_eq!(v.summary_rows.len(), 2);
}

#[test]
fn form_and_summary_table_together() {
    let mail = expert_mail("专家推荐+昆明学院+张三", &ExpertForm::new("张三", "昆明学院"))
        .attach("附件3.xlsx", summary_xlsx("昆明学院", &summary_rows()));
    let v = judged(&mail);
    check_expert_ok(&v, "昆明学院", "张三");
    check_attachments(
        &v,
        &[(FORM_NAME, "docx", Role::Form), (SCAN_NAME, "pdf", Role::Scan), ("附件3.xlsx", "xlsx", Role::SummaryTable)],
    );
    check_full_expert(&v, "张三", "昆明学院");
}

#[test]
fn name_in_the_form_differs() {
    let v = judged(&expert_mail("专家推荐+昆明学院+张三", &ExpertForm::new("李四", "昆明学院")));
    check(
        &v,
        Want {
            decision: RequestCorrection,
            kind: EXPERT,
            fields: &[("expert_name", "张三"), ("school", "昆明学院")],
            errors: &[E::NameMismatch],
            warnings: &[],
        },
    );
    check_experts(&v, &[("李四", Some("1975-06"), Some("教授"), "正高")]);
}

#[test]
fn form_employer_is_another_roster_school() {
    let v = judged(&expert_mail("专家推荐+昆明学院+张三", &ExpertForm::new("张三", "云南大学信息学院")));
    check(
        &v,
        Want {
            decision: RequestCorrection,
            kind: EXPERT,
            fields: &[("expert_name", "张三"), ("school", "昆明学院")],
            errors: &[E::SchoolMismatch],
            warnings: &[],
        },
    );
}

#[test]
fn corrupt_docx_is_unreadable_not_missing() {
    let mail = Mail::new("专家推荐+昆明学院+张三")
        .attach("附件2：专家推荐表（张三）.docx", corrupt_docx())
        .attach(SCAN_NAME, scan_pdf());
    let v = judged(&mail);
    check(
        &v,
        Want {
            decision: RequestCorrection,
            kind: EXPERT,
            fields: &[("expert_name", "张三"), ("school", "昆明学院")],
            errors: &[E::UnreadableAttachment],
            warnings: &[],
        },
    );
    check_attachments(&v, &[("附件2：专家推荐表（张三）.docx", "docx", Role::Form), (SCAN_NAME, "pdf", Role::Scan)]);
    assert!(v.attachments[0].problem.is_some(), "the damage is named");
}

#[test]
fn truncated_or_password_protected_docx_is_unreadable_not_missing() {
    let whole = ExpertForm::new("张三", "昆明学院").docx();
    for bytes in [truncated_docx(&whole), encrypted_docx()] {
        let mail = Mail::new("专家推荐+昆明学院+张三").attach("附件2.docx", bytes).attach(SCAN_NAME, scan_pdf());
        let v = judged(&mail);
        check(
            &v,
            Want {
                decision: RequestCorrection,
                kind: EXPERT,
                fields: &[("expert_name", "张三"), ("school", "昆明学院")],
                errors: &[E::UnreadableAttachment],
                warnings: &[],
            },
        );
        check_attachments(&v, &[("附件2.docx", "docx", Role::Form), (SCAN_NAME, "pdf", Role::Scan)]);
        assert!(v.attachments[0].problem.is_some(), "the damage is named");
    }
}

fn form_and_scan_members() -> (Vec<u8>, Vec<u8>) {
    (ExpertForm::new("张三", "昆明学院").docx(), scan_pdf())
}

#[test]
fn password_protected_zip() {
    let (form, scan) = form_and_scan_members();
    let zip = encrypted_zip(&[("附件2：专家推荐表（张三）.docx", &form), ("盖章扫描件.pdf", &scan)]);
    let v = judged(&Mail::new("专家推荐+昆明学院+张三").attach("张三推荐材料.zip", zip));
    check(
        &v,
        Want {
            decision: RequestCorrection,
            kind: EXPERT,
            fields: &[("expert_name", "张三"), ("school", "昆明学院")],
            errors: &[E::UnsupportedArchive],
            warnings: &[],
        },
    );
    check_attachments(&v, &[("张三推荐材料.zip", "zip", Role::Other)]);
    assert!(v.attachments[0].problem.is_some());
}

#[test]
fn rar_or_7z_archive() {
    for (name, bytes, kind) in
        [("专家推荐材料（张三）.rar", fake_rar(), "rar"), ("专家推荐材料（张三）.7z", fake_7z(), "7z")]
    {
        let v = judged(&Mail::new("专家推荐+昆明学院+张三").attach(name, bytes));
        check(
            &v,
            Want {
                decision: RequestCorrection,
                kind: EXPERT,
                fields: &[("expert_name", "张三"), ("school", "昆明学院")],
                errors: &[E::UnsupportedArchive],
                warnings: &[],
            },
        );
        check_attachments(&v, &[(name, kind, Role::Other)]);
    }
}

#[test]
fn zip_with_gbk_and_utf8_member_names() {
    let (form, scan) = form_and_scan_members();
    let zip = raw_zip(&[
        ("张三推荐材料/", MemberName::Gbk, b""),
        ("张三推荐材料/附件2：专家推荐表（张三）.docx", MemberName::Gbk, &form),
        ("盖章扫描件.pdf", MemberName::Utf8, &scan),
    ]);
    let v = judged(&Mail::new("专家推荐+昆明学院+张三").attach("张三推荐材料.zip", zip));
    check_expert_ok(&v, "昆明学院", "张三");
    check_attachments(
        &v,
        &[
            ("张三推荐材料.zip", "zip", Role::Other),
            ("附件2：专家推荐表（张三）.docx", "docx", Role::Form),
            ("盖章扫描件.pdf", "pdf", Role::Scan),
        ],
    );
    for member in &v.attachments[1..] {
        assert_eq!(member.archive.as_deref(), Some("张三推荐材料.zip"));
    }
    check_full_expert(&v, "张三", "昆明学院");
}

#[test]
fn forwarded_submission_is_judged_by_the_inner_message() {
    let inner = expert_mail("专家推荐+云南交通职业技术学院+张伟", &ExpertForm::new("张伟", "云南交通职业技术学院"))
        .subject_as(HeaderText::GbWord("GBK"));
    let outer = Mail::new("Fw: 专家推荐材料")
        .from("=?UTF-8?B?5byg6ICB5biI?= <zhang.laoshi@163.com>")
        .body("转发学校的推荐材料，请查收。")
        .forward(&inner);
    let v = judged(&outer);
    check_expert_ok(&v, "云南交通职业技术学院", "张伟");
    assert!(v.forwarded, "judged from the forwarded message");
    assert_eq!(v.message_id.as_deref(), Some(outer.id()));
    check_attachments(&v, &[(FORM_NAME, "docx", Role::Form), (SCAN_NAME, "pdf", Role::Scan)]);
    // Forwarded under the original subject.
    let outer = Mail::new("Fwd: 专家推荐+云南交通职业技术学院+张伟").forward(&inner);
    let v = judged(&outer);
    check_expert_ok(&v, "云南交通职业技术学院", "张伟");
    assert!(v.forwarded);
}

// ---------------------------------------------------------------------------------------
// §3 Mail that is not a submission

#[test]
fn question_naming_a_kind_is_held() {
    let mail = Mail::new("咨询：专家推荐表在哪里下载？").body("老师好，请问附件2专家推荐表在哪里下载？谢谢！");
    let v = judged(&mail);
    check(&v, Want { decision: Hold, kind: None, fields: &[], errors: &[], warnings: &[] });
}

#[test]
fn qq_large_attachment_link() {
    let body = "老师您好：\r\n\r\n从QQ邮箱发来的超大附件\r\n\r\n张三推荐材料.zip (25.31M, 2023年04月14日 10:21 到期)\r\n进入下载页面：https://wx.mail.qq.com/ftn/download?func=3&k=5f1a2b3c4d&key=9a8b7c6d&code=f00d\r\n";
    let v = judged(&Mail::new("专家推荐+昆明学院+张三").body(body));
    check(
        &v,
        Want {
            decision: RequestCorrection,
            kind: EXPERT,
            fields: &[("expert_name", "张三"), ("school", "昆明学院")],
            errors: &[E::AttachmentLink],
            warnings: &[],
        },
    );
}

#[test]
fn netease_163_large_attachment_link() {
    let body = "从网易163邮箱发来的超大附件\r\n\r\n牵头院校申报材料.rar (30.12M, 2023年3月30日 10:21 到期)\r\n下载: https://mail.163.com/large-attachment-download/index.html?p=X-NETEASE-HUGE-ATTACHMENT&file=abc123\r\n";
    let v = judged(
        &Mail::new("牵头院校上报+电子与信息大类+云南机电职业技术学院").body(body).body_charset(BodyCharset::Gb("GBK")),
    );
    check(
        &v,
        Want {
            decision: RequestCorrection,
            kind: LEAD,
            fields: &[("category", "电子与信息大类"), ("school", "云南机电职业技术学院")],
            errors: &[E::AttachmentLink],
            warnings: &[],
        },
    );
}

fn check_auto_reply(mail: Mail) {
    let v = judged(&mail);
    check(&v, Want { decision: Ignore, kind: None, fields: &[], errors: &[], warnings: &[] });
    assert_eq!(v.automatic.as_deref(), Some("auto_reply"), "{:?}", v.reasons);
}

#[test]
fn auto_reply_by_auto_submitted() {
    check_auto_reply(
        Mail::new("Re: 回执：专家推荐+昆明学院+张三")
            .header("Auto-Submitted: auto-replied")
            .body("您好，我已收到您的邮件，会尽快处理。"),
    );
}

#[test]
fn auto_reply_by_x_autoreply() {
    check_auto_reply(Mail::new("专家推荐+昆明学院+张三").header("X-Autoreply: yes").body("这是一封自动回复邮件。"));
}

#[test]
fn auto_reply_by_precedence() {
    check_auto_reply(
        Mail::new("Re: 请更正：专家推荐+昆明学院+张三")
            .header("Precedence: auto_reply")
            .body("本人出差中，邮件稍后处理。"),
    );
}

#[test]
fn auto_reply_by_subject() {
    check_auto_reply(
        Mail::new("自动回复：专家推荐+昆明学院+张三")
            .subject_as(HeaderText::GbWord("GBK"))
            .body("您的来信已收到，谢谢！"),
    );
}

#[test]
fn mailing_list_mail_is_ignored() {
    let v = judged(
        &Mail::new("【教务通讯】第12期：关于专家推荐工作的说明")
            .header("List-Id: <jwtx.lists.ynedu.gov.cn>")
            .attach("第12期.pdf", text_pdf(&["Newsletter issue 12"])),
    );
    check(&v, Want { decision: Ignore, kind: None, fields: &[], errors: &[], warnings: &[] });
    assert_eq!(v.automatic.as_deref(), Some("list"));
}

#[test]
fn our_own_reply_coming_back_is_ignored() {
    let v = judged(&our_reply().header("X-Mail-Intake: receipt"));
    check(&v, Want { decision: Ignore, kind: None, fields: &[], errors: &[], warnings: &[] });
    assert_eq!(v.automatic.as_deref(), Some("own_reply"));
}

fn our_reply() -> Mail {
    Mail::new("回执：专家推荐+昆明学院+张三")
        .from("xfyh@ynedu.gov.cn")
        .to("jwc@school.edu.cn")
        .message_id("<reply-0042@ynedu.gov.cn>")
        .header("Auto-Submitted: auto-replied")
        .body("您校报送的专家推荐材料已收到。")
}

fn check_bounce(v: &Verdict) {
    check(v, Want { decision: Ignore, kind: None, fields: &[], errors: &[], warnings: &[] });
    assert_eq!(v.automatic.as_deref(), Some("bounce"));
    assert_eq!(v.bounced_ids, vec!["<reply-0042@ynedu.gov.cn>".to_string()]);
}

#[test]
fn dsn_quoting_the_bounced_headers() {
    check_bounce(&judged(&dsn(&our_reply(), false)));
}

#[test]
fn dsn_quoting_the_whole_bounced_message() {
    check_bounce(&judged(&dsn(&our_reply(), true)));
}

#[test]
fn auto_submitted_no_is_written_by_a_person() {
    let v = judged(
        &expert_mail("专家推荐+昆明学院+张三", &ExpertForm::new("张三", "昆明学院")).header("Auto-Submitted: no"),
    );
    check_expert_ok(&v, "昆明学院", "张三");
}

#[test]
fn postmaster_bounce_without_a_report_part() {
    // QQ Mail's bounces are plain multipart/mixed from PostMaster with the original attached.
    let v = judged(
        &Mail::new("退信：回执：专家推荐+昆明学院+张三")
            .from("PostMaster@qq.com")
            .body("很抱歉您发送的邮件被退回，以下是该邮件的相关信息：收件人地址不存在。")
            .forward(&our_reply()),
    );
    check_bounce(&v);
}

#[test]
fn resubmission_answering_our_correction_request() {
    // Our `请更正：` and `回执：` prefixes are stripped like `Re:`: with attachments, the
    // answer is a submission to judge, not a conversation to hold.
    for subject in ["Re: 请更正：专家推荐+昆明学院+张三", "回复：回执：专家推荐+昆明学院+张三"]
    {
        let v = judged(&expert_mail(subject, &ExpertForm::new("张三", "昆明学院")));
        check_expert_ok(&v, "昆明学院", "张三");
    }
}

#[test]
fn reply_to_our_receipt_without_attachment_is_held() {
    let v = judged(&Mail::new("Re: 回执：专家推荐+昆明学院+张三").body("收到，谢谢老师！"));
    check(&v, Want { decision: Hold, kind: None, fields: &[], errors: &[], warnings: &[] });
}

// ---------------------------------------------------------------------------------------
// Lead institutions and pilot summaries

#[test]
fn lead_with_scan_only() {
    let mail = Mail::new("牵头院校上报+电子与信息大类+云南机电职业技术学院")
        .attach("微信图片_20230315102107.jpg", jpeg(1200, 1600));
    let v = judged(&mail);
    check(
        &v,
        Want {
            decision: Acknowledge,
            kind: LEAD,
            fields: &[("category", "电子与信息大类"), ("school", "云南机电职业技术学院")],
            errors: &[],
            warnings: &[],
        },
    );
    check_attachments(&v, &[("微信图片_20230315102107.jpg", "jpeg", Role::Scan)]);
}

#[test]
fn lead_form_names_another_school() {
    let mail = Mail::new("牵头院校上报+装备制造大类+云南机电职业技术学院")
        .attach("附件1.docx", LeadForm::new("云南交通职业技术学院", "装备制造大类").docx())
        .attach("附件1盖章.pdf", scan_pdf());
    let v = judged(&mail);
    check(
        &v,
        Want {
            decision: RequestCorrection,
            kind: LEAD,
            fields: &[("category", "装备制造大类"), ("school", "云南机电职业技术学院")],
            errors: &[E::SchoolMismatch],
            warnings: &[],
        },
    );
    check_attachments(&v, &[("附件1.docx", "docx", Role::Form), ("附件1盖章.pdf", "pdf", Role::Scan)]);
}

const REPORT_TEXT: [&str; 3] = [
    "一、试点工作基本情况：我校自2019年起参与1+X证书制度试点，累计参与试点证书23个，覆盖专业38个，参与学生4500余人次。",
    "二、主要做法与成效：推进书证融通，将职业技能等级标准融入人才培养方案，建设考核站点12个，培训师资160余人次。",
    "三、存在问题与下一步打算：进一步完善学分银行认定与转换机制。",
];

#[test]
fn pilot_summary_as_a_docx_report() {
    let mail = Mail::new("昆明学院2022年度“1+X”证书制度试点工作总结")
        .attach("昆明学院1+X证书制度试点工作总结.docx", report_docx("昆明学院“1+X”证书制度试点工作总结", &REPORT_TEXT));
    let v = judged(&mail);
    check(
        &v,
        Want {
            decision: Acknowledge, kind: SUMMARY, fields: &[("school", "昆明学院")], errors: &[], warnings: &[]
        },
    );
    check_attachments(&v, &[("昆明学院1+X证书制度试点工作总结.docx", "docx", Role::Report)]);
}

#[test]
fn pilot_summary_as_a_text_pdf() {
    let mail = Mail::new("关于报送云南交通职业技术学院“1+X”证书试点工作总结的函").attach(
        "总结报告.pdf",
        text_pdf(&[
            "1+X Certificate Pilot Work Summary 2022",
            "Yunnan Communications Vocational and Technical College",
            "Section 1. Overview of the pilot work and its results.",
        ]),
    );
    let v = judged(&mail);
    check(
        &v,
        Want {
            decision: Acknowledge,
            kind: SUMMARY,
            fields: &[("school", "云南交通职业技术学院")],
            errors: &[],
            warnings: &[],
        },
    );
    check_attachments(&v, &[("总结报告.pdf", "pdf", Role::Report)]);
    assert_eq!((v.attachments[0].pages, v.attachments[0].scanned), (Some(1), Some(false)));
}

#[test]
fn pilot_summary_naming_the_school_only_in_the_report() {
    let mail = Mail::new("1+X证书制度试点工作总结报告").attach(
        "昆明冶金高等专科学校1+X证书制度试点工作总结.docx",
        report_docx("“1+X”证书制度试点工作总结", &REPORT_TEXT),
    );
    let v = judged(&mail);
    check(
        &v,
        Want {
            decision: Acknowledge,
            kind: SUMMARY,
            fields: &[("school", "昆明冶金高等专科学校")],
            errors: &[],
            warnings: &[],
        },
    );
}

#[test]
fn pilot_summary_without_a_report() {
    // Only a two-line cover note: no report document.
    let mail = Mail::new("昆明学院1+X证书试点工作总结")
        .attach("报送说明.docx", report_docx("报送说明", &["总结报告随后补交。"]));
    let v = judged(&mail);
    check(
        &v,
        Want {
            decision: RequestCorrection,
            kind: SUMMARY,
            fields: &[("school", "昆明学院")],
            errors: &[E::MissingReport],
            warnings: &[],
        },
    );
    check_attachments(&v, &[("报送说明.docx", "docx", Role::Other)]);
}

#[test]
fn phone_photo_as_the_scan() {
    let mail = Mail::new("专家推荐+昆明学院+张三")
        .attach(FORM_NAME, ExpertForm::new("张三", "昆明学院").docx())
        .attach("微信图片_20230315.jpg", jpeg(1200, 1600));
    let v = judged(&mail);
    check_expert_ok(&v, "昆明学院", "张三");
    check_attachments(&v, &[(FORM_NAME, "docx", Role::Form), ("微信图片_20230315.jpg", "jpeg", Role::Scan)]);
    assert_eq!((v.attachments[1].width, v.attachments[1].height), (Some(1200), Some(1600)));
}

#[test]
fn signature_logo_is_not_a_scan() {
    let mail = Mail::new("专家推荐+昆明学院+张三")
        .attach(FORM_NAME, ExpertForm::new("张三", "昆明学院").docx())
        .inline_image("logo.jpg", &jpeg(160, 48));
    let v = judged(&mail);
    check(
        &v,
        Want {
            decision: RequestCorrection,
            kind: EXPERT,
            fields: &[("expert_name", "张三"), ("school", "昆明学院")],
            errors: &[E::MissingScan],
            warnings: &[],
        },
    );
    check_attachments(&v, &[(FORM_NAME, "docx", Role::Form), ("logo.jpg", "jpeg", Role::Other)]);
}

#[test]
fn stamped_page_photo_pasted_into_the_body() {
    let mail = Mail::new("专家推荐+昆明学院+张三")
        .attach(FORM_NAME, ExpertForm::new("张三", "昆明学院").docx())
        .inline_image("image001.jpg", &jpeg_of_size(1536, 2048, 180_000));
    let v = judged(&mail);
    check_expert_ok(&v, "昆明学院", "张三");
    check_attachments(&v, &[(FORM_NAME, "docx", Role::Form), ("image001.jpg", "jpeg", Role::Scan)]);
}

// ---------------------------------------------------------------------------------------
// §1/§4 Experts: age, title, form fields

fn expert_warnings(form: ExpertForm, warnings: &[WarningCode]) -> Verdict {
    let v = judged(&expert_mail("专家推荐+昆明学院+张三", &form));
    check(
        &v,
        Want {
            decision: Acknowledge,
            kind: EXPERT,
            fields: &[("expert_name", "张三"), ("school", "昆明学院")],
            errors: &[],
            warnings,
        },
    );
    v
}

#[test]
fn expert_over_age() {
    let v = expert_warnings(ExpertForm::new("张三", "昆明学院").birth("1950.01"), &[W::ExpertOverAge]);
    check_experts(&v, &[("张三", Some("1950-01"), Some("教授"), "正高")]);
}

#[test]
fn expert_exactly_65_is_not_over_age() {
    // Born 1958-03, deadline 2023-03-22: 65 whole years, not older than 65.
    let v = expert_warnings(ExpertForm::new("张三", "昆明学院").birth("1958.03"), &[]);
    check_experts(&v, &[("张三", Some("1958-03"), Some("教授"), "正高")]);
}

#[test]
fn age_counts_whole_years_to_the_month() {
    // Deadline month 2023-03: born 1957-03 is 66, born 1957-04 is 65 (not over).
    let v = expert_warnings(ExpertForm::new("张三", "昆明学院").birth("1957年3月"), &[W::ExpertOverAge]);
    check_experts(&v, &[("张三", Some("1957-03"), Some("教授"), "正高")]);
    let v = expert_warnings(ExpertForm::new("张三", "昆明学院").birth("1957.04"), &[]);
    check_experts(&v, &[("张三", Some("1957-04"), Some("教授"), "正高")]);
}

#[test]
fn name_padded_inside_the_form_cell() {
    let mut form = ExpertForm::new("张三", "昆明学院");
    form.name = "张\u{3000}三".into();
    let v = expert_warnings(form, &[]);
    check_experts(&v, &[("张三", Some("1975-06"), Some("教授"), "正高")]);
}

#[test]
fn skill_grade_is_not_a_title() {
    let v = expert_warnings(ExpertForm::new("张三", "昆明学院").title("高级技师"), &[W::ExpertTitleBelowSenior]);
    check_experts(&v, &[("张三", Some("1975-06"), Some("高级技师"), "none")]);
}

#[test]
fn lecturer_is_below_senior() {
    let v = expert_warnings(ExpertForm::new("张三", "昆明学院").title("讲师"), &[W::ExpertTitleBelowSenior]);
    check_experts(&v, &[("张三", Some("1975-06"), Some("讲师"), "中级")]);
}

#[test]
fn blank_birth_is_form_incomplete() {
    let v = expert_warnings(ExpertForm::new("张三", "昆明学院").birth(""), &[W::FormIncomplete]);
    check_experts(&v, &[("张三", None, Some("教授"), "正高")]);
}

#[test]
fn birth_dates_as_schools_write_them() {
    for birth in ["1975.6", "1975年6月", "197506", "1975-06", "1975.06"] {
        let v = expert_warnings(ExpertForm::new("张三", "昆明学院").birth(birth), &[]);
        assert_eq!(v.experts[0].birth.as_deref(), Some("1975-06"), "{birth}");
    }
    // An Excel form whose 出生年月 is a real date cell.
    let mail = Mail::new("专家推荐+昆明学院+张三")
        .attach("附件2专家推荐表.xlsx", ExpertForm::new("张三", "昆明学院").xlsx(Some((1975, 6, 1))))
        .attach(SCAN_NAME, scan_pdf());
    let v = judged(&mail);
    check_expert_ok(&v, "昆明学院", "张三");
    check_attachments(&v, &[("附件2专家推荐表.xlsx", "xlsx", Role::Form), (SCAN_NAME, "pdf", Role::Scan)]);
    check_full_expert(&v, "张三", "昆明学院");
}

#[test]
fn form_labels_padded_with_spaces() {
    let v = judged(&expert_mail("专家推荐+昆明学院+张三", &ExpertForm::new("张三", "昆明学院").labels(Labels::Padded)));
    check_expert_ok(&v, "昆明学院", "张三");
    check_full_expert(&v, "张三", "昆明学院");
}

#[test]
fn form_labels_with_trailing_line_breaks() {
    let v = judged(&expert_mail("专家推荐+昆明学院+张三", &ExpertForm::new("张三", "昆明学院").labels(Labels::Breaks)));
    check_expert_ok(&v, "昆明学院", "张三");
    check_full_expert(&v, "张三", "昆明学院");
}

#[test]
fn form_with_a_merged_photo_column() {
    let v = judged(&expert_mail("专家推荐+昆明学院+张三", &ExpertForm::new("张三", "昆明学院").with_photo()));
    check_expert_ok(&v, "昆明学院", "张三");
    check_full_expert(&v, "张三", "昆明学院");
}

#[test]
fn blank_gender_next_to_the_photo_cell() {
    let mut form = ExpertForm::new("张三", "昆明学院").with_photo().labels(Labels::Padded);
    form.gender = String::new();
    let v = expert_warnings(form, &[W::FormIncomplete]);
    assert_eq!(v.experts[0].gender, None, "照片 is not the gender");
}

#[test]
fn form_with_inline_label_cells() {
    let v = judged(&expert_mail("专家推荐+昆明学院+张三", &ExpertForm::new("张三", "昆明学院").inline()));
    check_expert_ok(&v, "昆明学院", "张三");
    check_full_expert(&v, "张三", "昆明学院");
}

// ---------------------------------------------------------------------------------------
// Arrival

#[test]
fn late_arrival_by_received_date() {
    let mail = expert_mail("专家推荐+昆明学院+张三", &ExpertForm::new("张三", "昆明学院"))
        .header(
            "Received: from mail.school.edu.cn (unknown [222.172.1.2])\r\n\tby mx.ynedu.gov.cn (Postfix) with ESMTP id 4PjK2x;\r\n\tSat, 25 Mar 2023 09:12:44 +0800 (CST)",
        );
    let v = judged(&mail);
    check(
        &v,
        Want {
            decision: Acknowledge,
            kind: EXPERT,
            fields: &[("expert_name", "张三"), ("school", "昆明学院")],
            errors: &[],
            warnings: &[W::Late],
        },
    );
    assert_eq!(v.arrived.as_deref(), Some("2023-03-25T09:12:44+08:00"));
}

#[test]
fn deadline_is_inclusive_in_beijing_time() {
    for (received, arrived, late) in [
        ("Wed, 22 Mar 2023 23:59:59 +0800", "2023-03-22T23:59:59+08:00", false),
        ("Thu, 23 Mar 2023 00:00:00 +0800", "2023-03-23T00:00:00+08:00", true),
        // 16:30 UTC is half past midnight in Kunming.
        ("Wed, 22 Mar 2023 16:30:00 +0000", "2023-03-23T00:30:00+08:00", true),
        ("Wed, 22 Mar 2023 15:59:00 +0000", "2023-03-22T23:59:00+08:00", false),
    ] {
        let mail = expert_mail("专家推荐+昆明学院+张三", &ExpertForm::new("张三", "昆明学院"))
            .header(&format!("Received: from mail.school.edu.cn by mx.ynedu.gov.cn; {received}"));
        let v = judged(&mail);
        assert_eq!(v.arrived.as_deref(), Some(arrived), "{received}");
        let want: &[WarningCode] = if late { &[W::Late] } else { &[] };
        assert_eq!(v.warnings, want, "{received}");
        assert_eq!(v.decision, Acknowledge, "{received}");
    }
}
