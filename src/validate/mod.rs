//! The verdict (spec §3): one decision, the fixed error and warning codes, canonical fields.
//!
//! [`judge`] is the whole judging path — parse → classify → extract → validate — as one pure
//! function: bytes in, [`Verdict`] out, no IO, no panics. `check` and the daemon both call it,
//! so they can never disagree.

mod attachments;
mod forms;
pub mod reasons;
mod seals;

pub use seals::seal_findings;

use std::time::Instant;

use chrono::{DateTime, Datelike, FixedOffset};

use crate::classify::{self, Automatic, SubjectReading};
use crate::extract::{Extracted, birth};
use crate::limits::Limits;
use crate::parse::{self, Mail};
use crate::rules::{KindRule, Part, Requirement, Rules};
use crate::verdict::{Decision, ErrorCode, Role, Verdict, WarningCode};
use attachments::{extract_all, infos, is_decoration};

/// What the caller knows beyond the bytes.
#[derive(Debug, Clone, Default)]
pub struct JudgeOptions {
    /// Arrival time from the mailbox (IMAP INTERNALDATE); files use their headers.
    pub arrived: Option<DateTime<FixedOffset>>,
    pub limits: Limits,
    /// The kind of the submission this mail answers (by thread, spec §8 rule 1), used when
    /// the subject names none (`Re: 盖章扫描件`, an empty subject).
    pub kind_hint: Option<String>,
}

/// Judges one raw message.
pub fn judge(file: &str, raw: &[u8], rules: &Rules, opts: &JudgeOptions) -> Verdict {
    if raw.len() > opts.limits.max_message_bytes {
        return Verdict::unreadable(
            file,
            format!("邮件大小 {} 字节超过上限 {} 字节，需人工处理", raw.len(), opts.limits.max_message_bytes),
        );
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| judge_inner(file, raw, rules, opts)));
    match result {
        Ok(v) => v,
        Err(_) => Verdict::unreadable(file, "判定时发生内部错误，需人工处理（请报告此邮件）"),
    }
}
fn judge_inner(file: &str, raw: &[u8], rules: &Rules, opts: &JudgeOptions) -> Verdict {
    let deadline = Instant::now() + opts.limits.max_judge_time;
    let mail = parse::parse(raw, &opts.limits);
    let arrived = opts.arrived.or(mail.received).or(mail.date);
    let mut v = start(file, &mail, arrived, rules);
    if mail.headers.is_empty() {
        v.reasons.push("无法读取邮件头，需人工处理".into());
        v.reasons.extend(mail.problems.iter().cloned());
        return v;
    }
    if let Some(a) = classify::automatic(&mail, rules) {
        ignore(&mut v, &a, &mail);
        return v;
    }
    let mut read = Reading::of(&mail, rules, opts, deadline);
    v.forwarded = read.forwarded;
    let real: Vec<&Extracted> = read.extracted.iter().filter(|e| !is_decoration(e, rules)).collect();
    if let Some(reason) = read.conversation(real.is_empty()) {
        return hold(v, reason, &read.extracted);
    }
    let Some((kind, by_subject)) = pick_kind(&read, &real, rules, opts) else {
        return hold(v, "未能识别为任何一类报送材料，需人工处理", &read.extracted);
    };
    v.kind = Some(kind.id.clone());

    let mut warnings: Vec<WarningCode> = Vec::new();
    if kind.subject_parts == [Part::School] && read.subject.school.is_none() && read.subject.unknown_school.is_none() {
        // Summaries have no prescribed subject: the report may name the school.
        read.subject.school = attachments::school_from_attachments(&real, rules);
    }
    let subject_errors = subject_fields(&mut v, &read.subject, kind, by_subject, &mut warnings);
    let found = attachments::check(&mut v, &read.extracted, kind, rules, &mut warnings);
    let mismatch = forms::read(&mut v, &read.extracted, &found.roles, kind, &read.subject, rules, &mut warnings);
    let errors = combine_errors(subject_errors, found, mismatch, read.link);
    timing_and_expert_warnings(&v, kind, arrived, rules, &mut warnings);
    warnings.sort();
    warnings.dedup();

    v.decision = if errors.is_empty() { Decision::Acknowledge } else { Decision::RequestCorrection };
    v.reasons = reasons::explain(kind, &errors, &warnings, &read.subject, &v, rules);
    v.errors = errors;
    v.warnings = warnings;
    v
}

/// A verdict with what the headers say (message id, sender, subject, arrival in office time)
/// and nothing decided yet.
fn start(file: &str, mail: &Mail, arrived: Option<DateTime<FixedOffset>>, rules: &Rules) -> Verdict {
    let mut v = Verdict::unreadable(file, "");
    v.reasons.clear();
    v.message_id = mail.message_id.clone();
    v.from = mail.from.clone();
    v.subject = mail.subject.clone();
    // To the second (a Maildir file's time has nanoseconds): the register and receipts show it so.
    v.arrived = arrived
        .map(|a| a.with_timezone(&rules.timezone).fixed_offset().to_rfc3339_opts(chrono::SecondsFormat::Secs, false));
    v
}

/// Automatic mail is ignored, a bounce with the message ids it quotes.
fn ignore(v: &mut Verdict, a: &Automatic, mail: &Mail) {
    v.decision = Decision::Ignore;
    v.reasons.push(format!("自动邮件（{}）：{}", a.what, a.evidence));
    v.automatic = Some(a.what.to_string());
    if a.what == "bounce" {
        v.bounced_ids = mail.quoted_message_ids.clone();
    }
}

/// Held for a person, with the reason and the attachments as they are.
fn hold(mut v: Verdict, reason: &str, extracted: &[Extracted]) -> Verdict {
    v.decision = Decision::Hold;
    v.reasons.push(reason.into());
    v.attachments = infos(extracted, None);
    v
}

/// What was read of the mail to judge: the forwarded message when the outer one only
/// carries it, its attachments, its subject, and whether a cloud link stands for them.
struct Reading {
    extracted: Vec<Extracted>,
    forwarded: bool,
    subject: SubjectReading,
    link: bool,
}

impl Reading {
    fn of(mail: &Mail, rules: &Rules, opts: &JudgeOptions, deadline: Instant) -> Reading {
        // A forwarded submission is judged by its inner message.
        let own = extract_all(mail, rules, &opts.limits, deadline);
        let (subject_mail, extracted, forwarded) = match attachments::pick_forwarded(mail, &own, rules) {
            Some(inner) => (inner, extract_all(inner, rules, &opts.limits, deadline), true),
            None => (mail, own, false),
        };
        let mut subject = classify::read_subject(&subject_mail.subject, rules);
        if forwarded && subject.kind.is_none() && subject.school.is_none() {
            subject = classify::read_subject(&mail.subject, rules);
        }
        let link = classify::has_cloud_link(&subject_mail.body_text, rules)
            || classify::has_cloud_link(&mail.body_text, rules);
        Reading { extracted, forwarded, subject, link }
    }

    /// Why a mail with nothing attached is a conversation for a person, not a submission.
    fn conversation(&self, nothing_attached: bool) -> Option<&'static str> {
        if !nothing_attached || self.link {
            None
        } else if self.subject.answers_our_reply {
            Some("对本处回执/更正通知的回复（无附件），需人工查看")
        } else if self.subject.is_question {
            Some("咨询类邮件（无附件，主题为提问），需人工答复")
        } else {
            None
        }
    }
}

/// The kind: the subject's, else the thread's (when something is attached), else the one
/// whose form is attached. `true` when the subject named it.
fn pick_kind<'r>(
    read: &Reading,
    real: &[&Extracted],
    rules: &'r Rules,
    opts: &JudgeOptions,
) -> Option<(&'r KindRule, bool)> {
    match read.subject.kind.as_deref().and_then(|k| rules.kind(k)) {
        Some(k) => Some((k, true)),
        None => opts
            .kind_hint
            .as_deref()
            .and_then(|k| rules.kind(k))
            .filter(|_| !real.is_empty() || read.link)
            .or_else(|| attachments::kind_from_attachments(real, rules))
            .map(|k| (k, false)),
    }
}

/// The subject's parts into the verdict's fields; the subject's errors, `subject_incomplete`
/// first.
fn subject_fields(
    v: &mut Verdict,
    reading: &SubjectReading,
    kind: &KindRule,
    by_subject: bool,
    warnings: &mut Vec<WarningCode>,
) -> Vec<ErrorCode> {
    let mut errors = Vec::new();
    let mut incomplete = !by_subject;
    for part in &kind.subject_parts {
        let value = match part {
            Part::School => match (&reading.school, &reading.unknown_school, &reading.off_roster_school) {
                (Some(s), _, _) => Some(s),
                (None, _, Some(s)) => {
                    warnings.push(WarningCode::SchoolNotOnRoster);
                    Some(s)
                }
                (None, Some(_), None) => {
                    errors.push(ErrorCode::UnknownSchool);
                    None
                }
                (None, None, None) => {
                    incomplete = true;
                    None
                }
            },
            Part::Category => match (&reading.category, &reading.unknown_category) {
                (Some(c), _) => Some(c),
                (None, Some(_)) => {
                    errors.push(ErrorCode::UnknownCategory);
                    None
                }
                (None, None) => {
                    incomplete = true;
                    None
                }
            },
            Part::ExpertName => {
                incomplete |= reading.expert_name.is_none();
                reading.expert_name.as_ref()
            }
        };
        if let Some(value) = value {
            v.fields.insert(part.field().into(), value.clone());
        }
    }
    if incomplete {
        errors.insert(0, ErrorCode::SubjectIncomplete);
    }
    errors
}

/// Archives and cloud links replace every other error (spec §3); else the subject's errors,
/// then the attachments', then the forms' mismatches.
fn combine_errors(
    mut errors: Vec<ErrorCode>,
    found: attachments::AttachmentCheck,
    mismatch: Vec<ErrorCode>,
    link: bool,
) -> Vec<ErrorCode> {
    let attachment_trouble = !found.errors.is_empty();
    if found.unsupported_archive && attachment_trouble {
        errors = vec![ErrorCode::UnsupportedArchive];
    } else if link && attachment_trouble {
        errors = vec![ErrorCode::AttachmentLink];
    } else {
        errors.extend(found.errors);
        errors.extend(mismatch);
    }
    errors.dedup();
    errors
}

/// `late`, and the experts' age and title at the kind's deadline.
fn timing_and_expert_warnings(
    v: &Verdict,
    kind: &KindRule,
    arrived: Option<DateTime<FixedOffset>>,
    rules: &Rules,
    warnings: &mut Vec<WarningCode>,
) {
    if let Some(a) = arrived
        && a > kind.deadline
    {
        warnings.push(WarningCode::Late);
    }
    let deadline_local = kind.deadline.with_timezone(&rules.timezone);
    let (dy, dm) = (deadline_local.year(), deadline_local.month());
    if v.experts.iter().any(|e| {
        e.birth.as_deref().and_then(|b| birth::age_at(b, dy, dm)).is_some_and(|age| age > rules.expert_max_age as i32)
    }) {
        warnings.push(WarningCode::ExpertOverAge);
    }
    if v.experts.iter().any(|e| e.title.is_some() && !rules.senior_levels.contains(&e.title_level)) {
        warnings.push(WarningCode::ExpertTitleBelowSenior);
    }
}

/// The role an attachment must play to meet a requirement.
pub fn required_role(req: &Requirement) -> Role {
    match req {
        Requirement::Form => Role::Form,
        Requirement::Scan => Role::Scan,
        Requirement::Report => Role::Report,
    }
}

/// The error for a requirement no readable attachment meets: `unreadable_attachment` when
/// one was there but could not be read, else the `missing_*` code.
pub fn missing(req: &Requirement, unreadable: bool) -> ErrorCode {
    match (unreadable, req) {
        (true, _) => ErrorCode::UnreadableAttachment,
        (false, Requirement::Form) => ErrorCode::MissingForm,
        (false, Requirement::Scan) => ErrorCode::MissingScan,
        (false, Requirement::Report) => ErrorCode::MissingReport,
    }
}

/// Adds a warning found outside the message itself (submission history), with its reason.
pub fn add_warning(v: &mut Verdict, w: WarningCode, rules: &Rules) {
    if v.warnings.contains(&w) {
        return;
    }
    v.warnings.push(w);
    v.warnings.sort();
    v.reasons.push(reasons::warning_text(w, rules));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_is_held_with_a_reason() {
        let v = judge("x.eml", b"", &Rules::embedded(), &JudgeOptions::default());
        assert_eq!(v.decision, Decision::Hold);
        assert!(!v.reasons.is_empty());
    }

    #[test]
    fn attachments_past_the_time_budget_are_reported_unread() {
        let raw = "From: a@school.cn\r\nSubject: x\r\nMessage-ID: <t@x>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n\r\n%PDF-1.4 x\r\n--b--\r\n";
        let mut opts = JudgeOptions::default();
        opts.limits.max_judge_time = std::time::Duration::ZERO;
        let v = judge("t.eml", raw.as_bytes(), &Rules::embedded(), &opts);
        let problem = v.attachments.first().and_then(|a| a.problem.clone()).unwrap_or_default();
        assert!(problem.contains("未读取"), "{problem:?}");
        assert_eq!(v.attachments[0].kind, "pdf");
    }

    #[test]
    fn question_without_attachment_is_held() {
        let raw = "From: a@school.cn\r\nSubject: =?UTF-8?B?5ZKo6K+i77ya5LiT5a625o6o6I2Q6KGo5Zyo5ZOq6YeM5LiL6L2977yf?=\r\nMessage-ID: <q@x>\r\n\r\nhi\r\n";
        let v = judge("q.eml", raw.as_bytes(), &Rules::embedded(), &JudgeOptions::default());
        assert_eq!(v.subject, "咨询：专家推荐表在哪里下载？");
        assert_eq!(v.decision, Decision::Hold);
        assert_eq!(v.kind, None);
    }

    #[test]
    fn submission_without_attachments_needs_correction() {
        let raw = "From: a@school.cn\r\nSubject: =?UTF-8?B?5LiT5a625o6o6I2QK+aYhuaYjuWtpumZoivlvKDkuIk=?=\r\nDate: Mon, 13 Mar 2023 10:00:00 +0800\r\nMessage-ID: <s@x>\r\n\r\nhi\r\n";
        let v = judge("s.eml", raw.as_bytes(), &Rules::embedded(), &JudgeOptions::default());
        assert_eq!(v.subject, "专家推荐+昆明学院+张三");
        assert_eq!(v.decision, Decision::RequestCorrection);
        assert_eq!(v.errors, vec![ErrorCode::MissingForm, ErrorCode::MissingScan]);
        assert_eq!(v.arrived.as_deref(), Some("2023-03-13T10:00:00+08:00"));
    }
}
