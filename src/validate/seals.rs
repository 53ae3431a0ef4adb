//! The seal rule (issue 13): from a submission's current scans to `scan_unstamped`,
//! `seal_unverified`, or `missing_scan` when every scan is blank. One small pure function,
//! called on one mail's scans by `judge` and on a submission's current scan parts elsewhere.

use crate::text::key;
use crate::verdict::{AttachmentInfo, ErrorCode, Role, Seal, WarningCode};

/// Fills in what a scan's OCR text shows (feature `ocr`; a no-op without text): the form's
/// title (any of `markers`), the expert's `name`, the `school`. Recorded for the office, not
/// an error: OCR of a phone photo misreads too often to reject a submission on it.
pub fn read_scan_text(
    attachments: &mut [AttachmentInfo],
    markers: &[String],
    name: Option<&String>,
    school: Option<&String>,
) {
    for a in attachments.iter_mut() {
        let Some(t) = a.scan_text.as_mut() else { continue };
        let text = key(&t.text);
        let has = |s: &str| !key(s).is_empty() && text.contains(&key(s));
        t.title = markers.iter().any(|m| has(m));
        t.name = name.map(|n| has(n));
        t.school = school.map(|s| has(s));
    }
}

/// Errors and warnings about the seal, from the scans on file (attachments whose role is
/// `scan`; others are ignored, and so are scans that could not be read — they have their own
/// error — or that predate seal detection, `seal: null`).
///
/// - every readable scan is blank on every page: `missing_scan` (a blank scan is no scan);
/// - some non-blank scan shows a seal: nothing;
/// - otherwise, some non-blank scan could not be checked (greyscale, bitonal): warning
///   `seal_unverified`;
/// - otherwise (every non-blank scan is colour or a text PDF, none with a seal):
///   error `scan_unstamped`.
pub fn seal_findings(scans: &[&AttachmentInfo]) -> (Vec<ErrorCode>, Vec<WarningCode>) {
    let readable: Vec<&AttachmentInfo> =
        scans.iter().copied().filter(|a| a.role == Role::Scan && a.problem.is_none()).collect();
    if readable.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let blank = |a: &AttachmentInfo| {
        let pages = a.pages.unwrap_or(1).max(1);
        a.blank_pages.is_some_and(|b| b >= pages)
    };
    let printed: Vec<&AttachmentInfo> = readable.iter().copied().filter(|a| !blank(a)).collect();
    if printed.is_empty() {
        return (vec![ErrorCode::MissingScan], Vec::new());
    }
    if printed.iter().any(|a| a.seal == Some(Seal::Found) || a.seal.is_none()) {
        return (Vec::new(), Vec::new());
    }
    if printed.iter().any(|a| a.seal == Some(Seal::Unverifiable)) {
        return (Vec::new(), vec![WarningCode::SealUnverified]);
    }
    (vec![ErrorCode::ScanUnstamped], Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(seal: Option<Seal>, pages: Option<u32>, blank: u32) -> AttachmentInfo {
        AttachmentInfo {
            filename: "scan.pdf".into(),
            kind: "pdf".into(),
            role: Role::Scan,
            size: 1,
            sha256: String::new(),
            pages,
            scanned: Some(true),
            width: None,
            height: None,
            archive: None,
            seal,
            blank_pages: Some(blank),
            seal_at: None,
            scan_text: None,
            problem: None,
        }
    }

    #[test]
    fn the_rule() {
        let found = scan(Some(Seal::Found), Some(2), 0);
        let plain = scan(Some(Seal::NotFound), Some(1), 0);
        let grey = scan(Some(Seal::Unverifiable), Some(1), 0);
        let blank = scan(Some(Seal::NotFound), Some(7), 7);
        let none: (Vec<ErrorCode>, Vec<WarningCode>) = (vec![], vec![]);
        assert_eq!(seal_findings(&[]), none);
        assert_eq!(seal_findings(&[&found, &plain]), none);
        assert_eq!(seal_findings(&[&plain]), (vec![ErrorCode::ScanUnstamped], vec![]));
        assert_eq!(seal_findings(&[&plain, &blank]), (vec![ErrorCode::ScanUnstamped], vec![]));
        assert_eq!(seal_findings(&[&grey]), (vec![], vec![WarningCode::SealUnverified]));
        assert_eq!(seal_findings(&[&grey, &plain]), (vec![], vec![WarningCode::SealUnverified]));
        assert_eq!(seal_findings(&[&blank]), (vec![ErrorCode::MissingScan], vec![]));
        let mut unread = plain.clone();
        unread.problem = Some("damaged".into());
        assert_eq!(seal_findings(&[&unread]), none);
        let mut read = vec![plain.clone()];
        read[0].scan_text = Some(crate::verdict::ScanText {
            title: false,
            name: None,
            school: None,
            text: "“1+X”证书制度试点工作专家组专家推荐表\n姓名 张 三\n工作单位 昆明学院".into(),
        });
        read_scan_text(&mut read, &["专家推荐表".into()], Some(&"张三".into()), Some(&"曲靖师范学院".into()));
        let t = read[0].scan_text.clone().unwrap();
        assert!(t.title && t.name == Some(true) && t.school == Some(false), "{t:?}");
        // verdicts stored before seal detection judge nothing
        assert_eq!(seal_findings(&[&scan(None, Some(1), 0)]), none);
    }
}
