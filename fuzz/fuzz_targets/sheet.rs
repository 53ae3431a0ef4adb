//! The workbook reader (xlsx, xls, WPS et) on arbitrary bytes.
#![no_main]

#[path = "../common/contain.rs"]
mod contain;

use libfuzzer_sys::fuzz_target;
use mail_intake::extract::sheet;
use mail_intake::limits::Limits;

fuzz_target!(|data: &[u8]| {
    let _ = contain::contained(|| sheet::read(data, &Limits::default()));
});
