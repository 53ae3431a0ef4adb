//! Word 97-2003 and Excel 97-2003 forms (binary fixtures made by `tests/fixtures/generate.py`,
//! since no Rust crate writes these formats): the expert form read from a `.doc`, the summary
//! table read from a `.xls` with its header on row 4 and births as real date cells.

use mail_intake::verdict::Role;
use mail_intake::{Decision, JudgeOptions, Rules, judge};

use crate::support::build::{ExpertForm, Mail, scan_pdf};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap()
}

#[test]
fn expert_form_from_word_97() {
    let raw = Mail::new("专家推荐+云南交通职业技术学院+周文斌")
        .attach("附件2：专家推荐表（周文斌）.doc", fixture("expert-form.doc"))
        .attach("盖章扫描件.pdf", scan_pdf())
        .build();
    let v = judge("doc.eml", &raw, &Rules::embedded(), &JudgeOptions::default());
    assert_eq!(v.decision, Decision::Acknowledge, "{:?}", v.reasons);
    assert_eq!(v.attachments[0].kind, "doc");
    assert_eq!(v.attachments[0].role, Role::Form);
    let e = &v.experts[0];
    assert_eq!((e.name.as_str(), e.birth.as_deref(), e.title.as_deref()), ("周文斌", Some("1968-07"), Some("教授")));
    assert_eq!(e.title_level, "正高");
    assert_eq!(e.gender.as_deref(), Some("男"));
    assert_eq!(e.category.as_deref(), Some("交通运输大类"));
}

#[test]
fn summary_table_from_excel_97_with_date_cells() {
    let form = ExpertForm::new("周文斌", "云南交通职业技术学院").birth("1968.07").title("教授");
    let raw = Mail::new("专家推荐+云南交通职业技术学院+周文斌")
        .attach("附件2.docx", form.docx())
        .attach("附件3：汇总表.xls", fixture("summary.xls"))
        .attach("盖章扫描件.pdf", scan_pdf())
        .build();
    let v = judge("xls.eml", &raw, &Rules::embedded(), &JudgeOptions::default());
    assert_eq!(v.decision, Decision::Acknowledge, "{:?}", v.reasons);
    let xls = v.attachments.iter().find(|a| a.filename.ends_with(".xls")).unwrap();
    assert_eq!((xls.kind.as_str(), xls.role), ("xls", Role::SummaryTable));
    let rows: Vec<(&str, Option<&str>, &str)> =
        v.summary_rows.iter().map(|e| (e.name.as_str(), e.birth.as_deref(), e.title_level.as_str())).collect();
    assert_eq!(
        rows,
        vec![
            ("周文斌", Some("1968-07"), "正高"),
            ("李秀兰", Some("1975-11"), "副高"),
            ("王强", Some("1980-02"), "none")
        ]
    );
    assert_eq!(v.summary_rows[0].phone.as_deref(), Some("13987600000"), "phone numbers stay digits, not 1.39e10");
}

#[test]
fn a_summary_table_alone_is_not_the_form() {
    let raw = Mail::new("专家推荐+云南交通职业技术学院+李秀兰")
        .attach("附件3.xls", fixture("summary.xls"))
        .attach("盖章扫描件.pdf", scan_pdf())
        .build();
    let v = judge("only-xls.eml", &raw, &Rules::embedded(), &JudgeOptions::default());
    assert_eq!(v.decision, Decision::RequestCorrection);
    assert_eq!(v.errors.iter().map(|e| e.as_str()).collect::<Vec<_>>(), ["missing_form"]);
    // The expert named in the subject is still read from the summary table.
    assert_eq!(v.experts.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["李秀兰"]);
}
