//! The verdict vocabulary of spec §3 and the `check --json` shape of spec §5.
//!
//! These types are the contract between the judge and everything downstream (the
//! command line, the store, replies, the digest). Adding keys is allowed; changing the
//! meaning of an existing one is not.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The one decision every message gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Acknowledge,
    RequestCorrection,
    Hold,
    Ignore,
}

impl Decision {
    /// Every decision, in the order the office reads them.
    pub const ALL: [Decision; 4] =
        [Decision::Acknowledge, Decision::RequestCorrection, Decision::Hold, Decision::Ignore];

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Acknowledge => "acknowledge",
            Decision::RequestCorrection => "request_correction",
            Decision::Hold => "hold",
            Decision::Ignore => "ignore",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Errors: any one makes the decision `request_correction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    SubjectIncomplete,
    UnknownSchool,
    UnknownCategory,
    MissingForm,
    MissingScan,
    MissingReport,
    UnreadableAttachment,
    NameMismatch,
    SchoolMismatch,
    UnsupportedArchive,
    AttachmentLink,
    /// Every scan is colour (or a text PDF) and none shows the school's seal.
    ScanUnstamped,
}

impl ErrorCode {
    /// Every error code, in the spec's order.
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::SubjectIncomplete,
        ErrorCode::UnknownSchool,
        ErrorCode::UnknownCategory,
        ErrorCode::MissingForm,
        ErrorCode::MissingScan,
        ErrorCode::MissingReport,
        ErrorCode::UnreadableAttachment,
        ErrorCode::NameMismatch,
        ErrorCode::SchoolMismatch,
        ErrorCode::UnsupportedArchive,
        ErrorCode::AttachmentLink,
        ErrorCode::ScanUnstamped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::SubjectIncomplete => "subject_incomplete",
            ErrorCode::UnknownSchool => "unknown_school",
            ErrorCode::UnknownCategory => "unknown_category",
            ErrorCode::MissingForm => "missing_form",
            ErrorCode::MissingScan => "missing_scan",
            ErrorCode::MissingReport => "missing_report",
            ErrorCode::UnreadableAttachment => "unreadable_attachment",
            ErrorCode::NameMismatch => "name_mismatch",
            ErrorCode::SchoolMismatch => "school_mismatch",
            ErrorCode::UnsupportedArchive => "unsupported_archive",
            ErrorCode::AttachmentLink => "attachment_link",
            ErrorCode::ScanUnstamped => "scan_unstamped",
        }
    }
}

/// Warnings: recorded and shown to the office, never stop an acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningCode {
    Late,
    ExpertOverAge,
    ExpertTitleBelowSenior,
    DuplicateSubmission,
    FormIncomplete,
    /// The same person is in a current submission of another school (spec §8).
    ExpertRecommendedByOtherSchool,
    /// The school reads as a school's name but is on no roster (spec §8): acknowledged.
    SchoolNotOnRoster,
    /// The mail answers one of our replies but comes from an address (and domain) that never
    /// wrote to that submission: it was bound by its subject instead (spec §8, rule 1).
    ThreadFromStranger,
    /// No scan shows a seal and the scans that could not be checked are greyscale or bitonal.
    SealUnverified,
}

impl WarningCode {
    /// Every warning code, in declaration order.
    pub const ALL: [WarningCode; 9] = [
        WarningCode::Late,
        WarningCode::ExpertOverAge,
        WarningCode::ExpertTitleBelowSenior,
        WarningCode::DuplicateSubmission,
        WarningCode::FormIncomplete,
        WarningCode::ExpertRecommendedByOtherSchool,
        WarningCode::SchoolNotOnRoster,
        WarningCode::ThreadFromStranger,
        WarningCode::SealUnverified,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WarningCode::Late => "late",
            WarningCode::ExpertOverAge => "expert_over_age",
            WarningCode::ExpertTitleBelowSenior => "expert_title_below_senior",
            WarningCode::DuplicateSubmission => "duplicate_submission",
            WarningCode::FormIncomplete => "form_incomplete",
            WarningCode::ExpertRecommendedByOtherSchool => "expert_recommended_by_other_school",
            WarningCode::SchoolNotOnRoster => "school_not_on_roster",
            WarningCode::ThreadFromStranger => "thread_from_stranger",
            WarningCode::SealUnverified => "seal_unverified",
        }
    }
}

/// The role an attachment was judged to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Form,
    SummaryTable,
    Scan,
    Report,
    Other,
}

/// Whether a scan shows the school's seal (a red ring or oval).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Seal {
    Found,
    NotFound,
    /// Red cannot be told: greyscale or bitonal pictures, or a picture that cannot be decoded.
    Unverifiable,
}

impl Seal {
    pub fn as_str(self) -> &'static str {
        match self {
            Seal::Found => "found",
            Seal::NotFound => "not_found",
            Seal::Unverifiable => "unverifiable",
        }
    }
}

/// Where a seal was seen: the page (from 1; 1 for a picture) and its box as fractions of the
/// page's width and height, `[x0, y0, x1, y1]` from the top-left corner, 3 decimals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SealAt {
    pub page: u32,
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
}

impl SealAt {
    pub fn new(page: u32, bbox: [f32; 4]) -> SealAt {
        SealAt { page, bbox: bbox.map(|v| (v.clamp(0.0, 1.0) * 1000.0).round() / 1000.0) }
    }

    /// In words for the office: `第 2 页下部右侧（x 62–86 %，y 70–88 %）`.
    pub fn describe(&self) -> String {
        let [x0, y0, x1, y1] = self.bbox;
        let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
        let v = if cy < 1.0 / 3.0 {
            "上部"
        } else if cy < 2.0 / 3.0 {
            "中部"
        } else {
            "下部"
        };
        let h = if cx < 1.0 / 3.0 {
            "左侧"
        } else if cx < 2.0 / 3.0 {
            "中间"
        } else {
            "右侧"
        };
        let pc = |f: f32| (f * 100.0).round() as i32;
        format!("第 {} 页{v}{h}（x {}–{} %，y {}–{} %）", self.page, pc(x0), pc(x1), pc(y0), pc(y1))
    }
}

/// A scan's text as read by OCR (cargo feature `ocr`) and what it shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanText {
    /// The form's title (one of its markers in `rules/`) appears.
    pub title: bool,
    /// The expert's name from the subject appears (`null`: no name to look for).
    pub name: Option<bool>,
    /// The school from the subject appears (`null`: no school to look for).
    pub school: Option<bool>,
    /// The text, whitespace removed within lines, at most 4 000 characters.
    pub text: String,
}

/// One expert as read from 附件2 (or from the 附件3 row naming the subject's expert).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expert {
    pub name: String,
    pub gender: Option<String>,
    /// `YYYY-MM`
    pub birth: Option<String>,
    pub title: Option<String>,
    /// 正高 | 副高 | 中级 | 初级 | none
    pub title_level: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub employer: Option<String>,
    pub category: Option<String>,
}

/// One attachment as received (archive members are listed as if attached directly).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachmentInfo {
    pub filename: String,
    /// Sniffed from content: docx, doc, xlsx, xls, pdf, jpeg, png, zip, rar, 7z, …
    #[serde(rename = "type")]
    pub kind: String,
    pub role: Role,
    pub size: u64,
    pub sha256: String,
    pub pages: Option<u32>,
    pub scanned: Option<bool>,
    /// Image dimensions, when the attachment is an image.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub height: Option<u32>,
    /// The archive this file came out of.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub archive: Option<String>,
    /// For a scan: whether it shows a seal (`null` for attachments that are not scans).
    #[serde(default)]
    pub seal: Option<Seal>,
    /// For a scan: how many of its pages are blank (`null` for attachments that are not scans).
    #[serde(default)]
    pub blank_pages: Option<u32>,
    /// For a scan with a seal: the first page showing it and where.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub seal_at: Option<SealAt>,
    /// For a scan, with the `ocr` feature: its text and whether it names the form, expert, school.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scan_text: Option<ScanText>,
    /// Why the file could not be read, when it could not.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub problem: Option<String>,
}

/// The judgement of one message: spec §5, one JSON object per line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub file: String,
    pub message_id: Option<String>,
    pub from: Option<String>,
    pub subject: String,
    pub arrived: Option<String>,
    pub kind: Option<String>,
    pub decision: Decision,
    pub fields: BTreeMap<String, String>,
    pub errors: Vec<ErrorCode>,
    pub warnings: Vec<WarningCode>,
    pub experts: Vec<Expert>,
    pub attachments: Vec<AttachmentInfo>,
    /// Plain-language reasons for the decision, for the office and for replies.
    pub reasons: Vec<String>,
    /// Rows of a 附件3 summary table, when one was attached.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub summary_rows: Vec<Expert>,
    /// For `ignore`: what made the mail automatic (`bounce`, `auto_reply`, `list`, `own_reply`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub automatic: Option<String>,
    /// For a bounce: the Message-IDs of the bounced mail, so the reply can be marked `bounced`.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub bounced_ids: Vec<String>,
    /// True when the submission was judged from a forwarded (`message/rfc822`) message.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub forwarded: bool,
    /// 附件1's fields other than the expert's (contact, phone, email, school, category).
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub form_fields: BTreeMap<String, String>,
    /// The submission (spec §8) this mail belongs to, once the register has bound it; `check`
    /// is stateless and leaves it empty.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub submission: Option<SubmissionRef>,
}

/// How a mail was bound to its submission (spec §8, binding rules 1–4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoundBy {
    Thread,
    Subject,
    Form,
    Own,
}

/// A submission's state (spec §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DossierState {
    Complete,
    Incomplete,
    Superseded,
}

impl DossierState {
    pub fn as_str(self) -> &'static str {
        match self {
            DossierState::Complete => "complete",
            DossierState::Incomplete => "incomplete",
            DossierState::Superseded => "superseded",
        }
    }

    pub fn parse(s: &str) -> Option<DossierState> {
        match s {
            "complete" => Some(DossierState::Complete),
            "incomplete" => Some(DossierState::Incomplete),
            "superseded" => Some(DossierState::Superseded),
            _ => None,
        }
    }
}

/// One current part of a submission: the latest readable attachment of its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DossierPart {
    pub role: Role,
    /// The store id of the mail it came from.
    pub message: i64,
    pub filename: String,
    pub size: u64,
    pub sha256: String,
    /// That mail's arrival (RFC 3339, office time).
    #[serde(default)]
    pub arrived: Option<String>,
}

/// The submission a mail was answered for: which one, how it was bound, and what the mail
/// said on its own before the register saw the other mails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmissionRef {
    pub id: i64,
    pub bound_by: BoundBy,
    pub state: DossierState,
    /// The submission's current parts, after this mail.
    pub parts: Vec<DossierPart>,
    /// What this mail alone was judged (`check`'s decision, errors and warnings).
    pub own_decision: Decision,
    pub own_errors: Vec<ErrorCode>,
    pub own_warnings: Vec<WarningCode>,
}

impl Verdict {
    /// A verdict for input that could not be judged at all.
    pub fn unreadable(file: &str, reason: impl Into<String>) -> Verdict {
        Verdict {
            file: file.to_string(),
            message_id: None,
            from: None,
            subject: String::new(),
            arrived: None,
            kind: None,
            decision: Decision::Hold,
            fields: BTreeMap::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            experts: Vec::new(),
            attachments: Vec::new(),
            reasons: vec![reason.into()],
            summary_rows: Vec::new(),
            automatic: None,
            bounced_ids: Vec::new(),
            forwarded: false,
            form_fields: BTreeMap::new(),
            submission: None,
        }
    }
}
