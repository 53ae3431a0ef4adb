//! The campaign as data: kinds, subject conventions, roster, categories, titles, forms.
//!
//! Rules are read from a folder (`rules/` in the repository, `--rules DIR` on the command
//! line) or from the copy embedded in the binary at build time. Loading never stops at the
//! first mistake: [`Rules::load`] returns every problem found, each with file and line, so
//! `mail-intake rules check` can report them all at once.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;
use toml::Spanned;

use crate::text::{fold, key};

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
    ("campaign.toml", include_str!("../rules/campaign.toml")),
    ("schools.toml", include_str!("../rules/schools.toml")),
    ("categories.toml", include_str!("../rules/categories.toml")),
    ("titles.toml", include_str!("../rules/titles.toml")),
    ("templates/acknowledge.txt", include_str!("../rules/templates/acknowledge.txt")),
    ("templates/request_correction.txt", include_str!("../rules/templates/request_correction.txt")),
];

/// One mistake in a rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblem {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Why a rules folder could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("cannot read rule file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the rules have {} problem(s); run `mail-intake rules check` to see them all:\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<RuleProblem>),
}

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

impl School {
    /// 双高/双优 schools must recommend at least three experts.
    pub fn is_flagship(&self) -> bool {
        self.flags.iter().any(|f| f.starts_with("双高") || f.starts_with("双优"))
    }
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

// ----- raw file shapes -------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignFile {
    campaign: RawCampaign,
    #[serde(rename = "kind")]
    kinds: Vec<Spanned<RawKind>>,
    subject: RawSubject,
    automatic: RawAutomatic,
    links: RawLinks,
    attachments: RawAttachments,
    form: BTreeMap<String, Spanned<RawForm>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCampaign {
    name: String,
    #[allow(dead_code)]
    notice: String,
    office: String,
    timezone: Spanned<String>,
    expert_max_age: u32,
    senior_levels: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKind {
    id: String,
    name: String,
    #[allow(dead_code)]
    section: Option<String>,
    convention: String,
    keywords: Vec<String>,
    subject_parts: Vec<String>,
    requires: Vec<String>,
    form: Option<String>,
    deadline: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubject {
    prefixes: Vec<String>,
    separators: String,
    noise: Vec<String>,
    question_words: Vec<String>,
    institution_suffixes: Vec<String>,
    own_reply_prefixes: Vec<String>,
    department_suffixes: Vec<String>,
    honorifics: Vec<String>,
    school_name_suffixes: Vec<String>,
    school_name_infixes: Vec<String>,
    note_words: Vec<String>,
    public_mail_domains: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAutomatic {
    senders: Vec<String>,
    sender_names: Vec<String>,
    subject_prefixes: Vec<String>,
    precedence: Vec<String>,
    own_header: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLinks {
    patterns: Vec<String>,
    words: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttachments {
    min_scan_side: u32,
    decoration_max_bytes: usize,
    min_report_chars: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForm {
    title: String,
    markers: Vec<String>,
    required: Vec<String>,
    labels: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SchoolsFile {
    school: Vec<Spanned<RawSchool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchool {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    level: String,
    #[serde(default)]
    flags: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoriesFile {
    category: Vec<Spanned<RawCategory>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    codes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TitlesFile {
    title: Vec<Spanned<RawTitle>>,
    #[serde(default)]
    non_title: Vec<Spanned<RawNonTitle>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTitle {
    name: String,
    level: String,
    #[allow(dead_code)]
    series: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RawNonTitle {
    term: String,
    kind: Option<String>,
    note: Option<String>,
}

const LEVELS: [&str; 4] = ["本科", "高职", "中职", "开放大学"];
const TITLE_LEVELS: [&str; 4] = ["正高", "副高", "中级", "初级"];

/// Collects problems with their positions while a file is checked.
struct Problems<'a> {
    file: &'a str,
    text: &'a str,
    out: &'a mut Vec<RuleProblem>,
}

impl Problems<'_> {
    fn at(&mut self, offset: usize, message: impl Into<String>) {
        let line = self.text[..offset.min(self.text.len())].matches('\n').count() + 1;
        self.out.push(RuleProblem { file: self.file.to_string(), line, message: message.into() });
    }
}

fn parse_file<T: serde::de::DeserializeOwned>(file: &str, text: &str, out: &mut Vec<RuleProblem>) -> Option<T> {
    match toml::from_str::<T>(text) {
        Ok(v) => Some(v),
        Err(e) => {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            let message = e.message().trim().to_string();
            Problems { file, text, out }.at(offset, message);
            None
        }
    }
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
        let mut problems = Vec::new();
        let text_of = |name: &str| sources.iter().find(|(n, _)| *n == name).map(|(_, t)| *t);
        let missing = |name: &str, problems: &mut Vec<RuleProblem>| {
            problems.push(RuleProblem { file: name.to_string(), line: 0, message: "file is missing".into() });
        };

        let campaign_text = text_of("campaign.toml");
        let schools_text = text_of("schools.toml");
        let categories_text = text_of("categories.toml");
        let titles_text = text_of("titles.toml");
        for (name, t) in [
            ("campaign.toml", campaign_text),
            ("schools.toml", schools_text),
            ("categories.toml", categories_text),
            ("titles.toml", titles_text),
        ] {
            if t.is_none() {
                missing(name, &mut problems);
            }
        }

        let campaign: Option<CampaignFile> = campaign_text.and_then(|t| parse_file("campaign.toml", t, &mut problems));
        let schools: Option<SchoolsFile> = schools_text.and_then(|t| parse_file("schools.toml", t, &mut problems));
        let categories: Option<CategoriesFile> =
            categories_text.and_then(|t| parse_file("categories.toml", t, &mut problems));
        let titles: Option<TitlesFile> = titles_text.and_then(|t| parse_file("titles.toml", t, &mut problems));

        // ---- schools
        let mut school_list = Vec::new();
        let mut school_index: HashMap<String, usize> = HashMap::new();
        if let (Some(file), Some(text)) = (schools, schools_text) {
            let mut p = Problems { file: "schools.toml", text, out: &mut problems };
            for entry in file.school {
                let at = entry.span().start;
                let s = entry.into_inner();
                if s.name.trim().is_empty() {
                    p.at(at, "school without a name");
                    continue;
                }
                if !LEVELS.contains(&s.level.as_str()) {
                    p.at(at, format!("school {}: level `{}` is not one of {}", s.name, s.level, LEVELS.join(", ")));
                }
                let idx = school_list.len();
                for n in std::iter::once(&s.name).chain(s.aliases.iter()) {
                    let k = school_key(n);
                    if k.is_empty() {
                        p.at(at, format!("school {}: empty alias", s.name));
                        continue;
                    }
                    if let Some(&other) = school_index.get(&k) {
                        if other != idx {
                            let other_name: &School = &school_list[other];
                            p.at(
                                at,
                                format!("school {}: name or alias `{n}` is also used by {}", s.name, other_name.name),
                            );
                        }
                        continue;
                    }
                    school_index.insert(k, idx);
                }
                school_list.push(School { name: s.name, aliases: s.aliases, level: s.level, flags: s.flags });
            }
            if school_list.is_empty() {
                p.at(0, "the roster has no school");
            }
        }

        // ---- categories
        let mut category_list = Vec::new();
        let mut category_index: HashMap<String, usize> = HashMap::new();
        if let (Some(file), Some(text)) = (categories, categories_text) {
            let mut p = Problems { file: "categories.toml", text, out: &mut problems };
            for entry in file.category {
                let at = entry.span().start;
                let c = entry.into_inner();
                let idx = category_list.len();
                for n in std::iter::once(&c.name).chain(c.aliases.iter()) {
                    let k = key(n);
                    if k.is_empty() {
                        p.at(at, format!("category {}: empty name or alias", c.name));
                        continue;
                    }
                    if let Some(&other) = category_index.get(&k) {
                        if other != idx {
                            let other_name: &Category = &category_list[other];
                            p.at(at, format!("category {}: `{n}` is also used by {}", c.name, other_name.name));
                        }
                        continue;
                    }
                    category_index.insert(k, idx);
                }
                category_list.push(Category { name: c.name, aliases: c.aliases });
            }
        }

        // ---- titles
        let mut title_index = HashMap::new();
        let mut non_titles = Vec::new();
        if let (Some(file), Some(text)) = (titles, titles_text) {
            let mut p = Problems { file: "titles.toml", text, out: &mut problems };
            for entry in file.title {
                let at = entry.span().start;
                let t = entry.into_inner();
                if !TITLE_LEVELS.contains(&t.level.as_str()) {
                    p.at(
                        at,
                        format!("title {}: level `{}` is not one of {}", t.name, t.level, TITLE_LEVELS.join(", ")),
                    );
                    continue;
                }
                let k = key(&t.name);
                match title_index.get(&k) {
                    Some(level) if level != &t.level => {
                        p.at(at, format!("title {} is listed twice with different levels", t.name));
                    }
                    _ => {
                        title_index.insert(k, t.level);
                    }
                }
            }
            for entry in file.non_title {
                let at = entry.span().start;
                let t = entry.into_inner();
                let k = key(&t.term);
                if k.is_empty() {
                    p.at(at, "non_title without a term");
                }
                non_titles.push(k);
            }
        }

        // ---- templates
        let mut templates = BTreeMap::new();
        for name in TEMPLATES {
            let file = format!("templates/{name}.txt");
            match text_of(&file) {
                None => missing(&file, &mut problems),
                Some(t) => {
                    let mut env = minijinja::Environment::new();
                    if let Err(e) = env.add_template_owned(file.clone(), t.to_string()) {
                        problems.push(RuleProblem {
                            file: file.clone(),
                            line: e.line().unwrap_or(0),
                            message: e.to_string(),
                        });
                    }
                    templates.insert(name.to_string(), t.to_string());
                }
            }
        }

        // ---- campaign
        let mut built = None;
        if let (Some(file), Some(text)) = (campaign, campaign_text) {
            let mut p = Problems { file: "campaign.toml", text, out: &mut problems };
            let tz = match file.campaign.timezone.get_ref().parse::<chrono_tz::Tz>() {
                Ok(tz) => tz,
                Err(_) => {
                    p.at(
                        file.campaign.timezone.span().start,
                        format!("unknown time zone `{}`", file.campaign.timezone.get_ref()),
                    );
                    chrono_tz::Asia::Shanghai
                }
            };
            let mut forms = BTreeMap::new();
            for (id, spanned) in file.form {
                let at = spanned.span().start;
                let f = spanned.into_inner();
                let mut labels = HashMap::new();
                for (field, names) in &f.labels {
                    for n in names {
                        if let Some(prev) = labels.insert(key(n), field.clone())
                            && &prev != field
                        {
                            p.at(at, format!("form {id}: label `{n}` is given to both {prev} and {field}"));
                        }
                    }
                }
                for r in &f.required {
                    if !f.labels.contains_key(r) {
                        p.at(at, format!("form {id}: required field `{r}` has no labels"));
                    }
                }
                if f.markers.is_empty() {
                    p.at(at, format!("form {id}: no markers"));
                }
                forms.insert(
                    id.clone(),
                    FormRule { id, title: f.title, markers: f.markers, required: f.required, labels },
                );
            }
            let mut kinds = Vec::new();
            let mut seen = HashMap::new();
            for spanned in file.kinds {
                let at = spanned.span().start;
                let k = spanned.into_inner();
                if seen.insert(k.id.clone(), ()).is_some() {
                    p.at(at, format!("kind {} is defined twice", k.id));
                }
                if k.keywords.is_empty() {
                    p.at(at, format!("kind {}: no keywords", k.id));
                }
                let mut parts = Vec::new();
                for s in &k.subject_parts {
                    match Part::parse(s) {
                        Some(part) => parts.push(part),
                        None => p.at(
                            at,
                            format!("kind {}: unknown subject part `{s}` (school, expert_name, category)", k.id),
                        ),
                    }
                }
                let mut requires = Vec::new();
                for s in &k.requires {
                    match s.as_str() {
                        "form" => requires.push(Requirement::Form),
                        "scan" => requires.push(Requirement::Scan),
                        "report" => requires.push(Requirement::Report),
                        _ => p.at(at, format!("kind {}: unknown requirement `{s}` (form, scan, report)", k.id)),
                    }
                }
                if let Some(form) = &k.form
                    && !forms.contains_key(form)
                {
                    p.at(at, format!("kind {}: form `{form}` is not defined under [form]", k.id));
                }
                if requires.contains(&Requirement::Form) && k.form.is_none() {
                    p.at(at, format!("kind {}: requires a form but names none", k.id));
                }
                let deadline = match DateTime::parse_from_rfc3339(&k.deadline) {
                    Ok(d) => d,
                    Err(e) => {
                        p.at(at, format!("kind {}: deadline `{}` is not RFC 3339 ({e})", k.id, k.deadline));
                        continue;
                    }
                };
                kinds.push(KindRule {
                    id: k.id,
                    name: k.name,
                    convention: k.convention,
                    keywords: k.keywords.iter().map(|w| fold(w)).collect(),
                    subject_parts: parts,
                    requires,
                    form: k.form,
                    deadline,
                });
            }
            if kinds.is_empty() {
                p.at(0, "no [[kind]] is defined");
            }
            for level in &file.campaign.senior_levels {
                if !TITLE_LEVELS.contains(&level.as_str()) {
                    p.at(0, format!("senior_levels: `{level}` is not a title level"));
                }
            }
            let s = file.subject;
            let a = file.automatic;
            built = Some((
                file.campaign.name,
                file.campaign.office,
                tz,
                file.campaign.expert_max_age,
                file.campaign.senior_levels,
                kinds,
                forms,
                SubjectRules {
                    prefixes: s.prefixes.iter().map(|x| key(x)).collect(),
                    separators: s.separators.chars().collect(),
                    noise: s.noise.iter().map(|x| key(x)).collect(),
                    question_words: s.question_words.iter().map(|x| fold(x)).collect(),
                    institution_suffixes: s.institution_suffixes,
                    own_reply_prefixes: s.own_reply_prefixes.iter().map(|x| fold(x)).collect(),
                    department_suffixes: s.department_suffixes,
                    honorifics: s.honorifics,
                    school_name_suffixes: s.school_name_suffixes,
                    school_name_infixes: s.school_name_infixes,
                    note_words: s.note_words.iter().map(|x| fold(x)).collect(),
                    public_mail_domains: s.public_mail_domains.iter().map(|x| x.to_ascii_lowercase()).collect(),
                },
                AutomaticRules {
                    senders: a.senders.iter().map(|x| x.to_lowercase()).collect(),
                    sender_names: a.sender_names.iter().map(|x| x.to_lowercase()).collect(),
                    subject_prefixes: a.subject_prefixes.iter().map(|x| fold(x).to_lowercase()).collect(),
                    precedence: a.precedence.iter().map(|x| x.to_lowercase()).collect(),
                    own_header: a.own_header,
                },
                LinkRules {
                    patterns: file.links.patterns.iter().map(|x| x.to_lowercase()).collect(),
                    words: file.links.words,
                },
                AttachmentRules {
                    min_scan_side: file.attachments.min_scan_side,
                    decoration_max_bytes: file.attachments.decoration_max_bytes,
                    min_report_chars: file.attachments.min_report_chars,
                },
            ));
        }

        if !problems.is_empty() {
            return Err(problems);
        }
        let Some((
            campaign_name,
            office,
            timezone,
            expert_max_age,
            senior_levels,
            kinds,
            forms,
            subject,
            automatic,
            links,
            attachments,
        )) = built
        else {
            return Err(problems);
        };
        Ok(Rules {
            campaign_name,
            office,
            timezone,
            expert_max_age,
            senior_levels,
            kinds,
            forms,
            subject,
            automatic,
            links,
            attachments,
            schools: school_list,
            categories: category_list,
            templates,
            school_index,
            category_index,
            title_index,
            non_titles,
        })
    }

    /// The kind with this id.
    pub fn kind(&self, id: &str) -> Option<&KindRule> {
        self.kinds.iter().find(|k| k.id == id)
    }

    /// The roster school a text names exactly (official name, alias, or an obvious variant).
    pub fn school(&self, text: &str) -> Option<&School> {
        self.school_index.get(&school_key(text)).map(|&i| &self.schools[i])
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
        TITLE_LEVELS.iter().find(|level| k.contains(*level)).copied()
    }
}

/// Key for school names: folded, no spaces, without a leading 云南省/云南 province prefix
/// where the rest is still a name (`云南省昆明学院` = `昆明学院`).
pub fn school_key(s: &str) -> String {
    let k = key(s);
    k.strip_prefix("云南省").map(str::to_string).unwrap_or(k)
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
}
