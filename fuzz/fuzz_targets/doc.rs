//! The Word 97-2003 reader on arbitrary bytes (compound file, piece table, cell marks).
#![no_main]

#[path = "../common/contain.rs"]
mod contain;

use libfuzzer_sys::fuzz_target;
use mail_intake::extract::doc;
use mail_intake::limits::Limits;

fuzz_target!(|data: &[u8]| {
    let _ = contain::contained(|| doc::read(data, &Limits::default(), &|s: &str| s == "姓名" || s == "性别"));
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = doc::structure(text, &|s: &str| s == "姓名" || s == "性别");
    }
});
