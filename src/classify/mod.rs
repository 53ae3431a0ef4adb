//! What a mail is: automatic mail (never answered), a question, or a submission of a kind,
//! and what its subject names.
//!
//! `auto` recognises bounces, DSNs, auto-replies, list mail and our own replies coming back;
//! `subject` reads the subject tolerantly (prefixes, brackets, any separator, swapped order)
//! and strictly about meaning (only roster schools and catalogue categories count).

pub mod auto;
pub mod subject;

pub use auto::{Automatic, automatic};
pub use subject::{SubjectReading, read_subject};

use crate::rules::Rules;

/// True when the body carries a cloud "超大附件" link standing in for attachments.
pub fn has_cloud_link(body: &str, rules: &Rules) -> bool {
    let lower = body.to_lowercase();
    if rules.links.patterns.iter().any(|p| lower.contains(p.as_str())) {
        return true;
    }
    rules.links.words.iter().any(|w| body.contains(w.as_str()))
        && (lower.contains("http://") || lower.contains("https://"))
}
