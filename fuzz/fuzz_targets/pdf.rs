//! The PDF reader on arbitrary bytes (pages, scans, text).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mail_intake::extract::pdf;
use mail_intake::limits::Limits;

fuzz_target!(|data: &[u8]| {
    if let Ok(facts) = pdf::read(data, &Limits::default()) {
        assert!(facts.pages > 0);
    }
});
