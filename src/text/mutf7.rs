//! IMAP folder names in modified UTF-7 (RFC 3501 §5.1.3), both ways.
//!
//! Printable US-ASCII (0x20–0x7e) stands for itself except `&`, written `&-`; every other
//! run of characters is UTF-16 (non-BMP characters as surrogate pairs), in modified base64
//! (`,` instead of `/`, no padding) between `&` and `-`. Everything that names a folder to
//! the server (SELECT, EXAMINE, APPEND, CREATE, MOVE, the configuration) goes through
//! [`encode`]; every name the server lists comes back through [`decode`].

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Why a name from the server is not valid modified UTF-7.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("folder name {name:?} is not valid modified UTF-7 (RFC 3501 §5.1.3): {why}")]
pub struct Mutf7Error {
    pub name: String,
    pub why: &'static str,
}

/// `已发送` → `&XfJT0ZAB-`, `A&B` → `A&-B`.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut out, &mut pending);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut out, &mut pending);
    out
}

fn flush(out: &mut String, pending: &mut Vec<u16>) {
    if pending.is_empty() {
        return;
    }
    let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
    out.push('&');
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        // 1 byte → 2 characters, 2 → 3, 3 → 4 (no padding).
        for i in 0..=chunk.len() {
            out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out.push('-');
    pending.clear();
}

/// `&XfJT0ZAB-` → `已发送`. Strict: a name that is not what an RFC 3501 server may send
/// (8-bit bytes, an unterminated or empty-but-not-`&-` shift, bad base64, broken surrogates)
/// is an error, so the caller can log it and fall back to the name as listed.
pub fn decode(name: &str) -> Result<String, Mutf7Error> {
    let err = |why| Mutf7Error { name: name.to_string(), why };
    let bytes = name.as_bytes();
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(0x20..=0x7e).contains(&b) {
            return Err(err("a character outside printable US-ASCII"));
        }
        if b != b'&' {
            out.push(b as char);
            i += 1;
            continue;
        }
        let end = name[i + 1..].find('-').map(|e| i + 1 + e).ok_or_else(|| err("a `&` run without its closing `-`"))?;
        let run = &bytes[i + 1..end];
        i = end + 1;
        if run.is_empty() {
            out.push('&');
            continue;
        }
        let mut bits = 0u32;
        let mut nbits = 0u32;
        let mut units = Vec::new();
        for &c in run {
            let v = B64.iter().position(|x| *x == c).ok_or_else(|| err("a character outside modified base64"))?;
            bits = (bits << 6) | v as u32;
            nbits += 6;
            if nbits >= 16 {
                nbits -= 16;
                units.push(((bits >> nbits) & 0xffff) as u16);
            }
        }
        if nbits >= 6 || (bits & ((1 << nbits) - 1)) != 0 {
            return Err(err("leftover base64 bits"));
        }
        let text = String::from_utf16(&units).map_err(|_| err("a broken UTF-16 surrogate pair"))?;
        if text.chars().any(|c| (' '..='~').contains(&c)) {
            return Err(err("printable ASCII encoded in base64"));
        }
        out.push_str(&text);
    }
    Ok(out)
}

/// [`decode`], or the name as listed when it is not valid modified UTF-7 (some servers send
/// raw UTF-8): never fails, for display and matching.
pub fn decode_lossy(name: &str) -> String {
    decode(name).unwrap_or_else(|_| name.to_string())
}

/// A folder name as the office wrote it in the configuration: plain UTF-8 (`已发送`), or —
/// copied from another client's settings — already in modified UTF-7 (`&XfJT0ZAB-`), which
/// is decoded so that it is not encoded twice. A name that only looks like modified UTF-7
/// without naming any non-ASCII character (`R&D`) is taken as written.
pub fn from_config(name: &str) -> String {
    match decode(name) {
        Ok(plain) if name.contains('&') && plain != name && !plain.is_ascii() => plain,
        _ => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_provider_folders_round_trip() {
        for (plain, wire) in [
            ("已发送", "&XfJT0ZAB-"),
            ("草稿箱", "&g0l6P3ux-"),
            ("已删除", "&XfJSIJZk-"),
            ("垃圾邮件", "&V4NXPpCuTvY-"),
            ("Sent Messages", "Sent Messages"),
            ("INBOX", "INBOX"),
            ("", ""),
        ] {
            assert_eq!(encode(plain), wire, "{plain}");
            assert_eq!(decode(wire).unwrap(), plain, "{wire}");
        }
    }

    #[test]
    fn the_rfc_examples() {
        // RFC 3501 §5.1.3: "~peter/mail/日本語/台北" and the `&` rule.
        assert_eq!(encode("~peter/mail/日本語/台北"), "~peter/mail/&ZeVnLIqe-/&U,BTFw-");
        assert_eq!(decode("~peter/mail/&ZeVnLIqe-/&U,BTFw-").unwrap(), "~peter/mail/日本語/台北");
        assert_eq!(encode("A&B"), "A&-B");
        assert_eq!(decode("A&-B").unwrap(), "A&B");
        assert_eq!(encode("&"), "&-");
    }

    #[test]
    fn non_bmp_characters_use_surrogate_pairs() {
        let name = "报表&😀𠀀";
        let wire = encode(name);
        assert_eq!(wire, "&YqWIaA-&-&2D3eANhA3AA-");
        assert_eq!(decode(&wire).unwrap(), name);
    }

    #[test]
    fn every_character_class_round_trips() {
        for name in ["a", "é", "日", "a日b", "日&日", "&&", "x-y", "😀", "a😀b&c日", "Ω", "🀄🀄🀄"] {
            assert_eq!(decode(&encode(name)).unwrap(), name, "{name}");
        }
    }

    #[test]
    fn configured_names_are_taken_plain_or_already_encoded() {
        assert_eq!(from_config("已发送"), "已发送");
        assert_eq!(from_config("&XfJT0ZAB-"), "已发送");
        assert_eq!(from_config("R&D"), "R&D");
        assert_eq!(from_config("A&-B"), "A&-B", "only ASCII: taken as written");
        assert_eq!(from_config("Sent Messages"), "Sent Messages");
    }

    #[test]
    fn bad_names_are_errors_not_panics() {
        for bad in ["&", "&XfJT0ZAB", "&!!-", "日", "&AGE-", "&2D0-", "&X-"] {
            assert!(decode(bad).is_err(), "{bad}");
        }
        assert_eq!(decode_lossy("已发送"), "已发送");
    }
}
