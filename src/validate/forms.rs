//! The electronic forms a mail carries: the experts of an expert form (and of a 附件3
//! summary table), the fields of any other form, and whether they agree with the subject.

use std::collections::BTreeMap;

use super::attachments::school_in;
use crate::classify::SubjectReading;
use crate::extract::{Content, Extracted, birth, form::FormValues};
use crate::rules::{KindRule, Rules};
use crate::text::squeeze;
use crate::verdict::{ErrorCode, Expert, Role, Verdict, WarningCode};

/// Reads the kind's forms among the attachments into the verdict (experts, summary rows or
/// form fields); returns the mismatches with the subject (`name_mismatch`, `school_mismatch`)
/// and adds `form_incomplete` to `warnings`.
pub(super) fn read(
    v: &mut Verdict,
    extracted: &[Extracted],
    roles: &[Role],
    kind: &KindRule,
    reading: &SubjectReading,
    rules: &Rules,
    warnings: &mut Vec<WarningCode>,
) -> Vec<ErrorCode> {
    let form_rule = kind.form.as_deref().and_then(|f| rules.forms.get(f));
    let forms: Vec<&FormValues> = extracted
        .iter()
        .zip(roles)
        .filter(|(_, r)| **r == Role::Form)
        .filter_map(|(e, _)| match &e.content {
            Content::Forms(f) => Some(f),
            _ => None,
        })
        .flatten()
        .filter(|f| Some(f.form.as_str()) == kind.form.as_deref())
        .collect();
    let is_expert_form = form_rule.is_some_and(|f| f.labels.values().any(|x| x == "name"));
    if is_expert_form {
        read_experts(v, extracted, &forms, reading, rules);
    }
    if !is_expert_form && let Some(first) = forms.first() {
        v.form_fields = form_fields(first, rules);
    }
    if let Some(rule) = form_rule
        && forms.iter().any(|f| !f.missing(rule).is_empty())
    {
        warnings.push(WarningCode::FormIncomplete);
    }
    mismatches(v, &forms, rules)
}

/// The experts of the expert forms, and the rows of any 附件3 summary table; with no form, the
/// summary's row for the expert the subject names.
fn read_experts(
    v: &mut Verdict,
    extracted: &[Extracted],
    forms: &[&FormValues],
    reading: &SubjectReading,
    rules: &Rules,
) {
    let summary: Vec<&FormValues> = extracted
        .iter()
        .filter_map(|e| match &e.content {
            Content::Summary(rows) => Some(rows),
            _ => None,
        })
        .flatten()
        .collect();
    v.experts = forms.iter().map(|f| expert(f, rules)).collect();
    v.summary_rows = summary.iter().map(|f| expert(f, rules)).collect();
    if v.experts.is_empty()
        && let Some(name) = &reading.expert_name
    {
        v.experts = v.summary_rows.iter().filter(|e| e.name == *name).cloned().collect();
    }
}

/// Where the forms disagree with the subject: another expert's name, another school.
fn mismatches(v: &Verdict, forms: &[&FormValues], rules: &Rules) -> Vec<ErrorCode> {
    let mut mismatch = Vec::new();
    if let Some(name) = v.fields.get("expert_name")
        && !v.experts.is_empty()
        && !forms.is_empty()
        && !v.experts.iter().any(|e| squeeze(&e.name) == squeeze(name))
    {
        mismatch.push(ErrorCode::NameMismatch);
    }
    if let Some(school) = v.fields.get("school") {
        let form_schools: Vec<String> = forms
            .iter()
            .filter_map(|f| f.get("school").or_else(|| f.get("employer")))
            .filter_map(|s| school_in(s, rules))
            .collect();
        if !form_schools.is_empty() && !form_schools.iter().any(|s| s == school) {
            mismatch.push(ErrorCode::SchoolMismatch);
        }
    }
    mismatch
}

/// The fields of a non-expert form (附件1: school, category, contact, phone, email),
/// trimmed, the category made canonical.
fn form_fields(f: &FormValues, rules: &Rules) -> BTreeMap<String, String> {
    f.values
        .iter()
        .map(|(k, v)| (k.clone(), v.trim().to_string()))
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| {
            let v = if k == "category" { rules.category(&v).map(|c| c.name.clone()).unwrap_or(v) } else { v };
            (k, v)
        })
        .collect()
}

/// An expert row from form values, normalised.
fn expert(f: &FormValues, rules: &Rules) -> Expert {
    let get = |k: &str| f.get(k).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let title = get("title");
    let level = title.as_deref().and_then(|t| rules.title_level(t)).unwrap_or("none").to_string();
    let category = get("category").map(|c| rules.category(&c).map(|x| x.name.clone()).unwrap_or(c));
    let gender = get("gender").map(|g| g.trim_end_matches('性').to_string());
    Expert {
        name: get("name").map(|n| squeeze(&n)).unwrap_or_default(),
        gender,
        birth: get("birth").and_then(|b| birth::normalize(&b)),
        title,
        title_level: level,
        phone: get("phone").map(|p| squeeze(&p)),
        email: get("email").map(|e| squeeze(&e)),
        employer: get("employer"),
        category,
    }
}
