use base64::Engine as _;

use super::*;
use crate::limits::Limits;

fn b64_lines(bytes: &[u8], width: usize, nl: &str) -> String {
    let s = base64::engine::general_purpose::STANDARD.encode(bytes);
    s.as_bytes().chunks(width).map(|c| format!("{}{nl}", std::str::from_utf8(c).unwrap())).collect()
}

fn noise(n: usize, seed: u32, head: &[u8]) -> Vec<u8> {
    let mut x = seed;
    let mut v = head.to_vec();
    while v.len() < n {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        v.push((x >> 16) as u8);
    }
    v
}

fn part(ctype: &str, name: &str, body: &[u8], width: usize, nl: &str) -> String {
    format!(
        "--B{nl}Content-Type: {ctype}; name=\"{name}\"{nl}Content-Disposition: attachment; filename=\"{name}\"{nl}Content-Transfer-Encoding: base64{nl}{nl}{}",
        b64_lines(body, width, nl)
    )
}

fn message(nl: &str) -> Vec<u8> {
    let pdf = noise(700_001, 1, b"%PDF-1.4\n");
    let png = noise(3_000, 2, b"\x89PNG\r\n\x1a\n");
    let zip = noise(400_000, 3, b"PK\x03\x04");
    let jpg = noise(500_002, 4, &[0xFF, 0xD8, 0xFF, 0xE0]);
    let inner = format!(
        "From: a@b.cn{nl}Subject: inner{nl}MIME-Version: 1.0{nl}Content-Type: multipart/mixed; boundary=\"B\"{nl}{nl}--B{nl}Content-Type: text/plain{nl}{nl}hi{nl}{}--B--{nl}",
        part("image/jpeg", "扫描.jpg", &jpg, 76, nl)
    );
    let mut m = format!(
        "From: x@y.cn{nl}Subject: 材料{nl}MIME-Version: 1.0{nl}Content-Type: multipart/mixed; boundary=\"B\"{nl}{nl}--B{nl}Content-Type: text/plain; charset=utf-8{nl}{nl}正文{nl}"
    );
    m += &part("application/pdf", "申报书.pdf", &pdf, 76, nl);
    m += &part("image/png", "a.png", &png, 76, nl);
    m += &part("application/octet-stream", "b.dat", &zip, 76, nl);
    m += &part("application/pdf", "odd.pdf", &pdf[..300_000], 72, nl);
    m += &part("application/pdf", "width70.pdf", &pdf[..300_000], 70, nl);
    m += &format!("--B{nl}Content-Type: message/rfc822{nl}{nl}{inner}{nl}");
    m += &format!("--B--{nl}");
    m.into_bytes()
}

fn decode(raw: &[u8], run: &Run, chunk: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut d = B64::default();
    for c in raw[run.start as usize..run.end as usize].chunks(chunk) {
        d.feed(c, &mut out);
    }
    out
}

#[test]
fn the_skeleton_lists_the_same_attachments_and_runs_decode_to_the_same_bytes() {
    for nl in ["\r\n", "\n"] {
        let raw = message(nl);
        let limits = Limits::default();
        let full = crate::parse::parse(&raw, &limits);
        let skel = build(raw.len() as u64, 100_000, |o, n| {
            Ok::<_, ()>(raw[o as usize..(o as usize + n).min(raw.len())].to_vec())
        })
        .unwrap();
        assert!(skel.bytes.len() < 1_000_000, "{} bytes kept", skel.bytes.len());
        let small = parse(&skel, &limits);
        let (a, b) = (crate::web::pages::mails::flat(&full), crate::web::pages::mails::flat(&small));
        assert_eq!(a.len(), b.len());
        let mut streamed = 0;
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.filename, y.filename);
            assert_eq!(x.archive, y.archive);
            match skel.source(y) {
                Source::Whole => assert!(x.bytes == y.bytes, "{}", x.filename),
                Source::Streamed(run) => {
                    streamed += 1;
                    assert_eq!(run.decoded_len, x.bytes.len() as u64);
                    assert!(decode(&raw, run, 4093) == x.bytes, "{}", x.filename);
                    assert_eq!(skel.size(y), x.bytes.len() as u64);
                }
                Source::Unsure => panic!("{} unsure", x.filename),
            }
        }
        assert_eq!(
            streamed, 3,
            "two PDFs and the forwarded JPEG stream; the zip, the PNG and the 70-wide PDF are whole"
        );
    }
}

#[test]
fn base64_decoding_matches_mail_parser_on_padding_inside_the_stream() {
    let text = "QUJD\r\nRA==\r\nRUY=\r\nRw==";
    let mut out = Vec::new();
    let mut d = B64::default();
    for c in text.as_bytes().chunks(3) {
        d.feed(c, &mut out);
    }
    let mail = format!("Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n{text}\r\n");
    let parsed = mail_parser::MessageParser::default().parse(mail.as_bytes()).unwrap();
    assert_eq!(out, parsed.part(0).unwrap().contents());
}

#[test]
fn a_text_body_or_a_short_run_is_left_alone() {
    let long = "QUJD".repeat(19);
    let body: String = std::iter::repeat_n(format!("{long}\n"), 5000).collect();
    let raw = format!("Content-Type: text/plain\n\n{body}");
    let skel = build(raw.len() as u64, 1000, |o, n| {
        Ok::<_, ()>(raw.as_bytes()[o as usize..(o as usize + n).min(raw.len())].to_vec())
    })
    .unwrap();
    assert!(skel.runs.is_empty());
    assert_eq!(skel.bytes, raw.as_bytes());
}

#[test]
fn a_big_mails_skeleton_is_built_once_and_kept_and_a_small_ones_is_not() {
    let store = crate::store::Store::memory().unwrap();
    let fetched = |uid: u32, raw: Vec<u8>| crate::store::Fetched {
        location: crate::store::Location { account: "a".into(), folder: "INBOX".into(), uidvalidity: 1, uid },
        internal_date: None,
        flags: vec![],
        raw,
    };
    let small = b"From: x@y.cn\r\nSubject: s\r\n\r\nhi\r\n".to_vec();
    let (big_id, small_id) = store
        .with(|c| {
            let big = crate::store::messages::store_fetched(c, &fetched(1, message("\r\n")))?.0;
            Ok((big, crate::store::messages::store_fetched(c, &fetched(2, small))?.0))
        })
        .unwrap();
    let cache = Cache::default();
    assert_eq!(store.with(|c| warm(&cache, c)).unwrap(), 1, "only the big mail is warmed");
    assert_eq!(store.with(|c| warm(&cache, c)).unwrap(), 0, "and only once");
    let first = store.with(|c| load_cached(&cache, c, big_id)).unwrap().unwrap();
    let again = store.with(|c| load_cached(&cache, c, big_id)).unwrap().unwrap();
    assert!(std::sync::Arc::ptr_eq(&first, &again));
    assert!(!first.runs.is_empty(), "the big bodies are left out");
    let a = store.with(|c| load_cached(&cache, c, small_id)).unwrap().unwrap();
    let b = store.with(|c| load_cached(&cache, c, small_id)).unwrap().unwrap();
    assert!(!std::sync::Arc::ptr_eq(&a, &b));
    assert!(store.with(|c| load_cached(&cache, c, 999)).unwrap().is_none());
}
