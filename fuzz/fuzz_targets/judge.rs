//! The whole judging path on arbitrary bytes: `validate::judge` must return a verdict (never
//! panic, never abort, never run away) whatever the message holds.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mail_intake::{JudgeOptions, Rules, judge};

static RULES: LazyLock<Rules> = LazyLock::new(Rules::embedded);

fuzz_target!(|data: &[u8]| {
    let v = judge("fuzz.eml", data, &RULES, &JudgeOptions::default());
    // Every verdict that is not an acknowledgement says why.
    if v.decision != mail_intake::Decision::Acknowledge {
        assert!(!v.reasons.is_empty(), "a {:?} verdict without a reason", v.decision);
    }
});
