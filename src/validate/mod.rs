//! The verdict (spec §3): one decision, the fixed error and warning codes, canonical fields.
//!
//! [`judge`] is the whole judging path — parse → classify → extract → validate — as one pure
//! function: bytes in, [`Verdict`] out, no IO, no panics. `check` and the daemon both call it,
//! so they can never disagree.

pub mod reasons;

use std::time::Instant;

use chrono::{DateTime, Datelike, FixedOffset};

use crate::classify;
use crate::extract::{self, Content, Extracted, birth, form::FormValues, sniff::FileType};
use crate::limits::Limits;
use crate::parse::{self, ArchiveState, Mail};
use crate::rules::{KindRule, Part, Requirement, Rules};
use crate::text::{key, squeeze};
use crate::verdict::{AttachmentInfo, Decision, ErrorCode, Expert, Role, Verdict, WarningCode};

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
    let mut v = Verdict::unreadable(file, "");
    v.reasons.clear();
    v.message_id = mail.message_id.clone();
    v.from = mail.from.clone();
    v.subject = mail.subject.clone();
    let arrived = opts.arrived.or(mail.received).or(mail.date);
    // To the second (a Maildir file's time has nanoseconds): the register and receipts show it so.
    v.arrived = arrived
        .map(|a| a.with_timezone(&rules.timezone).fixed_offset().to_rfc3339_opts(chrono::SecondsFormat::Secs, false));

    if mail.headers.is_empty() {
        v.reasons.push("无法读取邮件头，需人工处理".into());
        v.reasons.extend(mail.problems.iter().cloned());
        return v;
    }

    if let Some(a) = classify::automatic(&mail, rules) {
        v.decision = Decision::Ignore;
        v.reasons.push(format!("自动邮件（{}）：{}", a.what, a.evidence));
        v.automatic = Some(a.what.to_string());
        if a.what == "bounce" {
            v.bounced_ids = mail.quoted_message_ids.clone();
        }
        return v;
    }

    // A forwarded submission is judged by its inner message.
    let own = extract_all(&mail, rules, &opts.limits, deadline);
    let (subject_mail, extracted, forwarded) = match pick_forwarded(&mail, &own, rules) {
        Some(inner) => (inner, extract_all(inner, rules, &opts.limits, deadline), true),
        None => (&mail, own, false),
    };
    v.forwarded = forwarded;
    let mut reading = classify::read_subject(&subject_mail.subject, rules);
    if forwarded && reading.kind.is_none() && reading.school.is_none() {
        reading = classify::read_subject(&mail.subject, rules);
    }
    let link =
        classify::has_cloud_link(&subject_mail.body_text, rules) || classify::has_cloud_link(&mail.body_text, rules);
    let real: Vec<&Extracted> = extracted.iter().filter(|e| !is_decoration(e, rules)).collect();

    if real.is_empty() && !link && reading.answers_our_reply {
        v.decision = Decision::Hold;
        v.reasons.push("对本处回执/更正通知的回复（无附件），需人工查看".into());
        v.attachments = infos(&extracted, None);
        return v;
    }
    if real.is_empty() && !link && reading.is_question {
        v.decision = Decision::Hold;
        v.reasons.push("咨询类邮件（无附件，主题为提问），需人工答复".into());
        v.attachments = infos(&extracted, None);
        return v;
    }

    let kind = match reading.kind.as_deref().and_then(|k| rules.kind(k)) {
        Some(k) => Some((k, true)),
        None => opts
            .kind_hint
            .as_deref()
            .and_then(|k| rules.kind(k))
            .filter(|_| !real.is_empty() || link)
            .or_else(|| kind_from_attachments(&real, rules))
            .map(|k| (k, false)),
    };
    let Some((kind, by_subject)) = kind else {
        v.decision = Decision::Hold;
        v.reasons.push("未能识别为任何一类报送材料，需人工处理".into());
        v.attachments = infos(&extracted, None);
        return v;
    };
    v.kind = Some(kind.id.clone());

    let mut errors: Vec<ErrorCode> = Vec::new();
    let mut warnings: Vec<WarningCode> = Vec::new();

    // ---- subject
    if kind.subject_parts.contains(&Part::School) && reading.school.is_none() && reading.unknown_school.is_none() {
        // Summaries have no prescribed subject: the report may name the school.
        if kind.subject_parts == [Part::School] {
            reading.school = school_from_attachments(&real, rules);
        }
    }
    let mut incomplete = !by_subject;
    for part in &kind.subject_parts {
        match part {
            Part::School => match (&reading.school, &reading.unknown_school, &reading.off_roster_school) {
                (Some(s), _, _) => {
                    v.fields.insert("school".into(), s.clone());
                }
                (None, _, Some(s)) => {
                    v.fields.insert("school".into(), s.clone());
                    warnings.push(WarningCode::SchoolNotOnRoster);
                }
                (None, Some(_), None) => errors.push(ErrorCode::UnknownSchool),
                (None, None, None) => incomplete = true,
            },
            Part::Category => match (&reading.category, &reading.unknown_category) {
                (Some(c), _) => {
                    v.fields.insert("category".into(), c.clone());
                }
                (None, Some(_)) => errors.push(ErrorCode::UnknownCategory),
                (None, None) => incomplete = true,
            },
            Part::ExpertName => match &reading.expert_name {
                Some(n) => {
                    v.fields.insert("expert_name".into(), n.clone());
                }
                None => incomplete = true,
            },
        }
    }
    if incomplete {
        errors.insert(0, ErrorCode::SubjectIncomplete);
    }

    // ---- attachments
    let roles: Vec<Role> = extracted.iter().map(|e| role(e, kind, rules)).collect();
    v.attachments = infos(&extracted, Some(&roles));
    let mut attachment_errors = Vec::new();
    let unsupported = extracted.iter().any(|e| matches!(e.content, Content::Archive(ArchiveState::Unsupported(_))));
    for req in &kind.requires {
        let wanted = required_role(req);
        let present =
            extracted.iter().zip(&roles).any(|(e, r)| *r == wanted && !matches!(e.content, Content::Unreadable(_)));
        if present {
            continue;
        }
        let unreadable =
            extracted.iter().zip(&roles).any(|(e, r)| *r == wanted && matches!(e.content, Content::Unreadable(_)));
        attachment_errors.push(missing(req, unreadable));
    }
    attachment_errors.dedup();

    // ---- forms
    let form_rule = kind.form.as_deref().and_then(|f| rules.forms.get(f));
    let forms: Vec<&FormValues> = extracted
        .iter()
        .zip(&roles)
        .filter(|(_, r)| **r == Role::Form)
        .filter_map(|(e, _)| match &e.content {
            Content::Forms(f) => Some(f),
            _ => None,
        })
        .flatten()
        .filter(|f| Some(f.form.as_str()) == kind.form.as_deref())
        .collect();
    let summary: Vec<&FormValues> = extracted
        .iter()
        .filter_map(|e| match &e.content {
            Content::Summary(rows) => Some(rows),
            _ => None,
        })
        .flatten()
        .collect();
    let is_expert_form = form_rule.is_some_and(|f| f.labels.values().any(|x| x == "name"));
    if is_expert_form {
        v.experts = forms.iter().map(|f| expert(f, rules)).collect();
        v.summary_rows = summary.iter().map(|f| expert(f, rules)).collect();
        if v.experts.is_empty()
            && let Some(name) = &reading.expert_name
        {
            v.experts = v.summary_rows.iter().filter(|e| e.name == *name).cloned().collect();
        }
    }
    if !is_expert_form && let Some(first) = forms.first() {
        v.form_fields = form_fields(first, rules);
    }
    let mut mismatch = Vec::new();
    if let Some(name) = v.fields.get("expert_name")
        && !v.experts.is_empty()
        && !forms.is_empty()
        && !v.experts.iter().any(|e| squeeze(&e.name) == squeeze(name))
    {
        mismatch.push(ErrorCode::NameMismatch);
    }
    if let Some(school) = v.fields.get("school") {
        let form_schools: Vec<String> = forms
            .iter()
            .filter_map(|f| f.get("school").or_else(|| f.get("employer")))
            .filter_map(|s| school_in(s, rules))
            .collect();
        if !form_schools.is_empty() && !form_schools.iter().any(|s| s == school) {
            mismatch.push(ErrorCode::SchoolMismatch);
        }
    }
    if let Some(rule) = form_rule
        && forms.iter().any(|f| !f.missing(rule).is_empty())
    {
        warnings.push(WarningCode::FormIncomplete);
    }

    // Archives and cloud links replace every other error (spec §3).
    let attachment_trouble = !attachment_errors.is_empty();
    if unsupported && attachment_trouble {
        errors = vec![ErrorCode::UnsupportedArchive];
    } else if link && attachment_trouble {
        errors = vec![ErrorCode::AttachmentLink];
    } else {
        errors.extend(attachment_errors);
        errors.extend(mismatch);
    }
    errors.dedup();

    // ---- warnings
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
    warnings.sort();
    warnings.dedup();

    v.decision = if errors.is_empty() { Decision::Acknowledge } else { Decision::RequestCorrection };
    v.reasons = reasons::explain(kind, &errors, &warnings, &reading, &v, rules);
    v.errors = errors;
    v.warnings = warnings;
    v
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

/// Reads every attachment; once the message's time budget is spent, the rest are reported
/// unread with that reason (checked between attachments: one reader is never interrupted).
fn extract_all(mail: &Mail, rules: &Rules, limits: &Limits, deadline: Instant) -> Vec<Extracted> {
    mail.attachments
        .iter()
        .map(|a| {
            if Instant::now() >= deadline {
                let reason = format!(
                    "读取本邮件的附件用时超过 {} 秒的上限，此附件未读取，需人工处理",
                    limits.max_judge_time.as_secs()
                );
                extract::unread(a, reason)
            } else {
                extract::extract(a, rules, limits)
            }
        })
        .collect()
}

/// The forwarded message to judge instead of the outer one: when the outer mail carries no
/// attachment of its own and a forwarded message does.
fn pick_forwarded<'m>(mail: &'m Mail, own: &[Extracted], rules: &Rules) -> Option<&'m Mail> {
    if own.iter().any(|e| !is_decoration(e, rules)) {
        return None;
    }
    mail.forwarded.iter().find(|m| !m.attachments.is_empty()).or_else(|| {
        let outer = classify::read_subject(&mail.subject, rules);
        if outer.kind.is_some() { None } else { mail.forwarded.first() }
    })
}

/// Signature logos and inline decorations are not attachments.
fn is_decoration(e: &Extracted, rules: &Rules) -> bool {
    match e.content {
        Content::Image { width, height } => {
            let small = width.min(height) < rules.attachments.min_scan_side;
            small || (e.inline && e.has_content_id && (e.size as usize) < rules.attachments.decoration_max_bytes)
        }
        _ => false,
    }
}

/// Guesses the kind from attachments when the subject names none.
fn kind_from_attachments<'r>(real: &[&Extracted], rules: &'r Rules) -> Option<&'r KindRule> {
    for e in real {
        if let Content::Forms(forms) = &e.content
            && let Some(f) = forms.first()
            && let Some(kind) = rules.kinds.iter().find(|k| k.form.as_deref() == Some(f.form.as_str()))
        {
            return Some(kind);
        }
    }
    None
}

/// The school a summary's attachments name (file name, document title, PDF text).
fn school_from_attachments(real: &[&Extracted], rules: &Rules) -> Option<String> {
    for e in real {
        let text = match &e.content {
            Content::Text { title, .. } => format!("{} {title}", e.filename),
            Content::Pdf(p) => format!("{} {}", e.filename, crate::text::clip(&p.text, 200)),
            _ => e.filename.clone(),
        };
        if let Some(s) = school_in(&text, rules) {
            return Some(s);
        }
    }
    None
}

/// The roster school a free text names (exactly, or as its longest contained name).
fn school_in(text: &str, rules: &Rules) -> Option<String> {
    if let Some(s) = rules.school(text) {
        return Some(s.name.clone());
    }
    let k = key(text);
    rules
        .school_names()
        .filter(|(name, _)| name.chars().count() >= 4 && k.contains(name))
        .max_by_key(|(name, _)| name.len())
        .map(|(_, s)| s.name.clone())
}

/// The role an attachment plays in a mail of `kind`.
fn role(e: &Extracted, kind: &KindRule, rules: &Rules) -> Role {
    let wants = |r: Requirement| kind.requires.contains(&r);
    let name = key(&e.filename);
    match &e.content {
        Content::Forms(forms) => {
            if kind.form.is_none() && wants(Requirement::Report) {
                return Role::Report;
            }
            if forms.iter().any(|f| Some(f.form.as_str()) == kind.form.as_deref()) { Role::Form } else { Role::Other }
        }
        Content::Summary(_) => Role::SummaryTable,
        Content::Pdf(_) => {
            if wants(Requirement::Report) && !wants(Requirement::Scan) {
                Role::Report
            } else {
                Role::Scan
            }
        }
        Content::Image { .. } => {
            if is_decoration(e, rules) {
                Role::Other
            } else if wants(Requirement::Scan) || !wants(Requirement::Report) {
                Role::Scan
            } else {
                Role::Report
            }
        }
        Content::Text { chars, .. } => {
            let marker = kind
                .form
                .as_deref()
                .and_then(|f| rules.forms.get(f))
                .is_some_and(|f| f.markers.iter().any(|m| name.contains(&key(m))));
            if marker && wants(Requirement::Form) {
                Role::Form
            } else if wants(Requirement::Report) && *chars >= rules.attachments.min_report_chars {
                Role::Report
            } else {
                Role::Other
            }
        }
        Content::Unreadable(_) => match e.sniffed {
            t if t.is_office() => {
                if wants(Requirement::Form) {
                    Role::Form
                } else if wants(Requirement::Report) {
                    Role::Report
                } else {
                    Role::Other
                }
            }
            FileType::Pdf => {
                if wants(Requirement::Scan) {
                    Role::Scan
                } else if wants(Requirement::Report) {
                    Role::Report
                } else {
                    Role::Other
                }
            }
            FileType::Image(_) if wants(Requirement::Scan) => Role::Scan,
            _ => Role::Other,
        },
        Content::Archive(_) | Content::Other => Role::Other,
    }
}

fn infos(extracted: &[Extracted], roles: Option<&[Role]>) -> Vec<AttachmentInfo> {
    extracted
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let (pages, scanned) = match &e.content {
                Content::Pdf(p) => (Some(p.pages), Some(p.scanned)),
                _ => (None, None),
            };
            let (width, height) = match e.content {
                Content::Image { width, height } => (Some(width), Some(height)),
                _ => (None, None),
            };
            let problem = match &e.content {
                Content::Unreadable(r) => Some(r.clone()),
                Content::Archive(ArchiveState::Unsupported(r)) => Some(r.clone()),
                _ => None,
            };
            let role = roles.and_then(|r| r.get(i).copied()).unwrap_or(Role::Other);
            AttachmentInfo {
                filename: e.filename.clone(),
                kind: e.file_type.clone(),
                role,
                size: e.size,
                sha256: e.sha256.clone(),
                pages,
                scanned,
                width,
                height,
                archive: e.archive.clone(),
                problem,
            }
        })
        .collect()
}

/// The fields of a non-expert form (附件1: school, category, contact, phone, email),
/// trimmed, the category made canonical.
fn form_fields(f: &FormValues, rules: &Rules) -> std::collections::BTreeMap<String, String> {
    f.values
        .iter()
        .map(|(k, v)| (k.clone(), v.trim().to_string()))
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| {
            let v = if k == "category" { rules.category(&v).map(|c| c.name.clone()).unwrap_or(v) } else { v };
            (k, v)
        })
        .collect()
}

/// An expert row from form values, normalised.
fn expert(f: &FormValues, rules: &Rules) -> Expert {
    let get = |k: &str| f.get(k).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let title = get("title");
    let level = title.as_deref().and_then(|t| rules.title_level(t)).unwrap_or("none").to_string();
    let category = get("category").map(|c| rules.category(&c).map(|x| x.name.clone()).unwrap_or(c));
    let gender = get("gender").map(|g| g.trim_end_matches('性').to_string());
    Expert {
        name: get("name").map(|n| squeeze(&n)).unwrap_or_default(),
        gender,
        birth: get("birth").and_then(|b| birth::normalize(&b)),
        title,
        title_level: level,
        phone: get("phone").map(|p| squeeze(&p)),
        email: get("email").map(|e| squeeze(&e)),
        employer: get("employer"),
        category,
    }
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
