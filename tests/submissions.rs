//! Submissions across mails (spec §8), played as a school's mail client would against the
//! daemon on the embedded default (a Maildir in, `.eml` replies out, `run --once` per
//! round): every reply, then the final `dossiers --json` and `schools --json`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::build::{
    Birth, ExpertForm, LeadForm, Mail, SummaryRow, corrupt_docx, scan_pdf, scan_pdf_shaded, summary_xlsx,
};
use crate::support::mail_intake;

/// A reply the office sent, as the school's mail client sees it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub subject: String,
    pub message_id: String,
    pub in_reply_to: String,
    pub body: String,
}

impl Sent {
    pub fn is_ack(&self) -> bool {
        self.subject.starts_with("回执：")
    }
    pub fn is_correction(&self) -> bool {
        self.subject.starts_with("请更正：")
    }
}

/// An office on the embedded default, in a temporary folder.
pub struct Office {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: PathBuf,
    seq: u32,
    /// Arrival times: each delivered mail arrives a minute after the last.
    clock: i64,
}

impl Office {
    pub fn new() -> Office {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(root.join("inbox").join(sub)).unwrap();
        }
        let config = root.join("mail-intake.toml");
        std::fs::write(
            &config,
            "[maildir]\npath = \"inbox\"\n\n[outbox_dir]\npath = \"outbox\"\nfrom = \"省学分银行 <office@example.edu.cn>\"\n\n\
             [store]\npath = \"store.sqlite3\"\n\n[reply]\nreply_since = \"2000-01-01\"\nmax_per_sender_per_day = 100000\n",
        )
        .unwrap();
        // 2023-03-13 09:00:00 +08:00
        Office { _dir: dir, root, config, seq: 0, clock: 1_678_669_200 }
    }

    /// Puts a mail into the inbox; it arrives a minute after the previous one.
    pub fn deliver(&mut self, mail: Mail) -> String {
        self.seq += 1;
        self.clock += 60;
        let t = chrono::DateTime::from_timestamp(self.clock, 0).unwrap().with_timezone(&chrono_tz::Asia::Shanghai);
        let mail = mail.date(&t.to_rfc2822());
        let id = mail.id().to_string();
        let path = self.root.join("inbox/cur").join(format!("{}.{:04}.test:2,", self.clock, self.seq));
        std::fs::write(&path, mail.build()).unwrap();
        let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(self.clock as u64);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(when).unwrap();
        id
    }

    /// `mail-intake run --once`.
    pub fn run(&self) {
        let out = mail_intake(&["run", "--config", self.config.to_str().unwrap(), "--once"]);
        assert!(out.status.success(), "run failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Every reply written so far.
    pub fn replies(&self) -> Vec<Sent> {
        let dir = self.root.join("outbox");
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let raw = std::fs::read(e.path()).unwrap();
            let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
            out.push(Sent {
                subject: m.subject().unwrap_or("").to_string(),
                message_id: format!("<{}>", m.message_id().unwrap_or("")),
                in_reply_to: m
                    .in_reply_to()
                    .as_text()
                    .map(|s| format!("<{}>", s.trim_matches(['<', '>'])))
                    .unwrap_or_default(),
                body: m.body_text(0).map(|b| b.to_string()).unwrap_or_default(),
            });
        }
        out
    }

    /// The replies to one mail (by its Message-ID).
    pub fn replies_to(&self, id: &str) -> Vec<Sent> {
        self.replies().into_iter().filter(|r| r.in_reply_to == id).collect()
    }

    /// The one reply to a mail.
    pub fn reply_to(&self, id: &str) -> Sent {
        let r = self.replies_to(id);
        assert_eq!(r.len(), 1, "exactly one reply to {id}: {r:#?}");
        r[0].clone()
    }

    fn json_lines(&self, cmd: &str) -> Vec<Value> {
        let out = mail_intake(&[cmd, "-c", self.config.to_str().unwrap(), "--json"]);
        assert!(out.status.success(), "{cmd}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    pub fn dossiers(&self) -> Vec<Value> {
        self.json_lines("dossiers")
    }

    pub fn schools(&self) -> Vec<Value> {
        self.json_lines("schools")
    }

    pub fn school(&self, name: &str) -> Value {
        self.schools().into_iter().find(|s| s["school"] == name).unwrap_or_else(|| panic!("no school {name}"))
    }

    pub fn path(&self) -> &Path {
        &self.root
    }
}

/// A school's mail, from its 教务处 address.
fn mail(subject: &str) -> Mail {
    Mail::new(subject).from("教务处 <jwc@kmu.edu.cn>")
}

fn form(name: &str) -> Vec<u8> {
    ExpertForm::new(name, "昆明学院").docx()
}

/// A reply in the thread of `to` (what a mail client sets).
fn answer(subject: &str, to: &Sent) -> Mail {
    mail(subject).header(&format!("In-Reply-To: {}", to.message_id)).header(&format!("References: {}", to.message_id))
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect()).unwrap_or_default()
}

fn only(dossiers: &[Value]) -> &Value {
    assert_eq!(dossiers.len(), 1, "one submission: {dossiers:#?}");
    &dossiers[0]
}

fn roles(d: &Value) -> Vec<(String, i64)> {
    d["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["role"].as_str().unwrap().to_string(), p["message"].as_i64().unwrap()))
        .collect()
}

#[test]
fn the_scan_later_as_a_reply_completes_the_submission() {
    let mut o = Office::new();
    let first = o.deliver(mail("专家推荐+昆明学院+张伟").attach("附件2：专家推荐表（张伟）.docx", form("张伟")));
    o.run();
    let correction = o.reply_to(&first);
    assert!(correction.is_correction(), "{correction:?}");
    assert!(correction.body.contains("补发盖章扫描件"), "{}", correction.body);
    assert!(correction.body.contains("附件2：专家推荐表（张伟）.docx"), "what is on file: {}", correction.body);

    let second = o.deliver(answer("Re: 请更正：专家推荐+昆明学院+张伟", &correction).attach("扫描件.pdf", scan_pdf()));
    o.run();
    let ack = o.reply_to(&second);
    assert!(ack.is_ack(), "{ack:?}");
    // The receipt lists both parts, each with its mail's arrival to the second, size and hash.
    assert!(ack.body.contains("附件2：专家推荐表（张伟）.docx") && ack.body.contains("扫描件.pdf"), "{}", ack.body);
    assert!(
        ack.body.contains("2023-03-13 09:01:00 +08:00") && ack.body.contains("2023-03-13 09:02:00 +08:00"),
        "{}",
        ack.body
    );
    assert!(ack.body.contains("SHA-256"), "{}", ack.body);
    assert_eq!(o.replies().len(), 2, "one reply per mail");

    let ds = o.dossiers();
    let d = only(&ds);
    assert_eq!(d["state"], "complete");
    assert_eq!(d["kind"], "expert_recommendation");
    assert_eq!(d["school"], "昆明学院");
    assert_eq!(d["expert_name"], "张伟");
    assert_eq!(d["category"], Value::Null);
    assert_eq!(d["messages"].as_array().unwrap().len(), 2);
    assert_eq!(roles(d), vec![("form".into(), 1), ("scan".into(), 2)]);
    assert_eq!(d["parts"][0]["sha256"].as_str().unwrap().len(), 64);
    let s = o.school("昆明学院");
    assert_eq!(strs(&s["experts_complete"]), vec!["张伟"]);
    assert!(strs(&s["experts_incomplete"]).is_empty());
    assert_eq!(s["on_roster"], true);
    assert_eq!(s["status"], "部分", "one expert, no summary yet");

    // Running again changes nothing and sends nothing twice.
    o.run();
    assert_eq!(o.replies().len(), 2);
    // `reparse` recomputes the submissions from the raw mails: the same register.
    let out = mail_intake(&["reparse", "-c", o.config.to_str().unwrap(), "--all"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(o.dossiers(), ds);
    assert_eq!(o.replies().len(), 2);
}

#[test]
fn the_form_later_as_a_reply() {
    let mut o = Office::new();
    let first = o.deliver(mail("专家推荐+昆明学院+张伟").attach("scan0001.pdf", scan_pdf()));
    o.run();
    let correction = o.reply_to(&first);
    assert!(correction.is_correction() && correction.body.contains("电子版"), "{}", correction.body);
    let second =
        o.deliver(answer("回复：请更正：专家推荐+昆明学院+张伟", &correction).attach("推荐表.docx", form("张伟")));
    o.run();
    assert!(o.reply_to(&second).is_ack());
    let ds = o.dossiers();
    assert_eq!(only(&ds)["state"], "complete");
    assert_eq!(roles(&ds[0]), vec![("form".into(), 2), ("scan".into(), 1)]);
}

#[test]
fn a_subject_fixed_in_a_new_mail_completes_the_same_submission() {
    let mut o = Office::new();
    let first = o.deliver(mail("专家推荐+昆明学院").attach("推荐表.docx", form("张伟")).attach("扫描.pdf", scan_pdf()));
    o.run();
    let c = o.reply_to(&first);
    assert!(c.is_correction() && c.body.contains("主题"), "{}", c.body);
    let second =
        o.deliver(mail("专家推荐+昆明学院+张伟").attach("推荐表.docx", form("张伟")).attach("扫描.pdf", scan_pdf()));
    o.run();
    let ack = o.reply_to(&second);
    assert!(ack.is_ack(), "{ack:?}");
    let ds = o.dossiers();
    let d = only(&ds);
    assert_eq!((d["state"].as_str(), d["expert_name"].as_str()), (Some("complete"), Some("张伟")));
    assert_eq!(d["messages"], serde_json::json!([1, 2]));
    assert!(strs(&d["warnings"]).is_empty(), "not a duplicate: the first was incomplete");
}

#[test]
fn a_name_corrected_in_a_new_mail_closes_the_mistaken_key() {
    let mut o = Office::new();
    let first =
        o.deliver(mail("专家推荐+昆明学院+张为").attach("推荐表.docx", form("张伟")).attach("扫描.pdf", scan_pdf()));
    o.run();
    let c = o.reply_to(&first);
    assert!(c.is_correction() && c.body.contains("不一致"), "{}", c.body);
    let second =
        o.deliver(mail("专家推荐+昆明学院+张伟").attach("推荐表.docx", form("张伟")).attach("扫描.pdf", scan_pdf()));
    o.run();
    assert!(o.reply_to(&second).is_ack());
    let ds = o.dossiers();
    assert_eq!(ds.len(), 2);
    let (old, new) = (&ds[0], &ds[1]);
    assert_eq!((old["state"].as_str(), old["superseded_by"].as_i64()), (Some("superseded"), new["id"].as_i64()));
    assert_eq!(new["state"], "complete");
    let s = o.school("昆明学院");
    assert_eq!(strs(&s["experts_complete"]), vec!["张伟"]);
    assert!(strs(&s["experts_incomplete"]).is_empty(), "{s}");
}

#[test]
fn an_update_after_an_acknowledgement_replaces_only_its_part() {
    let mut o = Office::new();
    let first =
        o.deliver(mail("专家推荐+昆明学院+张伟").attach("推荐表.docx", form("张伟")).attach("扫描.pdf", scan_pdf()));
    o.run();
    assert!(o.reply_to(&first).is_ack());
    let second = o.deliver(mail("专家推荐+昆明学院+张伟（更新）").attach("推荐表（修改）.docx", form("张伟")));
    o.run();
    let ack = o.reply_to(&second);
    assert!(ack.is_ack(), "the note is not part of the name: {ack:?}");
    assert!(ack.body.contains("推荐表（修改）.docx") && ack.body.contains("扫描.pdf"), "{}", ack.body);
    let ds = o.dossiers();
    let d = only(&ds);
    assert_eq!(d["state"], "complete");
    assert_eq!(roles(d), vec![("form".into(), 2), ("scan".into(), 1)]);
    assert!(strs(&d["errors"]).is_empty());
}

#[test]
fn a_full_resend_of_a_complete_submission_is_a_duplicate() {
    let mut o = Office::new();
    let m = || mail("专家推荐+昆明学院+张伟").attach("推荐表.docx", form("张伟")).attach("扫描.pdf", scan_pdf());
    let first = o.deliver(m());
    let second = o.deliver(m());
    o.run();
    assert!(o.reply_to(&first).is_ack() && o.reply_to(&second).is_ack());
    let ds = o.dossiers();
    let d = only(&ds);
    assert_eq!(strs(&d["warnings"]), vec!["duplicate_submission"]);
    assert_eq!(roles(d), vec![("form".into(), 2), ("scan".into(), 2)], "its parts replace the earlier ones");
}

#[test]
fn the_lead_scan_later() {
    let mut o = Office::new();
    let first = o.deliver(
        mail("牵头院校上报+电子与信息大类+昆明学院")
            .attach("附件1.docx", LeadForm::new("昆明学院", "电子与信息大类").docx()),
    );
    o.run();
    let c = o.reply_to(&first);
    assert!(c.is_correction() && c.body.contains("盖章扫描件"), "{}", c.body);
    let second =
        o.deliver(answer("Re: 请更正：牵头院校上报+电子与信息大类+昆明学院", &c).attach("盖章.pdf", scan_pdf()));
    o.run();
    assert!(o.reply_to(&second).is_ack());
    let ds = o.dossiers();
    let d = only(&ds);
    assert_eq!(
        (d["state"].as_str(), d["category"].as_str(), d["expert_name"].as_str()),
        (Some("complete"), Some("电子与信息大类"), None)
    );
    assert_eq!(strs(&o.school("昆明学院")["lead_categories"]), vec!["电子与信息大类"]);
}

#[test]
fn two_experts_interleaved_with_alike_named_scans_are_bound_by_thread() {
    let mut o = Office::new();
    let a = o.deliver(mail("专家推荐+昆明学院+张伟").attach("推荐表.docx", form("张伟")));
    let b = o.deliver(mail("专家推荐+昆明学院+李娜").attach("推荐表.docx", form("李娜")));
    o.run();
    let (ca, cb) = (o.reply_to(&a), o.reply_to(&b));
    // B's scan first, then A's: both named scan0001.pdf, replies whose subjects say little.
    let sb = o.deliver(answer("Re: 扫描件", &cb).attach("scan0001.pdf", scan_pdf_shaded(100)));
    let sa = o.deliver(answer("Re: 扫描件", &ca).attach("scan0001.pdf", scan_pdf_shaded(150)));
    o.run();
    assert!(o.reply_to(&sa).is_ack() && o.reply_to(&sb).is_ack());
    let ds = o.dossiers();
    assert_eq!(ds.len(), 2);
    let by_name = |n: &str| ds.iter().find(|d| d["expert_name"] == n).unwrap().clone();
    assert_eq!(roles(&by_name("张伟")), vec![("form".into(), 1), ("scan".into(), 4)]);
    assert_eq!(roles(&by_name("李娜")), vec![("form".into(), 2), ("scan".into(), 3)]);
    assert_ne!(by_name("张伟")["parts"][1]["sha256"], by_name("李娜")["parts"][1]["sha256"]);
    assert_eq!(strs(&o.school("昆明学院")["experts_complete"]), vec!["张伟", "李娜"]);
}

#[test]
fn the_scan_later_in_a_fresh_mail_whose_subject_carries_a_note() {
    let mut o = Office::new();
    let first = o.deliver(mail("专家推荐+昆明学院+张伟").attach("推荐表.docx", form("张伟")));
    let second = o.deliver(mail("专家推荐+昆明学院+张伟(补盖章扫描件)").attach("盖章扫描件.pdf", scan_pdf()));
    o.run();
    assert!(o.reply_to(&first).is_correction());
    assert!(o.reply_to(&second).is_ack());
    assert_eq!(only(&o.dossiers())["state"], "complete");
}

#[test]
fn the_scan_in_a_reply_whose_subject_says_nothing_of_the_key() {
    let mut o = Office::new();
    let first = o.deliver(mail("专家推荐+昆明学院+张伟").attach("推荐表.docx", form("张伟")));
    o.run();
    let c = o.reply_to(&first);
    for (i, subject) in ["盖章扫描件", ""].iter().enumerate() {
        let next = o.deliver(answer(subject, &c).attach(&format!("IMG_{i}.pdf"), scan_pdf()));
        o.run();
        assert!(o.reply_to(&next).is_ack(), "subject {subject:?}");
    }
    let ds = o.dossiers();
    assert_eq!(only(&ds)["messages"].as_array().unwrap().len(), 3);
}

#[test]
fn one_expert_recommended_by_two_schools_is_marked_on_both() {
    let mut o = Office::new();
    let expert = |employer: &str| ExpertForm::new("王强", employer).birth("1970.05").docx();
    o.deliver(mail("专家推荐+昆明学院+王强").attach("推荐表.docx", expert("昆明学院")).attach("扫描.pdf", scan_pdf()));
    o.deliver(
        Mail::new("专家推荐+云南大学+王强")
            .from("<jwc@ynu.edu.cn>")
            .attach("推荐表.docx", expert("云南大学"))
            .attach("扫描.pdf", scan_pdf()),
    );
    o.run();
    let ds = o.dossiers();
    assert_eq!(ds.len(), 2);
    for d in &ds {
        assert!(strs(&d["warnings"]).contains(&"expert_recommended_by_other_school".to_string()), "{d}");
        assert_eq!(d["state"], "complete", "a warning, not an error");
    }
    // The school is not told about the other school.
    assert!(o.replies().iter().all(|r| r.is_ack() && !r.body.contains("其他学校")));
}

#[test]
fn a_summary_table_naming_experts_who_never_came() {
    let mut o = Office::new();
    let row = |name: &'static str| SummaryRow {
        name,
        gender: "男",
        birth: Birth::Text("1975.06"),
        title: "教授",
        employer: "昆明学院",
    };
    o.deliver(
        mail("专家推荐+昆明学院+张伟")
            .attach("推荐表.docx", form("张伟"))
            .attach("扫描.pdf", scan_pdf())
            .attach("附件3汇总表.xlsx", summary_xlsx("昆明学院", &[row("张伟"), row("李四"), row("赵敏")])),
    );
    o.run();
    let s = o.school("昆明学院");
    assert_eq!(strs(&s["experts_listed_not_received"]), vec!["李四", "赵敏"]);
    assert_eq!(strs(&s["experts_complete"]), vec!["张伟"]);
}

#[test]
fn a_school_missing_from_the_roster_is_acknowledged_and_shown() {
    let mut o = Office::new();
    let first = o.deliver(
        Mail::new("专家推荐+云南省玉溪工业财贸学校+李明")
            .from("<jwc@yxgm.cn>")
            .attach("推荐表.docx", ExpertForm::new("李明", "云南省玉溪工业财贸学校").docx())
            .attach("扫描.pdf", scan_pdf()),
    );
    o.run();
    let ack = o.reply_to(&first);
    assert!(ack.is_ack(), "{ack:?}");
    assert!(!ack.body.contains("名单"), "the school is not told: {}", ack.body);
    let d = only(&o.dossiers()).clone();
    assert_eq!(d["school"], "云南省玉溪工业财贸学校");
    assert_eq!(strs(&d["warnings"]), vec!["school_not_on_roster"]);
    let s = o.school("云南省玉溪工业财贸学校");
    assert_eq!((s["on_roster"].as_bool(), s["level"].as_str()), (Some(false), None));
    assert_eq!(strs(&s["experts_complete"]), vec!["李明"]);
    // A school part that is no school's name stays an error.
    let second =
        o.deliver(Mail::new("专家推荐+某某信息中心+王五").from("<x@y.cn>").attach("推荐表.docx", form("王五")));
    o.run();
    assert!(o.reply_to(&second).is_correction());
}

#[test]
fn a_partial_resend_that_leaves_an_error_still_asks_for_it() {
    let mut o = Office::new();
    let first = o.deliver(mail("专家推荐+昆明学院+张伟").attach("推荐表.docx", form("张伟")));
    o.run();
    let c = o.reply_to(&first);
    // The school sends the form again (and a corrupt file), still no scan.
    let second = o.deliver(answer("Re: 请更正：专家推荐+昆明学院+张伟", &c).attach("推荐表2.docx", form("张伟")));
    o.run();
    let c2 = o.reply_to(&second);
    assert!(c2.is_correction(), "{c2:?}");
    assert!(c2.body.contains("盖章扫描件") && !c2.body.contains("未收到“1+X”"), "only what is missing: {}", c2.body);
    assert!(c2.body.contains("推荐表2.docx"), "what is on file: {}", c2.body);
    let ds = o.dossiers();
    let d = only(&ds);
    assert_eq!((d["state"].as_str(), strs(&d["errors"])), (Some("incomplete"), vec!["missing_scan".to_string()]));
    let third = o.deliver(answer("Re: 请更正：专家推荐+昆明学院+张伟", &c2).attach("扫描.docx", corrupt_docx()));
    o.run();
    assert!(o.reply_to(&third).is_correction());
}

#[test]
fn a_thread_is_no_back_door() {
    let mut o = Office::new();
    let first = o.deliver(mail("专家推荐+昆明学院+张伟").attach("推荐表.docx", form("张伟")));
    o.run();
    let c = o.reply_to(&first);
    // A stranger answers the school's correction request with its own material.
    let stranger = o.deliver(
        Mail::new("Re: 请更正：专家推荐+云南大学+赵六")
            .from("<someone@other.cn>")
            .header(&format!("In-Reply-To: {}", c.message_id))
            .attach("推荐表.docx", ExpertForm::new("赵六", "云南大学").docx())
            .attach("扫描.pdf", scan_pdf()),
    );
    // A thread naming a Message-ID we never sent.
    let unknown = o.deliver(
        mail("专家推荐+昆明学院+李娜")
            .header("In-Reply-To: <reply.0000@example.edu.cn>")
            .attach("推荐表.docx", form("李娜"))
            .attach("扫描.pdf", scan_pdf()),
    );
    o.run();
    assert!(o.reply_to(&stranger).is_ack());
    assert!(o.reply_to(&unknown).is_ack());
    let ds = o.dossiers();
    assert_eq!(ds.len(), 3, "{ds:#?}");
    let zw = ds.iter().find(|d| d["expert_name"] == "张伟").unwrap();
    assert_eq!(
        (zw["state"].as_str(), zw["messages"].as_array().unwrap().len()),
        (Some("incomplete"), 1),
        "nothing of the stranger's"
    );
    let z6 = ds.iter().find(|d| d["expert_name"] == "赵六").unwrap();
    assert_eq!(z6["school"], "云南大学");
    // The office sees it on the stranger's mail.
    let out = mail_intake(&["show", "-c", o.config.to_str().unwrap(), "2", "--json"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("thread_from_stranger"));

    // A stranger answering the thread under the very same subject touches nothing on file.
    let same = o.deliver(
        Mail::new("Re: 请更正：专家推荐+昆明学院+张伟")
            .from("<someone@other.cn>")
            .header(&format!("In-Reply-To: {}", c.message_id))
            .attach("推荐表.docx", form("张伟"))
            .attach("扫描.pdf", scan_pdf()),
    );
    o.run();
    assert_eq!(o.replies_to(&same).len(), 1);
    let ds = o.dossiers();
    let zw: Vec<&Value> = ds.iter().filter(|d| d["expert_name"] == "张伟").collect();
    assert_eq!(zw.len(), 2, "{ds:#?}");
    assert_eq!((zw[0]["state"].as_str(), zw[0]["messages"].as_array().unwrap().len()), (Some("incomplete"), 1));
    assert_eq!(roles(zw[0]), vec![("form".into(), 1)], "the school's form is still the one on file");
    assert!(strs(&zw[1]["warnings"]).contains(&"thread_from_stranger".to_string()), "{:?}", zw[1]);
}

#[test]
fn a_hundred_mails_in_one_thread_and_a_summary_of_five_hundred_names() {
    let mut o = Office::new();
    let first = o.deliver(mail("专家推荐+昆明学院+张伟").attach("推荐表.docx", form("张伟")));
    o.run();
    let c = o.reply_to(&first);
    let names: Vec<&'static str> = (0..500).map(|i| &*Box::leak(format!("专家{i:03}").into_boxed_str())).collect();
    let rows: Vec<SummaryRow> = names
        .iter()
        .map(|n| SummaryRow {
            name: n,
            gender: "女",
            birth: Birth::Text("1980.01"),
            title: "教授",
            employer: "昆明学院",
        })
        .collect();
    let big = summary_xlsx("昆明学院", &rows);
    for i in 0..100 {
        let m = answer("Re: 请更正：专家推荐+昆明学院+张伟", &c).attach("汇总表.xlsx", big.clone());
        let m = if i == 99 { m.attach("扫描.pdf", scan_pdf()) } else { m };
        o.deliver(m);
    }
    o.run();
    let ds = o.dossiers();
    let d = only(&ds);
    assert_eq!(d["messages"].as_array().unwrap().len(), 101);
    assert_eq!(d["state"], "complete");
    assert_eq!(strs(&o.school("昆明学院")["experts_listed_not_received"]).len(), 500);
    assert_eq!(o.replies().len(), 101);
}

#[test]
fn an_empty_name_is_an_incomplete_subject() {
    let mut o = Office::new();
    let first = o.deliver(mail("专家推荐+昆明学院+").attach("扫描.pdf", scan_pdf()));
    o.run();
    let c = o.reply_to(&first);
    assert!(c.is_correction() && c.body.contains("主题"), "{}", c.body);
    let d = only(&o.dossiers()).clone();
    assert_eq!(d["expert_name"], Value::Null);
    assert!(strs(&d["errors"]).contains(&"subject_incomplete".to_string()));
    let _ = o.path();
}

/// The same conversation through a real Dovecot and Postfix: the school's correction request
/// arrives in its mailbox, it answers with the scan alone, and the receipt follows.
#[test]
fn the_scan_later_as_a_reply_over_real_imap_and_smtp() {
    use crate::support::daemon::{Daemon, PLAIN, write_config};
    use crate::support::mailserver::{MailServer, OFFICE, SCHOOLS};
    use std::time::Duration;
    let Some(server) = MailServer::start_or_skip("the_scan_later_as_a_reply_over_real_imap_and_smtp") else {
        return;
    };
    let school = SCHOOLS[0];
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&server, dir.path(), PLAIN);
    let daemon = Daemon::start(&config, &dir.path().join("daemon.log"));
    let first =
        Mail::new("专家推荐+昆明学院+张伟").from(&format!("教务处 <{school}>")).attach("推荐表.docx", form("张伟"));
    server.send(&first.build(), school, OFFICE);
    assert!(server.wait_for(school, "INBOX", 1, Duration::from_secs(60)), "{}", daemon.log_text());
    let raw = server.messages(school, "INBOX").remove(0);
    let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert!(m.subject().unwrap_or("").starts_with("请更正："), "{:?}", m.subject());
    let correction = format!("<{}>", m.message_id().unwrap());

    let second = Mail::new("Re: 请更正：专家推荐+昆明学院+张伟")
        .from(&format!("教务处 <{school}>"))
        .header(&format!("In-Reply-To: {correction}"))
        .header(&format!("References: {} {correction}", first.id()))
        .attach("scan0001.pdf", scan_pdf());
    server.send(&second.build(), school, OFFICE);
    assert!(server.wait_for(school, "INBOX", 2, Duration::from_secs(60)), "{}", daemon.log_text());
    std::thread::sleep(Duration::from_secs(2));
    let subjects: Vec<String> = server
        .messages(school, "INBOX")
        .iter()
        .filter_map(|r| mail_parser::MessageParser::default().parse(r).and_then(|m| m.subject().map(String::from)))
        .collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(subjects.iter().any(|s| s.starts_with("回执：")), "{subjects:?}");
    daemon.stop();

    let out = mail_intake(&["dossiers", "-c", config.to_str().unwrap(), "--json"]);
    let lines: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let d = only(&lines);
    assert_eq!((d["state"].as_str(), d["messages"].as_array().unwrap().len()), (Some("complete"), 2));
}

#[test]
fn a_name_corrected_in_the_thread_closes_the_mistaken_key() {
    let mut o = Office::new();
    let first =
        o.deliver(mail("专家推荐+昆明学院+张为").attach("推荐表.docx", form("张伟")).attach("扫描.pdf", scan_pdf()));
    o.run();
    let c = o.reply_to(&first);
    assert!(c.is_correction());
    let second = o.deliver(
        answer("专家推荐+昆明学院+张伟", &c).attach("推荐表.docx", form("张伟")).attach("扫描.pdf", scan_pdf()),
    );
    o.run();
    assert!(o.reply_to(&second).is_ack());
    let ds = o.dossiers();
    assert_eq!(ds.len(), 2, "{ds:#?}");
    assert_eq!((ds[0]["state"].as_str(), ds[0]["superseded_by"].as_i64()), (Some("superseded"), ds[1]["id"].as_i64()));
    assert_eq!((ds[1]["state"].as_str(), ds[1]["expert_name"].as_str()), (Some("complete"), Some("张伟")));
}

#[test]
fn a_key_completed_in_the_thread() {
    let mut o = Office::new();
    // The category is not one of the 19: the submission has no whole key yet.
    let first = o.deliver(mail("牵头院校上报+智能制造大类+昆明学院").attach("盖章.pdf", scan_pdf()));
    o.run();
    let c = o.reply_to(&first);
    assert!(c.is_correction() && c.body.contains("智能制造大类"), "{}", c.body);
    let second = o.deliver(answer("Re: 牵头院校上报+装备制造大类+昆明学院", &c).attach("盖章.pdf", scan_pdf()));
    o.run();
    assert!(o.reply_to(&second).is_ack());
    let ds = o.dossiers();
    let d = only(&ds);
    assert_eq!((d["state"].as_str(), d["category"].as_str()), (Some("complete"), Some("装备制造大类")));
    assert_eq!(strs(&o.school("昆明学院")["lead_categories"]), vec!["装备制造大类"]);
}

/// The seal is a property of the submission's current scan (issues 13 and 10): a scan sent
/// later without the school's seal is asked for again, stamped, and the stamped one completes.
#[test]
fn an_unstamped_scan_later_is_asked_for_again() {
    use crate::support::build::unstamped_scan_pdf;
    let mut o = Office::new();
    let first = o.deliver(mail("专家推荐+昆明学院+张伟").attach("推荐表.docx", form("张伟")));
    o.run();
    let c = o.reply_to(&first);
    let second = o.deliver(answer("Re: 请更正：专家推荐+昆明学院+张伟", &c).attach("扫描件.pdf", unstamped_scan_pdf()));
    o.run();
    let c2 = o.reply_to(&second);
    assert!(c2.is_correction() && c2.body.contains("未见学校公章"), "{}", c2.body);
    assert_eq!(strs(&only(&o.dossiers())["errors"]), vec!["scan_unstamped"]);
    let third = o.deliver(answer("Re: 请更正：专家推荐+昆明学院+张伟", &c2).attach("盖章扫描件.pdf", scan_pdf()));
    o.run();
    assert!(o.reply_to(&third).is_ack());
    let ds = o.dossiers();
    assert_eq!(
        (only(&ds)["state"].as_str(), roles(&ds[0])),
        (Some("complete"), vec![("form".into(), 1), ("scan".into(), 3)])
    );
}

#[test]
fn the_next_expert_sent_as_a_reply_to_a_receipt_is_a_submission_of_its_own() {
    let mut o = Office::new();
    let first =
        o.deliver(mail("专家推荐+昆明学院+张伟").attach("推荐表.docx", form("张伟")).attach("扫描.pdf", scan_pdf()));
    o.run();
    let ack = o.reply_to(&first);
    assert!(ack.is_ack());
    let second = o.deliver(
        answer("专家推荐+昆明学院+李娜", &ack).attach("推荐表.docx", form("李娜")).attach("扫描.pdf", scan_pdf()),
    );
    o.run();
    assert!(o.reply_to(&second).is_ack());
    let ds = o.dossiers();
    assert_eq!(ds.len(), 2, "{ds:#?}");
    assert!(ds.iter().all(|d| d["state"] == "complete" && d["messages"].as_array().unwrap().len() == 1), "{ds:#?}");
    assert_eq!(strs(&o.school("昆明学院")["experts_complete"]), vec!["张伟", "李娜"]);
}
