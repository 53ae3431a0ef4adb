//! Header decoding on arbitrary raw bytes: encoded-words, raw 8-bit text, RFC 2231 parameters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mail_intake::parse::{header, sanitize_name};

fuzz_target!(|raw: &[u8]| {
    let _ = header::decode(raw);
    let _ = header::decode_raw(raw);
    for name in ["filename", "name"] {
        if let Some(n) = header::param(raw, name) {
            // A file name as we keep it never holds a directory or a control character.
            let clean = sanitize_name(&n);
            assert!(!clean.contains(['/', '\\']) && !clean.chars().any(char::is_control), "{clean:?}");
        }
    }
});
