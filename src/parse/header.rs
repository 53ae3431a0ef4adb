//! Header decoding as Chinese mail clients actually write headers.
//!
//! mail-parser decodes each RFC 2047 encoded-word on its own, so a GBK character split
//! across two words (`=?GBK?B?..?= =?GBK?B?..?=`, as several webmail clients fold long
//! subjects) comes out as two replacement characters; raw 8-bit GBK headers come out as
//! lossy UTF-8. [`decode`] works on the raw bytes instead: adjacent encoded-words in the
//! same charset are joined *before* decoding, and raw 8-bit text is read as UTF-8 when it
//! is valid UTF-8, else as GB18030.

use base64::Engine as _;
use encoding_rs::Encoding;

/// The decoder for a charset label; GB2312/GBK and their aliases read as GB18030 (its superset).
pub fn encoding_for(label: &str) -> Option<&'static Encoding> {
    let label = label.trim().trim_matches('"');
    // RFC 2231 language suffix: utf-8*zh-cn
    let label = label.split('*').next().unwrap_or(label);
    let lower = label.to_ascii_lowercase();
    match lower.as_str() {
        "gb2312" | "gbk" | "x-gbk" | "cp936" | "ms936" | "windows-936" | "euc-cn" | "gb_2312-80" | "csgb2312"
        | "gb18030" | "x-gb18030" | "chinese" | "hz-gb-2312" => Some(encoding_rs::GB18030),
        "big5" | "big5-hkscs" | "x-big5" | "cp950" => Some(encoding_rs::BIG5),
        "utf8" | "unicode-1-1-utf-8" => Some(encoding_rs::UTF_8),
        _ => Encoding::for_label(lower.as_bytes()),
    }
}

/// Decodes raw bytes of unknown charset: UTF-8 when valid, else GB18030 (the habit of
/// Chinese Windows clients that put raw GBK into headers and file names).
pub fn decode_raw(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GB18030.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

/// Decodes bytes in a declared charset; when the declaration is unknown or the bytes are
/// not valid in it, falls back to [`decode_raw`].
pub fn decode_charset(bytes: &[u8], label: &str) -> String {
    match encoding_for(label) {
        Some(enc) => {
            let (text, had_errors) = enc.decode_without_bom_handling(bytes);
            if had_errors && enc != encoding_rs::UTF_8 && std::str::from_utf8(bytes).is_ok() {
                // Mislabelled: declared Big5/GBK but really UTF-8.
                return decode_raw(bytes);
            }
            if had_errors && enc == encoding_rs::UTF_8 {
                return decode_raw(bytes);
            }
            text.into_owned()
        }
        None => decode_raw(bytes),
    }
}

fn decode_b(text: &[u8]) -> Vec<u8> {
    let clean: Vec<u8> =
        text.iter().copied().filter(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/').collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    // A truncated final quantum of one character cannot carry a byte: drop it.
    let usable = if clean.len() % 4 == 1 { &clean[..clean.len() - 1] } else { &clean[..] };
    engine.decode(usable).unwrap_or_default()
}

fn decode_q(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'_' => out.push(b' '),
            b'=' if i + 2 < text.len() => {
                let hex = std::str::from_utf8(&text[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'='),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// One encoded-word found at the start of `s`: (charset, decoded bytes, length consumed).
fn encoded_word(s: &[u8]) -> Option<(String, Vec<u8>, usize)> {
    if !s.starts_with(b"=?") {
        return None;
    }
    let rest = &s[2..];
    let q1 = rest.iter().position(|&c| c == b'?')?;
    let charset = std::str::from_utf8(&rest[..q1]).ok()?.to_string();
    if charset.is_empty() || charset.len() > 40 || charset.contains(|c: char| c.is_whitespace()) {
        return None;
    }
    let enc = *rest.get(q1 + 1)?;
    if rest.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let body_start = q1 + 3;
    let body_len = rest[body_start..].windows(2).position(|w| w == b"?=")?;
    let body = &rest[body_start..body_start + body_len];
    let bytes = match enc {
        b'B' | b'b' => decode_b(body),
        b'Q' | b'q' => decode_q(body),
        _ => return None,
    };
    Some((charset, bytes, 2 + body_start + body_len + 2))
}

/// Decodes a raw header value (or a quoted parameter value) into text.
pub fn decode(raw: &[u8]) -> String {
    // Unfold.
    let mut unfolded = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i];
        if c == b'\r' || c == b'\n' {
            i += 1;
            continue;
        }
        unfolded.push(c);
        i += 1;
    }
    let s = &unfolded[..];
    let mut out = String::new();
    let mut pending: Option<(String, Vec<u8>)> = None; // joined encoded-words of one charset
    let mut plain: Vec<u8> = Vec::new();
    let mut i = 0;
    let flush_pending = |pending: &mut Option<(String, Vec<u8>)>, out: &mut String| {
        if let Some((cs, bytes)) = pending.take() {
            out.push_str(&decode_charset(&bytes, &cs));
        }
    };
    while i < s.len() {
        if let Some((cs, bytes, used)) = encoded_word(&s[i..]) {
            // Whitespace between two encoded-words is dropped (RFC 2047 §6.2).
            let only_space = plain.iter().all(|c| *c == b' ' || *c == b'\t');
            if pending.is_some() && only_space {
                plain.clear();
            }
            if !plain.is_empty() {
                flush_pending(&mut pending, &mut out);
                out.push_str(&decode_raw(&plain));
                plain.clear();
            }
            match &mut pending {
                Some((pcs, pbytes)) if pcs.eq_ignore_ascii_case(&cs) => pbytes.extend_from_slice(&bytes),
                _ => {
                    flush_pending(&mut pending, &mut out);
                    pending = Some((cs, bytes));
                }
            }
            i += used;
        } else {
            plain.push(s[i]);
            i += 1;
        }
    }
    flush_pending(&mut pending, &mut out);
    if !plain.is_empty() {
        out.push_str(&decode_raw(&plain));
    }
    out.trim().to_string()
}

/// Finds a parameter (`filename`, `name`) in a raw Content-Disposition/Content-Type value
/// and decodes it the way clients write it: RFC 2231 (`filename*=`, continuations),
/// encoded-words inside quotes, or raw 8-bit bytes.
pub fn param(raw: &[u8], name: &str) -> Option<String> {
    let lower: Vec<u8> = raw.iter().map(|c| c.to_ascii_lowercase()).collect();
    let name = name.to_ascii_lowercase();
    // RFC 2231: name*0*=, name*1*=, … or name*=
    let mut pieces: Vec<(u32, bool, Vec<u8>)> = Vec::new();
    let mut charset: Option<String> = None;
    let mut search = 0;
    while let Some(pos) = find(&lower[search..], format!("{name}*").as_bytes()) {
        let start = search + pos;
        search = start + 1;
        if start > 0 && !matches!(lower[start - 1], b';' | b' ' | b'\t' | b'\n' | b'\r') {
            continue;
        }
        let after = start + name.len() + 1;
        let eq = match lower[after..].iter().position(|&c| c == b'=') {
            Some(e) => after + e,
            None => continue,
        };
        let spec = std::str::from_utf8(&lower[after..eq]).unwrap_or("");
        let (index, extended) = if spec.is_empty() {
            (0, true)
        } else {
            let ext = spec.ends_with('*');
            match spec.trim_end_matches('*').parse::<u32>() {
                Ok(n) => (n, ext),
                Err(_) => continue,
            }
        };
        let value = param_value(&raw[eq + 1..]);
        let mut value = value;
        if extended && (index == 0) {
            // charset'lang'value
            let parts: Vec<&[u8]> = value.splitn(3, |&c| c == b'\'').collect();
            if parts.len() == 3 {
                charset = Some(String::from_utf8_lossy(parts[0]).to_string());
                value = parts[2].to_vec();
            }
        }
        pieces.push((index, extended, value));
    }
    if !pieces.is_empty() {
        pieces.sort_by_key(|p| p.0);
        let mut bytes = Vec::new();
        for (_, extended, v) in &pieces {
            if *extended { bytes.extend(percent_decode(v)) } else { bytes.extend_from_slice(v) }
        }
        let cs = charset.unwrap_or_else(|| "utf-8".into());
        return Some(decode_charset(&bytes, &cs)).filter(|s| !s.is_empty());
    }
    let mut search = 0;
    while let Some(pos) = find(&lower[search..], format!("{name}=").as_bytes()) {
        let start = search + pos;
        search = start + 1;
        if start > 0 && !matches!(lower[start - 1], b';' | b' ' | b'\t' | b'\n' | b'\r') {
            continue;
        }
        let value = param_value(&raw[start + name.len() + 1..]);
        let text = decode(&value);
        if !text.is_empty() {
            return Some(text);
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn param_value(s: &[u8]) -> Vec<u8> {
    let s = {
        let skip = s.iter().take_while(|c| c.is_ascii_whitespace()).count();
        &s[skip..]
    };
    if s.first() == Some(&b'"') {
        let mut out = Vec::new();
        let mut i = 1;
        while i < s.len() {
            match s[i] {
                b'\\' if i + 1 < s.len() => {
                    out.push(s[i + 1]);
                    i += 2;
                    continue;
                }
                b'"' => break,
                c => out.push(c),
            }
            i += 1;
        }
        out
    } else {
        s.iter()
            .copied()
            .take_while(|c| *c != b';' && *c != b'\r' && *c != b'\n')
            .collect::<Vec<u8>>()
            .trim_ascii()
            .to_vec()
    }
}

fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%'
            && i + 2 < s.len()
            && let Some(b) = std::str::from_utf8(&s[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn gbk(s: &str) -> Vec<u8> {
        encoding_rs::GB18030.encode(s).0.into_owned()
    }

    #[test]
    fn gb2312_label_reads_gbk_only_characters() {
        let raw = format!("=?GB2312?B?{}?=", b64(&gbk("关于朱镕基的申请")));
        assert_eq!(decode(raw.as_bytes()), "关于朱镕基的申请");
    }

    #[test]
    fn encoded_words_split_mid_character_are_joined() {
        let bytes = gbk("专家推荐+昆明学院+张三");
        let (a, b) = bytes.split_at(5); // splits the third character
        let raw = format!("=?GBK?B?{}?=\r\n =?GBK?B?{}?=", b64(a), b64(b));
        assert_eq!(decode(raw.as_bytes()), "专家推荐+昆明学院+张三");
    }

    #[test]
    fn raw_eight_bit_gb18030_headers() {
        assert_eq!(decode(&gbk("专家推荐+云南大学+李四")), "专家推荐+云南大学+李四");
        assert_eq!(decode("专家推荐+云南大学+李四".as_bytes()), "专家推荐+云南大学+李四");
    }

    #[test]
    fn mixed_plain_and_encoded() {
        let raw = format!("Re: =?UTF-8?B?{}?= end", b64("回执".as_bytes()));
        assert_eq!(decode(raw.as_bytes()), "Re: 回执 end");
        assert_eq!(decode(b"=?utf-8?q?a_b=E5=9B=9E?="), "a b回");
    }

    #[test]
    fn filename_parameters() {
        let raw = b"attachment; filename*=GB18030''%B1%A8%CF%FA.xlsx";
        assert_eq!(param(raw, "filename").as_deref(), Some("报销.xlsx"));
        let raw = format!("attachment;\r\n filename=\"=?GBK?B?{}?=\"", b64(&gbk("合同扫描件.pdf")));
        assert_eq!(param(raw.as_bytes(), "filename").as_deref(), Some("合同扫描件.pdf"));
        let mut raw = b"attachment; filename=\"".to_vec();
        raw.extend(gbk("报销.xlsx"));
        raw.extend(b"\"");
        assert_eq!(param(&raw, "filename").as_deref(), Some("报销.xlsx"));
        let raw = b"attachment; filename*0*=UTF-8''%E4%B8%93%E5%AE%B6; filename*1*=%E8%A1%A8.docx";
        assert_eq!(param(raw, "filename").as_deref(), Some("专家表.docx"));
        assert_eq!(param(b"application/pdf; name=scan.pdf", "name").as_deref(), Some("scan.pdf"));
        assert_eq!(param(b"application/pdf; filename=x.pdf", "name"), None);
    }
}
