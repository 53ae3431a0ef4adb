//! The PDF reader on arbitrary bytes (pages, scans, text).
#![no_main]

#[path = "../common/contain.rs"]
mod contain;

use libfuzzer_sys::fuzz_target;
use mail_intake::extract::pdf;
use mail_intake::limits::Limits;

fuzz_target!(|data: &[u8]| {
    if let Some(Ok(facts)) = contain::contained(|| pdf::read(data, &Limits::default())) {
        assert!(facts.pages > 0);
    }
});
