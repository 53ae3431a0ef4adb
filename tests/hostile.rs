//! Hostile mail (issue 4): content built in code to make a reader run away — bombs, cycles,
//! claims of gigabytes, locked files, names that are paths. Each is judged with a verdict,
//! the refused content says why, and the caps (not luck) are what stopped the work.
//!
//! Times are printed (`--nocapture` shows them), never asserted: tests do not assert on time.
//! Memory is bounded by asserting that the cap refused the content, so it was never held.

use mail_intake::store;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Instant;

use base64::Engine as _;
use mail_intake::limits::Limits;
use mail_intake::{Decision, ErrorCode, JudgeOptions, Rules, Verdict, judge};

use crate::support::build::{
    ExpertForm, HeaderText, Mail, MemberName, ZipMember, big_scan_pdf, cyclic_pdf, docx_bomb, encrypted_pdf,
    encrypted_zip, nested_forwards, nested_multipart, pdf_claiming_gigabytes, raw_zip, scan_pdf, xls_far_cells,
    xlsx_bomb, xlsx_far_cells, zip_members,
};

static RULES: LazyLock<Rules> = LazyLock::new(Rules::embedded);

const SUBJECT: &str = "专家推荐+昆明学院+张三";
const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

/// Judges with the default caps, printing how long it took.
fn timed(what: &str, raw: &[u8]) -> Verdict {
    timed_with(what, raw, &JudgeOptions::default())
}

fn timed_with(what: &str, raw: &[u8], opts: &JudgeOptions) -> Verdict {
    let t = Instant::now();
    let v = judge(&format!("{what}.eml"), raw, &RULES, opts);
    eprintln!(
        "hostile {what}: {} bytes judged in {:.3} s → {} {:?}; problems {:?}",
        raw.len(),
        t.elapsed().as_secs_f64(),
        v.decision.as_str(),
        v.errors,
        problems(&v)
    );
    v
}

/// (file name, problem) of every attachment that has a problem.
fn problems(v: &Verdict) -> Vec<(String, String)> {
    v.attachments.iter().filter_map(|a| a.problem.clone().map(|p| (a.filename.clone(), p))).collect()
}

fn problem_of<'v>(v: &'v Verdict, filename: &str) -> &'v str {
    v.attachments
        .iter()
        .find(|a| a.filename == filename)
        .and_then(|a| a.problem.as_deref())
        .unwrap_or_else(|| panic!("{filename} has no problem: {:?}", v.attachments))
}

fn form() -> ExpertForm {
    ExpertForm::new("张三", "昆明学院")
}

#[test]
fn zip_bomb_member_is_refused_unread() {
    // 1 GiB of spaces in about 1 MB, declared honestly: refused on its declared size.
    let honest = zip_members(&[ZipMember::bomb("推荐表.docx", b' ', GIB, GIB as u32)]);
    eprintln!("zip bomb: {} bytes inflating to {GIB}", honest.len());
    let v = timed("zip-bomb", &Mail::new(SUBJECT).attach("张三材料.zip", honest).build());
    assert_eq!(v.decision, Decision::RequestCorrection);
    assert_eq!(v.errors, vec![ErrorCode::UnsupportedArchive]);
    let p = problem_of(&v, "张三材料.zip");
    assert!(p.contains("推荐表.docx") && p.contains("解压后超过 64 MB 的上限"), "{p}");

    // The same bomb declaring 1 KB: the capped reader stops it at the cap (here 4 MB, to
    // keep the debug build quick), so at most the cap was ever held.
    let liar = zip_members(&[ZipMember::bomb("扫描件.pdf", b' ', 256 * MIB, 1024)]);
    let opts = JudgeOptions {
        limits: Limits { max_decompressed_bytes: 4 * MIB, ..Limits::default() },
        ..JudgeOptions::default()
    };
    let v = timed_with("zip-bomb-lying", &Mail::new(SUBJECT).attach("张三材料.zip", liar).build(), &opts);
    let p = problem_of(&v, "张三材料.zip");
    assert!(p.contains("扫描件.pdf") && (p.contains("4 MB 的上限") || p.contains("无法解压")), "{p}");
    assert_eq!(v.attachments.len(), 1, "no member was taken out: {:?}", v.attachments);
}

#[test]
fn zip_member_names_that_are_paths_lose_their_directories() {
    let archive = raw_zip(&[
        ("../../../../etc/cron.d/推荐表.docx", MemberName::Utf8, &form().docx()),
        ("/etc/passwd", MemberName::Utf8, b"root:x:0:0::/root:/bin/sh\n"),
        ("C:\\Windows\\System32\\扫描件.pdf", MemberName::Gbk, &scan_pdf()),
        ("..\\..\\..\\boot.ini", MemberName::Utf8, b"[boot loader]\r\n"),
    ]);
    let v = timed("zip-paths", &Mail::new(SUBJECT).attach("材料.zip", archive).build());
    let names: Vec<&str> = v.attachments.iter().map(|a| a.filename.as_str()).collect();
    assert_eq!(names, ["材料.zip", "推荐表.docx", "passwd", "扫描件.pdf", "boot.ini"]);
    for a in &v.attachments {
        assert!(!a.filename.contains(['/', '\\']) && !a.filename.starts_with('.'), "{:?}", a.filename);
    }
    // Read as members, judged like attachments: the form and the scan are there.
    assert_eq!(v.decision, Decision::Acknowledge, "{:?}", v.reasons);
}

#[test]
fn password_protected_zip_is_refused_with_a_reason() {
    let archive = encrypted_zip(&[("推荐表.docx", &form().docx()), ("扫描件.pdf", &scan_pdf())]);
    let v = timed("zip-password", &Mail::new(SUBJECT).attach("材料.zip", archive).build());
    assert_eq!(v.errors, vec![ErrorCode::UnsupportedArchive]);
    assert_eq!(problem_of(&v, "材料.zip"), "压缩包设有密码，无法打开");
}

#[test]
fn deeply_nested_multipart_is_read() {
    let scan = base64::engine::general_purpose::STANDARD.encode(scan_pdf());
    let form = base64::engine::general_purpose::STANDARD.encode(form().docx());
    let inner = format!(
        "Content-Type: multipart/mixed; boundary=\"bottom\"\r\n\r\n--bottom\r\nContent-Type: application/pdf; name=\"scan.pdf\"\r\nContent-Disposition: attachment; filename=\"scan.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{scan}\r\n--bottom\r\nContent-Type: application/octet-stream; name=\"form.docx\"\r\nContent-Disposition: attachment; filename=\"form.docx\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{form}\r\n--bottom--"
    );
    let raw = nested_multipart(20_000, &inner);
    let v = timed("nested-multipart", &raw);
    assert_eq!(v.decision, Decision::Acknowledge, "{:?}", v.reasons);
    assert_eq!(v.attachments.len(), 2);

    // Forwarded messages inside forwarded messages: read to a fixed depth, the rest noted.
    let raw = nested_forwards(5_000);
    let v = timed("nested-forwards", &raw);
    assert!(!v.reasons.is_empty(), "a verdict with a reason: {v:?}");
}

#[test]
fn a_one_megabyte_header_line_is_capped() {
    let long = "专家推荐".repeat(90_000); // about 1 MB of UTF-8
    let junk = format!("X-Junk: {}", "a".repeat(MIB as usize));
    let raw = Mail::new(&long).subject_as(HeaderText::RawUtf8).header(&junk).build();
    let v = timed("header-1mb", &raw);
    assert!(v.subject.chars().count() <= 2001, "subject kept at {} characters", v.subject.chars().count());
    assert!(!v.reasons.is_empty());
}

#[test]
fn a_sixty_megabyte_attachment_is_judged() {
    let scan = big_scan_pdf(60 * MIB as usize);
    let raw = Mail::new(SUBJECT).attach("推荐表.docx", form().docx()).attach("扫描件.pdf", scan).build();
    let v = timed("attachment-60mb", &raw);
    assert_eq!(v.decision, Decision::Acknowledge, "{:?}", v.reasons);
    let scan = v.attachments.iter().find(|a| a.filename == "扫描件.pdf").expect("the scan");
    assert_eq!((scan.pages, scan.scanned), (Some(1), Some(true)));
    assert!(scan.size > 60 * MIB - MIB);
}

#[test]
fn a_message_over_the_size_cap_is_held_unread() {
    let raw = Mail::new(SUBJECT).attach("扫描件.pdf", scan_pdf()).build();
    let opts =
        JudgeOptions { limits: Limits { max_message_bytes: 1000, ..Limits::default() }, ..JudgeOptions::default() };
    let v = timed_with("over-size-cap", &raw, &opts);
    assert_eq!(v.decision, Decision::Hold);
    assert!(v.reasons.iter().any(|r| r.contains("超过上限")), "{:?}", v.reasons);
    assert!(v.attachments.is_empty(), "nothing was read");
}

#[test]
fn office_xml_that_expands_enormously_is_refused() {
    let v = timed(
        "docx-bomb",
        &Mail::new(SUBJECT)
            .attach("推荐表.docx", docx_bomb(GIB, GIB as u32))
            .attach("推荐表2.docx", docx_bomb(256 * MIB, 2048))
            .attach("推荐表.xlsx", xlsx_bomb(GIB, GIB as u32))
            .attach("推荐表2.xlsx", xlsx_bomb(256 * MIB, 2048))
            .attach("扫描件.pdf", scan_pdf())
            .build(),
    );
    assert_eq!(v.errors, vec![ErrorCode::UnreadableAttachment]);
    // Declared honestly: refused on the declared size, unread.
    assert_eq!(problem_of(&v, "推荐表.docx"), "Word 文件正文解压后超过 64 MB 的上限，未读取");
    assert_eq!(problem_of(&v, "推荐表.xlsx"), "Excel 文件的 sheet1.xml 解压后超过 64 MB 的上限，未读取");
    // Declaring 2 KB: the zip reader stops where the declared size ends.
    for name in ["推荐表2.docx", "推荐表2.xlsx"] {
        let p = problem_of(&v, name);
        assert!(p.contains("无法解压") && p.contains("declared uncompressed size"), "{p}");
    }
}

#[test]
fn sheets_with_cells_far_apart_do_not_allocate_the_span() {
    // Before: calamine made one dense grid from A1 to XFD1048576 (17 billion cells) and the
    // process aborted. Now the cells are streamed into a capped grid.
    let v = timed("xlsx-far-cells", &Mail::new(SUBJECT).attach("推荐表.xlsx", xlsx_far_cells()).build());
    let x = v.attachments.iter().find(|a| a.filename == "推荐表.xlsx").expect("the workbook");
    assert_eq!((x.kind.as_str(), &x.problem), ("xlsx", &None));
    // .xls: calamine builds every sheet when opening the file; the span is measured first.
    let v = timed("xls-far-cells", &Mail::new(SUBJECT).attach("推荐表.xls", xls_far_cells()).build());
    assert!(problem_of(&v, "推荐表.xls").contains("表格范围过大"), "{:?}", problems(&v));
}

#[test]
fn a_pdf_with_a_cyclic_object_graph_is_judged() {
    let v = timed(
        "pdf-cycles",
        &Mail::new(SUBJECT).attach("推荐表.docx", form().docx()).attach("扫描件.pdf", cyclic_pdf()).build(),
    );
    let pdf = v.attachments.iter().find(|a| a.filename == "扫描件.pdf").expect("the pdf");
    assert_eq!(pdf.kind, "pdf");
    // Its one page is counted once, however often the looping page tree lists it.
    assert_eq!((pdf.pages, &pdf.problem), (Some(1), &None), "{pdf:?}");
}

#[test]
fn a_pdf_whose_streams_claim_gigabytes_is_refused_at_the_cap() {
    let raw = Mail::new(SUBJECT)
        .attach("推荐表.docx", form().docx())
        .attach("扫描件.pdf", pdf_claiming_gigabytes(GIB))
        .build();
    let opts = JudgeOptions {
        limits: Limits { max_decompressed_bytes: 8 * MIB, ..Limits::default() },
        ..JudgeOptions::default()
    };
    let v = timed_with("pdf-gigabytes", &raw, &opts);
    assert_eq!(problem_of(&v, "扫描件.pdf"), "PDF 文件中的数据流解压后超过 8 MB 的上限，未读取");
    assert_eq!(v.errors, vec![ErrorCode::UnreadableAttachment]);
}

#[test]
fn an_encrypted_pdf_is_refused_with_a_reason() {
    let raw = Mail::new(SUBJECT).attach("推荐表.docx", form().docx()).attach("扫描件.pdf", encrypted_pdf()).build();
    let v = timed("pdf-encrypted", &raw);
    assert_eq!(problem_of(&v, "扫描件.pdf"), "PDF 文件设有密码，无法打开");
    assert_eq!(v.errors, vec![ErrorCode::UnreadableAttachment]);
}

/// File names with control characters and path separators, in every way a header can say
/// them: quoted, RFC 2231 percent-encoded, as an encoded-word.
fn mail_with_hostile_names() -> Mail {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let scan = base64::engine::general_purpose::STANDARD.encode(scan_pdf());
    let word = format!("=?UTF-8?B?{}?=", b64("../../etc/\r\nX-Evil: 1\u{1b}[31m推荐表.docx"));
    let form = base64::engine::general_purpose::STANDARD.encode(form().docx());
    Mail::new(SUBJECT)
        .part(
            "Content-Type: application/pdf; name=\"..\\\\..\\\\evil\u{7}\u{1b}[2J.pdf\"\r\nContent-Disposition: attachment; filename*=UTF-8''..%2F..%2F%2Fvar%2Fspool%0D%0A%00scan.pdf\r\nContent-Transfer-Encoding: base64",
            scan.as_bytes(),
        )
        .part(
            &format!("Content-Type: application/octet-stream; name=\"{word}\"\r\nContent-Disposition: attachment; filename=\"{word}\"\r\nContent-Transfer-Encoding: base64"),
            form.as_bytes(),
        )
}

#[test]
fn file_names_with_controls_and_separators_are_cleaned() {
    let v = timed("hostile-names", &mail_with_hostile_names().build());
    assert_eq!(v.attachments.len(), 2, "{:?}", v.attachments);
    for a in &v.attachments {
        assert!(!a.filename.contains(['/', '\\']), "{:?}", a.filename);
        assert!(!a.filename.chars().any(char::is_control), "{:?}", a.filename);
    }
    // `../..//var/spool\r\n\0scan.pdf`: the directories go, the controls go.
    assert_eq!(v.attachments[0].filename, "spoolscan.pdf");
    assert!(v.attachments[1].filename.ends_with("推荐表.docx"), "{:?}", v.attachments[1].filename);
    assert_eq!(v.decision, Decision::Acknowledge, "{:?}", v.reasons);
}

// ---------------------------------------------------------------------------------------
// The daemon: hostile mail among normal mail.

/// Every file under `dir`, relative to it.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).expect("inside").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_daemon_judges_hostile_mail_and_carries_on() {
    use mail_intake::store::Store;

    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path();
    let inbox = work.join("inbox");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(inbox.join(sub)).expect("maildir");
    }
    let normal = |n: usize| {
        let name = ["张伟", "李娜", "王芳", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周敏", "吴强"][n % 10];
        Mail::new(&format!("专家推荐+昆明学院+{name}"))
            .from(&format!("jwc{n} <jwc{n}@school.edu.cn>"))
            .message_id(&format!("<normal-{n}@school.edu.cn>"))
            .attach("推荐表.docx", ExpertForm::new(name, "昆明学院").docx())
            .attach("扫描件.pdf", scan_pdf())
    };
    let hostile: Vec<(&str, Vec<u8>)> = vec![
        (
            "zip-bomb",
            Mail::new(SUBJECT)
                .attach("材料.zip", zip_members(&[ZipMember::bomb("a.docx", b' ', GIB, GIB as u32)]))
                .build(),
        ),
        (
            "zip-paths",
            Mail::new(SUBJECT)
                .attach(
                    "材料.zip",
                    raw_zip(&[
                        ("../../../../tmp/pwned.txt", MemberName::Utf8, b"pwned"),
                        ("/etc/cron.d/x", MemberName::Utf8, b"* * * * * root id"),
                    ]),
                )
                .build(),
        ),
        ("nested", nested_multipart(5_000, "Content-Type: text/plain\r\n\r\nbottom")),
        ("header-1mb", Mail::new(SUBJECT).header(&format!("X-Junk: {}", "a".repeat(MIB as usize))).build()),
        ("docx-bomb", Mail::new(SUBJECT).attach("推荐表.docx", docx_bomb(GIB, GIB as u32)).build()),
        ("xlsx-far", Mail::new(SUBJECT).attach("推荐表.xlsx", xlsx_far_cells()).build()),
        ("pdf-cycles", Mail::new(SUBJECT).attach("扫描件.pdf", cyclic_pdf()).build()),
        ("pdf-encrypted", Mail::new(SUBJECT).attach("扫描件.pdf", encrypted_pdf()).build()),
        ("names", mail_with_hostile_names().message_id("<names@school.edu.cn>").build()),
        ("garbage", (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()),
    ];
    // normal, hostile, normal, hostile, …, normal: Maildir names sort in arrival order.
    let mut seq = 0;
    let mut put = |raw: &[u8]| {
        seq += 1;
        std::fs::write(inbox.join("cur").join(format!("{}.M{seq}P1.host:2,", 1_678_000_000 + seq)), raw)
            .expect("write");
    };
    for (n, (_, raw)) in hostile.iter().enumerate() {
        put(&normal(n).build());
        put(raw);
    }
    put(&normal(hostile.len()).build());
    let config = work.join("mail-intake.toml");
    std::fs::write(
        &config,
        "[maildir]\npath = \"inbox\"\n\n[outbox_dir]\npath = \"outbox\"\nfrom = \"省学分银行 <office@example.edu.cn>\"\n\n[store]\npath = \"data/mail-intake.sqlite3\"\n\n[reply]\nreply_since = \"2023-01-01\"\n",
    )
    .expect("config");
    let before = tree(work);

    let t = Instant::now();
    let out = crate::support::mail_intake(&["run", "--config", config.to_str().expect("utf-8"), "--once"]);
    eprintln!("daemon over {} mails: {:.2} s", seq, t.elapsed().as_secs_f64());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("stored {seq} new message(s), judged {seq}")), "{text}");

    let store = Store::open(&work.join("data/mail-intake.sqlite3")).expect("store");
    let mut normal_ids = Vec::new();
    for id in 1..=seq as i64 {
        let v = store.with(|c| store::verdicts::verdict(c, id)).expect("query").expect("every message has a verdict");
        let is_normal = v.message_id.as_deref().is_some_and(|m| m.starts_with("<normal-"));
        if is_normal {
            assert_eq!(v.decision, Decision::Acknowledge, "normal mail #{id}: {:?}", v.reasons);
            normal_ids.push(v.message_id.clone().unwrap_or_default());
        } else {
            // Each hostile one is recorded with its reason.
            let why = if v.decision == Decision::Acknowledge { vec![] } else { v.reasons.clone() };
            assert!(v.decision == Decision::Acknowledge || !why.is_empty(), "#{id} without a reason: {v:?}");
            eprintln!("  #{id} {} {:?} {:?} {:?}", v.decision.as_str(), v.errors, why, problems(&v));
        }
    }
    assert_eq!(normal_ids.len(), hostile.len() + 1);
    // Every normal mail was answered with an acknowledgement.
    let outbox: Vec<String> = std::fs::read_dir(work.join("outbox"))
        .expect("outbox")
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect();
    for id in &normal_ids {
        let replies: Vec<&String> = outbox.iter().filter(|r| r.contains(&format!("In-Reply-To: {id}"))).collect();
        assert_eq!(replies.len(), 1, "one reply to {id}");
        assert!(replies[0].contains("X-Mail-Intake: acknowledge"), "{}", replies[0]);
    }

    // Nothing was written outside the configured folders (inbox stays as it was, the store
    // folder, the outbox, the Maildir's Sent folder).
    for path in tree(work) {
        let allowed = before.contains(&path)
            || path.starts_with("data")
            || path.starts_with("outbox")
            || path.starts_with("inbox/.Sent");
        assert!(allowed, "a file outside the configured folders: {}", path.display());
    }
    assert!(!Path::new("/tmp/pwned.txt").exists());
}

#[test]
fn a_word97_document_built_in_code_is_read() {
    let doc = crate::support::build::word97_doc("附件2\r姓名\x07张三\x07性别\x07男\x07\x07\r");
    let v = timed("word97", &Mail::new(SUBJECT).attach("推荐表.doc", doc).build());
    let a = v.attachments.iter().find(|a| a.filename == "推荐表.doc").expect("the doc");
    assert_eq!((a.kind.as_str(), &a.problem), ("doc", &None));
}

// ---------------------------------------------------------------------------------------
// Seeds for the fuzz targets (fuzz/README.md): `cargo test --test integration
// write_fuzz_seed_corpus -- --ignored` writes them into fuzz/corpus/<target>/ (not committed).

#[test]
#[ignore = "writes the fuzz seed corpus; run by fuzz/run.sh"]
fn write_fuzz_seed_corpus() {
    use crate::support::build::{
        SummaryRow, corrupt_docx, dsn, encrypted_docx, report_docx, summary_docx, summary_xlsx, text_pdf, word97_doc,
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).expect("corpus folder");
        std::fs::write(dir.join(name), bytes).expect("seed");
    };
    let row = SummaryRow {
        name: "张三",
        gender: "男",
        birth: crate::support::build::Birth::Text("1975.06"),
        title: "教授",
        employer: "昆明学院",
    };
    let form = form();
    let small_scan = scan_pdf();
    let complete = Mail::new(SUBJECT).attach("推荐表.docx", form.docx()).attach("扫描件.pdf", small_scan.clone());
    let mails: Vec<(&str, Vec<u8>)> = vec![
        ("complete.eml", complete.build()),
        ("gbk.eml", Mail::new(SUBJECT).subject_as(HeaderText::SplitGbk).attach("表.xlsx", form.xlsx(None)).build()),
        (
            "zip.eml",
            Mail::new(SUBJECT)
                .attach("材料.zip", crate::support::build::zip_archive(&[("推荐表.docx", &form.docx())]))
                .build(),
        ),
        ("names.eml", mail_with_hostile_names().build()),
        ("nested.eml", nested_multipart(40, "Content-Type: text/plain\r\n\r\nx")),
        ("forwards.eml", nested_forwards(8)),
        ("dsn.eml", dsn(&complete, false).build()),
        (
            "bomb.eml",
            Mail::new(SUBJECT).attach("a.zip", zip_members(&[ZipMember::bomb("a.docx", b' ', 4 * MIB, 1024)])).build(),
        ),
        (
            "summary.eml",
            Mail::new("试点工作总结+昆明学院").attach("汇总表.docx", summary_docx(std::slice::from_ref(&row))).build(),
        ),
    ];
    for (name, raw) in &mails {
        write("judge", name, raw);
    }
    for (i, s) in [
        SUBJECT,
        "回复：【专家推荐】昆明学院-张三（教授）",
        "Re: 牵头单位申报 昆明学院 电子与信息大类",
        "咨询：专家推荐表在哪里下载？",
        "试点工作总结报告+云南交通职业技术学院",
        "转发: 专家推荐_昆明学院_张三_附件",
    ]
    .iter()
    .enumerate()
    {
        write("subject", &format!("s{i}"), s.as_bytes());
    }
    let mut gbk_raw = b"=?GBK?B?".to_vec();
    gbk_raw.extend(base64::engine::general_purpose::STANDARD.encode(crate::support::build::gbk("专家推荐")).as_bytes());
    gbk_raw.extend(b"?=");
    for (i, h) in [
        b"=?UTF-8?B?5LiT5a625o6o6I2Q?= =?GBK?Q?=D7=A8?=".to_vec(),
        b"attachment; filename*0*=UTF-8''%E4%B8%93; filename*1*=%E5%AE%B6.docx".to_vec(),
        b"application/pdf; name=\"=?gb18030?B?1sa2yA==?=\"".to_vec(),
        crate::support::build::gbk("attachment; filename=\"推荐表.docx\""),
        gbk_raw,
    ]
    .iter()
    .enumerate()
    {
        write("header", &format!("h{i}"), h);
    }
    write("docx", "form.docx", &form.docx());
    write("docx", "report.docx", &report_docx("总结", &["第一段", "第二段"]));
    write("docx", "summary.docx", &summary_docx(std::slice::from_ref(&row)));
    write("docx", "bomb.docx", &docx_bomb(4 * MIB, 1024));
    write("docx", "corrupt.docx", &corrupt_docx());
    write("sheet", "form.xlsx", &form.xlsx(None));
    write("sheet", "summary.xlsx", &summary_xlsx("昆明学院", std::slice::from_ref(&row)));
    write("sheet", "far.xlsx", &xlsx_far_cells());
    write("sheet", "far.xls", &xls_far_cells());
    write("sheet", "bomb.xlsx", &xlsx_bomb(4 * MIB, 1024));
    write("pdf", "scan.pdf", &small_scan);
    write("pdf", "text.pdf", &text_pdf(&["hello", "world"]));
    write("pdf", "cycles.pdf", &cyclic_pdf());
    write("pdf", "gigabytes.pdf", &pdf_claiming_gigabytes(4 * MIB));
    write("pdf", "encrypted.pdf", &encrypted_pdf());
    write(
        "doc",
        "form.doc",
        &word97_doc("附件2\r专家推荐表\r姓名\x07张三\x07性别\x07男\x07\x07出生年月\x071975.06\x07民族\x07汉\x07\x07\r"),
    );
    write(
        "doc",
        "table.doc",
        &word97_doc("序号\x07姓名\x07性别\x07出生年月\x07\x071\x07张三\x07男\x071975.06\x07\x07"),
    );
    write("doc", "encrypted.doc", &encrypted_docx());
    eprintln!("seed corpus written to {}", root.display());
}
