//! The whole judging path on arbitrary bytes: `validate::judge` must return a verdict (never
//! panic, never abort, never run away) whatever the message holds.
//!
//! A panic inside a dependency is contained by the judge itself (mail-parser's `debug_assert!`s,
//! on in fuzz builds and off in release, fire on some odd nestings: `parse` then reads the
//! headers only; a reader's panic becomes an unreadable attachment). libFuzzer's hook would
//! abort on those caught panics, so `contain` counts them instead; a panic in mail-intake's
//! own code still aborts.
#![no_main]

#[path = "../common/contain.rs"]
mod contain;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mail_intake::{Decision, JudgeOptions, Rules, judge};

static RULES: LazyLock<Rules> = LazyLock::new(Rules::embedded);

fuzz_target!(|data: &[u8]| {
    let v = contain::contained(|| judge("fuzz.eml", data, &RULES, &JudgeOptions::default()))
        .expect("judge never lets a panic out");
    // Every verdict that is not an acknowledgement says why.
    if v.decision != Decision::Acknowledge {
        assert!(!v.reasons.is_empty(), "a {:?} verdict without a reason", v.decision);
    }
});
