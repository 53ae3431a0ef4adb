//! A readable table of verdicts for people (CJK characters count as two columns).

use std::io::Write;

use crate::verdict::Verdict;

pub(super) fn width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            if crate::text::is_cjk(c)
                || ('\u{3000}'..='\u{303F}').contains(&c)
                || ('\u{FF00}'..='\u{FFEF}').contains(&c)
            {
                2
            } else {
                1
            }
        })
        .sum()
}

pub(super) fn pad(s: &str, w: usize) -> String {
    let clipped = if width(s) > w {
        let mut out = String::new();
        for c in s.chars() {
            if width(&out) + width(&c.to_string()) > w.saturating_sub(1) {
                break;
            }
            out.push(c);
        }
        out.push('…');
        out
    } else {
        s.to_string()
    };
    let fill = w.saturating_sub(width(&clipped));
    format!("{clipped}{}", " ".repeat(fill))
}

/// Prints one row per verdict and a summary line.
pub fn print<'a>(out: &mut impl Write, verdicts: impl Iterator<Item = &'a Verdict>) -> std::io::Result<()> {
    writeln!(
        out,
        "{} {} {} {} {} errors / warnings",
        pad("file", 10),
        pad("decision", 18),
        pad("kind", 21),
        pad("school", 28),
        pad("expert/category", 22),
    )?;
    let mut counts = std::collections::BTreeMap::new();
    for v in verdicts {
        *counts.entry(v.decision.as_str()).or_insert(0) += 1;
        let who = v.fields.get("expert_name").or_else(|| v.fields.get("category")).map(String::as_str).unwrap_or("");
        let mut notes: Vec<&str> = v.errors.iter().map(|e| e.as_str()).collect();
        notes.extend(v.warnings.iter().map(|w| w.as_str()));
        if notes.is_empty() && matches!(v.decision, crate::Decision::Hold | crate::Decision::Ignore) {
            notes.extend(v.reasons.iter().map(String::as_str).take(1));
        }
        writeln!(
            out,
            "{} {} {} {} {} {}",
            pad(&v.file, 10),
            pad(v.decision.as_str(), 18),
            pad(v.kind.as_deref().unwrap_or("-"), 21),
            pad(v.fields.get("school").map(String::as_str).unwrap_or("-"), 28),
            pad(if who.is_empty() { "-" } else { who }, 22),
            notes.join(", ")
        )?;
    }
    let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
    writeln!(out, "\n{}", summary.join(" · "))
}
