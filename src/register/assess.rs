//! What a submission is, from its mails (spec §8, "judged as a whole"): per role the latest
//! readable part from any of its mails, the errors computed on those parts, the warnings, and
//! the state. Pure: mails in, [`Assessment`] out.

use std::collections::BTreeMap;

use crate::classify::SubjectReading;
use crate::rules::{KindRule, Part, Rules};
use crate::text::squeeze;
use crate::validate::{self, reasons};
use crate::verdict::{
    AttachmentInfo, Decision, DossierPart, DossierState, ErrorCode, Expert, Role, Verdict, WarningCode,
};

/// What one mail brings to its submission: its own judgement (as `check` gives it).
#[derive(Debug, Clone)]
pub struct Contribution<'v> {
    pub message: i64,
    pub arrived: Option<String>,
    pub decision: Decision,
    pub errors: Vec<ErrorCode>,
    pub warnings: Vec<WarningCode>,
    /// The mail's own reasons, aligned with `errors` then `warnings`.
    pub reasons: &'v [String],
    pub attachments: &'v [AttachmentInfo],
    pub experts: &'v [Expert],
    pub form_fields: &'v std::collections::BTreeMap<String, String>,
}

impl<'v> Contribution<'v> {
    /// A mail's contribution from its verdict: a stored verdict carries the mail's own
    /// judgement in its submission reference; a fresh one is its own judgement.
    pub fn of(message: i64, v: &'v Verdict) -> Contribution<'v> {
        let (decision, errors, warnings) = match &v.submission {
            Some(s) => (s.own_decision, s.own_errors.clone(), s.own_warnings.clone()),
            None => (v.decision, v.errors.clone(), v.warnings.clone()),
        };
        // Stored verdicts' reasons are the submission's; the mail's own are not needed then
        // (a fresh mail is the only one whose sentences are reused).
        let reasons: &[String] = if v.submission.is_some() { &[] } else { &v.reasons };
        Contribution {
            message,
            arrived: v.arrived.clone(),
            decision,
            errors,
            warnings,
            reasons,
            attachments: &v.attachments,
            experts: &v.experts,
            form_fields: &v.form_fields,
        }
    }

    /// Whether the mail was judged a submission of its own (not held, not automatic).
    pub fn contributes(&self) -> bool {
        matches!(self.decision, Decision::Acknowledge | Decision::RequestCorrection)
    }

    fn own_reason(&self, e: ErrorCode) -> Option<&String> {
        self.errors.iter().position(|x| *x == e).and_then(|i| self.reasons.get(i))
    }
}

/// The key a submission is filed under: school and expert name / category (or nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub kind: String,
    pub school: Option<String>,
    pub detail: String,
}

/// A submission, judged as a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub state: DossierState,
    pub errors: Vec<ErrorCode>,
    pub warnings: Vec<WarningCode>,
    /// One sentence per error, then per warning.
    pub reasons: Vec<String>,
    pub parts: Vec<DossierPart>,
    /// The expert's name (the category) the current form gives, when it differs from the key.
    pub form_name: Option<String>,
    /// The current form's expert: (birth, phone), for the same person at another school.
    pub birth: Option<String>,
    pub phone: Option<String>,
    /// The experts of the current form.
    pub experts: Vec<Expert>,
    /// Arrival of the latest mail.
    pub updated: Option<String>,
}

const SUBJECT_ERRORS: [ErrorCode; 3] =
    [ErrorCode::SubjectIncomplete, ErrorCode::UnknownSchool, ErrorCode::UnknownCategory];
const ROLES: [Role; 4] = [Role::Form, Role::Scan, Role::SummaryTable, Role::Report];

/// Judges a submission from its mails (in arrival order; mails that do not contribute are
/// passed over).
pub fn assess(kind: &KindRule, key: &Key, mails: &[Contribution], rules: &Rules) -> Assessment {
    let mails: Vec<&Contribution> = mails.iter().filter(|c| c.contributes()).collect();
    let latest = mails.last().copied();
    let (parts, source_of) = current_parts(&mails);
    let (attachment_errors, seal_warnings) = attachment_findings(kind, &mails, &source_of);
    let form_mail = source_of.get(&(Role::Form as u8)).copied();
    let experts: Vec<Expert> = form_mail.map(|m| m.experts.to_vec()).unwrap_or_default();
    let (mismatch, form_name) = form_against_key(kind, key, form_mail, &experts, rules);
    let errors = submission_errors(subject_errors(&mails, latest), attachment_errors, mismatch, latest);
    let warnings = submission_warnings(&mails, &parts, form_mail, seal_warnings);
    let state = if errors.is_empty() && !mails.is_empty() { DossierState::Complete } else { DossierState::Incomplete };
    let reasons = explain(kind, key, &errors, &warnings, &mails, &experts, rules);
    let first = experts.first();
    Assessment {
        state,
        errors,
        warnings,
        reasons,
        parts,
        form_name,
        birth: first.and_then(|e| e.birth.clone()),
        phone: first.and_then(|e| e.phone.clone()),
        experts,
        updated: mails.iter().filter_map(|m| m.arrived.clone()).max(),
    }
}

/// The mail each role's current part comes from, by role.
type Sources<'a, 'v> = BTreeMap<u8, &'a Contribution<'v>>;

/// The parts: per role, every readable attachment of the latest mail that has one; and which
/// mail that is.
fn current_parts<'a, 'v>(mails: &[&'a Contribution<'v>]) -> (Vec<DossierPart>, Sources<'a, 'v>) {
    let mut parts = Vec::new();
    let mut source_of = BTreeMap::new();
    for role in ROLES {
        let readable = |a: &&AttachmentInfo| a.role == role && a.problem.is_none();
        let Some(m) = mails.iter().rev().find(|m| m.attachments.iter().any(|a| readable(&a))) else {
            continue;
        };
        source_of.insert(role as u8, *m);
        for a in m.attachments.iter().filter(readable) {
            parts.push(DossierPart {
                role,
                message: m.message,
                filename: a.filename.clone(),
                size: a.size,
                sha256: a.sha256.clone(),
                arrived: m.arrived.clone(),
            });
        }
    }
    (parts, source_of)
}

/// The subject's errors: none once any of its mails carried the whole subject, else the
/// latest mail's.
fn subject_errors(mails: &[&Contribution], latest: Option<&Contribution>) -> Vec<ErrorCode> {
    let subject_met = mails.iter().any(|m| !m.errors.iter().any(|e| SUBJECT_ERRORS.contains(e)));
    match latest {
        Some(m) if !subject_met => m.errors.iter().filter(|e| SUBJECT_ERRORS.contains(e)).copied().collect(),
        _ => Vec::new(),
    }
}

/// The required parts missing, and the seal findings on the current scan part (issue 13: the
/// scans of the mail that brought it; a scan later without a seal, or blank, is judged as
/// such): (errors, warnings).
fn attachment_findings(
    kind: &KindRule,
    mails: &[&Contribution],
    source_of: &Sources,
) -> (Vec<ErrorCode>, Vec<WarningCode>) {
    let mut attachment_errors = Vec::new();
    for req in &kind.requires {
        let role = validate::required_role(req);
        if source_of.contains_key(&(role as u8)) {
            continue;
        }
        let unreadable = mails.iter().any(|m| m.attachments.iter().any(|a| a.role == role && a.problem.is_some()));
        attachment_errors.push(validate::missing(req, unreadable));
    }
    let mut seal_warnings = Vec::new();
    if kind.requires.contains(&crate::rules::Requirement::Scan)
        && let Some(m) = source_of.get(&(Role::Scan as u8))
    {
        let scans: Vec<&AttachmentInfo> = m.attachments.iter().filter(|a| a.role == Role::Scan).collect();
        let (errors, warnings) = validate::seal_findings(&scans);
        for e in errors {
            if !attachment_errors.contains(&e) {
                attachment_errors.push(e);
            }
        }
        seal_warnings = warnings;
    }
    attachment_errors.dedup();
    (attachment_errors, seal_warnings)
}

/// The current form against the key: the mismatches, and the name (the category) the form
/// gives when it differs from the key.
fn form_against_key(
    kind: &KindRule,
    key: &Key,
    form_mail: Option<&Contribution>,
    experts: &[Expert],
    rules: &Rules,
) -> (Vec<ErrorCode>, Option<String>) {
    let mut mismatch = Vec::new();
    let mut form_name = None;
    let expert_kind = kind.subject_parts.contains(&Part::ExpertName);
    if expert_kind && !key.detail.is_empty() && !experts.is_empty() {
        if !experts.iter().any(|e| squeeze(&e.name) == key.detail) {
            mismatch.push(ErrorCode::NameMismatch);
            form_name = experts.first().map(|e| squeeze(&e.name)).filter(|n| !n.is_empty());
        }
    } else if kind.subject_parts.contains(&Part::Category)
        && let Some(c) = form_mail.and_then(|m| m.form_fields.get("category"))
        && let Some(c) = rules.category(c)
        && c.name != key.detail
    {
        form_name = Some(c.name.clone());
    }
    if form_mail.is_some_and(|m| m.errors.contains(&ErrorCode::SchoolMismatch)) {
        mismatch.push(ErrorCode::SchoolMismatch);
    }
    (mismatch, form_name)
}

/// The submission's errors: the subject's, then the parts', then the form's mismatches —
/// except that archives and cloud links replace every other error when something is
/// missing (§3).
fn submission_errors(
    mut errors: Vec<ErrorCode>,
    attachment_errors: Vec<ErrorCode>,
    mismatch: Vec<ErrorCode>,
    latest: Option<&Contribution>,
) -> Vec<ErrorCode> {
    let trouble = !attachment_errors.is_empty();
    let replaced = [ErrorCode::UnsupportedArchive, ErrorCode::AttachmentLink]
        .into_iter()
        .find(|code| trouble && latest.is_some_and(|m| m.errors.contains(code)));
    match replaced {
        Some(code) => errors = vec![code],
        None => {
            errors.extend(attachment_errors);
            errors.extend(mismatch);
        }
    }
    errors.dedup();
    errors
}

/// The submission's warnings, sorted: late when a mail bringing a part was, the current
/// form's, the seal findings, and those any of its mails carried.
fn submission_warnings(
    mails: &[&Contribution],
    parts: &[DossierPart],
    form_mail: Option<&Contribution>,
    seal_warnings: Vec<WarningCode>,
) -> Vec<WarningCode> {
    let mut warnings = Vec::new();
    let part_mails: Vec<i64> = parts.iter().map(|p| p.message).collect();
    if mails.iter().any(|m| part_mails.contains(&m.message) && m.warnings.contains(&WarningCode::Late)) {
        warnings.push(WarningCode::Late);
    }
    if let Some(m) = form_mail {
        for w in [WarningCode::ExpertOverAge, WarningCode::ExpertTitleBelowSenior, WarningCode::FormIncomplete] {
            if m.warnings.contains(&w) {
                warnings.push(w);
            }
        }
    }
    warnings.extend(seal_warnings);
    for w in [WarningCode::SchoolNotOnRoster, WarningCode::DuplicateSubmission, WarningCode::ThreadFromStranger] {
        if mails.iter().any(|m| m.warnings.contains(&w)) {
            warnings.push(w);
        }
    }
    warnings.sort();
    warnings.dedup();
    warnings
}

/// One sentence per error (the mail's own when a mail said it, else made for the
/// submission), then one per warning.
fn explain(
    kind: &KindRule,
    key: &Key,
    errors: &[ErrorCode],
    warnings: &[WarningCode],
    mails: &[&Contribution],
    experts: &[Expert],
    rules: &Rules,
) -> Vec<String> {
    let mut v = Verdict::unreadable("", "");
    v.reasons.clear();
    if let Some(s) = &key.school {
        v.fields.insert("school".into(), s.clone());
    }
    if kind.subject_parts.contains(&Part::ExpertName) && !key.detail.is_empty() {
        v.fields.insert("expert_name".into(), key.detail.clone());
    }
    v.experts = experts.to_vec();
    v.attachments = mails.iter().flat_map(|m| m.attachments.iter().filter(|a| a.problem.is_some()).cloned()).collect();
    let mut out: Vec<String> = errors
        .iter()
        .map(|e| {
            let own = match e {
                // These depend on the submission, not on one mail.
                ErrorCode::NameMismatch | ErrorCode::UnreadableAttachment => None,
                _ => mails.iter().rev().find_map(|m| m.own_reason(*e)).cloned(),
            };
            own.unwrap_or_else(|| {
                reasons::explain(kind, &[*e], &[], &SubjectReading::default(), &v, rules).pop().unwrap_or_default()
            })
        })
        .collect();
    out.extend(warnings.iter().map(|w| reasons::warning_text(*w, rules)));
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn att(name: &str, role: Role, problem: Option<&str>) -> AttachmentInfo {
        AttachmentInfo {
            filename: name.into(),
            kind: "pdf".into(),
            role,
            size: 10,
            sha256: format!("{:0>64}", name.len()),
            pages: None,
            scanned: None,
            width: None,
            height: None,
            archive: None,
            seal: None,
            blank_pages: None,
            seal_at: None,
            scan_text: None,
            problem: problem.map(String::from),
        }
    }

    struct Mail {
        errors: Vec<ErrorCode>,
        attachments: Vec<AttachmentInfo>,
        experts: Vec<Expert>,
    }

    fn mail(errors: &[ErrorCode], attachments: Vec<AttachmentInfo>, expert: Option<&str>) -> Mail {
        Mail {
            errors: errors.to_vec(),
            attachments,
            experts: expert.map(|n| Expert { name: n.into(), ..Expert::default() }).into_iter().collect(),
        }
    }

    fn run(mails: &[Mail], detail: &str) -> Assessment {
        let rules = Rules::embedded();
        let kind = rules.kind("expert_recommendation").unwrap();
        let empty = BTreeMap::new();
        let contributions: Vec<Contribution> = mails
            .iter()
            .enumerate()
            .map(|(i, m)| Contribution {
                message: i as i64 + 1,
                arrived: Some(format!("2023-03-1{}T10:00:00+08:00", i + 3)),
                decision: if m.errors.is_empty() { Decision::Acknowledge } else { Decision::RequestCorrection },
                errors: m.errors.clone(),
                warnings: vec![],
                reasons: &[],
                attachments: &m.attachments,
                experts: &m.experts,
                form_fields: &empty,
            })
            .collect();
        let key = Key { kind: kind.id.clone(), school: Some("昆明学院".into()), detail: detail.into() };
        assess(kind, &key, &contributions, &rules)
    }

    #[test]
    fn a_form_on_monday_and_a_scan_on_wednesday_make_one_complete_submission() {
        let a = run(
            &[
                mail(&[ErrorCode::MissingScan], vec![att("form.docx", Role::Form, None)], Some("张伟")),
                mail(&[ErrorCode::MissingForm], vec![att("scan.pdf", Role::Scan, None)], None),
            ],
            "张伟",
        );
        assert_eq!(a.state, DossierState::Complete, "{a:?}");
        assert_eq!(a.parts.iter().map(|p| (p.role, p.message)).collect::<Vec<_>>(), [(Role::Form, 1), (Role::Scan, 2)]);
        assert_eq!(a.experts[0].name, "张伟");
        assert_eq!(a.updated.as_deref(), Some("2023-03-14T10:00:00+08:00"));
    }

    #[test]
    fn the_latest_readable_part_wins_and_an_unreadable_one_is_named() {
        let a = run(
            &[
                mail(&[], vec![att("form.docx", Role::Form, None), att("a.pdf", Role::Scan, None)], Some("张伟")),
                mail(&[], vec![att("b.pdf", Role::Scan, None), att("c.pdf", Role::Scan, None)], None),
                mail(&[ErrorCode::UnreadableAttachment], vec![att("d.pdf", Role::Scan, Some("损坏"))], None),
            ],
            "张伟",
        );
        assert_eq!(a.state, DossierState::Complete);
        let scans: Vec<&str> = a.parts.iter().filter(|p| p.role == Role::Scan).map(|p| p.filename.as_str()).collect();
        assert_eq!(scans, ["b.pdf", "c.pdf"], "every scan page of the latest mail that has one");
        let b = run(
            &[mail(&[ErrorCode::UnreadableAttachment], vec![att("form.docx", Role::Form, Some("损坏"))], None)],
            "张伟",
        );
        assert_eq!(b.errors, [ErrorCode::UnreadableAttachment, ErrorCode::MissingScan]);
    }

    #[test]
    fn the_subject_is_met_once_and_the_key_is_compared_with_the_current_form() {
        let incomplete = [ErrorCode::SubjectIncomplete];
        let a = run(
            &[
                mail(
                    &incomplete,
                    vec![att("form.docx", Role::Form, None), att("s.pdf", Role::Scan, None)],
                    Some("张伟"),
                ),
                mail(&[], vec![att("s.pdf", Role::Scan, None)], None),
                mail(&incomplete, vec![att("s2.pdf", Role::Scan, None)], None),
            ],
            "张伟",
        );
        assert_eq!(a.state, DossierState::Complete, "{a:?}");
        let b = run(
            &[mail(&[], vec![att("f.docx", Role::Form, None), att("s.pdf", Role::Scan, None)], Some("张伟"))],
            "张为",
        );
        assert_eq!(b.errors, [ErrorCode::NameMismatch]);
        assert_eq!(b.form_name.as_deref(), Some("张伟"));
        assert!(b.reasons[0].contains("张为") && b.reasons[0].contains("张伟"), "{:?}", b.reasons);
    }

    #[test]
    fn an_archive_that_cannot_be_opened_replaces_the_missing_parts() {
        let a =
            run(&[mail(&[ErrorCode::UnsupportedArchive], vec![att("x.rar", Role::Other, Some("rar"))], None)], "张伟");
        assert_eq!(a.errors, [ErrorCode::UnsupportedArchive]);
        assert_eq!(a.state, DossierState::Incomplete);
    }
}
