//! A mail's attachments as the verdict sees them: read within the time budget, decorations
//! set aside, the role each plays for a kind, what the kind's requirements find missing
//! (seals included), and the kind or school they name when the subject does not.

use std::time::Instant;

use super::{missing, required_role, seals};
use crate::classify;
use crate::extract::{self, Content, Extracted, sniff::FileType};
use crate::limits::Limits;
use crate::parse::{ArchiveState, Mail};
use crate::rules::{KindRule, Requirement, Rules};
use crate::text::key;
use crate::verdict::{AttachmentInfo, ErrorCode, Role, ScanText, Verdict, WarningCode};

/// Each attachment's role, the errors the kind's requirements find, and whether an archive
/// could not be opened.
pub(super) struct AttachmentCheck {
    pub(super) roles: Vec<Role>,
    pub(super) errors: Vec<ErrorCode>,
    pub(super) unsupported_archive: bool,
}

/// Gives each attachment its role for `kind`, records them in the verdict and finds what the
/// kind requires and did not get (a scan without a seal included).
pub(super) fn check(
    v: &mut Verdict,
    extracted: &[Extracted],
    kind: &KindRule,
    rules: &Rules,
    warnings: &mut Vec<WarningCode>,
) -> AttachmentCheck {
    let roles: Vec<Role> = extracted.iter().map(|e| role(e, kind, rules)).collect();
    v.attachments = infos(extracted, Some(&roles));
    let mut errors = Vec::new();
    let unsupported_archive =
        extracted.iter().any(|e| matches!(e.content, Content::Archive(ArchiveState::Unsupported(_))));
    for req in &kind.requires {
        let wanted = required_role(req);
        let readable = |e: &Extracted| !matches!(e.content, Content::Unreadable(_));
        if extracted.iter().zip(&roles).any(|(e, r)| *r == wanted && readable(e)) {
            continue;
        }
        let unreadable = extracted.iter().zip(&roles).any(|(e, r)| *r == wanted && !readable(e));
        errors.push(missing(req, unreadable));
    }
    let markers = kind.form.as_deref().and_then(|f| rules.forms.get(f)).map(|f| f.markers.clone()).unwrap_or_default();
    seals::read_scan_text(&mut v.attachments, &markers, v.fields.get("expert_name"), v.fields.get("school"));
    if kind.requires.contains(&Requirement::Scan) {
        let scans: Vec<&AttachmentInfo> = v.attachments.iter().filter(|a| a.role == Role::Scan).collect();
        let (seal_errors, seal_warnings) = seals::seal_findings(&scans);
        for e in seal_errors {
            if !errors.contains(&e) {
                errors.push(e);
            }
        }
        warnings.extend(seal_warnings);
    }
    errors.dedup();
    AttachmentCheck { roles, errors, unsupported_archive }
}

/// Reads every attachment; once the message's time budget is spent, the rest are reported
/// unread with that reason (checked between attachments: one reader is never interrupted).
pub(super) fn extract_all(mail: &Mail, rules: &Rules, limits: &Limits, deadline: Instant) -> Vec<Extracted> {
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
pub(super) fn pick_forwarded<'m>(mail: &'m Mail, own: &[Extracted], rules: &Rules) -> Option<&'m Mail> {
    if own.iter().any(|e| !is_decoration(e, rules)) {
        return None;
    }
    mail.forwarded.iter().find(|m| !m.attachments.is_empty()).or_else(|| {
        let outer = classify::read_subject(&mail.subject, rules);
        if outer.kind.is_some() { None } else { mail.forwarded.first() }
    })
}

/// Signature logos and inline decorations are not attachments.
pub(super) fn is_decoration(e: &Extracted, rules: &Rules) -> bool {
    match e.content {
        Content::Image { width, height } => {
            let small = width.min(height) < rules.attachments.min_scan_side;
            small || (e.inline && e.has_content_id && (e.size as usize) < rules.attachments.decoration_max_bytes)
        }
        _ => false,
    }
}

/// Guesses the kind from attachments when the subject names none.
pub(super) fn kind_from_attachments<'r>(real: &[&Extracted], rules: &'r Rules) -> Option<&'r KindRule> {
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
pub(super) fn school_from_attachments(real: &[&Extracted], rules: &Rules) -> Option<String> {
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
pub(super) fn school_in(text: &str, rules: &Rules) -> Option<String> {
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
pub(super) fn role(e: &Extracted, kind: &KindRule, rules: &Rules) -> Role {
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

pub(super) fn infos(extracted: &[Extracted], roles: Option<&[Role]>) -> Vec<AttachmentInfo> {
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
            let seal = e.seal.as_ref().filter(|_| role == Role::Scan);
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
                seal: seal.and_then(|s| s.seal),
                blank_pages: seal.map(|s| s.blank_pages),
                seal_at: seal.and_then(|s| s.at),
                scan_text: seal.and_then(|s| s.text.clone()).map(|text| ScanText {
                    title: false,
                    name: None,
                    school: None,
                    text,
                }),
                problem,
            }
        })
        .collect()
}
