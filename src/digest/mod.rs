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

use std::time::Duration;

use chrono::NaiveDate;
use serde::Serialize;

use crate::reply::transport::SendError;
use crate::store::StoreError;

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

mod compute;
mod render;
mod schedule;
mod send;

pub use render::{attachment_name, build_email, message_id, render_html, render_text};
pub use schedule::{run_daily, schedule};
pub(crate) use send::send_once;
pub use send::{Claim, Outcome, claim, email_for, mark_sent, send_by_hand};

#[cfg(test)]
mod tests;
