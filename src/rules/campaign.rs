//! Building `campaign.toml`: the campaign itself, its kinds, forms and vocabularies.

use std::collections::{BTreeMap, HashMap};

use chrono::DateTime;
use toml::Spanned;

use super::error::Problems;
use super::raw::{CampaignFile, RawAutomatic, RawForm, RawKind, RawRegister, RawReply, RawSubject};
use super::{
    AttachmentRules, AutomaticRules, FormRule, KindRule, LinkRules, Part, RegisterRules, ReplyRules, Requirement,
    SchoolRole, SubjectRules,
};
use crate::text::{fold, key};

/// Everything `campaign.toml` says, checked.
pub(super) struct Campaign {
    pub(super) name: String,
    pub(super) office: String,
    pub(super) timezone: chrono_tz::Tz,
    pub(super) expert_max_age: u32,
    pub(super) senior_levels: Vec<String>,
    pub(super) province_prefix: String,
    pub(super) register: RegisterRules,
    pub(super) reply: ReplyRules,
    pub(super) reasons: super::ReasonRules,
    pub(super) kinds: Vec<KindRule>,
    pub(super) forms: BTreeMap<String, FormRule>,
    pub(super) subject: SubjectRules,
    pub(super) automatic: AutomaticRules,
    pub(super) links: LinkRules,
    pub(super) attachments: AttachmentRules,
}

/// Checks `campaign.toml` against the title levels `titles.toml` defines (`None`: that file
/// could not be read, which is reported on its own).
pub(super) fn build(file: CampaignFile, title_levels: Option<&[String]>, p: &mut Problems<'_>) -> Campaign {
    let timezone = match file.campaign.timezone.get_ref().parse::<chrono_tz::Tz>() {
        Ok(tz) => tz,
        Err(_) => {
            let at = file.campaign.timezone.span().start;
            p.at(at, format!("unknown time zone `{}`", file.campaign.timezone.get_ref()));
            chrono_tz::Asia::Shanghai
        }
    };
    let forms = forms(file.form, p);
    let kinds = kinds(file.kinds, &forms, p);
    for level in &file.campaign.senior_levels {
        if title_levels.is_some_and(|levels| !levels.contains(level)) {
            p.at(0, format!("senior_levels: `{level}` is not a title level"));
        }
    }
    let subject = subject_rules(file.subject);
    let reply = reply_rules(file.reply, &subject, p);
    Campaign {
        name: file.campaign.name,
        office: file.campaign.office,
        timezone,
        expert_max_age: file.campaign.expert_max_age,
        senior_levels: file.campaign.senior_levels,
        province_prefix: key(&file.campaign.province_prefix),
        register: register_rules(file.register, p),
        reply,
        reasons: super::reasons::build(file.reasons, p),
        kinds,
        forms,
        subject,
        automatic: automatic_rules(file.automatic),
        links: LinkRules {
            patterns: file.links.patterns.iter().map(|x| x.to_lowercase()).collect(),
            words: file.links.words,
        },
        attachments: AttachmentRules {
            min_scan_side: file.attachments.min_scan_side,
            decoration_max_bytes: file.attachments.decoration_max_bytes,
            min_report_chars: file.attachments.min_report_chars,
        },
    }
}

/// The `[form.*]` tables: every label given to one field only, every required field labelled.
fn forms(raw: BTreeMap<String, Spanned<RawForm>>, p: &mut Problems<'_>) -> BTreeMap<String, FormRule> {
    let mut forms = BTreeMap::new();
    for (id, spanned) in raw {
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
        forms.insert(id.clone(), FormRule { id, title: f.title, markers: f.markers, required: f.required, labels });
    }
    forms
}

/// The `[[kind]]` entries, in file order; at least one.
fn kinds(raw: Vec<Spanned<RawKind>>, forms: &BTreeMap<String, FormRule>, p: &mut Problems<'_>) -> Vec<KindRule> {
    let mut kinds = Vec::new();
    let mut seen = HashMap::new();
    for spanned in raw {
        let at = spanned.span().start;
        let k = spanned.into_inner();
        if seen.insert(k.id.clone(), ()).is_some() {
            p.at(at, format!("kind {} is defined twice", k.id));
        }
        if let Some(kind) = kind(k, forms, at, p) {
            kinds.push(kind);
        }
    }
    if kinds.is_empty() {
        p.at(0, "no [[kind]] is defined");
    }
    kinds
}

/// One kind, or `None` when its deadline cannot be read (its other problems are recorded too).
fn kind(k: RawKind, forms: &BTreeMap<String, FormRule>, at: usize, p: &mut Problems<'_>) -> Option<KindRule> {
    if k.keywords.is_empty() {
        p.at(at, format!("kind {}: no keywords", k.id));
    }
    let mut parts = Vec::new();
    for s in &k.subject_parts {
        match Part::parse(s) {
            Some(part) => parts.push(part),
            None => p.at(at, format!("kind {}: unknown subject part `{s}` (school, expert_name, category)", k.id)),
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
    let school_role = k.school_role.as_deref().and_then(|s| school_role(&k.id, s, &parts, at, p));
    let deadline = match DateTime::parse_from_rfc3339(&k.deadline) {
        Ok(d) => d,
        Err(e) => {
            p.at(at, format!("kind {}: deadline `{}` is not RFC 3339 ({e})", k.id, k.deadline));
            return None;
        }
    };
    Some(KindRule {
        id: k.id,
        name: k.name,
        convention: k.convention,
        keywords: k.keywords.iter().map(|w| fold(w)).collect(),
        subject_parts: parts,
        requires,
        form: k.form,
        deadline,
        school_role,
    })
}

/// A kind's `school_role`, which its subject must be able to fill: an expert's name for
/// `experts`, a 专业大类 for `leads`.
fn school_role(id: &str, s: &str, parts: &[Part], at: usize, p: &mut Problems<'_>) -> Option<SchoolRole> {
    let Some(role) = SchoolRole::parse(s) else {
        p.at(at, format!("kind {id}: unknown school_role `{s}` (experts, leads, summary)"));
        return None;
    };
    let needs = match role {
        SchoolRole::Experts => Some(Part::ExpertName),
        SchoolRole::Leads => Some(Part::Category),
        SchoolRole::Summary => None,
    };
    if let Some(part) = needs
        && !parts.contains(&part)
    {
        p.at(at, format!("kind {id}: school_role `{s}` needs `{}` in subject_parts", part.field()));
    }
    Some(role)
}

/// `[register]`: a flagship school is asked for at least as many experts as any other.
fn register_rules(raw: Spanned<RawRegister>, p: &mut Problems<'_>) -> RegisterRules {
    let at = raw.span().start;
    let r = raw.into_inner();
    if r.flagship_experts < r.experts_wanted {
        p.at(
            at,
            format!(
                "register: flagship_experts ({}) is below experts_wanted ({})",
                r.flagship_experts, r.experts_wanted
            ),
        );
    }
    for flag in r.flagship_flags.iter().chain(&r.lead_flags) {
        if flag.trim().is_empty() {
            p.at(at, "register: an empty flag would match every school");
        }
    }
    RegisterRules {
        experts_wanted: r.experts_wanted,
        flagship_flags: r.flagship_flags,
        flagship_experts: r.flagship_experts,
        lead_flags: r.lead_flags,
    }
}

/// `[reply]`: each prefix is one of `[subject] own_reply_prefixes`, so that a school's answer
/// to our reply is recognised as one.
fn reply_rules(raw: Spanned<RawReply>, subject: &SubjectRules, p: &mut Problems<'_>) -> ReplyRules {
    let at = raw.span().start;
    let r = raw.into_inner();
    for (field, prefix) in
        [("acknowledge_prefix", &r.acknowledge_prefix), ("request_correction_prefix", &r.request_correction_prefix)]
    {
        let stem = fold(prefix.trim_end_matches([':', '：', ' ']));
        if stem.is_empty() {
            p.at(at, format!("reply: {field} is empty"));
        } else if !subject.own_reply_prefixes.iter().any(|o| key(o) == key(&stem)) {
            p.at(at, format!("reply: {field} `{prefix}` is not one of [subject] own_reply_prefixes"));
        }
    }
    ReplyRules { acknowledge_prefix: r.acknowledge_prefix, request_correction_prefix: r.request_correction_prefix }
}

/// `[subject]`, with every word folded the way subjects are compared.
fn subject_rules(s: RawSubject) -> SubjectRules {
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
    }
}

/// `[automatic]`, lower-cased for comparison.
fn automatic_rules(a: RawAutomatic) -> AutomaticRules {
    AutomaticRules {
        senders: a.senders.iter().map(|x| x.to_lowercase()).collect(),
        sender_names: a.sender_names.iter().map(|x| x.to_lowercase()).collect(),
        subject_prefixes: a.subject_prefixes.iter().map(|x| fold(x).to_lowercase()).collect(),
        precedence: a.precedence.iter().map(|x| x.to_lowercase()).collect(),
        own_header: a.own_header,
    }
}
