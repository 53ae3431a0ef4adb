//! Reading a subject: tolerant about form, strict about meaning (spec §2).
//!
//! 1. fold full-width forms, strip reply/forward prefixes (repeatedly) and brackets;
//! 2. find the kind by keyword and cut it out;
//! 3. split on any separator; find the school (roster name or alias, with or without the
//!    province prefix) and the category (name or alias) — whole parts first, then inside
//!    parts for names long enough not to match by accident;
//! 4. what is left, minus noise words, is the expert's name (a person's name) or an
//!    unknown school (it ends like an institution) or an unknown category (ends in 类).

use crate::rules::Rules;
use crate::text::{fold, is_cjk, key, looks_like_person_name};

/// What a subject names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectReading {
    /// The subject without prefixes, folded.
    pub cleaned: String,
    /// Kind id found by keyword.
    pub kind: Option<String>,
    /// Canonical roster name.
    pub school: Option<String>,
    /// A part that looks like a school but is on no roster and does not read as a school's
    /// name (`unknown_school`).
    pub unknown_school: Option<String>,
    /// A school's name that is on no roster (`…职业学校`): a real submission (spec §8).
    pub off_roster_school: Option<String>,
    /// Canonical category name.
    pub category: Option<String>,
    /// A part that looks like a category but is in no catalogue.
    pub unknown_category: Option<String>,
    pub expert_name: Option<String>,
    /// The subject asks something (咨询, 请问, ？ …).
    pub is_question: bool,
    /// The subject answers one of our own replies (`Re: 回执：…`).
    pub answers_our_reply: bool,
}

/// Strips reply/forward prefixes (`Re:`, `回复：`, `Fw:` …), repeatedly; returns the rest and
/// the prefixes stripped (as rule keys).
pub fn strip_prefixes(subject: &str, rules: &Rules) -> (String, Vec<String>) {
    let mut s = fold(subject).trim().to_string();
    let mut stripped = Vec::new();
    loop {
        let before = s.clone();
        for p in &rules.subject.prefixes {
            let lower = s.to_lowercase();
            if let Some(rest) = lower.strip_prefix(p.as_str()) {
                // Allow "Re[2]:" and spaces before the colon.
                let rest_trim =
                    rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '[' || c == ']' || c == ' ');
                if let Some(after) = rest_trim.strip_prefix(':') {
                    let cut = s.len() - after.len();
                    s = s[cut..].trim().to_string();
                    stripped.push(p.clone());
                }
            }
        }
        if s == before {
            break;
        }
    }
    (s, stripped)
}

/// Subjects are read up to this many characters.
pub const MAX_SUBJECT_CHARS: usize = 300;

const BRACKETS: &[char] = &[
    '【', '】', '[', ']', '(', ')', '〔', '〕', '《', '》', '<', '>', '“', '”', '"', '\'', '‘', '’', '「', '」', '『',
    '』', '{', '}',
];

/// Reads a subject: prefixes, then the kind by keyword, then the school and the 专业大类
/// (whole parts first, then inside parts), then a person's name among what is left.
pub fn read_subject(subject: &str, rules: &Rules) -> SubjectReading {
    // No real subject is longer; a hostile one must not make reading quadratic.
    let subject: String = subject.chars().take(MAX_SUBJECT_CHARS).collect();
    let (cleaned, stripped) = strip_prefixes(&subject, rules);
    let mut out = SubjectReading { cleaned: cleaned.clone(), ..SubjectReading::default() };
    out.answers_our_reply = stripped.iter().any(|p| rules.subject.own_reply_prefixes.iter().any(|o| key(o) == *p));
    out.is_question = rules.subject.question_words.iter().any(|w| cleaned.contains(w.as_str()));

    // Bracketed notes go first.
    let rest = take_kind(strip_notes(&cleaned, rules).replace(BRACKETS, " "), &mut out, rules);
    let mut parts: Vec<String> = rest
        .split(|c: char| c.is_whitespace() || rules.subject.separators.contains(&c))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    let schools = rules.school_names().map(|(k, s)| (k, s.name.as_str()));
    out.school = take_named(&mut parts, |p| rules.school(p).map(|s| s.name.clone()), schools, rules);
    let categories = rules.category_names().map(|(k, c)| (k, c.name.as_str()));
    out.category = take_named(&mut parts, |p| rules.category(p).map(|c| c.name.clone()), categories, rules);
    read_rest(&parts, &mut out, rules);
    out
}

/// The kind by keyword (the first kind, in the rules' order, whose keyword the subject
/// contains); the keyword becomes a separator in what is returned.
fn take_kind(rest: String, out: &mut SubjectReading, rules: &Rules) -> String {
    for kind in &rules.kinds {
        for kw in &kind.keywords {
            let squeezed: String = rest.chars().filter(|c| !c.is_whitespace()).collect();
            if rest.contains(kw.as_str()) {
                out.kind = Some(kind.id.clone());
                return rest.replacen(kw.as_str(), " ", 1);
            } else if squeezed.contains(kw.as_str()) {
                out.kind = Some(kind.id.clone());
                return squeezed.replacen(kw.as_str(), " ", 1);
            }
        }
    }
    rest
}

/// A roster school or a category: a whole part that names one (noise stripped) is taken out
/// of `parts`; else the longest name found inside a part, the part split around it.
fn take_named<'a>(
    parts: &mut Vec<String>,
    exact: impl Fn(&str) -> Option<String>,
    names: impl Iterator<Item = (&'a str, &'a str)>,
    rules: &Rules,
) -> Option<String> {
    if let Some(i) = parts.iter().position(|p| exact(&strip_noise(p, rules)).is_some()) {
        let found = exact(&strip_noise(&parts[i], rules));
        parts.remove(i);
        return found;
    }
    let (i, name, pieces) = find_inside(parts, names, rules)?;
    parts.splice(i..=i, pieces);
    Some(name)
}

/// An institution off the roster: a school's name (`school_not_on_roster`) or not
/// (`unknown_school`) — unless a school was found already.
fn note_institution(out: &mut SubjectReading, name: String, rules: &Rules) {
    if out.school.is_some() || out.unknown_school.is_some() || out.off_roster_school.is_some() {
        return;
    }
    if reads_as_school(&name, rules) {
        out.off_roster_school = Some(name);
    } else {
        out.unknown_school = Some(name);
    }
}

/// What is left once kind, school and category are taken: institutions off the roster,
/// unknown categories, and people's names (the convention puts the expert's last).
fn read_rest(parts: &[String], out: &mut SubjectReading, rules: &Rules) {
    let mut names = Vec::new();
    for part in parts {
        let p = strip_noise(part, rules);
        if p.chars().count() < 2 || rules.subject.noise.contains(&key(&p)) || rules.is_title_word(&p) {
            continue;
        }
        if p.chars().any(|c| c.is_ascii_digit()) && institution(&p, rules).is_none() {
            continue;
        }
        // Noise words (`学校`, the province) are stripped for matching; an institution's own
        // name keeps them (`云南省玉溪工业财贸学校`).
        if let Some(school) = institution(&p, rules).or_else(|| institution(part.trim(), rules)) {
            note_institution(out, school, rules);
            continue;
        }
        if p.ends_with('类') {
            if out.category.is_none() && out.unknown_category.is_none() {
                out.unknown_category = Some(p);
            }
            continue;
        }
        let p = strip_honorific(&p, rules);
        if looks_like_person_name(&p) && p.chars().count() <= 4 {
            names.push(p);
        } else if p.chars().filter(|c| is_cjk(*c)).count() >= 5
            && out.school.is_none()
            && out.unknown_school.is_none()
            && out.off_roster_school.is_none()
        {
            // A long name that is no person's: an institution written without its ending.
            note_institution(out, p, rules);
        } else if looks_like_person_name(&p) {
            names.push(p);
        }
    }
    out.expert_name = names.pop();
}

/// Whether an off-roster institution's name reads as a school's (spec §8): `…学校`,
/// `…学院`, `…职业…`, as `rules/` lists them.
pub fn reads_as_school(name: &str, rules: &Rules) -> bool {
    let s = &rules.subject;
    s.school_name_suffixes.iter().any(|x| name.ends_with(x.as_str()))
        || s.school_name_infixes.iter().any(|x| name.contains(x.as_str()))
}

/// Removes bracketed notes that follow a part (`张伟（更新）`, `张伟(补盖章扫描件)`,
/// `张伟【补发】`): a group is a note when something other than a separator stands before it
/// and it holds one of `rules/`'s note words. A group at the start (`【专家推荐】…`) or one
/// holding just a name is kept for the reader.
fn strip_notes(subject: &str, rules: &Rules) -> String {
    const PAIRS: &[(char, char)] = &[('(', ')'), ('[', ']'), ('【', '】'), ('〔', '〕'), ('{', '}')];
    let chars: Vec<char> = subject.chars().collect();
    let mut out = String::with_capacity(subject.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let close = PAIRS.iter().find(|(o, _)| *o == c).map(|(_, cl)| *cl);
        let before = out.trim_end().chars().last();
        let after_part = before.is_some_and(|b| !rules.subject.separators.contains(&b) && !BRACKETS.contains(&b));
        if let (Some(close), true) = (close, after_part)
            && let Some(len) = chars[i + 1..].iter().position(|x| *x == close)
        {
            let inner: String = chars[i + 1..i + 1 + len].iter().collect();
            if rules.subject.note_words.iter().any(|w| inner.contains(w.as_str())) {
                out.push(' ');
                i += len + 2;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// `张三教授`, `李四老师` → the name without the title or honorific after it.
fn strip_honorific(p: &str, rules: &Rules) -> String {
    let chars: Vec<char> = p.chars().collect();
    for n in (1..chars.len().saturating_sub(1)).rev() {
        let (name, suffix): (String, String) =
            (chars[..chars.len() - n].iter().collect(), chars[chars.len() - n..].iter().collect());
        if rules.subject.honorifics.contains(&suffix) || rules.is_title_word(&suffix) {
            return name;
        }
    }
    p.to_string()
}

/// Strips noise words (≥2 characters) from both ends of a part, repeatedly.
fn strip_noise(part: &str, rules: &Rules) -> String {
    let mut p = part.trim().to_string();
    loop {
        let before = p.clone();
        // The key of `p`, recomputed only when `p` changes (this runs for every part of
        // every subject, against every noise word).
        let mut k = key(&p);
        for n in &rules.subject.noise {
            let n_chars = n.chars().count();
            if n_chars < 2 {
                continue;
            }
            let longer = k.chars().count() > n_chars + 1;
            let stripped = if longer && k.starts_with(n.as_str()) {
                Some(k[n.len()..].to_string())
            } else if longer && k.ends_with(n.as_str()) {
                Some(k[..k.len() - n.len()].to_string())
            } else {
                None
            };
            if let Some(s) = stripped {
                p = s;
                k = key(&p);
            }
        }
        if p == before {
            break;
        }
    }
    p
}

/// The institution a part names, if it ends like one (`…学院`, `…学校`, `…职院`).
fn institution(part: &str, rules: &Rules) -> Option<String> {
    let trimmed: String = part.trim_end_matches(|c: char| !is_cjk(c)).to_string();
    rules.subject.institution_suffixes.iter().find(|s| trimmed.ends_with(s.as_str())).map(|_| trimmed.clone()).or_else(
        || {
            // "…学院1+X证书…": the suffix inside a longer part.
            rules.subject.institution_suffixes.iter().find_map(|s| {
                let pos = part.find(s.as_str())?;
                let name = &part[..pos + s.len()];
                (name.chars().filter(|c| is_cjk(*c)).count() >= 4).then(|| strip_noise(name, rules))
            })
        },
    )
}

/// Finds the longest name (≥4 characters, so short aliases never match by accident) inside
/// a part; returns the part's index, the canonical name, and the pieces left around it.
fn find_inside<'a>(
    parts: &[String],
    names: impl Iterator<Item = (&'a str, &'a str)>,
    rules: &Rules,
) -> Option<(usize, String, Vec<String>)> {
    let names: Vec<(&str, &str)> = names.filter(|(k, _)| k.chars().count() >= 4).collect();
    let mut best: Option<(usize, usize, &str, &str)> = None; // (part, len, key, canonical)
    for (i, part) in parts.iter().enumerate() {
        let pk = rules.school_key(part);
        let pk_full = key(part);
        for (k, canonical) in &names {
            if (pk.contains(k) || pk_full.contains(k)) && best.is_none_or(|b| k.len() > b.1) {
                best = Some((i, k.len(), k, canonical));
            }
        }
    }
    let (i, _, k, canonical) = best?;
    let pk = key(&parts[i]);
    let pos = pk.find(k)?;
    let before = pk[..pos].to_string();
    let province = rules.province_prefix.as_str();
    let before = if province.is_empty() { before } else { before.trim_end_matches(province).to_string() };
    let after = pk[pos + k.len()..].to_string();
    // "昆明理工大学信息学院" is a department of 昆明理工大学 (the department is dropped), but
    // "昆明理工大学附属中学" is another institution: then the school is not on the roster.
    let department = rules.subject.department_suffixes.iter().any(|s| after.ends_with(s.as_str()));
    if department {
        let pieces = [before].into_iter().filter(|p| !p.is_empty()).collect();
        return Some((i, canonical.to_string(), pieces));
    }
    if institution(&after, rules).is_some_and(|inst| inst == after) {
        return None;
    }
    let pieces = [before, after].into_iter().filter(|p| !p.is_empty()).collect();
    Some((i, canonical.to_string(), pieces))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> SubjectReading {
        read_subject(s, &Rules::embedded())
    }

    #[test]
    fn the_convention() {
        let r = read("专家推荐+云南交通职业技术学院+张伟");
        assert_eq!(r.kind.as_deref(), Some("expert_recommendation"));
        assert_eq!(r.school.as_deref(), Some("云南交通职业技术学院"));
        assert_eq!(r.expert_name.as_deref(), Some("张伟"));
    }

    #[test]
    fn tolerant_about_form() {
        for s in [
            "专家推荐＋昆明学院＋张伟",
            "回复：RE: 专家推荐+昆明学院+张伟",
            "Fwd: 【专家推荐】昆明学院-张伟",
            "专家推荐 昆明学院 张伟",
            "专家推荐+张伟+昆明学院",
            "专家推荐_昆院_张伟",
            "专家推荐昆明学院张伟",
            "专家推荐+云南省昆明学院+张伟",
            "专家推荐+昆明学院+张伟（附件2、盖章扫描件）",
            "专家推荐+昆明学院+张伟教授",
            "专家推荐+昆明学院+张伟（副教授）",
            "专家推荐+昆明学院+张伟老师+13800000000",
            "专家推荐+昆明学院+张伟+高级工程师",
        ] {
            let r = read(s);
            assert_eq!(r.kind.as_deref(), Some("expert_recommendation"), "{s}");
            assert_eq!(r.school.as_deref(), Some("昆明学院"), "{s}");
            assert_eq!(r.expert_name.as_deref(), Some("张伟"), "{s}");
        }
    }

    #[test]
    fn bracketed_notes_are_not_names() {
        for s in [
            "专家推荐+昆明学院+张伟（更新）",
            "专家推荐+昆明学院+张伟(补盖章扫描件)",
            "专家推荐+昆明学院+张伟【补发】",
            "Re: 请更正：专家推荐+昆明学院+张伟 (补发盖章扫描件)",
            "专家推荐+昆明学院（更新）+张伟",
        ] {
            let r = read(s);
            assert_eq!(r.school.as_deref(), Some("昆明学院"), "{s}");
            assert_eq!(r.expert_name.as_deref(), Some("张伟"), "{s}");
        }
        // A name in brackets is still a name.
        assert_eq!(read("专家推荐-昆明学院（张伟）").expert_name.as_deref(), Some("张伟"));
    }

    #[test]
    fn longest_match_wins() {
        let r = read("专家推荐+昆明理工大学津桥学院+李四");
        assert_eq!(r.school.as_deref(), Some("昆明理工大学津桥学院"));
        let r = read("专家推荐+昆明理工大学信息工程学院+李四");
        assert_eq!(r.school.as_deref(), Some("昆明理工大学"));
        assert_eq!(r.expert_name.as_deref(), Some("李四"));
        let r = read("专家推荐+昆明理工大学附属中学+李四");
        assert_eq!(r.school, None);
        assert_eq!(r.unknown_school.as_deref(), Some("昆明理工大学附属中学"));
    }

    #[test]
    fn lead_subjects() {
        let r = read("牵头院校上报+电子信息大类+云南机电职业技术学院");
        assert_eq!(r.kind.as_deref(), Some("lead_institution"));
        assert_eq!(r.category.as_deref(), Some("电子与信息大类"));
        assert_eq!(r.school.as_deref(), Some("云南机电职业技术学院"));
        let r = read("牵头院校上报+智能制造大类+云南旅游职业学院");
        assert_eq!(r.category, None);
        assert_eq!(r.unknown_category.as_deref(), Some("智能制造大类"));
        assert_eq!(r.school.as_deref(), Some("云南旅游职业学院"));
        let r = read("牵头院校上报+旅游大类+云南旅游职业学院");
        assert_eq!(r.category.as_deref(), Some("旅游大类"));
    }

    #[test]
    fn unknown_and_missing_parts() {
        let r = read("专家推荐+红河职业技术学院");
        assert_eq!(r.school.as_deref(), Some("红河职业技术学院"));
        assert_eq!(r.expert_name, None);
        let r = read("专家推荐+某某职业学院+张三");
        assert_eq!(r.school, None);
        assert_eq!(r.unknown_school, None);
        assert_eq!(r.off_roster_school.as_deref(), Some("某某职业学院"));
        assert_eq!(r.expert_name.as_deref(), Some("张三"));
        let r = read("专家推荐+云南省玉溪工业财贸学校+李明");
        assert_eq!(r.off_roster_school.as_deref(), Some("云南省玉溪工业财贸学校"));
        assert_eq!(r.expert_name.as_deref(), Some("李明"));
        let r = read("专家推荐+某某信息中心+张三");
        assert_eq!(r.off_roster_school, None);
        assert_eq!(r.unknown_school.as_deref(), Some("某某信息中心"));
    }

    #[test]
    fn summaries_and_questions() {
        let r = read("关于报送昆明冶金高等专科学校1+X证书试点工作总结报告的函");
        assert_eq!(r.kind.as_deref(), Some("pilot_summary"));
        assert_eq!(r.school.as_deref(), Some("昆明冶金高等专科学校"));
        let r = read("云南工商学院“1+X”证书制度试点工作总结");
        assert_eq!(r.school.as_deref(), Some("云南工商学院"));
        assert!(read("咨询：专家推荐表在哪里下载？").is_question);
        assert!(!read("专家推荐+昆明学院+张伟").is_question);
        assert!(read("Re: 回执：专家推荐+昆明学院+张伟").answers_our_reply);
        assert!(!read("Re: 专家推荐+昆明学院+张伟").answers_our_reply);
    }
}
