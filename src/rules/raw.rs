//! The rule files' shapes as serde reads them, before anything is checked.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::verdict::{ErrorCode, WarningCode};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CampaignFile {
    pub(super) campaign: RawCampaign,
    #[serde(rename = "kind")]
    pub(super) kinds: Vec<Spanned<RawKind>>,
    pub(super) subject: RawSubject,
    pub(super) automatic: RawAutomatic,
    pub(super) links: RawLinks,
    pub(super) attachments: RawAttachments,
    pub(super) form: BTreeMap<String, Spanned<RawForm>>,
    pub(super) register: Spanned<RawRegister>,
    pub(super) reply: Spanned<RawReply>,
    pub(super) reasons: RawReasons,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReasons {
    pub(super) errors: Spanned<BTreeMap<ErrorCode, Spanned<String>>>,
    pub(super) warnings: Spanned<BTreeMap<WarningCode, Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCampaign {
    pub(super) name: String,
    #[allow(dead_code)]
    pub(super) notice: String,
    pub(super) office: String,
    pub(super) timezone: Spanned<String>,
    pub(super) expert_max_age: u32,
    pub(super) senior_levels: Vec<String>,
    pub(super) province_prefix: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKind {
    pub(super) id: String,
    pub(super) name: String,
    #[allow(dead_code)]
    pub(super) section: Option<String>,
    pub(super) convention: String,
    pub(super) keywords: Vec<String>,
    pub(super) subject_parts: Vec<String>,
    pub(super) requires: Vec<String>,
    pub(super) form: Option<String>,
    pub(super) deadline: String,
    pub(super) school_role: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegister {
    pub(super) experts_wanted: usize,
    pub(super) flagship_flags: Vec<String>,
    pub(super) flagship_experts: usize,
    pub(super) lead_flags: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReply {
    pub(super) acknowledge_prefix: String,
    pub(super) request_correction_prefix: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSubject {
    pub(super) prefixes: Vec<String>,
    pub(super) separators: String,
    pub(super) noise: Vec<String>,
    pub(super) question_words: Vec<String>,
    pub(super) institution_suffixes: Vec<String>,
    pub(super) own_reply_prefixes: Vec<String>,
    pub(super) department_suffixes: Vec<String>,
    pub(super) honorifics: Vec<String>,
    pub(super) school_name_suffixes: Vec<String>,
    pub(super) school_name_infixes: Vec<String>,
    pub(super) note_words: Vec<String>,
    pub(super) public_mail_domains: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAutomatic {
    pub(super) senders: Vec<String>,
    pub(super) sender_names: Vec<String>,
    pub(super) subject_prefixes: Vec<String>,
    pub(super) precedence: Vec<String>,
    pub(super) own_header: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLinks {
    pub(super) patterns: Vec<String>,
    pub(super) words: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAttachments {
    pub(super) min_scan_side: u32,
    pub(super) decoration_max_bytes: usize,
    pub(super) min_report_chars: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawForm {
    pub(super) title: String,
    pub(super) markers: Vec<String>,
    pub(super) required: Vec<String>,
    pub(super) labels: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SchoolsFile {
    pub(super) levels: Spanned<Vec<String>>,
    pub(super) school: Vec<Spanned<RawSchool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSchool {
    pub(super) name: String,
    #[serde(default)]
    pub(super) aliases: Vec<String>,
    pub(super) level: String,
    #[serde(default)]
    pub(super) flags: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CategoriesFile {
    pub(super) category: Vec<Spanned<RawCategory>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCategory {
    pub(super) name: String,
    #[serde(default)]
    pub(super) aliases: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) codes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TitlesFile {
    pub(super) levels: Spanned<Vec<String>>,
    pub(super) title: Vec<Spanned<RawTitle>>,
    #[serde(default)]
    pub(super) non_title: Vec<Spanned<RawNonTitle>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTitle {
    pub(super) name: String,
    pub(super) level: String,
    #[allow(dead_code)]
    pub(super) series: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(super) struct RawNonTitle {
    pub(super) term: String,
    pub(super) kind: Option<String>,
    pub(super) note: Option<String>,
}
