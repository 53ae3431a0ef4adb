//! The whole judging path on arbitrary bytes: `validate::judge` must return a verdict (never
//! panic, never abort, never run away) whatever the message holds.
#![no_main]

use std::sync::{LazyLock, Once};

use libfuzzer_sys::fuzz_target;
use mail_intake::{JudgeOptions, Rules, judge};

static RULES: LazyLock<Rules> = LazyLock::new(Rules::embedded);
static HOOK: Once = Once::new();

/// mail-parser's `debug_assert!`s (on in fuzz builds, off in release) fire on some odd
/// nestings; `parse` catches them and reads the headers only (a regression test in
/// `parse::tests`). libFuzzer's hook would abort on those caught panics, so they are let
/// through here; every other panic still aborts.
fn let_mail_parser_assertions_through() {
    HOOK.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_mail_parser = info.location().is_some_and(|l| l.file().contains("/mail-parser-"));
            if !in_mail_parser {
                fuzzer_hook(info);
            }
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    let_mail_parser_assertions_through();
    let v = judge("fuzz.eml", data, &RULES, &JudgeOptions::default());
    // Every verdict that is not an acknowledgement says why.
    if v.decision != mail_intake::Decision::Acknowledge {
        assert!(!v.reasons.is_empty(), "a {:?} verdict without a reason", v.decision);
    }
});
