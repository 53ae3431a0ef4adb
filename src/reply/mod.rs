//! Answers to schools (spec §6): whether a verdict deserves one, to whom, and the message.
//!
//! A reply is planned right after judging and stored in the same transaction as the verdict
//! (the outbox), so it is decided exactly once. Its `Message-ID` is derived from the message
//! it answers, so the same answer always has the same id — which is what lets a crashed send
//! be recognised in the Sent folder instead of being sent again.

pub mod transport;

use chrono::{DateTime, FixedOffset, Utc};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use mail_parser::{HeaderName as ParsedHeader, MessageParser};
use serde::Serialize;

use crate::rules::Rules;
use crate::store::{NewReply, ReplyState};
use crate::verdict::{Decision, ErrorCode, Role, Verdict};

/// What the reply planner knows beyond the verdict.
#[derive(Debug, Clone)]
pub struct ReplyContext<'a> {
    pub rules: &'a Rules,
    /// `Name <office@…>` as configured.
    pub from: &'a str,
    pub enabled: bool,
    /// Mail that arrived before this moment is never answered.
    pub reply_since: DateTime<Utc>,
    /// Replies already made to this recipient in the last 24 hours.
    pub recent_to_recipient: u32,
    pub max_per_sender_per_day: u32,
}

impl<'a> ReplyContext<'a> {
    /// A reply asked for by hand (an admin's resend, a reparse with `--reply`): no
    /// `reply_since`, no daily cap, even when automatic replies are switched off.
    pub fn by_hand(rules: &'a Rules, from: &'a str) -> ReplyContext<'a> {
        ReplyContext {
            rules,
            from,
            enabled: true,
            reply_since: DateTime::<Utc>::MIN_UTC,
            recent_to_recipient: 0,
            max_per_sender_per_day: u32::MAX,
        }
    }
}

/// Why a reply fails to be built.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error("the office address `{0}` is not a valid mailbox; fix [smtp] from")]
    From(String),
    #[error("cannot render the {name} reply template: {source}")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("cannot build the reply message: {0}")]
    Build(String),
}

#[derive(Serialize)]
struct AttachmentLine {
    filename: String,
    role: &'static str,
}

/// One part on file, as a receipt states it: evidence of exactly what was received.
#[derive(Serialize)]
struct PartLine {
    filename: String,
    role: &'static str,
    /// The arrival of the mail it came from, to the second, with its zone.
    arrived: String,
    size: u64,
    /// The first 16 hex digits of its SHA-256.
    sha256: String,
}

/// `2023-03-15T10:21:07+08:00` → `2023-03-15 10:21:07 +08:00`.
fn receipt_time(rfc3339: &str) -> String {
    match DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => t.format("%Y-%m-%d %H:%M:%S %:z").to_string(),
        Err(_) => rfc3339.to_string(),
    }
}

/// Warnings that concern other submissions or the office only: never told to the school.
fn office_only(w: crate::verdict::WarningCode) -> bool {
    use crate::verdict::WarningCode as W;
    matches!(w, W::ExpertRecommendedByOtherSchool | W::SchoolNotOnRoster | W::ThreadFromStranger)
}

/// The address the reply goes to: `Reply-To` when it is in the sender's domain (a school's
/// mail system may route replies to a colleague's box), else the envelope sender
/// (`Return-Path`), else `From`. Never an address from the body or the attachments.
pub fn recipient(raw: &[u8]) -> Option<String> {
    let msg = MessageParser::new().parse_headers(raw)?;
    let from = msg.from().and_then(|a| a.first()).and_then(|a| a.address()).map(|a| a.trim().to_ascii_lowercase());
    let domain = |a: &str| a.rsplit_once('@').map(|(_, d)| d.to_string());
    if let (Some(f), Some(rt)) = (&from, msg.reply_to().and_then(|a| a.first()).and_then(|a| a.address())) {
        let rt = rt.trim().to_ascii_lowercase();
        if domain(&rt).is_some() && domain(&rt) == domain(f) {
            return Some(rt);
        }
    }
    // The delivering server prepends `Return-Path` (the envelope sender): the topmost one is
    // the truth; a sender can write another one further down, which mail-parser's
    // `return_path()` (the last occurrence) would pick.
    let envelope = msg
        .header_values(ParsedHeader::ReturnPath)
        .next()
        .and_then(|v| v.as_text())
        .map(|s| s.trim().trim_matches(['<', '>']).trim().to_ascii_lowercase());
    match envelope {
        Some(e) if e.contains('@') => Some(e),
        _ => from.filter(|f| f.contains('@')),
    }
}

/// The deterministic Message-ID of the reply to a message: derived from the message
/// answered and what the answer says (decision and errors), so the same answer always has the
/// same id and a changed verdict (after a reparse) gets a new one.
pub fn reply_message_id(original_id: Option<&str>, raw_sha256: &str, v: &Verdict, from: &str) -> String {
    let basis = original_id.unwrap_or(raw_sha256);
    let errors: Vec<&str> = v.errors.iter().map(|e| e.as_str()).collect();
    let hash = crate::store::sha256_hex(format!("{basis}|{}|{}", v.decision.as_str(), errors.join(",")).as_bytes());
    let domain = from.rsplit_once('@').map(|(_, d)| d.trim_end_matches('>').trim()).unwrap_or("mail-intake.invalid");
    format!("<reply.{}@{}>", &hash[..32], domain)
}

/// Plans the reply a verdict deserves: `None` when no reply is due at all (hold, ignore,
/// no address), a `suppressed` row when one would be due but must not go out (before
/// `reply_since`, the office's own address, the per-sender cap), else a `pending` row.
pub fn plan(
    raw: &[u8],
    v: &Verdict,
    arrived: Option<DateTime<FixedOffset>>,
    ctx: &ReplyContext,
) -> Result<Option<NewReply>, ReplyError> {
    if !matches!(v.decision, Decision::Acknowledge | Decision::RequestCorrection) {
        return Ok(None);
    }
    let Some(to) = recipient(raw) else { return Ok(None) };
    let office: Mailbox = ctx.from.parse().map_err(|_| ReplyError::From(ctx.from.to_string()))?;
    let office_addr = office.email.to_string().to_ascii_lowercase();
    let suppressed = if to == office_addr {
        Some("the office's own address".to_string())
    } else if !ctx.enabled {
        Some("replies are disabled in the configuration".to_string())
    } else if arrived.is_some_and(|a| a.with_timezone(&Utc) < ctx.reply_since) {
        Some(format!("arrived before reply_since ({})", ctx.reply_since.to_rfc3339()))
    } else if ctx.recent_to_recipient >= ctx.max_per_sender_per_day {
        Some(format!("more than {} automatic replies to {to} in 24 hours", ctx.max_per_sender_per_day))
    } else {
        None
    };
    let msg = build(raw, v, &to, &office, ctx.rules)?;
    Ok(Some(NewReply {
        kind: v.decision.as_str().to_string(),
        recipient: to,
        subject: msg.0,
        reply_message_id: msg.1,
        raw: msg.2,
        state: if suppressed.is_some() { ReplyState::Suppressed } else { ReplyState::Pending },
        reason: suppressed,
    }))
}

/// Renders and formats the reply: (subject, Message-ID, raw bytes).
fn build(
    raw: &[u8],
    v: &Verdict,
    to: &str,
    office: &Mailbox,
    rules: &Rules,
) -> Result<(String, String, Vec<u8>), ReplyError> {
    let headers = MessageParser::new().parse_headers(raw);
    let original_id = headers.as_ref().and_then(|m| m.message_id()).map(|id| format!("<{id}>"));
    let mut references: Vec<String> = headers
        .as_ref()
        .and_then(|m| m.references().as_text_list().map(|l| l.iter().map(|r| format!("<{r}>")).collect()))
        .unwrap_or_default();
    if let Some(id) = &original_id {
        references.push(id.clone());
    }
    // The hash of the whole message is the basis only when it has no Message-ID of its own.
    let sha = if original_id.is_none() { crate::store::sha256_hex(raw) } else { String::new() };
    let from_text = office.to_string();
    let message_id = reply_message_id(original_id.as_deref(), &sha, v, &from_text);
    let prefix = rules.reply_prefix(v.decision);
    // `回执：<original>` without the school's own `Re:`/`回复：` prefixes.
    let (original_subject, _) = crate::classify::subject::strip_prefixes(&v.subject, rules);
    let original_subject = if original_subject.is_empty() { "（无主题）".to_string() } else { original_subject };
    let subject = format!("{prefix}{original_subject}");
    let body = render(v, rules)?;

    let to_box: Mailbox = to.parse().map_err(|e| ReplyError::Build(format!("recipient {to}: {e}")))?;
    let mut builder = lettre::Message::builder()
        .from(office.clone())
        .to(to_box)
        .subject(subject.clone())
        .message_id(Some(message_id.clone()))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-replied".into()))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"), "All".into()))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii(rules.automatic.own_header.clone())
                .unwrap_or_else(|_| HeaderName::new_from_ascii_str("X-Mail-Intake")),
            format!("{}; {}", v.decision.as_str(), v.message_id.as_deref().unwrap_or("")),
        ));
    if let Some(id) = &original_id {
        builder = builder.in_reply_to(id.clone());
    }
    if !references.is_empty() {
        builder = builder.references(references.join(" "));
    }
    let html = format!(
        "<html><body><pre style=\"font-family: sans-serif; white-space: pre-wrap\">{}</pre></body></html>",
        html_escape(&body)
    );
    let msg = builder
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(body))
                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html)),
        )
        .map_err(|e| ReplyError::Build(e.to_string()))?;
    Ok((subject, message_id, msg.formatted()))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// What to send again when only part of a submission was wrong.
fn partial(v: &Verdict) -> Option<String> {
    let only_attachments = v.errors.iter().all(|e| {
        matches!(
            e,
            ErrorCode::MissingForm
                | ErrorCode::MissingScan
                | ErrorCode::MissingReport
                | ErrorCode::UnreadableAttachment
                | ErrorCode::ScanUnstamped
        )
    });
    let received_something = match &v.submission {
        Some(s) => !s.parts.is_empty(),
        None => v.attachments.iter().any(|a| a.role != Role::Other && a.problem.is_none()),
    };
    if !only_attachments || !received_something {
        return None;
    }
    let wanted: Vec<&str> = v
        .errors
        .iter()
        .map(|e| match e {
            ErrorCode::MissingForm => "补发电子版表格（Word 或 Excel）",
            ErrorCode::MissingScan => "补发盖章扫描件（PDF 或图片）",
            ErrorCode::MissingReport => "补发总结报告",
            ErrorCode::ScanUnstamped => "补发盖章后的扫描件",
            _ => "重新发送无法打开的附件",
        })
        .collect();
    Some(format!("{}（回复本邮件即可，主题保持不变）", wanted.join("、")))
}

/// Renders the template of a verdict's decision.
pub fn render(v: &Verdict, rules: &Rules) -> Result<String, ReplyError> {
    let name = v.decision.as_str();
    let source = rules.templates.get(name).cloned().unwrap_or_default();
    let mut env = minijinja::Environment::new();
    env.add_template_owned(name.to_string(), source)
        .map_err(|source| ReplyError::Template { name: name.into(), source })?;
    let kind = v.kind.as_deref().and_then(|k| rules.kind(k));
    let attachments: Vec<AttachmentLine> = v
        .attachments
        .iter()
        .filter(|a| a.archive.is_some() || a.role != Role::Other || a.kind != "zip")
        .map(|a| AttachmentLine { filename: a.filename.clone(), role: crate::export::words::role(a.role) })
        .collect();
    let error_count = v.errors.len();
    let parts: Vec<PartLine> = match &v.submission {
        Some(s) => s
            .parts
            .iter()
            .map(|p| PartLine {
                filename: p.filename.clone(),
                role: crate::export::words::role(p.role),
                arrived: p.arrived.as_deref().map(receipt_time).unwrap_or_default(),
                size: p.size,
                sha256: p.sha256.chars().take(16).collect(),
            })
            .collect(),
        None => v
            .attachments
            .iter()
            .filter(|a| a.role != Role::Other && a.problem.is_none())
            .map(|a| PartLine {
                filename: a.filename.clone(),
                role: crate::export::words::role(a.role),
                arrived: v.arrived.as_deref().map(receipt_time).unwrap_or_default(),
                size: a.size,
                sha256: a.sha256.chars().take(16).collect(),
            })
            .collect(),
    };
    let warnings: Vec<String> = v
        .warnings
        .iter()
        .zip(v.reasons.iter().skip(error_count))
        .filter(|(w, _)| !office_only(**w))
        .map(|(_, r)| r.clone())
        .collect();
    let ctx = minijinja::context! {
        office => rules.office.clone(),
        campaign => rules.campaign_name.clone(),
        school => v.fields.get("school").cloned(),
        expert_name => v.fields.get("expert_name").cloned(),
        category => v.fields.get("category").cloned(),
        subject => v.subject.clone(),
        arrived => v.arrived.as_deref().map(receipt_time).unwrap_or_default(),
        parts => minijinja::Value::from(minijinja::value::Serde(&parts)),
        submission => v.submission.as_ref().map(|s| s.id),
        kind_name => kind.map(|k| k.name.clone()).unwrap_or_else(|| "报送".into()),
        convention => kind.map(|k| k.convention.clone()).unwrap_or_default(),
        attachments => minijinja::Value::from(minijinja::value::Serde(&attachments)),
        errors => v.reasons.iter().take(error_count).cloned().collect::<Vec<_>>(),
        warnings => warnings,
        partial => partial(v),
    };
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|source| ReplyError::Template { name: name.into(), source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{JudgeOptions, judge};

    const SUBMISSION: &str = "Return-Path: <jwc@school.edu.cn>\r\nFrom: =?UTF-8?B?5byg?= <JWC@School.edu.cn>\r\nReply-To: other@elsewhere.cn\r\nSubject: =?UTF-8?B?5LiT5a625o6o6I2QK+aYhuaYjuWtpumZoivlvKDkuIk=?=\r\nDate: Mon, 13 Mar 2023 10:00:00 +0800\r\nMessage-ID: <orig@school.edu.cn>\r\n\r\nhi\r\n";

    fn ctx(rules: &Rules) -> ReplyContext<'_> {
        ReplyContext {
            rules,
            from: "省学分银行 <office@example.edu.cn>",
            enabled: true,
            reply_since: DateTime::parse_from_rfc3339("2023-01-01T00:00:00Z").unwrap().with_timezone(&Utc),
            recent_to_recipient: 0,
            max_per_sender_per_day: 5,
        }
    }

    #[test]
    fn a_correction_request_goes_to_the_envelope_sender_with_threading_headers() {
        let rules = Rules::embedded();
        let v = judge("s.eml", SUBMISSION.as_bytes(), &rules, &JudgeOptions::default());
        let r = plan(SUBMISSION.as_bytes(), &v, None, &ctx(&rules)).unwrap().expect("a reply");
        assert_eq!(r.recipient, "jwc@school.edu.cn", "Reply-To in another domain is not honoured");
        assert_eq!(r.state, ReplyState::Pending);
        assert_eq!(r.subject, "请更正：专家推荐+昆明学院+张三");
        let text = String::from_utf8_lossy(&r.raw).to_string();
        assert!(text.contains("In-Reply-To: <orig@school.edu.cn>"), "{text}");
        assert!(text.contains("Auto-Submitted: auto-replied"));
        assert!(text.contains("X-Mail-Intake: request_correction"));
        let again = plan(SUBMISSION.as_bytes(), &v, None, &ctx(&rules)).unwrap().unwrap();
        assert_eq!(again.reply_message_id, r.reply_message_id, "the id is derived, not random");
        // The body lists each error with its fix.
        let parsed = MessageParser::new().parse(&r.raw).unwrap();
        let body = parsed.body_text(0).unwrap().to_string();
        assert!(body.contains("电子版") && body.contains("盖章扫描件"), "{body}");
        // And our own reply coming back is never judged as a submission.
        let back = judge("back.eml", &r.raw, &rules, &JudgeOptions::default());
        assert_eq!(back.decision, Decision::Ignore);
    }

    #[test]
    fn suppressed_by_cap_date_and_own_address() {
        let rules = Rules::embedded();
        let v = judge("s.eml", SUBMISSION.as_bytes(), &rules, &JudgeOptions::default());
        let mut c = ctx(&rules);
        c.recent_to_recipient = 5;
        assert_eq!(plan(SUBMISSION.as_bytes(), &v, None, &c).unwrap().unwrap().state, ReplyState::Suppressed);
        let mut c = ctx(&rules);
        c.reply_since = Utc::now();
        let arrived = DateTime::parse_from_rfc3339("2023-03-13T10:00:00+08:00").ok();
        assert_eq!(plan(SUBMISSION.as_bytes(), &v, arrived, &c).unwrap().unwrap().state, ReplyState::Suppressed);
        let own = SUBMISSION.replace("Return-Path: <jwc@school.edu.cn>", "Return-Path: <office@example.edu.cn>");
        assert_eq!(plan(own.as_bytes(), &v, None, &ctx(&rules)).unwrap().unwrap().state, ReplyState::Suppressed);
    }
}
