//! The campaign's sentences for each error and warning code (`[reasons]` in
//! `campaign.toml`): checked when the rules load (every code has one, every `{placeholder}`
//! is known), filled in when a verdict is explained.

use std::collections::BTreeMap;
use std::fmt::Display;

use toml::Spanned;

use super::Rules;
use super::error::Problems;
use super::raw::RawReasons;
use crate::verdict::{ErrorCode, WarningCode};

/// Placeholders an error's sentence may use.
pub const ERROR_PLACEHOLDERS: [&str; 11] = [
    "convention",
    "kind",
    "unknown_school",
    "unknown_category",
    "categories",
    "form",
    "files",
    "school",
    "expert_name",
    "form_names",
    "max_age",
];
/// Placeholders a warning's sentence may use (warnings are also explained outside one mail).
pub const WARNING_PLACEHOLDERS: [&str; 1] = ["max_age"];

/// `[reasons]`: one sentence per code.
#[derive(Debug, Clone, Default)]
pub struct ReasonRules {
    pub errors: BTreeMap<ErrorCode, String>,
    pub warnings: BTreeMap<WarningCode, String>,
}

/// The `{name}` placeholders of a sentence.
fn placeholders(sentence: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = sentence;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.push(&after[..close]);
                rest = &after[close + 1..];
            }
            None => {
                out.push(after);
                break;
            }
        }
    }
    out
}

/// Checks one table: every code present, every placeholder allowed.
fn table<C: Ord + Copy>(
    raw: Spanned<BTreeMap<C, Spanned<String>>>,
    all: &[C],
    name: impl Fn(C) -> &'static str,
    allowed: &[&str],
    section: &str,
    p: &mut Problems<'_>,
) -> BTreeMap<C, String> {
    let at = raw.span().start;
    let raw = raw.into_inner();
    for code in all {
        if !raw.contains_key(code) {
            p.at(at, format!("[reasons.{section}] has no sentence for `{}`", name(*code)));
        }
    }
    let mut out = BTreeMap::new();
    for (code, sentence) in raw {
        let at = sentence.span().start;
        let sentence = sentence.into_inner();
        for ph in placeholders(&sentence) {
            if !allowed.contains(&ph) {
                let list = allowed.join("}, {");
                p.at(at, format!("[reasons.{section}] {}: unknown placeholder {{{ph}}} (use {{{list}}})", name(code)));
            }
        }
        out.insert(code, sentence);
    }
    out
}

pub(super) fn build(raw: RawReasons, p: &mut Problems<'_>) -> ReasonRules {
    ReasonRules {
        errors: table(raw.errors, &ErrorCode::ALL, ErrorCode::as_str, &ERROR_PLACEHOLDERS, "errors", p),
        warnings: table(raw.warnings, &WarningCode::ALL, WarningCode::as_str, &WARNING_PLACEHOLDERS, "warnings", p),
    }
}

/// A sentence with its placeholders filled in (`vars` by name; `{max_age}` from the rules).
fn fill(sentence: &str, vars: &[(&str, &dyn Display)], rules: &Rules) -> String {
    let mut out = sentence.to_string();
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), &value.to_string());
    }
    out.replace("{max_age}", &rules.expert_max_age.to_string())
}

impl Rules {
    /// The campaign's sentence for an error, its placeholders filled from `vars`.
    pub fn error_sentence(&self, code: ErrorCode, vars: &[(&str, &dyn Display)]) -> String {
        self.reasons.errors.get(&code).map(|s| fill(s, vars, self)).unwrap_or_else(|| code.as_str().to_string())
    }

    /// The campaign's sentence for a warning.
    pub fn warning_sentence(&self, code: WarningCode) -> String {
        self.reasons.warnings.get(&code).map(|s| fill(s, &[], self)).unwrap_or_else(|| code.as_str().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_and_filled() {
        assert_eq!(placeholders("a{x}b{yy}c{"), ["x", "yy", ""]);
        let r = Rules::embedded();
        let text = r.error_sentence(ErrorCode::SubjectIncomplete, &[("convention", &"A+B")]);
        assert_eq!(text, "邮件主题不完整，请按“A+B”的格式命名邮件主题。");
        assert_eq!(r.warning_sentence(WarningCode::ExpertOverAge), "提示：专家年龄超过 65 周岁。");
    }
}
