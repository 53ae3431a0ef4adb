//! The campaign as data: kinds, subject conventions, roster, categories, titles, forms.
//!
//! Rules are read from a folder (`rules/` in the repository, `--rules DIR` on the command
//! line) or from the copy embedded in the binary at build time. Loading never stops at the
//! first mistake: [`Rules::load`] returns every problem found, each with file and line, so
//! `mail-intake rules check` can report them all at once.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{DateTime, FixedOffset};

use crate::text::key;

mod build;
mod campaign;
mod duties;
mod error;
mod raw;
mod reasons;
mod roster;

pub use duties::{RegisterRules, ReplyRules, SchoolRole};
pub use error::{RuleProblem, RulesError};
pub use reasons::{ERROR_PLACEHOLDERS, ReasonRules, WARNING_PLACEHOLDERS};

/// The rule files, in the order they are read.
pub const FILES: [&str; 6] = [
    "campaign.toml",
    "schools.toml",
    "categories.toml",
    "titles.toml",
    "templates/acknowledge.txt",
    "templates/request_correction.txt",
];

/// Reply templates (minijinja), by decision.
pub const TEMPLATES: [&str; 2] = ["acknowledge", "request_correction"];

/// The copy of `rules/` compiled into the binary.
const EMBEDDED: [(&str, &str); 6] = [
    ("campaign.toml", include_str!("../../rules/campaign.toml")),
    ("schools.toml", include_str!("../../rules/schools.toml")),
    ("categories.toml", include_str!("../../rules/categories.toml")),
    ("titles.toml", include_str!("../../rules/titles.toml")),
    ("templates/acknowledge.txt", include_str!("../../rules/templates/acknowledge.txt")),
    ("templates/request_correction.txt", include_str!("../../rules/templates/request_correction.txt")),
];

/// What a kind's subject must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    School,
    ExpertName,
    Category,
}

impl Part {
    fn parse(s: &str) -> Option<Part> {
        match s {
            "school" => Some(Part::School),
            "expert_name" => Some(Part::ExpertName),
            "category" => Some(Part::Category),
            _ => None,
        }
    }
    /// The field name used in verdicts.
    pub fn field(self) -> &'static str {
        match self {
            Part::School => "school",
            Part::ExpertName => "expert_name",
            Part::Category => "category",
        }
    }
    /// The Chinese name used in replies.
    pub fn label(self) -> &'static str {
        match self {
            Part::School => "学校名称",
            Part::ExpertName => "专家姓名",
            Part::Category => "专业大类名称",
        }
    }
}

/// An attachment a kind requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    Form,
    Scan,
    Report,
}

/// One kind of submission.
#[derive(Debug, Clone)]
pub struct KindRule {
    pub id: String,
    pub name: String,
    pub convention: String,
    pub keywords: Vec<String>,
    pub subject_parts: Vec<Part>,
    pub requires: Vec<Requirement>,
    pub form: Option<String>,
    pub deadline: DateTime<FixedOffset>,
    /// What the register of schools counts its submissions as.
    pub school_role: Option<SchoolRole>,
}

/// An electronic form: field → accepted labels.
#[derive(Debug, Clone)]
pub struct FormRule {
    pub id: String,
    pub title: String,
    pub markers: Vec<String>,
    pub required: Vec<String>,
    /// label key → field name
    pub labels: HashMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct School {
    pub name: String,
    pub aliases: Vec<String>,
    pub level: String,
    pub flags: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Category {
    pub name: String,
    pub aliases: Vec<String>,
}

/// Subject-reading vocabulary.
#[derive(Debug, Clone)]
pub struct SubjectRules {
    pub prefixes: Vec<String>,
    pub separators: Vec<char>,
    pub noise: Vec<String>,
    pub question_words: Vec<String>,
    pub institution_suffixes: Vec<String>,
    /// Prefixes of our own replies' subjects (`回执`, `请更正`).
    pub own_reply_prefixes: Vec<String>,
    /// Endings of a department inside a roster school (`…大学信息学院`).
    pub department_suffixes: Vec<String>,
    /// Words after a name that are not part of it (`老师`, `同志`).
    pub honorifics: Vec<String>,
    /// A school part off the roster that ends with one of these (or contains one of
    /// `school_name_infixes`) reads as a school's name: `school_not_on_roster`, not an error.
    pub school_name_suffixes: Vec<String>,
    pub school_name_infixes: Vec<String>,
    /// A bracketed group after a subject part that contains one of these is a note
    /// (`张伟（更新）`, `(补盖章扫描件)`), not part of a name.
    pub note_words: Vec<String>,
    /// Free-mail domains: two senders there share nothing but the provider, so a reply in a
    /// thread is bound by thread only when its address (not its domain) already wrote.
    pub public_mail_domains: Vec<String>,
}

/// Automatic-mail recognition.
#[derive(Debug, Clone)]
pub struct AutomaticRules {
    pub senders: Vec<String>,
    pub sender_names: Vec<String>,
    pub subject_prefixes: Vec<String>,
    pub precedence: Vec<String>,
    pub own_header: String,
}

/// Cloud-link recognition.
#[derive(Debug, Clone)]
pub struct LinkRules {
    pub patterns: Vec<String>,
    pub words: Vec<String>,
}

/// Thresholds for attachment roles.
#[derive(Debug, Clone)]
pub struct AttachmentRules {
    pub min_scan_side: u32,
    pub decoration_max_bytes: usize,
    pub min_report_chars: usize,
}

/// Everything the judge needs to know about the campaign.
#[derive(Debug, Clone)]
pub struct Rules {
    pub campaign_name: String,
    pub office: String,
    pub timezone: chrono_tz::Tz,
    pub expert_max_age: u32,
    pub senior_levels: Vec<String>,
    /// The province's name before a school's own (`云南省`), as a key; empty when none.
    pub province_prefix: String,
    /// The roster's levels, in the order the digest lists them.
    pub levels: Vec<String>,
    /// The title levels, highest first.
    pub title_levels: Vec<String>,
    pub register: RegisterRules,
    pub reply: ReplyRules,
    /// The sentence for each error and warning code.
    pub reasons: ReasonRules,
    pub kinds: Vec<KindRule>,
    pub forms: BTreeMap<String, FormRule>,
    pub subject: SubjectRules,
    pub automatic: AutomaticRules,
    pub links: LinkRules,
    pub attachments: AttachmentRules,
    pub schools: Vec<School>,
    pub categories: Vec<Category>,
    /// Reply templates by decision (`acknowledge`, `request_correction`).
    pub templates: BTreeMap<String, String>,
    /// key(name or alias) → index into `schools`
    school_index: HashMap<String, usize>,
    /// key(name or alias) → index into `categories`
    category_index: HashMap<String, usize>,
    /// key(title) → level
    title_index: HashMap<String, String>,
    /// key(term) of things that are not titles
    non_titles: Vec<String>,
}

impl Rules {
    /// The rules compiled into the binary (the repository's `rules/` at build time).
    pub fn embedded() -> Rules {
        match Rules::from_sources(&EMBEDDED) {
            Ok(rules) => rules,
            // The embedded copy is checked by a unit test; reaching this is a build defect.
            Err(problems) => panic!("embedded rules are invalid: {problems:?}"),
        }
    }

    /// Reads and validates the rule files of `dir`.
    pub fn load(dir: &Path) -> Result<Rules, RulesError> {
        let mut texts = Vec::new();
        for name in FILES {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path)
                .map_err(|source| RulesError::Read { path: path.display().to_string(), source })?;
            texts.push((name, text));
        }
        let sources: Vec<(&str, &str)> = texts.iter().map(|(n, t)| (*n, t.as_str())).collect();
        Rules::from_sources(&sources).map_err(RulesError::Invalid)
    }

    /// Builds rules from `(file name, contents)` pairs, collecting every problem.
    pub fn from_sources(sources: &[(&str, &str)]) -> Result<Rules, Vec<RuleProblem>> {
        build::from_sources(sources)
    }

    /// Key for school names: folded, no spaces, without the province prefix.
    pub fn school_key(&self, s: &str) -> String {
        school_key_with(&self.province_prefix, s)
    }

    /// The kind with this id.
    pub fn kind(&self, id: &str) -> Option<&KindRule> {
        self.kinds.iter().find(|k| k.id == id)
    }

    /// The roster school a text names exactly (official name, alias, or an obvious variant).
    pub fn school(&self, text: &str) -> Option<&School> {
        self.school_index.get(&self.school_key(text)).map(|&i| &self.schools[i])
    }

    /// Every (key, school) pair, for substring search in subjects without separators.
    pub fn school_names(&self) -> impl Iterator<Item = (&str, &School)> {
        self.school_index.iter().map(|(k, &i)| (k.as_str(), &self.schools[i]))
    }

    /// The category a text names exactly (name or alias; 大类 may be omitted).
    pub fn category(&self, text: &str) -> Option<&Category> {
        let k = key(text);
        if let Some(&i) = self.category_index.get(&k) {
            return Some(&self.categories[i]);
        }
        // "电子信息" for "电子信息大类", "医药卫生类" …
        for suffix in ["大类", "类"] {
            if let Some(&i) = self.category_index.get(&format!("{k}{suffix}")) {
                return Some(&self.categories[i]);
            }
        }
        None
    }

    /// Every (key, category) pair, for substring search.
    pub fn category_names(&self) -> impl Iterator<Item = (&str, &Category)> {
        self.category_index.iter().map(|(k, &i)| (k.as_str(), &self.categories[i]))
    }

    /// Whether a word is a title or a known non-title (教授, 高级技师, 博士生导师): never a name.
    pub fn is_title_word(&self, s: &str) -> bool {
        let k = key(s);
        !k.is_empty() && (self.title_index.contains_key(&k) || self.non_titles.contains(&k))
    }

    /// The level of a title (正高/副高/中级/初级), or `None` when it is not a 职称.
    pub fn title_level(&self, title: &str) -> Option<&str> {
        let k = key(title);
        if k.is_empty() || self.non_titles.contains(&k) {
            return None;
        }
        if let Some(level) = self.title_index.get(&k) {
            return Some(level);
        }
        // "副教授（三级）", "高级讲师(中职)": drop a parenthesised note and retry.
        if let Some(pos) = k.find('(') {
            let base = &k[..pos];
            if let Some(level) = self.title_index.get(base) {
                return Some(level);
            }
        }
        // "教授、博士生导师", "高级工程师/注册会计师": the first listed title that is one.
        for piece in k.split(['、', '/', ',', ';', '，', '；']) {
            if piece != k
                && let Some(level) = self.title_level(piece)
            {
                return Some(level);
            }
        }
        // "正高级", "副高级职称": the level named outright.
        self.title_levels.iter().find(|level| k.contains(level.as_str())).map(String::as_str)
    }
}

/// Key for school names: folded, no spaces, without a leading province prefix (`云南省`
/// here, keyed) where the rest is still a name (`云南省昆明学院` = `昆明学院`).
fn school_key_with(province_prefix: &str, s: &str) -> String {
    let k = key(s);
    match k.strip_prefix(province_prefix) {
        Some(rest) if !province_prefix.is_empty() => rest.to_string(),
        _ => k,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_rules_are_valid() {
        let r = Rules::embedded();
        assert_eq!(r.categories.len(), 19);
        assert!(r.schools.len() > 90);
        assert_eq!(r.kinds.len(), 3);
    }

    #[test]
    fn schools_by_alias_and_variant() {
        let r = Rules::embedded();
        assert_eq!(r.school("昆明铁道职院").map(|s| s.name.as_str()), Some("昆明铁道职业技术学院"));
        assert_eq!(r.school("云南省曲靖应用技术学校").map(|s| s.name.as_str()), Some("云南省曲靖应用技术学校"));
        assert_eq!(r.school("曲靖应用技术学校").map(|s| s.name.as_str()), Some("云南省曲靖应用技术学校"));
        assert_eq!(r.school("云南省昆明学院").map(|s| s.name.as_str()), Some("昆明学院"));
        assert!(r.school("昆明某某学院").is_none());
    }

    #[test]
    fn categories_by_alias() {
        let r = Rules::embedded();
        assert_eq!(r.category("电子信息大类").map(|c| c.name.as_str()), Some("电子与信息大类"));
        assert_eq!(r.category("医药卫生").map(|c| c.name.as_str()), Some("医药卫生大类"));
        assert!(r.category("智能制造大类").is_none());
    }

    #[test]
    fn title_levels() {
        let r = Rules::embedded();
        assert_eq!(r.title_level("教授"), Some("正高"));
        assert_eq!(r.title_level("高级讲师"), Some("副高"));
        assert_eq!(r.title_level("讲师"), Some("中级"));
        assert_eq!(r.title_level("高级技师"), None);
        assert_eq!(r.title_level("技师"), None);
        assert_eq!(r.title_level("副教授（三级）"), Some("副高"));
        assert_eq!(r.title_level("教授、博士生导师"), Some("正高"));
        assert_eq!(r.title_level("副高级职称"), Some("副高"));
        assert_eq!(r.title_level("教授级高工"), Some("正高"));
        assert_eq!(r.title_level("双师型教师"), None);
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let campaign = EMBEDDED[0].1.replace("timezone = \"Asia/Shanghai\"", "timezone = \"Mars/Base\"");
        let schools =
            format!("{}\n[[school]]\nname = \"重复学校\"\naliases = [\"昆工\"]\nlevel = \"小学\"\n", EMBEDDED[1].1);
        let sources = [
            ("campaign.toml", campaign.as_str()),
            ("schools.toml", schools.as_str()),
            ("categories.toml", EMBEDDED[2].1),
            ("templates/acknowledge.txt", "{% if %}"),
            ("templates/request_correction.txt", EMBEDDED[5].1),
        ];
        let problems = Rules::from_sources(&sources).expect_err("invalid");
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert!(text.iter().any(|t| t.starts_with("campaign.toml:") && t.contains("Mars/Base")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("level `小学`")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("`昆工` is also used by 昆明理工大学")), "{text:?}");
        assert!(text.iter().any(|t| t.starts_with("titles.toml:0: file is missing")), "{text:?}");
    }

    #[test]
    fn the_campaigns_register_and_reply_fields_are_checked_with_their_lines() {
        let campaign = EMBEDDED[0]
            .1
            .replace("school_role = \"summary\"", "school_role = \"leads\"")
            .replace("acknowledge_prefix = \"回执：\"", "acknowledge_prefix = \"收到：\"")
            .replace("flagship_experts = 3", "flagship_experts = 0")
            .replace("{convention}”的格式", "{subject}”的格式");
        let titles =
            EMBEDDED[3].1.replace("levels = [\"正高\", \"副高\", \"中级\", \"初级\"]", "levels = [\"正高\", \"正高\"]");
        let sources = [
            ("campaign.toml", campaign.as_str()),
            ("schools.toml", EMBEDDED[1].1),
            ("categories.toml", EMBEDDED[2].1),
            ("titles.toml", titles.as_str()),
            ("templates/acknowledge.txt", EMBEDDED[4].1),
            ("templates/request_correction.txt", EMBEDDED[5].1),
        ];
        let problems = Rules::from_sources(&sources).expect_err("invalid");
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        let line_of = |needle: &str| campaign.lines().position(|l| l.contains(needle)).map(|i| i + 1);
        let summary_line = line_of("id = \"pilot_summary\"").map(|l| l - 1);
        assert!(
            text.iter().any(|t| t.contains("kind pilot_summary: school_role `leads` needs `category`")
                && summary_line.is_some_and(|l| t.starts_with(&format!("campaign.toml:{l}:")))),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t.starts_with("campaign.toml:") && t.contains("`收到：` is not one of")),
            "{text:?}"
        );
        assert!(text.iter().any(|t| t.contains("flagship_experts (0) is below experts_wanted (1)")), "{text:?}");
        assert!(text.iter().any(|t| t.starts_with("titles.toml:") && t.contains("`正高` is listed twice")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("senior_levels: `副高` is not a title level")), "{text:?}");
        let reasons_line = line_of("subject_incomplete = ");
        assert!(
            text.iter().any(|t| t.contains("subject_incomplete: unknown placeholder {subject}")
                && reasons_line.is_some_and(|l| t.starts_with(&format!("campaign.toml:{l}:")))),
            "{text:?}"
        );

        // A sentence for a code that does not exist stops the file, at its line.
        let campaign = EMBEDDED[0].1.replace("scan_unstamped = ", "scan_unstamped_typo = ");
        let sources = [("campaign.toml", campaign.as_str()), ("schools.toml", EMBEDDED[1].1)];
        let problems = Rules::from_sources(&sources).expect_err("invalid");
        let typo_line = campaign.lines().position(|l| l.starts_with("scan_unstamped_typo")).map(|i| i + 1);
        assert!(
            problems.iter().any(|p| p.file == "campaign.toml"
                && Some(p.line) == typo_line
                && p.message.contains("unknown variant `scan_unstamped_typo`")),
            "{problems:?}"
        );
    }
}
