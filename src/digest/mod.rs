//! The daily digest for the office (spec §7): what arrived since the last digest, totals,
//! roster schools with nothing yet, 双高/双优 schools under three experts, 专业大类 with no
//! lead applicant or with several, mail on hold, failures, bounced replies and the days left.
//!
//! Three steps, each on its own: [`Digest::compute`] reads the store into a plain,
//! serialisable [`Digest`]; [`render_text`] and [`render_html`] lay it out (minijinja
//! templates compiled into the binary: the layout follows the struct's shape, so it is code,
//! not campaign data — every campaign word in it comes from `rules/`); [`build_email`] makes
//! the multipart message with the register attached.
//!
//! **Once per day.** A digest for a date is claimed in the `state` table (key
//! `digest_sent:<date>`) *before* it is handed to the server, and marked sent right after the
//! server accepts it. Its Message-ID is derived from the date (`<digest.DATE@office-domain>`),
//! so a claim left behind by a crash is resolved like an interrupted reply: found in the Sent
//! folder means it went out; not found means it is sent again. The residual risk is therefore a
//! duplicate (crash after acceptance, with a provider that does not file SMTP mail in Sent
//! itself), never a lost digest — and a duplicate carries the same Message-ID, which most mail
//! clients fold into one. `digest_last_sent_at` records the cut-off of the last digest sent,
//! so consecutive digests partition the arrivals exactly.

use crate::store;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use rusqlite::Connection;
use serde::Serialize;

use crate::reply::transport::SendError;
use crate::rules::{Rules, SchoolRole};
use crate::store::StoreError;
use crate::store::messages::{Filter, MessageRow};

/// `state` key: the cut-off (RFC 3339, UTC) of the last digest sent.
pub const LAST_SENT_KEY: &str = "digest_last_sent_at";

/// `state` key recording the digest of one date.
pub fn sent_key(date: NaiveDate) -> String {
    format!("digest_sent:{date}")
}

/// Why a digest could not be made or sent.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot render the digest template {name}: {source}")]
    Template {
        name: &'static str,
        #[source]
        source: minijinja::Error,
    },
    #[error("cannot attach the register: {0}")]
    Export(#[from] crate::export::ExportError),
    #[error("cannot build the digest email: {0}")]
    Build(String),
    #[error("[digest] to names nobody: add the office's addresses to the configuration")]
    NoRecipients,
    #[error("cannot set up sending: {0}")]
    Transport(#[from] crate::reply::transport::TransportError),
    #[error("the digest was not sent: {0}")]
    Send(#[from] SendError),
    #[error("cannot look for an interrupted digest in the Sent folder: {0}")]
    SentFolder(#[from] crate::intake::IntakeError),
}

// ---------------------------------------------------------------------------- the digest

/// One cell of a count table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// `acknowledge`, `request_correction`, `hold`, `ignore`, `failed` (judging failed) or
    /// `stored` (not judged yet).
    pub column: &'static str,
    pub label: &'static str,
    pub n: u64,
}

/// One row of a count table: a kind (or 未识别), messages by outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountRow {
    /// Kind id; `None` for mail of no recognised kind (and for the total row).
    pub kind: Option<String>,
    pub label: String,
    pub cells: Vec<Cell>,
    pub total: u64,
    /// Current submissions of this kind (acknowledge or request_correction, superseded ones
    /// not counted). Only meaningful in the totals table.
    pub current: u64,
}

/// Messages by kind and outcome, with a total row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountTable {
    pub columns: Vec<&'static str>,
    pub rows: Vec<CountRow>,
    pub total: CountRow,
}

/// Roster schools with nothing yet, for one level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LevelMissing {
    pub level: String,
    /// Roster schools of this level.
    pub schools: usize,
    pub missing: Vec<String>,
}

/// A 双高/双优 school with fewer than three acknowledged experts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlagshipRow {
    pub school: String,
    pub flags: Vec<String>,
    /// Experts in acknowledged current submissions.
    pub confirmed: Vec<String>,
    /// Experts only in current submissions awaiting correction.
    pub pending: Vec<String>,
}

/// A 专业大类 and its lead applicants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryLeads {
    pub category: String,
    /// Schools whose current lead_institution submission is acknowledged.
    pub schools: Vec<String>,
    /// Schools whose current submission for it awaits a correction.
    pub pending: Vec<String>,
}

/// Submissions (spec §8) of one kind by state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubmissionCount {
    pub label: String,
    pub complete: usize,
    pub incomplete: usize,
}

/// A school and names: experts its 附件3 lists whose submission never came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchoolNames {
    pub school: String,
    pub names: Vec<String>,
}

/// A message listed for a person to look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageLine {
    pub id: i64,
    /// Office time, `MM-DD HH:MM`.
    pub arrived: String,
    pub sender: String,
    pub subject: String,
    /// Why judging failed, or why a reply bounced.
    pub note: String,
}

/// Everything one digest says; rendered by [`render_text`] and [`render_html`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Digest {
    pub date: String,
    pub weekday: &'static str,
    pub office: String,
    pub campaign: String,
    /// The moment the digest was computed (office time, `YYYY-MM-DD HH:MM`).
    pub generated_at: String,
    /// The same moment, RFC 3339 UTC: the cut-off recorded when this digest is sent.
    pub cutoff: String,
    /// `北京时间` or the zone's name.
    pub zone: String,
    /// The previous digest's cut-off (office time); `None`: none was sent yet.
    pub since: Option<String>,
    /// Messages stored since the last digest.
    pub arrivals: CountTable,
    /// Every message so far.
    pub totals: CountTable,
    pub roster_schools: usize,
    pub schools_with_something: usize,
    pub schools_missing: usize,
    pub missing_by_level: Vec<LevelMissing>,
    pub flagship_short: Vec<FlagshipRow>,
    pub min_experts: usize,
    /// The flags that ask more experts of a school, as the rules name them (`双高/双优`).
    pub flagship_label: String,
    /// The flags that ask a lead application of a school (`双高`).
    pub lead_flag_label: String,
    pub categories_without_lead: Vec<CategoryLeads>,
    pub categories_with_several: Vec<CategoryLeads>,
    /// 双高 schools (spec §1: "should apply as lead institution") with no acknowledged one.
    pub shuanggao_without_lead: Vec<String>,
    /// Submissions by kind and state (what the office counts, spec §8).
    pub submissions: Vec<SubmissionCount>,
    /// Experts listed in a school's 附件3 汇总表 with no submission of their own.
    pub listed_not_received: Vec<SchoolNames>,
    /// Schools off the roster that sent a submission (`school_not_on_roster`).
    pub off_roster: Vec<String>,
    /// Experts recommended by more than one school.
    pub shared_experts: Vec<SchoolNames>,
    /// Current submissions whose scan shows no seal (`scan_unstamped`).
    pub scans_unstamped: u64,
    /// Current submissions whose greyscale scan could not be checked (`seal_unverified`).
    pub seals_unverified: u64,
    pub held: Vec<MessageLine>,
    pub failed: Vec<MessageLine>,
    pub bounced: Vec<MessageLine>,
    /// Receipts held back by `[reply] max_per_sender_per_day`, still unsent (release one with
    /// `mail-intake reply -c FILE ID --resend`).
    pub held_by_cap: Vec<MessageLine>,
    /// The latest kind deadline (office date).
    pub deadline: Option<String>,
    /// Whole days from the digest's date to the deadline: 0 on the day, negative after.
    pub days_to_deadline: Option<i64>,
    /// File name of the register attached (set when the digest is mailed).
    pub attachment: Option<String>,
}

const COLUMNS: [(&str, &str); 6] = [
    ("acknowledge", "已确认"),
    ("request_correction", "待更正"),
    ("hold", "待人工"),
    ("ignore", "自动邮件"),
    ("failed", "处理失败"),
    ("stored", "处理中"),
];

fn column_of(m: &MessageRow) -> usize {
    match (m.state.as_str(), m.decision.as_deref()) {
        ("failed", _) => 4,
        (_, Some("acknowledge")) => 0,
        (_, Some("request_correction")) => 1,
        (_, Some("hold")) => 2,
        (_, Some("ignore")) => 3,
        (_, None) => 5,
        (_, Some(_)) => 2,
    }
}

fn recognised(m: &MessageRow, rules: &Rules) -> bool {
    matches!(m.decision.as_deref(), Some("acknowledge" | "request_correction"))
        && m.kind.as_deref().is_some_and(|k| rules.kind(k).is_some())
}

/// Whether a message's kind has this role in the register of schools.
fn is_role(m: &MessageRow, rules: &Rules, role: SchoolRole) -> bool {
    m.kind.as_deref().is_some_and(|k| rules.role_of(k) == Some(role))
}

fn count_table<'a>(rows: impl Iterator<Item = &'a MessageRow>, current: &[MessageRow], rules: &Rules) -> CountTable {
    let n = rules.kinds.len();
    let mut counts = vec![[0u64; COLUMNS.len()]; n + 1];
    for m in rows {
        let r = m.kind.as_deref().and_then(|k| rules.kinds.iter().position(|x| x.id == k)).unwrap_or(n);
        counts[r][column_of(m)] += 1;
    }
    let make = |kind: Option<String>, label: String, c: &[u64; COLUMNS.len()], current: u64| CountRow {
        kind,
        label,
        cells: COLUMNS.iter().zip(c).map(|((column, label), n)| Cell { column, label, n: *n }).collect(),
        total: c.iter().sum(),
        current,
    };
    let current_of =
        |id: &str| current.iter().filter(|m| m.kind.as_deref() == Some(id) && recognised(m, rules)).count() as u64;
    let mut out: Vec<CountRow> = rules
        .kinds
        .iter()
        .zip(&counts)
        .map(|(k, c)| make(Some(k.id.clone()), k.name.clone(), c, current_of(&k.id)))
        .collect();
    out.push(make(None, "未识别".into(), &counts[n], 0));
    let mut sum = [0u64; COLUMNS.len()];
    for c in &counts {
        for (s, x) in sum.iter_mut().zip(c) {
            *s += x;
        }
    }
    let total_current = out.iter().map(|r| r.current).sum();
    CountTable {
        columns: COLUMNS.iter().map(|(_, l)| *l).collect(),
        rows: out,
        total: make(None, "合计".into(), &sum, total_current),
    }
}

fn parse_utc(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|d| d.with_timezone(&Utc))
}

fn local(s: Option<&str>, tz: Tz, format: &str) -> String {
    match s.and_then(|s| DateTime::parse_from_rfc3339(s).ok()) {
        Some(d) => d.with_timezone(&tz).format(format).to_string(),
        None => s.unwrap_or("").to_string(),
    }
}

fn weekday(d: NaiveDate) -> &'static str {
    match d.weekday() {
        Weekday::Mon => "星期一",
        Weekday::Tue => "星期二",
        Weekday::Wed => "星期三",
        Weekday::Thu => "星期四",
        Weekday::Fri => "星期五",
        Weekday::Sat => "星期六",
        Weekday::Sun => "星期日",
    }
}

fn line(m: &MessageRow, tz: Tz, note: String) -> MessageLine {
    MessageLine {
        id: m.id,
        arrived: local(m.arrived.as_deref().or(Some(m.stored_at.as_str())), tz, "%m-%d %H:%M"),
        sender: m.sender.clone().unwrap_or_default(),
        subject: if m.subject.is_empty() { "（无主题）".into() } else { m.subject.clone() },
        note,
    }
}

/// Replies the per-sender daily cap suppressed that nobody released yet (the cap's reason
/// reads "more than N automatic replies to ADDR in 24 hours", see `reply::plan`).
fn held_by_cap(conn: &rusqlite::Connection, tz: Tz) -> Result<Vec<MessageLine>, StoreError> {
    let rows = store::replies::held_by_cap(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, sender, subject, created)| MessageLine {
            id,
            sender,
            subject,
            arrived: local(created.as_deref(), tz, "%m-%d %H:%M"),
            note: String::new(),
        })
        .collect())
}

impl Digest {
    /// Reads the store as it is at `now` into the digest for `date` (an office-time day).
    /// Arrivals are the messages stored from the last digest's cut-off up to `now`.
    pub fn compute(
        conn: &Connection,
        rules: &Rules,
        date: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Digest, DigestError> {
        let tz = rules.timezone;
        let since = store::state::get(conn, LAST_SENT_KEY)?.as_deref().and_then(parse_utc);
        let all = store::messages::list(conn, &Filter::default())?;
        let current = store::messages::list(conn, &Filter { current_only: true, ..Filter::default() })?;

        let arrived_in_window = |m: &&MessageRow| match (parse_utc(&m.stored_at), since) {
            (Some(t), Some(s)) => t >= s && t < now,
            (Some(t), None) => t < now,
            (None, s) => s.is_none(),
        };
        let arrivals = count_table(all.iter().filter(arrived_in_window), &current, rules);
        let totals = count_table(all.iter(), &current, rules);

        // Schools with at least one current submission of a recognised kind.
        let submitted: BTreeSet<&str> =
            current.iter().filter(|m| recognised(m, rules)).filter_map(|m| m.school.as_deref()).collect();
        // The rules' levels in their order; any other level follows in roster order.
        let mut levels: Vec<&str> = rules.levels.iter().map(String::as_str).collect();
        for s in &rules.schools {
            if !levels.contains(&s.level.as_str()) {
                levels.push(&s.level);
            }
        }
        let missing_by_level: Vec<LevelMissing> = levels
            .iter()
            .map(|level| {
                let of_level: Vec<&str> =
                    rules.schools.iter().filter(|s| s.level == *level).map(|s| s.name.as_str()).collect();
                LevelMissing {
                    level: level.to_string(),
                    schools: of_level.len(),
                    missing: of_level.iter().filter(|s| !submitted.contains(*s)).map(|s| s.to_string()).collect(),
                }
            })
            .filter(|l| l.schools > 0)
            .collect();
        let schools_missing = missing_by_level.iter().map(|l| l.missing.len()).sum();

        // Experts per school: name → acknowledged in some current submission?
        let by_id: HashMap<i64, &MessageRow> = current.iter().map(|m| (m.id, m)).collect();
        let mut experts: HashMap<&str, BTreeMap<String, bool>> = HashMap::new();
        let mut with_rows: BTreeSet<i64> = BTreeSet::new();
        let mut expert_rows = Vec::new();
        for kind in rules.kinds_with(SchoolRole::Experts) {
            expert_rows.extend(store::verdicts::current_experts(conn, &kind.id)?);
        }
        for (id, school, e) in &expert_rows {
            let (Some(m), Some(school)) = (by_id.get(id), school.as_deref()) else { continue };
            with_rows.insert(*id);
            let name = e.name.trim();
            if name.is_empty() {
                continue;
            }
            let ack = m.decision.as_deref() == Some("acknowledge");
            *experts.entry(school).or_default().entry(name.to_string()).or_default() |= ack;
        }
        // A submission whose form gave no expert still names one in its subject.
        for m in current.iter().filter(|m| is_role(m, rules, SchoolRole::Experts) && recognised(m, rules)) {
            if with_rows.contains(&m.id) {
                continue;
            }
            if let (Some(school), Some(name)) = (m.school.as_deref(), m.expert_name.as_deref()) {
                let ack = m.decision.as_deref() == Some("acknowledge");
                *experts.entry(school).or_default().entry(name.trim().to_string()).or_default() |= ack;
            }
        }
        let flagship_short: Vec<FlagshipRow> = rules
            .schools
            .iter()
            .filter(|s| rules.flagship(&s.flags))
            .map(|s| {
                let names = experts.get(s.name.as_str());
                let pick = |ack: bool| -> Vec<String> {
                    names
                        .map(|n| n.iter().filter(|(_, a)| **a == ack).map(|(k, _)| k.clone()).collect())
                        .unwrap_or_default()
                };
                FlagshipRow {
                    school: s.name.clone(),
                    flags: s.flags.clone(),
                    confirmed: pick(true),
                    pending: pick(false),
                }
            })
            .filter(|r| r.confirmed.len() < rules.register.flagship_experts)
            .collect();

        // Lead applicants: current, acknowledged lead_institution submissions.
        let mut leads: HashMap<&str, (Vec<String>, Vec<String>)> = HashMap::new();
        for m in current.iter().filter(|m| is_role(m, rules, SchoolRole::Leads)) {
            let (Some(cat), Some(school)) = (m.category.as_deref(), m.school.as_deref()) else { continue };
            let entry = leads.entry(cat).or_default();
            match m.decision.as_deref() {
                Some("acknowledge") => entry.0.push(school.to_string()),
                Some("request_correction") => entry.1.push(school.to_string()),
                _ => {}
            }
        }
        let categories: Vec<CategoryLeads> = rules
            .categories
            .iter()
            .map(|c| {
                let (schools, pending) = leads.get(c.name.as_str()).cloned().unwrap_or_default();
                CategoryLeads { category: c.name.clone(), schools, pending }
            })
            .collect();
        let categories_without_lead = categories.iter().filter(|c| c.schools.is_empty()).cloned().collect();
        let categories_with_several = categories.iter().filter(|c| c.schools.len() > 1).cloned().collect();
        let leading: BTreeSet<&str> = leads.values().flat_map(|(ack, _)| ack.iter().map(String::as_str)).collect();
        let shuanggao_without_lead = rules
            .schools
            .iter()
            .filter(|s| rules.lead_wanted(&s.flags) && !leading.contains(s.name.as_str()))
            .map(|s| s.name.clone())
            .collect();

        let held =
            all.iter().filter(|m| m.decision.as_deref() == Some("hold")).map(|m| line(m, tz, String::new())).collect();
        let failed = store::messages::list(conn, &Filter { failed: true, ..Filter::default() })?
            .iter()
            .map(|m| line(m, tz, m.error.clone().unwrap_or_default()))
            .collect();
        let bounced = store::replies::bounced_replies(conn)?
            .into_iter()
            .map(|b| MessageLine {
                id: b.message,
                arrived: local(b.sent_at.as_deref(), tz, "%m-%d %H:%M"),
                sender: b.recipient,
                subject: b.subject,
                note: b.school.unwrap_or_default(),
            })
            .collect();

        let (submissions, listed_not_received, off_roster, shared_experts) = submission_facts(conn, rules)?;
        let held_by_cap = held_by_cap(conn, tz)?;

        let deadline = rules.kinds.iter().map(|k| k.deadline).max().map(|d| d.with_timezone(&tz).date_naive());
        let scans_unstamped = current.iter().filter(|m| m.errors.iter().any(|e| e == "scan_unstamped")).count() as u64;
        let seals_unverified =
            current.iter().filter(|m| m.warnings.iter().any(|w| w == "seal_unverified")).count() as u64;
        Ok(Digest {
            scans_unstamped,
            seals_unverified,
            date: date.to_string(),
            weekday: weekday(date),
            office: rules.office.clone(),
            campaign: rules.campaign_name.clone(),
            generated_at: now.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
            cutoff: now.to_rfc3339(),
            zone: if tz == chrono_tz::Asia::Shanghai { "北京时间".into() } else { tz.name().to_string() },
            since: since.map(|s| s.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()),
            arrivals,
            totals,
            roster_schools: rules.schools.len(),
            schools_with_something: rules.schools.len() - schools_missing,
            schools_missing,
            missing_by_level,
            flagship_short,
            min_experts: rules.register.flagship_experts,
            flagship_label: rules.register.flagship_flags.join("/"),
            lead_flag_label: rules.register.lead_flags.join("/"),
            categories_without_lead,
            categories_with_several,
            shuanggao_without_lead,
            submissions,
            listed_not_received,
            off_roster,
            shared_experts,
            held,
            failed,
            bounced,
            held_by_cap,
            deadline: deadline.map(|d| d.to_string()),
            days_to_deadline: deadline.map(|d| (d - date).num_days()),
            attachment: None,
        })
    }
}

/// What the register says of submissions: counts by kind and state, 附件3 names never
/// received, off-roster schools, experts shared between schools.
#[allow(clippy::type_complexity)]
fn submission_facts(
    conn: &Connection,
    rules: &Rules,
) -> Result<(Vec<SubmissionCount>, Vec<SchoolNames>, Vec<String>, Vec<SchoolNames>), DigestError> {
    use crate::register::view;
    let dossiers = view::dossiers(conn, &Default::default(), rules)?;
    let submissions = rules
        .kinds
        .iter()
        .map(|k| {
            let of = |state: &str| dossiers.iter().filter(|d| d.kind == k.id && d.state == state).count();
            SubmissionCount { label: k.name.clone(), complete: of("complete"), incomplete: of("incomplete") }
        })
        .collect();
    let schools = view::schools(conn, rules)?;
    let listed_not_received = schools
        .iter()
        .filter(|s| !s.experts_listed_not_received.is_empty())
        .map(|s| SchoolNames { school: s.school.clone(), names: s.experts_listed_not_received.clone() })
        .collect();
    let off_roster = schools.iter().filter(|s| !s.on_roster).map(|s| s.school.clone()).collect();
    let code = crate::verdict::WarningCode::ExpertRecommendedByOtherSchool.as_str();
    let mut shared: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for d in dossiers.iter().filter(|d| d.warnings.iter().any(|w| w == code) && d.state != "superseded") {
        if let (Some(name), Some(school)) = (&d.expert_name, &d.school) {
            shared.entry(name.clone()).or_default().push(school.clone());
        }
    }
    let shared_experts = shared.into_iter().map(|(school, names)| SchoolNames { school, names }).collect();
    Ok((submissions, listed_not_received, off_roster, shared_experts))
}

mod render;
mod schedule;
mod send;

pub use render::{attachment_name, build_email, message_id, render_html, render_text};
pub use schedule::{run_daily, schedule};
pub(crate) use send::send_once;
pub use send::{Claim, Outcome, claim, email_for, mark_sent, send_by_hand};

#[cfg(test)]
mod tests;
