//! The generated campaign the benchmark feeds the daemon: submission `i` of a deterministic
//! stream of realistic mails (expert recommendations with forms and scans, lead-institution
//! applications, pilot summaries, some incomplete, some resent), and one with a large scan.

use crate::support::build::{
    BodyCharset, ExpertForm, HeaderText, LeadForm, Mail, NameStyle, jpeg_pages_pdf, report_docx, scanner_jpeg,
};
use crate::support::mailserver::OFFICE;
use crate::support::rng::Rng;

const ROSTER: [&str; 24] = [
    "云南大学",
    "昆明理工大学",
    "云南农业大学",
    "西南林业大学",
    "昆明医科大学",
    "大理大学",
    "云南师范大学",
    "曲靖师范学院",
    "云南财经大学",
    "昆明学院",
    "云南交通职业技术学院",
    "昆明工业职业技术学院",
    "云南机电职业技术学院",
    "云南旅游职业学院",
    "昆明冶金高等专科学校",
    "云南国土资源职业学院",
    "云南农业职业技术学院",
    "云南林业职业技术学院",
    "云南财经职业学院",
    "昆明铁道职业技术学院",
    "云南水利水电职业学院",
    "玉溪职业技术学院",
    "曲靖财经学校",
    "红河职业技术学院",
];

const CATEGORIES: [&str; 8] = [
    "电子与信息大类",
    "装备制造大类",
    "财经商贸大类",
    "交通运输大类",
    "医药卫生大类",
    "旅游大类",
    "土木建筑大类",
    "农林牧渔大类",
];

const SURNAMES: [&str; 20] = [
    "张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗",
    "高",
];
const GIVEN: [&str; 24] = [
    "明", "华", "芳", "强", "静", "丽", "军", "伟", "敏", "磊", "洋", "艳", "建国", "海燕", "志强", "晓东", "丽萍",
    "文斌", "春梅", "红霞", "国华", "永刚", "秀英", "德明",
];

fn school_of(i: usize) -> (usize, &'static str) {
    let k = (i * 7 + i / 24) % ROSTER.len();
    (k, ROSTER[k])
}

fn expert_of(i: usize) -> String {
    format!("{}{}", SURNAMES[(i * 3 + i / 20) % SURNAMES.len()], GIVEN[(i * 5 + i / 24) % GIVEN.len()])
}

/// Submission `i` of the generated campaign: mostly expert recommendations (a docx or xlsx
/// form and a scanned PDF), some lead-institution applications and pilot summaries, one in
/// twenty without its scan (a correction request), one in twenty a re-submission (a
/// duplicate). Attachments total 100–300 KB. From `from` when given, else from the school's
/// own address; `seed` varies the random bytes (`None`: from `i`).
pub fn submission(i: usize, from: &str, seed: Option<usize>) -> Vec<u8> {
    let mut rng = Rng::new(seed.unwrap_or(i) as u64 + 17);
    let (k, school) = school_of(i);
    let sender = if from.is_empty() { format!("jwc{k}@school{k}.example.cn") } else { from.to_string() };
    let target = 100 * 1024 + rng.below(200 * 1024);
    let sep = ["+", "＋", "-", " + "][i % 4];
    let subject_style = [
        HeaderText::Utf8Word,
        HeaderText::GbWord("GBK"),
        HeaderText::GbWord("GB2312"),
        HeaderText::SplitGbk,
        HeaderText::GbWord("gb18030"),
    ][i % 5];
    let name_style =
        [NameStyle::Word("GBK"), NameStyle::Rfc2231, NameStyle::SplitWords, NameStyle::Word("UTF-8")][i % 4];
    let pages = 1 + i % 3;
    let kind = i % 20;
    let (subject, mut files): (String, Vec<(String, Vec<u8>)>) = match kind {
        14..=16 => {
            let category = CATEGORIES[i % CATEGORIES.len()];
            let form = LeadForm::new(school, category).docx();
            (
                format!("牵头院校上报{sep}{category}{sep}{school}"),
                vec![(format!("附件1：{school}牵头院校申请表.docx"), form)],
            )
        }
        17 => {
            let title = format!("{school}“1+X”证书制度试点工作总结");
            let report = report_docx(
                &title,
                &[
                    "一、试点工作完成情况。本年度共申报证书 6 个，完成考核 520 人，通过率 86%。",
                    "二、试点工作机制建设情况。学校成立试点工作领导小组，统筹推进书证融通。",
                    "三、存在的问题与下一步打算。进一步加强师资培训与考核站点建设。",
                ],
            );
            (format!("{school}1+X证书制度试点工作总结"), vec![(format!("{school}试点工作总结.docx"), report)])
        }
        _ => {
            // 19: the expert of submission i-19 again (a duplicate); 18: no scan.
            let j = if kind == 19 { i - 19 } else { i };
            let (_, school) = school_of(j);
            let name = expert_of(j);
            let mut form = ExpertForm::new(&name, school);
            form.category = CATEGORIES[j % CATEGORIES.len()].to_string();
            form.email = format!("expert{j}@school.example.cn");
            let (file, bytes) = if i.is_multiple_of(5) {
                (format!("附件2：专家推荐表（{name}）.xlsx"), form.xlsx(None))
            } else {
                (format!("附件2：专家推荐表（{name}）.docx"), form.docx())
            };
            (format!("专家推荐{sep}{school}{sep}{name}"), vec![(file, bytes)])
        }
    };
    let used: usize = files.iter().map(|(_, b)| b.len()).sum();
    let left = target.saturating_sub(used).max(20_000);
    if kind == 18 {
        // A one-inch ID photo instead of the stamped scan: not a scan (too small a side).
        files.push((format!("{}证件照.jpg", expert_of(i)), scanner_jpeg(&mut rng, 295, 413, left)));
    } else {
        let per_page = left / pages;
        let jpegs: Vec<Vec<u8>> = (0..pages).map(|_| scanner_jpeg(&mut rng, 1240, 1754, per_page)).collect();
        let name =
            ["扫描全能王 2023-03-15 10.21.pdf", "盖章扫描件.pdf", "推荐表盖章版.pdf", "CamScanner 03-15-2023.pdf"]
                [i % 4]
                .to_string();
        files.push((name, jpeg_pages_pdf(&jpegs)));
    }
    let mut mail = Mail::new(&subject)
        .subject_as(subject_style)
        .from(&format!("=?UTF-8?B?5pWZ5Yqh5aSE?= <{sender}>"))
        .to(OFFICE)
        .message_id(&format!("<bench-{i}-{}@{}>", rng.next() % 1_000_000, sender.rsplit('@').next().unwrap_or("x")));
    if i.is_multiple_of(3) {
        mail = mail.body_charset(BodyCharset::Gb("GBK"));
    }
    for (name, bytes) in files {
        mail = mail.attach_as(&name, bytes, name_style);
    }
    mail.build()
}

/// An expert recommendation whose stamped scan is one large PDF of `attachment` bytes.
pub fn big_submission(i: usize, attachment: usize) -> Vec<u8> {
    let mut rng = Rng::new(99 + i as u64);
    let (_, school) = school_of(i);
    let name = expert_of(i);
    let form = ExpertForm::new(&name, school).docx();
    // Pages of ~2 MB each, as a 600 dpi colour scan gives.
    let pages = attachment.div_ceil(2 << 20).max(1);
    let overhead = 600 * pages + 400;
    let per_page = attachment.saturating_sub(overhead) / pages;
    let jpegs: Vec<Vec<u8>> = (0..pages).map(|_| scanner_jpeg(&mut rng, 4960, 7016, per_page)).collect();
    let pdf = jpeg_pages_pdf(&jpegs);
    Mail::new(&format!("专家推荐+{school}+{name}"))
        .from("=?UTF-8?B?5pWZ5Yqh5aSE?= <jwc-big@school-big.example.cn>")
        .to(OFFICE)
        .message_id(&format!("<bench-big-{i}@school-big.example.cn>"))
        .attach(&format!("附件2：专家推荐表（{name}）.docx"), form)
        .attach(&format!("{name}推荐材料盖章扫描件.pdf"), pdf)
        .build()
}
