//! Plain-language reasons for a verdict: what the office sees and what a correction request
//! tells the school to fix. The sentences are the campaign's (`[reasons]` in the rules); this
//! module supplies what fills their placeholders.

use crate::classify::SubjectReading;
use crate::rules::{KindRule, Rules};
use crate::verdict::{ErrorCode, Verdict, WarningCode};

/// One sentence per error and warning, in the order given.
pub fn explain(
    kind: &KindRule,
    errors: &[ErrorCode],
    warnings: &[WarningCode],
    reading: &SubjectReading,
    v: &Verdict,
    rules: &Rules,
) -> Vec<String> {
    let form = kind.form.as_deref().and_then(|f| rules.forms.get(f)).map(|f| f.title.as_str()).unwrap_or("申请表");
    let files = v
        .attachments
        .iter()
        .filter_map(|a| a.problem.as_ref().map(|p| format!("{}（{p}）", a.filename)))
        .collect::<Vec<_>>()
        .join("；");
    let form_names = v.experts.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join("、");
    let field = |name: &str| v.fields.get(name).map(String::as_str).unwrap_or("");
    let vars: [(&str, &dyn std::fmt::Display); 10] = [
        ("convention", &kind.convention),
        ("kind", &kind.name),
        ("unknown_school", &reading.unknown_school.as_deref().unwrap_or("")),
        ("unknown_category", &reading.unknown_category.as_deref().unwrap_or("")),
        ("categories", &rules.categories.len()),
        ("form", &form),
        ("files", &files),
        ("school", &field("school")),
        ("expert_name", &field("expert_name")),
        ("form_names", &form_names),
    ];
    let mut out: Vec<String> = errors.iter().map(|e| rules.error_sentence(*e, &vars)).collect();
    out.extend(warnings.iter().map(|w| warning_text(*w, rules)));
    out
}

/// The sentence for one warning.
pub fn warning_text(w: WarningCode, rules: &Rules) -> String {
    rules.warning_sentence(w)
}
