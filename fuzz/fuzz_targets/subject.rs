//! The subject reader on arbitrary text (prefixes, brackets, separators, roster matching).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mail_intake::Rules;
use mail_intake::classify::{read_subject, subject::strip_prefixes};

static RULES: LazyLock<Rules> = LazyLock::new(Rules::embedded);

fuzz_target!(|subject: &str| {
    let _ = read_subject(subject, &RULES);
    let _ = strip_prefixes(subject, &RULES);
});
