//! Seal detection end to end (issue 13): every labelled submission of
//! `../shared/samples-seals` judged against its `labels.jsonl` (decision, errors, warnings and
//! the scan's `seal`), and scans built in code: a colour scan with and without a seal, an
//! electronic seal drawn as vectors, a red letterhead, greyscale and blank scans, and
//! pictures refused at the caps.

use mail_intake::verdict::{Decision, ErrorCode, Seal, Verdict, WarningCode};
use mail_intake::{JudgeOptions, Rules, judge};
use serde_json::Value;

use crate::support::build::{ExpertForm, Mail, image_pdf, jpeg, pdf, stamped_page};
use crate::support::{judge_labelled, sorted};

#[test]
fn seal_samples_match_their_labels() {
    let Some(judged) = judge_labelled("samples-seals", "seal_samples_match_their_labels") else { return };
    let mut failures = Vec::new();
    let mut total = 0;
    for (want, got) in &judged {
        let file = want["file"].as_str().expect("file");
        total += 1;
        let scan = got["attachments"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["filename"] == want["scan"]))
            .cloned()
            .unwrap_or(Value::Null);
        let checks = [
            ("decision", got["decision"] == want["decision"], format!("{} vs {}", got["decision"], want["decision"])),
            (
                "errors",
                sorted(&got["errors"]) == sorted(&want["errors"]),
                format!("{} vs {}", got["errors"], want["errors"]),
            ),
            (
                "warnings",
                sorted(&got["warnings"]) == sorted(&want["warnings"]),
                format!("{} vs {}", got["warnings"], want["warnings"]),
            ),
            ("seal", scan["seal"] == want["seal"], format!("{} vs {}", scan["seal"], want["seal"])),
            ("role", scan["role"] == "scan", format!("{}", scan["role"])),
        ];
        for (what, ok, detail) in checks {
            if !ok {
                failures.push(format!("{file} [{}] {what}: got {detail}", want["scenario"].as_str().unwrap_or("")));
            }
        }
        if want["seal"] == "found" {
            let at = &scan["seal_at"];
            let b: Vec<f64> =
                at["box"].as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default();
            let ok = at["page"].as_u64() == Some(1) && b.len() == 4 && b[0] < b[2] && b[1] < b[3];
            if !ok {
                failures.push(format!("{file}: seal_at {at}"));
            }
        }
    }
    assert!(total >= 14, "labels.jsonl lists {total} samples");
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

fn expert_mail(scan_name: &str, scan: Vec<u8>) -> Verdict {
    let raw = Mail::new("专家推荐+昆明学院+张三")
        .attach("附件2推荐表.docx", ExpertForm::new("张三", "昆明学院").docx())
        .attach(scan_name, scan)
        .build();
    judge("t.eml", &raw, &Rules::embedded(), &JudgeOptions::default())
}

fn scan_of(v: &Verdict) -> &mail_intake::verdict::AttachmentInfo {
    v.attachments.iter().find(|a| a.role == mail_intake::verdict::Role::Scan).expect("a scan")
}

fn rgb_pdf(w: usize, h: usize, pixels: &[u8]) -> Vec<u8> {
    image_pdf(&format!("/Width {w} /Height {h} /ColorSpace /DeviceRGB /BitsPerComponent 8"), pixels)
}

#[test]
fn a_colour_scan_without_a_seal_is_unstamped() {
    let v = expert_mail("扫描件.pdf", rgb_pdf(124, 175, &stamped_page(124, 175, false)));
    assert_eq!(v.decision, Decision::RequestCorrection);
    assert_eq!(v.errors, vec![ErrorCode::ScanUnstamped]);
    assert!(v.reasons.iter().any(|r| r.contains("扫描件上未见学校公章，请盖章后扫描发送")), "{:?}", v.reasons);
    assert_eq!(scan_of(&v).seal, Some(Seal::NotFound));
}

#[test]
fn a_stamped_scan_says_where_the_seal_is() {
    let v = expert_mail("扫描件.pdf", rgb_pdf(124, 175, &stamped_page(124, 175, true)));
    assert_eq!(v.decision, Decision::Acknowledge, "{:?}", v.reasons);
    let scan = scan_of(&v);
    assert_eq!((scan.seal, scan.blank_pages), (Some(Seal::Found), Some(0)));
    let at = scan.seal_at.expect("where");
    assert_eq!(at.page, 1);
    // the ring is centred at (0.65, 0.7) of the page
    let (cx, cy) = ((at.bbox[0] + at.bbox[2]) / 2.0, (at.bbox[1] + at.bbox[3]) / 2.0);
    assert!((cx - 0.65).abs() < 0.03 && (cy - 0.7).abs() < 0.03, "{at:?}");
    assert!(at.describe().starts_with("第 1 页下部"), "{}", at.describe());
}

#[test]
fn a_phone_photo_with_a_seal_is_stamped() {
    let v = expert_mail("微信图片.jpg", jpeg(900, 1200));
    assert_eq!(v.decision, Decision::Acknowledge, "{:?}", v.reasons);
    assert_eq!(scan_of(&v).seal, Some(Seal::Found));
}

/// A text page and, when `sealed`, an electronic seal drawn as red vector paths (ring as
/// Bézier curves, a star); always a red letterhead line and a red table.
fn vector_pdf(sealed: bool) -> Vec<u8> {
    let mut content = String::from(
        "1 0 0 RG 2 w 50 800 m 545 800 l S 0.8 0.1 0.1 rg 50 805 495 4 re f\n\
         0.8 0 0 RG 1 w 60 500 200 120 re S 60 540 m 260 540 l S 160 500 m 160 620 l S\n",
    );
    if sealed {
        content.push_str(
            ".85 .1 .15 RG 3 w 480 300 m 480 333.1 453.1 360 420 360 c 386.9 360 360 333.1 360 300 c \
             360 266.9 386.9 240 420 240 c 453.1 240 480 266.9 480 300 c S\n\
             .85 .1 .15 rg 420 318 m 409.4 285.4 l 437.1 305.6 l 402.9 305.6 l 430.6 285.4 l h f*\n",
        );
    }
    let stream = |body: &str| {
        let mut v = format!("<< /Length {} >>\nstream\n", body.len()).into_bytes();
        v.extend_from_slice(body.as_bytes());
        v.extend(b"\nendstream");
        v
    };
    pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>".to_vec(),
        stream(&content),
    ])
}

#[test]
fn an_electronic_seal_drawn_as_vectors_is_found_and_red_lines_are_not_seals() {
    let v = expert_mail("推荐表.pdf", vector_pdf(true));
    assert_eq!(v.decision, Decision::Acknowledge, "{:?}", v.reasons);
    let at = scan_of(&v).seal_at.expect("where");
    assert!((at.bbox[0] - 360.0 / 595.0).abs() < 0.02 && (at.bbox[1] - (842.0 - 360.0) / 842.0).abs() < 0.02, "{at:?}");
    let v = expert_mail("推荐表.pdf", vector_pdf(false));
    assert_eq!(v.errors, vec![ErrorCode::ScanUnstamped], "{:?}", v.attachments);
}

#[test]
fn a_greyscale_scan_is_acknowledged_with_a_warning() {
    let rgb = stamped_page(124, 175, false);
    let grey: Vec<u8> = rgb.chunks_exact(3).map(|p| p[0]).collect();
    let scan = image_pdf("/Width 124 /Height 175 /ColorSpace /DeviceGray /BitsPerComponent 8", &grey);
    let v = expert_mail("扫描件.pdf", scan);
    assert_eq!(v.decision, Decision::Acknowledge);
    assert_eq!(v.warnings, vec![WarningCode::SealUnverified]);
    assert_eq!(scan_of(&v).seal, Some(Seal::Unverifiable));
}

#[test]
fn blank_pages_are_counted_and_an_all_blank_scan_is_no_scan() {
    let blank = vec![250u8; 124 * 175 * 3];
    let v = expert_mail("扫描件.pdf", rgb_pdf(124, 175, &blank));
    assert_eq!(v.errors, vec![ErrorCode::MissingScan]);
    assert_eq!(scan_of(&v).blank_pages, Some(1));
}

#[test]
fn a_thirty_thousand_pixel_square_image_is_refused_with_a_reason() {
    let scan = image_pdf(
        "/Width 30000 /Height 30000 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode",
        &jpeg(400, 500),
    );
    let v = expert_mail("扫描件.pdf", scan);
    assert_eq!(v.errors, vec![ErrorCode::UnreadableAttachment]);
    let problem = scan_of(&v).problem.clone().unwrap_or_default();
    assert!(problem.contains("30000×30000"), "{problem}");
    let flate =
        image_pdf("/Width 30000 /Height 30000 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode", b"x");
    let v = expert_mail("扫描件.pdf", flate);
    assert!(scan_of(&v).problem.as_deref().unwrap_or("").contains("30000×30000"), "{:?}", v.attachments);
}

#[test]
fn a_decompression_bomb_in_an_image_stream_is_refused_at_the_cap() {
    use std::io::Write;
    // 100 MB of zeros behind a 2 000 × 2 000 RGB header (12 MB): stopped at the 64 MB cap.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..100 {
        z.write_all(&zeros).expect("deflate");
    }
    let bomb = z.finish().expect("deflate");
    let scan =
        image_pdf("/Width 2000 /Height 2000 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode", &bomb);
    let v = expert_mail("扫描件.pdf", scan);
    assert_eq!(v.errors, vec![ErrorCode::UnreadableAttachment], "{:?}", v.attachments);
    let problem = scan_of(&v).problem.clone().unwrap_or_default();
    assert!(problem.contains("64 MB"), "{problem}");
}

#[test]
fn a_jpeg_2000_scan_is_decoded() {
    // tests/fixtures/stamped-page.jp2: a 248×350 stamped page (print, blue ink, red ring),
    // written by opj_compress (Debian libopenjp2-tools) from a PPM; see fixtures/generate.py.
    let jp2 = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stamped-page.jp2")).expect("fixture");
    let scan = image_pdf("/Width 248 /Height 350 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /JPXDecode", &jp2);
    let v = expert_mail("扫描件.pdf", scan);
    assert_eq!(v.decision, Decision::Acknowledge, "{:?} {:?}", v.reasons, v.attachments);
    assert_eq!(scan_of(&v).seal, Some(Seal::Found));
}

/// A 50-page A4 scan at 300 dpi (2480 × 3508 colour JPEG pages, the seal on the last page)
/// with its form, for BENCHMARKS.md: `cargo test --release --test integration
/// write_fifty_page_scan -- --ignored` writes `target/seal-bench/fifty-pages.eml`.
#[test]
#[ignore = "writes a benchmark input; run by hand"]
fn write_fifty_page_scan() {
    let (w, h) = (2480u16, 3508u16);
    let encode = |sealed: bool| {
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 75)
            .encode(&stamped_page(w.into(), h.into(), sealed), w, h, jpeg_encoder::ColorType::Rgb)
            .expect("encode");
        out
    };
    let (plain, sealed) = (encode(false), encode(true));
    let pages = 50;
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            (0..pages).map(|i| format!("{} 0 R", 3 + 3 * i)).collect::<Vec<_>>().join(" ")
        )
        .into_bytes(),
    ];
    let stream = |dict: &str, data: &[u8]| {
        let mut v = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
        v.extend_from_slice(data);
        v.extend(b"\nendstream");
        v
    };
    for i in 0..pages {
        let n = 3 + 3 * i;
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 {} 0 R >> >> /Contents {} 0 R >>",
                n + 2,
                n + 1
            )
            .into_bytes(),
        );
        objects.push(stream("", b"q 595 0 0 842 0 0 cm /Im0 Do Q"));
        let data = if i == pages - 1 { &sealed } else { &plain };
        objects.push(stream(
            &format!("/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode"),
            data,
        ));
    }
    let raw = Mail::new("专家推荐+昆明学院+张三")
        .attach("附件2推荐表.docx", ExpertForm::new("张三", "昆明学院").docx())
        .attach("盖章扫描件.pdf", pdf(&objects))
        .build();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/seal-bench");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("fifty-pages.eml"), &raw).expect("write");
    let v = judge("fifty-pages.eml", &raw, &Rules::embedded(), &JudgeOptions::default());
    let scan = scan_of(&v);
    assert_eq!((scan.seal, scan.seal_at.map(|a| a.page)), (Some(Seal::Found), Some(50)), "{:?}", v.reasons);
    eprintln!("wrote {} bytes", raw.len());
}

#[test]
fn a_png_scan_and_a_warm_lit_low_quality_photo_show_their_seals() {
    let (w, h) = (620usize, 877usize);
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, w as u32, h as u32);
        enc.set_color(png::ColorType::Rgb);
        let mut writer = enc.write_header().expect("png header");
        writer.write_image_data(&stamped_page(w, h, true)).expect("png data");
    }
    let v = expert_mail("扫描件.png", png_bytes);
    assert_eq!(v.decision, Decision::Acknowledge, "{:?}", v.reasons);
    assert_eq!(scan_of(&v).seal, Some(Seal::Found));

    // tungsten light: everything yellow-orange, then a strong JPEG compression
    let (w, h) = (1240u16, 1754u16);
    let warm: Vec<u8> = stamped_page(w.into(), h.into(), true)
        .chunks_exact(3)
        .flat_map(|p| [p[0], (f32::from(p[1]) * 0.85) as u8, (f32::from(p[2]) * 0.62) as u8])
        .collect();
    let mut photo = Vec::new();
    jpeg_encoder::Encoder::new(&mut photo, 35).encode(&warm, w, h, jpeg_encoder::ColorType::Rgb).expect("jpeg");
    let v = expert_mail("IMG_2041.jpg", photo);
    assert_eq!(v.decision, Decision::Acknowledge, "{:?}", v.reasons);
    assert_eq!(scan_of(&v).seal, Some(Seal::Found));
}

/// With the `ocr` feature (and Tesseract's chi_sim installed): the sample's scan is read and
/// names its form, expert and school.
#[cfg(feature = "ocr")]
#[test]
fn ocr_reads_the_scans_title_name_and_school() {
    let Some(shared) = crate::support::shared() else {
        return crate::support::skip_loudly("ocr_reads_the_scans_title_name_and_school");
    };
    let raw = std::fs::read(shared.join("samples-seals/0001.eml")).expect("sample");
    let v = judge("0001.eml", &raw, &Rules::embedded(), &JudgeOptions::default());
    let t = scan_of(&v).scan_text.clone().expect("text read (is tesseract-ocr-chi-sim installed?)");
    assert!(t.title && t.name == Some(true) && t.school == Some(true), "{t:?}");
}
