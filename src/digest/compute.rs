//! Computing the digest: the store as it is at a moment, read into a plain [`Digest`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use rusqlite::Connection;

use super::*;
use crate::rules::{Rules, SchoolRole};
use crate::store;
use crate::store::StoreError;
use crate::store::messages::{Filter, MessageRow};

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

pub(super) fn parse_utc(s: &str) -> Option<DateTime<Utc>> {
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
        let missing_by_level = missing_by_level(&current, rules);
        let schools_missing = missing_by_level.iter().map(|l| l.missing.len()).sum();
        let flagship_short = flagship_short(conn, &current, rules)?;
        let leads = Leads::of(&current, rules);
        let (held, failed, bounced) = message_lists(conn, &all, tz)?;
        let facts = submission_facts(conn, rules)?;
        let held_by_cap = held_by_cap(conn, tz)?;

        let deadline = rules.kinds.iter().map(|k| k.deadline).max().map(|d| d.with_timezone(&tz).date_naive());
        let count = |has: &dyn Fn(&MessageRow) -> bool| current.iter().filter(|m| has(m)).count() as u64;
        Ok(Digest {
            scans_unstamped: count(&|m| m.errors.iter().any(|e| e == "scan_unstamped")),
            seals_unverified: count(&|m| m.warnings.iter().any(|w| w == "seal_unverified")),
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
            categories_without_lead: leads.without_lead,
            categories_with_several: leads.with_several,
            shuanggao_without_lead: leads.flagged_without_lead,
            submissions: facts.0,
            listed_not_received: facts.1,
            off_roster: facts.2,
            shared_experts: facts.3,
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

/// Roster schools with no current submission of a recognised kind, by level (the rules'
/// levels in their order; any other level follows in roster order).
fn missing_by_level(current: &[MessageRow], rules: &Rules) -> Vec<LevelMissing> {
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
    levels
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
        .collect()
}

/// Flagship schools (by the rules' flags) with fewer confirmed experts than they are asked for.
fn flagship_short(conn: &Connection, current: &[MessageRow], rules: &Rules) -> Result<Vec<FlagshipRow>, DigestError> {
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
    Ok(rules
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
            FlagshipRow { school: s.name.clone(), flags: s.flags.clone(), confirmed: pick(true), pending: pick(false) }
        })
        .filter(|r| r.confirmed.len() < rules.register.flagship_experts)
        .collect())
}

/// Lead applications per 专业大类, and the schools asked for one that have none.
struct Leads {
    without_lead: Vec<CategoryLeads>,
    with_several: Vec<CategoryLeads>,
    flagged_without_lead: Vec<String>,
}

impl Leads {
    fn of(current: &[MessageRow], rules: &Rules) -> Leads {
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
        let without_lead = categories.iter().filter(|c| c.schools.is_empty()).cloned().collect();
        let with_several = categories.iter().filter(|c| c.schools.len() > 1).cloned().collect();
        let leading: BTreeSet<&str> = leads.values().flat_map(|(ack, _)| ack.iter().map(String::as_str)).collect();
        let flagged_without_lead = rules
            .schools
            .iter()
            .filter(|s| rules.lead_wanted(&s.flags) && !leading.contains(s.name.as_str()))
            .map(|s| s.name.clone())
            .collect();
        Leads { without_lead, with_several, flagged_without_lead }
    }
}

/// Mail on hold, mail whose judging failed, and replies that bounced.
type MessageLists = (Vec<MessageLine>, Vec<MessageLine>, Vec<MessageLine>);

/// Mail on hold, mail whose judging failed, and replies that bounced, as lines.
fn message_lists(conn: &Connection, all: &[MessageRow], tz: Tz) -> Result<MessageLists, DigestError> {
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

    Ok((held, failed, bounced))
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
