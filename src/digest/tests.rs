//! The digest on a store filled by hand with known verdicts: exact counts, exact lists, and
//! the once-a-day claim.

use super::send::{DigestState, mark_unsent};
use super::*;
use crate::config::Config;
use crate::reply::transport::Transport;
use crate::rules::Rules;
use crate::store;
use crate::store::{Fetched, Location, NewReply, ReplyState, Store};
use crate::verdict::{AttachmentInfo, Decision, Expert, Role, Verdict};
use chrono::NaiveTime;
use chrono::{DateTime, Utc};
use mail_parser::MimeHeaders as _;

/// This campaign's kinds, as `rules/campaign.toml` names them.
const EXPERT_KIND: &str = "expert_recommendation";
const LEAD_KIND: &str = "lead_institution";

struct Mail<'a> {
    decision: Decision,
    kind: Option<&'a str>,
    school: Option<&'a str>,
    expert: Option<&'a str>,
    category: Option<&'a str>,
    arrived: &'a str,
}

fn mail<'a>(decision: Decision, kind: &'a str, school: &'a str) -> Mail<'a> {
    Mail {
        decision,
        kind: Some(kind),
        school: Some(school),
        expert: None,
        category: None,
        arrived: "2023-03-15T10:00:00+08:00",
    }
}

fn verdict(m: &Mail) -> Verdict {
    let mut v = Verdict::unreadable("t", "");
    v.reasons.clear();
    v.decision = m.decision;
    v.kind = m.kind.map(String::from);
    v.subject = format!("{} {}", m.kind.unwrap_or("?"), m.school.unwrap_or("?"));
    v.from = Some("jwc@school.example.cn".into());
    v.arrived = Some(m.arrived.into());
    for (k, x) in [("school", m.school), ("expert_name", m.expert), ("category", m.category)] {
        if let Some(x) = x {
            v.fields.insert(k.into(), x.into());
        }
    }
    if let Some(name) = m.expert {
        v.experts.push(Expert { name: name.into(), title_level: "副高".into(), ..Expert::default() });
    }
    // What the mail carried: everything its kind requires when acknowledged, only a form
    // (the scan missing) when it awaits a correction.
    let attachment = |role: Role| AttachmentInfo {
        filename: format!("{role:?}.bin"),
        kind: "pdf".into(),
        role,
        size: 1,
        sha256: "00".repeat(32),
        pages: None,
        scanned: None,
        width: None,
        height: None,
        archive: None,
        seal: None,
        blank_pages: None,
        seal_at: None,
        scan_text: None,
        problem: None,
    };
    match (m.decision, m.kind) {
        (Decision::Acknowledge, Some("pilot_summary")) => v.attachments.push(attachment(Role::Report)),
        (Decision::Acknowledge, Some(_)) => v.attachments.extend([attachment(Role::Form), attachment(Role::Scan)]),
        (Decision::RequestCorrection, Some(_)) => {
            v.attachments.push(attachment(Role::Form));
            v.errors.push(crate::verdict::ErrorCode::MissingScan);
        }
        _ => {}
    }
    v
}

/// The verdict as the register answers it (bound to its submission).
fn bound(store: &Store, id: i64, v: Verdict) -> Verdict {
    let rules = Rules::embedded();
    store.with(|c| crate::register::apply(c, id, v, &crate::register::ThreadHint::default(), &rules)).unwrap()
}

struct Fixture {
    store: Store,
    next_uid: u32,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture { store: Store::memory().unwrap(), next_uid: 1 }
    }

    fn stored(&mut self) -> i64 {
        let uid = self.next_uid;
        self.next_uid += 1;
        let f = Fetched {
            location: Location { account: "a".into(), folder: "INBOX".into(), uidvalidity: 1, uid },
            internal_date: None,
            flags: vec![],
            raw: format!("Subject: m{uid}\r\n\r\nbody {uid}\r\n").into_bytes(),
        };
        self.store.with(|c| store::messages::store_fetched(c, &f)).unwrap().0
    }

    fn add(&mut self, m: Mail) -> i64 {
        let id = self.stored();
        let v = bound(&self.store, id, verdict(&m));
        self.store.with(|c| store::verdicts::save_verdict(c, id, &v, None)).unwrap();
        id
    }

    fn add_with_reply(&mut self, m: Mail, reply_id: &str) -> i64 {
        let id = self.stored();
        let v = bound(&self.store, id, verdict(&m));
        let r = NewReply {
            kind: v.decision.as_str().into(),
            recipient: "jwc@school.example.cn".into(),
            subject: "回执".into(),
            reply_message_id: reply_id.into(),
            raw: b"x".to_vec(),
            state: ReplyState::Pending,
            reason: None,
        };
        self.store.with(|c| store::verdicts::save_verdict(c, id, &v, Some(&r))).unwrap();
        id
    }
}

/// The known set: 15 messages.
fn known_set() -> Fixture {
    use Decision::*;
    let mut f = Fixture::new();
    let expert = |d, school, name| Mail { expert: Some(name), ..mail(d, EXPERT_KIND, school) };
    let lead = |d, school, cat| Mail { category: Some(cat), ..mail(d, LEAD_KIND, school) };
    // 双高学校 with three acknowledged experts and a lead application.
    f.add(expert(Acknowledge, "昆明冶金高等专科学校", "甲"));
    f.add(expert(Acknowledge, "昆明冶金高等专科学校", "乙"));
    f.add(expert(Acknowledge, "昆明冶金高等专科学校", "丙"));
    f.add(lead(Acknowledge, "昆明冶金高等专科学校", "电子与信息大类"));
    // 双高专业群: one acknowledged expert, one awaiting correction; a second lead applicant.
    f.add(expert(Acknowledge, "云南机电职业技术学院", "李华"));
    f.add(expert(RequestCorrection, "云南机电职业技术学院", "王五"));
    f.add(lead(Acknowledge, "云南机电职业技术学院", "电子与信息大类"));
    // 双优: the same expert twice, corrected: two mails, one current submission.
    f.add(Mail { arrived: "2023-03-14T09:00:00+08:00", ..expert(RequestCorrection, "曲靖财经学校", "王芳") });
    f.add(expert(Acknowledge, "曲靖财经学校", "王芳"));
    // 本科: a summary; a lead application awaiting correction, whose reply bounced.
    f.add(mail(Acknowledge, "pilot_summary", "云南大学"));
    f.add_with_reply(lead(RequestCorrection, "昆明学院", "装备制造大类"), "<reply.1@example.edu.cn>");
    f.store.with(|c| store::replies::sent(c, 1, "250 ok")).unwrap();
    // A question, a bounce of our reply, a message that failed, one not judged yet.
    f.add(Mail {
        decision: Hold,
        kind: None,
        school: None,
        expert: None,
        category: None,
        arrived: "2023-03-16T08:30:00+08:00",
    });
    let bounce = f.stored();
    let mut v = verdict(&Mail {
        decision: Ignore,
        kind: None,
        school: None,
        expert: None,
        category: None,
        arrived: "2023-03-16T09:00:00+08:00",
    });
    v.bounced_ids = vec!["<reply.1@example.edu.cn>".into()];
    f.store.with(|c| store::verdicts::save_verdict(c, bounce, &v, None)).unwrap();
    let failed = f.stored();
    f.store.with(|c| store::messages::mark_failed(c, failed, "judging crashed: boom")).unwrap();
    f.stored();
    f
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn compute(f: &Fixture, rules: &Rules, day: &str) -> Digest {
    f.store.with(|c| Ok(Digest::compute(c, rules, date(day), Utc::now()).unwrap())).unwrap()
}

fn cells(row: &CountRow) -> Vec<u64> {
    row.cells.iter().map(|c| c.n).collect()
}

#[test]
fn counts_by_kind_and_outcome_are_exact() {
    let rules = Rules::embedded();
    let f = known_set();
    let d = compute(&f, &rules, "2023-03-20");
    // Columns: acknowledge, request_correction, hold, ignore, failed, stored.
    let t = &d.totals;
    assert_eq!(
        t.rows.iter().map(|r| r.label.as_str()).collect::<Vec<_>>(),
        ["专家推荐", "牵头院校上报", "试点工作总结", "未识别"]
    );
    assert_eq!(cells(&t.rows[0]), [5, 2, 0, 0, 0, 0]);
    assert_eq!((t.rows[0].total, t.rows[0].current), (7, 6), "王芳 counts once as a submission");
    assert_eq!(cells(&t.rows[1]), [2, 1, 0, 0, 0, 0]);
    assert_eq!((t.rows[1].total, t.rows[1].current), (3, 3));
    assert_eq!(cells(&t.rows[2]), [1, 0, 0, 0, 0, 0]);
    assert_eq!(cells(&t.rows[3]), [0, 0, 1, 1, 1, 1]);
    assert_eq!(cells(&t.total), [8, 3, 1, 1, 1, 1]);
    assert_eq!((t.total.total, t.total.current), (15, 10));
    assert_eq!(d.since, None);
    assert_eq!(d.arrivals, d.totals, "no digest sent yet: everything is new");
}

#[test]
fn missing_schools_by_level_are_exact() {
    let rules = Rules::embedded();
    let d = compute(&known_set(), &rules, "2023-03-20");
    assert_eq!((d.roster_schools, d.schools_with_something, d.schools_missing), (94, 5, 89));
    let levels: Vec<(&str, usize, usize)> =
        d.missing_by_level.iter().map(|l| (l.level.as_str(), l.schools, l.missing.len())).collect();
    assert_eq!(levels, [("本科", 32, 30), ("高职", 56, 54), ("中职", 5, 4), ("开放大学", 1, 1)]);
    assert_eq!(
        d.missing_by_level[2].missing,
        ["麒麟职业技术学校", "曲靖农业学校", "云南省曲靖应用技术学校", "罗平县职业技术学校"]
    );
    assert_eq!(d.missing_by_level[3].missing, ["云南开放大学"]);
    let all: Vec<&String> = d.missing_by_level.iter().flat_map(|l| &l.missing).collect();
    for has in ["昆明冶金高等专科学校", "云南机电职业技术学院", "曲靖财经学校", "云南大学", "昆明学院"]
    {
        assert!(!all.iter().any(|s| s.as_str() == has), "{has} has something");
    }
    // Exactly the roster, in roster order, less the five.
    let expected: Vec<&str> = rules
        .schools
        .iter()
        .filter(|s| s.level == "本科")
        .map(|s| s.name.as_str())
        .filter(|s| !["云南大学", "昆明学院"].contains(s))
        .collect();
    assert_eq!(d.missing_by_level[0].missing, expected);
}

#[test]
fn flagship_schools_under_three_experts() {
    let rules = Rules::embedded();
    let d = compute(&known_set(), &rules, "2023-03-20");
    let short: Vec<(&str, usize, usize)> =
        d.flagship_short.iter().map(|f| (f.school.as_str(), f.confirmed.len(), f.pending.len())).collect();
    assert_eq!(
        short,
        [
            ("昆明工业职业技术学院", 0, 0),
            ("云南机电职业技术学院", 1, 1),
            ("麒麟职业技术学校", 0, 0),
            ("曲靖农业学校", 0, 0),
            ("云南省曲靖应用技术学校", 0, 0),
            ("曲靖财经学校", 1, 0),
            ("罗平县职业技术学校", 0, 0),
        ]
    );
    assert_eq!(d.flagship_short[1].confirmed, ["李华"]);
    assert_eq!(d.flagship_short[1].pending, ["王五"]);
    assert_eq!(d.flagship_short[5].confirmed, ["王芳"], "the corrected resubmission supersedes the first");
}

#[test]
fn categories_with_no_lead_and_with_several() {
    let rules = Rules::embedded();
    let d = compute(&known_set(), &rules, "2023-03-20");
    assert_eq!(d.categories_without_lead.len(), 18);
    assert!(d.categories_without_lead.iter().all(|c| c.category != "电子与信息大类"));
    let pending: Vec<(&str, &[String])> = d
        .categories_without_lead
        .iter()
        .filter(|c| !c.pending.is_empty())
        .map(|c| (c.category.as_str(), c.pending.as_slice()))
        .collect();
    assert_eq!(pending, [("装备制造大类", &["昆明学院".to_string()][..])], "a correction is not a lead yet");
    assert_eq!(d.categories_with_several.len(), 1);
    assert_eq!(d.categories_with_several[0].category, "电子与信息大类");
    assert_eq!(d.categories_with_several[0].schools, ["昆明冶金高等专科学校", "云南机电职业技术学院"]);
    assert_eq!(d.shuanggao_without_lead, ["昆明工业职业技术学院"]);
}

#[test]
fn hold_failed_bounced_and_days_to_deadline() {
    let rules = Rules::embedded();
    let f = known_set();
    let d = compute(&f, &rules, "2023-03-20");
    assert_eq!(d.held.len(), 1);
    assert_eq!(d.held[0].arrived, "03-16 08:30");
    assert_eq!(d.failed.len(), 1);
    assert_eq!(d.failed[0].note, "judging crashed: boom");
    assert_eq!(d.bounced.len(), 1);
    assert_eq!((d.bounced[0].sender.as_str(), d.bounced[0].note.as_str()), ("jwc@school.example.cn", "昆明学院"));
    assert_eq!(d.deadline.as_deref(), Some("2023-03-22"));
    assert_eq!(d.days_to_deadline, Some(2));
    assert_eq!(compute(&f, &rules, "2023-03-22").days_to_deadline, Some(0));
    assert_eq!(compute(&f, &rules, "2023-03-25").days_to_deadline, Some(-3));
    assert_eq!(compute(&f, &rules, "2023-03-20").weekday, "星期一");
}

#[test]
fn arrivals_start_at_the_previous_digests_cutoff() {
    let rules = Rules::embedded();
    let mut f = known_set();
    let cutoff = Utc::now();
    f.store.with(|c| mark_sent(c, date("2023-03-20"), &cutoff.to_rfc3339(), "<d>", "ok")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    f.add(mail(Decision::Acknowledge, "pilot_summary", "云南开放大学"));
    let d = compute(&f, &rules, "2023-03-21");
    assert_eq!(d.arrivals.total.total, 1);
    assert_eq!(cells(&d.arrivals.rows[2]), [1, 0, 0, 0, 0, 0]);
    assert_eq!(d.totals.total.total, 16);
    assert!(d.since.is_some());
    assert!(!d.missing_by_level[3].missing.contains(&"云南开放大学".to_string()));
}

#[test]
fn text_and_html_render_the_facts() {
    let rules = Rules::embedded();
    let d = compute(&known_set(), &rules, "2023-03-20");
    let text = render_text(&d).unwrap();
    for want in [
        "收件日报 2023-03-20（星期一）",
        "截止日期 2023-03-22：还有 2 天",
        "一、新到邮件（自开始收件以来）：共 15 封",
        "专家推荐：7 封（已确认 5 · 待更正 2）",
        "未识别：4 封（待人工 1 · 自动邮件 1 · 处理失败 1 · 处理中 1）",
        "当前有效提交（同一学校同一专家或专业大类只计最新一次）：专家推荐 6 · 牵头院校上报 3 · 试点工作总结 1",
        "三、尚无任何材料的学校：89 所（名单共 94 所，已有材料 5 所）",
        "中职（未报 4 / 共 5）：",
        "麒麟职业技术学校、曲靖农业学校、云南省曲靖应用技术学校、罗平县职业技术学校",
        "四、双高/双优学校专家不足 3 人：7 所",
        "云南机电职业技术学院（双高专业群）：已确认 1 人（李华）；待更正 1 人（王五）",
        "尚无牵头申报的专业大类：18 个",
        "其中 装备制造大类 有待更正的申报：昆明学院",
        "电子与信息大类：昆明冶金高等专科学校、云南机电职业技术学院",
        "尚未申报牵头的双高学校：昆明工业职业技术学院",
        "六、待人工处理（hold）：1 封",
        "七、处理失败：1 封",
        "八、退信（回复未能送达）：1 封",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(!text.contains("\n\n\n\n"), "no runs of blank lines:\n{text}");
    let html = render_html(&d).unwrap();
    assert!(html.contains("<table") && html.contains("云南机电职业技术学院"));
    for banned in ["<script", "<link", "src=\"http", "url(", "<style"] {
        assert!(!html.contains(banned), "{banned} in the HTML");
    }
}

#[test]
fn html_escapes_what_mail_brought() {
    let rules = Rules::embedded();
    let mut f = Fixture::new();
    let id = f.stored();
    let mut v = verdict(&Mail {
        decision: Decision::Hold,
        kind: None,
        school: None,
        expert: None,
        category: None,
        arrived: "2023-03-16T08:30:00+08:00",
    });
    v.subject = "<script>alert(1)</script> & 咨询".into();
    f.store.with(|c| store::verdicts::save_verdict(c, id, &v, None)).unwrap();
    let html = render_html(&compute(&f, &rules, "2023-03-20")).unwrap();
    assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"), "{html}");
}

#[test]
fn the_email_is_multipart_with_the_register_attached() {
    let rules = Rules::embedded();
    let f = known_set();
    let raw = f
        .store
        .with(|c| {
            Ok(email_for(
                c,
                &rules,
                date("2023-03-20"),
                Utc::now(),
                "省学分银行 <office@example.edu.cn>",
                &["科长 <chief@example.edu.cn>".into()],
            )
            .unwrap())
        })
        .unwrap();
    let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert_eq!(msg.message_id(), Some("digest.2023-03-20@example.edu.cn"));
    assert_eq!(msg.header_raw("Auto-Submitted").map(str::trim), Some("auto-generated"));
    assert!(msg.subject().unwrap().contains("收件日报 2023-03-20"));
    assert!(msg.body_text(0).unwrap().contains("四、双高/双优学校专家不足 3 人：7 所"));
    assert!(msg.body_html(0).unwrap().contains("<table"));
    let att = msg.attachment(0).unwrap();
    assert_eq!(att.attachment_name(), Some("登记表-2023-03-20.xlsx"));
    assert!(att.contents().starts_with(b"PK"), "an xlsx is a zip");
    // Our own digest coming back into the office mailbox is automatic mail.
    let v = crate::judge("digest.eml", &raw, &rules, &crate::JudgeOptions::default());
    assert_eq!(v.decision, Decision::Ignore);
}

#[test]
fn schedule_is_the_next_local_time() {
    let at = NaiveTime::from_hms_opt(8, 0, 0).unwrap();
    let tz = chrono_tz::Asia::Shanghai;
    let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    // 07:59 Beijing: nothing due; next at 08:00 today.
    assert_eq!(schedule(utc("2023-03-20T07:59:00+08:00"), at, tz), (None, utc("2023-03-20T08:00:00+08:00")));
    // 08:00 and later: today's digest is due; next look tomorrow 08:00.
    assert_eq!(
        schedule(utc("2023-03-20T08:00:00+08:00"), at, tz),
        (Some(date("2023-03-20")), utc("2023-03-21T08:00:00+08:00"))
    );
    // 23:30 UTC is 07:30 the next day in Beijing: not yet; 00:30 UTC is 08:30: due.
    assert_eq!(schedule(utc("2023-03-20T23:30:00Z"), at, tz), (None, utc("2023-03-21T08:00:00+08:00")));
    assert_eq!(
        schedule(utc("2023-03-21T00:30:00Z"), at, tz),
        (Some(date("2023-03-21")), utc("2023-03-22T08:00:00+08:00"))
    );
}

#[test]
fn a_date_is_claimed_once() {
    let store = Store::memory().unwrap();
    let day = date("2023-03-20");
    let grace = Duration::from_secs(30);
    let t0 = Utc::now();
    store
        .with(|c| {
            let Claim::Go { cutoff } = claim(c, day, "<d>", t0, grace, false)? else { panic!("first claim") };
            // A second sender moments later: busy, not a second digest.
            assert_eq!(claim(c, day, "<d>", t0 + chrono::Duration::seconds(1), grace, false)?, Claim::Busy);
            // Long after without a mark: interrupted (a crash), to be resolved via Sent.
            assert!(matches!(
                claim(c, day, "<d>", t0 + chrono::Duration::seconds(60), grace, false)?,
                Claim::Interrupted { .. }
            ));
            mark_sent(c, day, &cutoff.to_rfc3339(), "<d>", "250 ok")?;
            assert!(matches!(claim(c, day, "<d>", t0 + chrono::Duration::hours(3), grace, true)?, Claim::Sent { .. }));
            assert_eq!(store::state::get(c, LAST_SENT_KEY)?, Some(cutoff.to_rfc3339()));
            // Another day is another digest.
            assert!(matches!(claim(c, date("2023-03-21"), "<d2>", t0, grace, false)?, Claim::Go { .. }));
            // A permanent refusal: the daemon leaves it, by hand it is retried.
            mark_unsent(c, date("2023-03-21"), DigestState::Failed, "<d2>", "550 no")?;
            assert!(matches!(claim(c, date("2023-03-21"), "<d2>", t0, grace, false)?, Claim::Failed { .. }));
            assert!(matches!(claim(c, date("2023-03-21"), "<d2>", t0, grace, true)?, Claim::Go { .. }));
            Ok(())
        })
        .unwrap();
}

fn maildir_config(dir: &std::path::Path) -> Config {
    let text = "[maildir]\npath = \"inbox\"\n[outbox_dir]\npath = \"outbox\"\nfrom = \"省学分银行 <office@example.edu.cn>\"\n\
                [store]\npath = \"s.sqlite3\"\n[reply]\nsent_check_delay = \"0s\"\n[digest]\nto = [\"chief@example.edu.cn\"]\n";
    Config::from_str(text, dir, "t").unwrap()
}

fn eml_count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "eml")).count())
        .unwrap_or(0)
}

#[tokio::test]
async fn sent_once_per_day_even_when_asked_twice_and_after_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = maildir_config(tmp.path());
    let rules = Rules::embedded();
    let store = Store::open(&cfg.store_path).unwrap();
    let transport = Transport::build(&cfg.transport).unwrap();
    let mut sent = crate::intake::sent::sent_folder(&cfg);
    let day = date("2023-03-20");
    let first = send_once(&store, &cfg, &rules, day, &transport, &mut sent, false).await.unwrap();
    assert!(matches!(first, Outcome::Sent { .. }), "{first:?}");
    let again = send_once(&store, &cfg, &rules, day, &transport, &mut sent, true).await.unwrap();
    assert!(matches!(again, Outcome::AlreadySent { .. }), "{again:?}");
    let outbox = tmp.path().join("outbox");
    assert_eq!(eml_count(&outbox), 1);
    assert!(crate::intake::maildir::sent_contains(
        &tmp.path().join("inbox"),
        "Sent",
        &message_id(day, cfg.transport.from())
    ));

    // A crash after the server accepted it, before it was marked: the claim is found in
    // `sending`, the Sent folder has it, so nothing is sent again.
    let day2 = date("2023-03-21");
    let id2 = message_id(day2, cfg.transport.from());
    store.with(|c| claim(c, day2, &id2, Utc::now() - chrono::Duration::minutes(5), Duration::ZERO, false)).unwrap();
    crate::intake::maildir::append_sent(&tmp.path().join("inbox"), "Sent", &id2, b"Subject: x\r\n\r\n").unwrap();
    let resolved = send_once(&store, &cfg, &rules, day2, &transport, &mut sent, false).await.unwrap();
    assert!(matches!(resolved, Outcome::AlreadySent { .. }), "{resolved:?}");
    assert_eq!(eml_count(&outbox), 1);

    // A crash before the server had it: not in Sent, so it is sent (once).
    let day3 = date("2023-03-22");
    let id3 = message_id(day3, cfg.transport.from());
    store.with(|c| claim(c, day3, &id3, Utc::now() - chrono::Duration::minutes(5), Duration::ZERO, false)).unwrap();
    let resent = send_once(&store, &cfg, &rules, day3, &transport, &mut sent, false).await.unwrap();
    assert!(matches!(resent, Outcome::Sent { .. }), "{resent:?}");
    assert!(matches!(
        send_once(&store, &cfg, &rules, day3, &transport, &mut sent, false).await.unwrap(),
        Outcome::AlreadySent { .. }
    ));
    assert_eq!(eml_count(&outbox), 2);
}

#[test]
fn receipts_held_back_by_the_per_sender_cap_are_listed_until_released() {
    let rules = Rules::embedded();
    let mut f = Fixture::new();
    let id = f.stored();
    let v = verdict(&mail(Decision::Acknowledge, EXPERT_KIND, "昆明学院"));
    let capped = NewReply {
        kind: "acknowledge".into(),
        recipient: "jwc@school.example.cn".into(),
        subject: "回执：专家推荐+昆明学院+张三".into(),
        reply_message_id: "<reply.cap@example.edu.cn>".into(),
        raw: b"x".to_vec(),
        state: ReplyState::Suppressed,
        reason: Some("more than 20 automatic replies to jwc@school.example.cn in 24 hours".into()),
    };
    f.store.with(|c| store::verdicts::save_verdict(c, id, &v, Some(&capped))).unwrap();
    let d = compute(&f, &rules, "2023-03-20");
    assert_eq!(d.held_by_cap.len(), 1);
    assert_eq!((d.held_by_cap[0].id, d.held_by_cap[0].sender.as_str()), (id, "jwc@school.example.cn"));
    let text = render_text(&d).unwrap();
    assert!(text.contains("九、回执未发（超出每个发件人每日回复上限）：1 封"), "{text}");
    assert!(text.contains("--resend"), "{text}");
    assert!(render_html(&d).unwrap().contains("回执：专家推荐+昆明学院+张三"));
    // Released (`reply --resend` puts it back to pending): no longer listed.
    f.store
        .with(|c| {
            c.execute(
                "UPDATE replies SET state = 'pending' WHERE reply_message_id = '<reply.cap@example.edu.cn>'",
                [],
            )?;
            Ok(())
        })
        .unwrap();
    assert!(compute(&f, &rules, "2023-03-20").held_by_cap.is_empty());
}
