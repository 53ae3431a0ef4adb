//! Excel workbooks (`.xlsx`, `.xls`, WPS `.et`) through calamine: every sheet as a grid.
//!
//! Cells become text the way a person reads them: integers without `.0` (phone numbers),
//! date cells as `YYYY-MM-DD`.

use std::io::Cursor;

use calamine::{Data, Reader, open_workbook_auto_from_rs};

use super::Document;

/// Reads every sheet of a workbook.
pub fn read(bytes: &[u8]) -> Result<Document, String> {
    let mut wb = open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| format!("Excel 文件无法打开（{e}）"))?;
    let mut doc = Document::default();
    for name in wb.sheet_names() {
        let Ok(range) = wb.worksheet_range(&name) else {
            continue;
        };
        let mut grid = Vec::new();
        for row in range.rows().take(2000) {
            let cells: Vec<String> = row.iter().take(100).map(cell_text).collect();
            grid.push(cells);
        }
        for row in &grid {
            for c in row {
                if !c.is_empty() {
                    doc.paragraphs.push(c.clone());
                }
            }
        }
        doc.tables.push(grid);
    }
    Ok(doc)
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.split_whitespace().collect::<Vec<_>>().join(" "),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else {
                format!("{f}")
            }
        }
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) => t.format("%Y-%m-%d").to_string(),
            None => dt.as_f64().to_string(),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(_) => String::new(),
    }
}
