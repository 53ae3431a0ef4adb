//! The Word 2007+ reader on arbitrary bytes (a zip or not).
#![no_main]

#[path = "../common/contain.rs"]
mod contain;

use libfuzzer_sys::fuzz_target;
use mail_intake::extract::docx;
use mail_intake::limits::Limits;

fuzz_target!(|data: &[u8]| {
    let _ = contain::contained(|| docx::read(data, &Limits::default()));
    if let Ok(xml) = std::str::from_utf8(data) {
        let _ = docx::parse_document_xml(xml);
    }
});
