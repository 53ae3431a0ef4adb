//! The register as files: `.xlsx` (one sheet per kind, the experts, the roster with each
//! school's status, every message), the same sheets as CSV, and the attachments as folders.
//!
//! Everything written is owner-only (folders 0700, files 0600): the register holds names,
//! phone numbers and e-mail addresses. Every cell is written as text with the text format
//! `@`, so Excel/WPS never turn `13800000000` into `1.38E+10` or `1975-06` into a date;
//! control characters (invalid in XML) are removed from cell text.

pub mod attachments;
pub mod sheets;
pub mod submissions;
pub mod words;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use rust_xlsxwriter::{Format, Workbook};

use crate::rules::Rules;
pub use sheets::{Cell, Sheet, register_sheets};

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("cannot write the spreadsheet: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("{path} is not empty; export the attachments into a new or empty folder")]
    NotEmpty { path: String },
    #[error("{path} is a symbolic link or not a folder; refusing to write through it")]
    NotAFolder { path: String },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io { path: path.display().to_string(), source }
}

/// Excel's limit on the characters of one cell.
const MAX_CELL_CHARS: usize = 32_767;

/// Cell text Excel, WPS and LibreOffice accept: no control characters (XML 1.0 forbids
/// most of them) except tab and line feed, no noncharacters, at most 32 767 characters.
pub fn clean_cell(s: &str) -> String {
    s.chars()
        .filter(|&c| (!c.is_control() || c == '\n' || c == '\t') && !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
        .take(MAX_CELL_CHARS)
        .collect()
}

/// A valid, unique worksheet name: at most 31 characters, none of `[]:*?/\`, no apostrophe
/// at either end, not `History`.
pub fn sheet_name(wanted: &str, used: &mut Vec<String>) -> String {
    let clean: String = clean_cell(wanted)
        .chars()
        .map(|c| if matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') || c.is_whitespace() { '_' } else { c })
        .collect();
    let clean = clean.trim_matches('\'').to_string();
    let base = if clean.is_empty() || clean.eq_ignore_ascii_case("history") { "Sheet".to_string() } else { clean };
    let mut n = 1;
    loop {
        let suffix = if n == 1 { String::new() } else { format!(" ({n})") };
        let room = 31 - suffix.chars().count();
        let candidate: String = base.chars().take(room).collect::<String>() + &suffix;
        if !used.iter().any(|u| u.to_lowercase() == candidate.to_lowercase()) {
            used.push(candidate.clone());
            return candidate;
        }
        n += 1;
    }
}

/// Display width for column sizing (CJK characters count double).
fn display_width(s: &str) -> usize {
    s.lines()
        .map(|l| {
            l.chars()
                .map(|c| if crate::text::is_cjk(c) || ('\u{3000}'..='\u{FFEF}').contains(&c) { 2 } else { 1 })
                .sum()
        })
        .max()
        .unwrap_or(0)
}

/// The register as an `.xlsx` workbook: every sheet of [`register_sheets`], every text cell
/// written as text (`@`).
pub fn register_xlsx(conn: &Connection, rules: &Rules) -> Result<Vec<u8>, ExportError> {
    sheets_xlsx(&register_sheets(conn, rules)?)
}

/// Renders sheets as an `.xlsx` workbook.
pub fn sheets_xlsx(sheets: &[Sheet]) -> Result<Vec<u8>, ExportError> {
    let mut wb = Workbook::new();
    let text = Format::new().set_num_format("@").set_text_wrap().set_align(rust_xlsxwriter::FormatAlign::Top);
    let head = Format::new().set_num_format("@").set_bold().set_background_color(0xDDEBF7);
    let number = Format::new().set_num_format("0").set_align(rust_xlsxwriter::FormatAlign::Top);
    let mut used = Vec::new();
    for sheet in sheets {
        let ws = wb.add_worksheet();
        ws.set_name(sheet_name(&sheet.name, &mut used))?;
        let columns = sheet.header.len().min(u16::MAX as usize);
        let mut widths: Vec<usize> = sheet.header.iter().map(|h| display_width(h)).collect();
        for (c, h) in sheet.header.iter().enumerate().take(columns) {
            ws.write_string_with_format(0, c as u16, clean_cell(h), &head)?;
        }
        for (r, row) in sheet.rows.iter().enumerate() {
            let Ok(r) = u32::try_from(r + 1) else { break };
            if r >= 1_048_576 {
                break;
            }
            for (c, cell) in row.iter().enumerate().take(columns) {
                match cell {
                    Cell::Text(s) => {
                        let s = clean_cell(s);
                        widths[c] = widths[c].max(display_width(&s));
                        ws.write_string_with_format(r, c as u16, s, &text)?;
                    }
                    Cell::Number(n) => {
                        ws.write_number_with_format(r, c as u16, *n, &number)?;
                    }
                }
            }
        }
        for (c, w) in widths.iter().enumerate() {
            ws.set_column_width(c as u16, (*w as f64 + 2.0).clamp(6.0, 60.0))?;
        }
        ws.set_freeze_panes(1, 0)?;
        if columns > 0 {
            let last_row = u32::try_from(sheet.rows.len()).unwrap_or(u32::MAX).min(1_048_575);
            ws.autofilter(0, 0, last_row, (columns - 1) as u16)?;
        }
    }
    Ok(wb.save_to_buffer()?)
}

/// One sheet as CSV: UTF-8 with a byte-order mark (so Excel reads the Chinese correctly),
/// CRLF line ends. A cell that would start a formula (see [`starts_a_formula`]) is prefixed
/// with `'` so a spreadsheet never runs text taken from a mail.
pub fn sheet_csv(sheet: &Sheet) -> Result<Vec<u8>, ExportError> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(&mut out);
        w.write_record(sheet.header.iter().map(|h| clean_cell(h)))?;
        for row in &sheet.rows {
            w.write_record(row.iter().map(|c| {
                let s = clean_cell(&c.text());
                if matches!(c, Cell::Text(_)) && starts_a_formula(&s) { format!("'{s}") } else { s }
            }))?;
        }
        w.flush().map_err(|e| ExportError::Csv(e.into()))?;
    }
    Ok(out)
}

/// Whether a spreadsheet opening a CSV file would take this text for a formula: it starts
/// with `=` or `@`, or with `+`/`-` followed by more than a number (`+86 138…` stays as it is).
fn starts_a_formula(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some('=' | '@') => true,
        Some('+' | '-') => !chars.all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.')),
        _ => false,
    }
}

/// Writes each sheet as `<sheet name>.csv` into `dir` (created owner-only); returns the files.
pub fn write_csv_dir(sheets: &[Sheet], dir: &Path) -> Result<Vec<PathBuf>, ExportError> {
    create_private_dir_all(dir)?;
    let mut used = Vec::new();
    let mut written = Vec::new();
    for sheet in sheets {
        let name = attachments::safe_component(&sheet_name(&sheet.name, &mut used), "sheet");
        let path = dir.join(format!("{name}.csv"));
        write_private_file(&path, &sheet_csv(sheet)?)?;
        written.push(path);
    }
    Ok(written)
}

/// Creates a folder and its missing parents, owner-only (0700). An existing folder is kept as
/// it is; a symbolic link is refused.
pub fn create_private_dir_all(dir: &Path) -> Result<(), ExportError> {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => return Err(ExportError::NotAFolder { path: dir.display().to_string() }),
        Err(_) => {}
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io_error(dir))
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir).map_err(io_error(dir))
    }
}

/// Writes a whole file owner-only (0600), replacing it atomically (a temporary file in the
/// same folder, then a rename), so a reader never sees half a workbook.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dir_all(parent)?;
    }
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(ExportError::NotAFolder { path: path.display().to_string() });
    }
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "export".into());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = new_private_file(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io_error(path))
}

/// Creates a new file owner-only (0600); fails when anything (a file, a link) is already there.
pub fn new_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let mut used = Vec::new();
        assert_eq!(sheet_name("专家推荐", &mut used), "专家推荐");
        assert_eq!(sheet_name("专家推荐", &mut used), "专家推荐 (2)");
        assert_eq!(sheet_name("a[b]:c*d?e/f\\g", &mut used), "a_b__c_d_e_f_g");
        assert_eq!(sheet_name("'History'", &mut used), "Sheet");
        let long = sheet_name(&"长".repeat(40), &mut used);
        assert_eq!(long.chars().count(), 31);
        let long2 = sheet_name(&"长".repeat(40), &mut used);
        assert!(long2.ends_with(" (2)") && long2.chars().count() == 31, "{long2}");
    }

    #[test]
    fn cell_text_has_no_control_characters() {
        assert_eq!(clean_cell("a\u{0}b\u{1b}[31mc\r\nd\te\u{FFFF}"), "ab[31mc\nd\te");
        assert_eq!(clean_cell(&"x".repeat(40_000)).len(), MAX_CELL_CHARS);
    }

    #[test]
    fn csv_has_a_bom_and_defuses_formulas() {
        let sheet = Sheet {
            name: "s".into(),
            header: vec!["姓名".into(), "手机".into(), "n".into()],
            rows: vec![
                vec![Cell::Text("=HYPERLINK(\"x\")".into()), Cell::Text("13800000000".into()), Cell::Number(3.0)],
                vec![
                    Cell::Text("-2+3+cmd|' /C calc'!A0".into()),
                    Cell::Text("+86 138-0000-0000".into()),
                    Cell::Number(-1.0),
                ],
                vec![Cell::Text("@SUM(A1)".into()), Cell::Text("-".into()), Cell::Text("1975-06".into())],
            ],
        };
        let bytes = sheet_csv(&sheet).unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        assert_eq!(
            text,
            "姓名,手机,n\r\n\"'=HYPERLINK(\"\"x\"\")\",13800000000,3\r\n\
             '-2+3+cmd|' /C calc'!A0,+86 138-0000-0000,-1\r\n\
             '@SUM(A1),-,1975-06\r\n"
        );
    }

    #[test]
    fn workbook_keeps_numbers_as_text() {
        let sheet = Sheet {
            name: "专家".into(),
            header: vec!["手机".into(), "出生年月".into()],
            rows: vec![vec![Cell::Text("13800000000".into()), Cell::Text("1975-06".into())]],
        };
        let bytes = sheets_xlsx(&[sheet]).unwrap();
        use calamine::Reader as _;
        let mut wb = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let range = wb.worksheet_range("专家").unwrap();
        let rows: Vec<Vec<String>> = range.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
        assert_eq!(rows, vec![vec!["手机", "出生年月"], vec!["13800000000", "1975-06"]]);
        assert!(matches!(range.get((1, 0)), Some(calamine::Data::String(_))));
    }
}
