//! Excel workbooks (`.xlsx`, `.xls`, WPS `.et`) through calamine: every sheet as a grid.
//!
//! Cells become text the way a person reads them: integers without `.0` (phone numbers),
//! date cells as `YYYY-MM-DD`.
//!
//! calamine builds a sheet as one dense grid spanning its used cells, so a file with one cell
//! in A1 and one in XFD1048576 would ask for billions of cells at once (an allocation failure
//! aborts the process; `catch_unwind` cannot catch it). And calamine decompresses the parts
//! of an `.xlsx` without a size cap. So before calamine sees a workbook:
//! - `.xlsx`: every zip member's declared and actual decompressed size is checked against
//!   [`Limits::max_decompressed_bytes`] (and their sum against the total cap), and the cells
//!   are then streamed one by one into a grid of at most [`MAX_ROWS`] × [`MAX_COLS`];
//! - `.xls`: the BIFF records of the workbook stream are walked to find the span of every
//!   sheet's cells, and a workbook whose grids would exceed [`MAX_GRID_CELLS`] is refused.

use std::io::Cursor;

use calamine::{Data, Reader, Xls, Xlsx};

use super::Document;
use crate::limits::{CapError, Limits, measure_capped, read_capped};

/// Rows of a sheet read (forms and summary tables are far smaller).
pub const MAX_ROWS: usize = 2000;
/// Columns of a sheet read.
pub const MAX_COLS: usize = 100;
/// Sheets of a workbook read.
pub const MAX_SHEETS: usize = 50;
/// Cells (filled or not) calamine may hold for all the sheets of an `.xls` at once.
pub const MAX_GRID_CELLS: u64 = 4_000_000;
/// Cells streamed from one `.xlsx` sheet before the rest is skipped.
const MAX_STREAMED_CELLS: usize = 1_000_000;

const CFB_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Reads every sheet of a workbook.
pub fn read(bytes: &[u8], limits: &Limits) -> Result<Document, String> {
    if bytes.starts_with(CFB_MAGIC) {
        check_xls(bytes, limits)?;
        let mut wb = Xls::new(Cursor::new(bytes)).map_err(|e| format!("Excel 文件无法打开（{e}）"))?;
        let mut doc = Document::default();
        for name in wb.sheet_names().into_iter().take(MAX_SHEETS) {
            let Ok(range) = wb.worksheet_range(&name) else {
                continue;
            };
            let grid: Vec<Vec<String>> =
                range.rows().take(MAX_ROWS).map(|row| row.iter().take(MAX_COLS).map(cell_text).collect()).collect();
            push_grid(&mut doc, grid);
        }
        return Ok(doc);
    }
    check_zip(bytes, limits)?;
    let mut wb = Xlsx::new(Cursor::new(bytes)).map_err(|e| format!("Excel 文件无法打开（{e}）"))?;
    let mut doc = Document::default();
    for name in wb.sheet_names().into_iter().take(MAX_SHEETS) {
        let Ok(mut cells) = wb.worksheet_cells_reader(&name) else {
            continue;
        };
        let mut kept: Vec<(u32, u32, String)> = Vec::new();
        let mut streamed = 0usize;
        while let Ok(Some(cell)) = cells.next_cell() {
            streamed += 1;
            if streamed > MAX_STREAMED_CELLS {
                break;
            }
            let (row, col) = cell.get_position();
            let text = cell_text(&Data::from(cell.get_value().clone()));
            if !text.is_empty() {
                kept.push((row, col, text));
            }
        }
        push_grid(&mut doc, sparse_grid(kept));
    }
    Ok(doc)
}

/// A grid from sparse cells, starting at the first used row and column (as calamine's
/// ranges do), at most [`MAX_ROWS`] × [`MAX_COLS`].
fn sparse_grid(cells: Vec<(u32, u32, String)>) -> Vec<Vec<String>> {
    let (Some(r0), Some(c0)) = (cells.iter().map(|c| c.0).min(), cells.iter().map(|c| c.1).min()) else {
        return Vec::new();
    };
    let rows = cells.iter().map(|c| (c.0 - r0) as usize + 1).max().unwrap_or(0).min(MAX_ROWS);
    let cols = cells.iter().map(|c| (c.1 - c0) as usize + 1).max().unwrap_or(0).min(MAX_COLS);
    let mut grid = vec![vec![String::new(); cols]; rows];
    for (r, c, text) in cells {
        if let Some(slot) = grid.get_mut((r - r0) as usize).and_then(|row| row.get_mut((c - c0) as usize)) {
            *slot = text;
        }
    }
    grid
}

fn push_grid(doc: &mut Document, grid: Vec<Vec<String>>) {
    for row in &grid {
        for c in row {
            if !c.is_empty() {
                doc.paragraphs.push(c.clone());
            }
        }
    }
    doc.tables.push(grid);
}

/// Checks that no member of a zip container decompresses beyond the caps (declared sizes
/// first, then the real sizes, read through the cap and thrown away).
pub fn check_zip(bytes: &[u8], limits: &Limits) -> Result<(), String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("Excel 文件已损坏（{e}）"))?;
    let cap = limits.max_decompressed_bytes;
    let mut total = 0u64;
    for i in 0..zip.len() {
        let f = zip.by_index(i).map_err(|e| format!("Excel 文件已损坏（{e}）"))?;
        let name = crate::parse::sanitize_name(&String::from_utf8_lossy(f.name_raw()));
        if f.size() > cap {
            return Err(too_large(&name, cap));
        }
        let remaining = limits.max_total_decompressed_bytes.saturating_sub(total);
        let size = measure_capped(f, cap.min(remaining)).map_err(|e| match e {
            CapError::TooLarge { limit } => too_large(&name, limit),
            CapError::Io(e) => format!("Excel 文件已损坏，{name} 无法解压（{e}）"),
        })?;
        total += size;
    }
    Ok(())
}

fn too_large(part: &str, limit: u64) -> String {
    format!("Excel 文件的 {part} 解压后超过 {} MB 的上限，未读取", limit.div_ceil(1024 * 1024))
}

/// Walks the BIFF records of an `.xls` workbook stream and refuses a workbook whose sheets
/// would make calamine hold more than [`MAX_GRID_CELLS`] cells.
fn check_xls(bytes: &[u8], limits: &Limits) -> Result<(), String> {
    let mut cf = cfb::CompoundFile::open(Cursor::new(bytes)).map_err(|e| format!("Excel 文件已损坏（{e}）"))?;
    let stream = ["/Workbook", "/Book", "/WORKBOOK", "/BOOK"]
        .iter()
        .find_map(|p| cf.open_stream(p).ok())
        .ok_or_else(|| "Excel 97-2003 文件缺少工作簿流".to_string())?;
    let data = read_capped(stream, limits.max_decompressed_bytes).map_err(|e| match e {
        CapError::TooLarge { limit } => too_large("Workbook", limit),
        CapError::Io(e) => format!("Excel 文件已损坏（{e}）"),
    })?;
    if biff_malformed(&data) {
        return Err("Excel 97-2003 文件已损坏（工作簿记录不完整），未读取".into());
    }
    let area = biff_area(&data);
    if area > MAX_GRID_CELLS {
        return Err(format!("Excel 文件的表格范围过大（约 {area} 个单元格），未读取"));
    }
    Ok(())
}

/// Records calamine indexes without checking them (found by fuzzing): a `Lbl` record shorter
/// than its fixed part, a `BoundSheet` whose sheet position lies past the end of the stream.
fn biff_malformed(data: &[u8]) -> bool {
    let mut pos = 0usize;
    while let (Some(t), Some(l)) = (data.get(pos..pos + 2), data.get(pos + 2..pos + 4)) {
        let (typ, len) = (u16::from_le_bytes([t[0], t[1]]), usize::from(u16::from_le_bytes([l[0], l[1]])));
        let body = data.get(pos + 4..).unwrap_or_default();
        match typ {
            0x0018 if len < 15 => return true,
            0x0085 => match body.get(..4) {
                Some(p) if len >= 4 => {
                    let sheet_at = u32::from_le_bytes([p[0], p[1], p[2], p[3]]) as usize;
                    if sheet_at >= data.len() {
                        return true;
                    }
                }
                _ => return true,
            },
            _ => {}
        }
        pos += 4 + len;
    }
    false
}

/// The cells calamine would allocate for a BIFF workbook stream: the bounding box of the
/// cells of each substream (BOF … EOF), the largest box counted once per sheet declared
/// (sheets may share one substream), plus all boxes.
pub fn biff_area(data: &[u8]) -> u64 {
    #[derive(Clone, Copy)]
    struct Span {
        r0: u32,
        r1: u32,
        c0: u32,
        c1: u32,
    }
    impl Span {
        fn area(self) -> u64 {
            if self.r0 > self.r1 { 0 } else { u64::from(self.r1 - self.r0 + 1) * u64::from(self.c1 - self.c0 + 1) }
        }
    }
    let empty = Span { r0: u32::MAX, r1: 0, c0: u32::MAX, c1: 0 };
    let mut stack: Vec<Span> = vec![empty];
    let (mut sum, mut largest, mut sheets) = (0u64, 0u64, 0u64);
    let u16_at = |d: &[u8], at: usize| d.get(at..at + 2).map(|s| u32::from(u16::from_le_bytes([s[0], s[1]])));
    let mut pos = 0usize;
    while let (Some(typ), Some(len)) = (u16_at(data, pos), u16_at(data, pos + 2)) {
        let body = data.get(pos + 4..(pos + 4 + len as usize).min(data.len())).unwrap_or_default();
        pos += 4 + len as usize;
        match typ {
            0x0809 | 0x0009 | 0x0209 | 0x0409 => stack.push(empty),
            0x000A => {
                if stack.len() > 1
                    && let Some(s) = stack.pop()
                {
                    sum = sum.saturating_add(s.area());
                    largest = largest.max(s.area());
                }
            }
            0x0085 => sheets += 1,
            0x0001..=0x0006 | 0x0201 | 0x0203..=0x0206 | 0x0406 | 0x027E | 0x00D6 | 0x00FD | 0x00BD | 0x00BE => {
                let (Some(row), Some(col)) = (u16_at(body, 0), u16_at(body, 2)) else { continue };
                let last =
                    if matches!(typ, 0x00BD | 0x00BE) { u16_at(body, body.len().saturating_sub(2)) } else { None };
                if let Some(s) = stack.last_mut() {
                    s.r0 = s.r0.min(row);
                    s.r1 = s.r1.max(row);
                    s.c0 = s.c0.min(col);
                    s.c1 = s.c1.max(col.max(last.unwrap_or(col)));
                }
            }
            _ => {}
        }
    }
    for s in stack {
        sum = sum.saturating_add(s.area());
        largest = largest.max(s.area());
    }
    sum.max(largest.saturating_mul(sheets))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(typ: u16, body: &[u8]) -> Vec<u8> {
        let mut v = typ.to_le_bytes().to_vec();
        v.extend((body.len() as u16).to_le_bytes());
        v.extend_from_slice(body);
        v
    }

    fn number(row: u16, col: u16) -> Vec<u8> {
        let mut body = row.to_le_bytes().to_vec();
        body.extend(col.to_le_bytes());
        body.extend([0u8; 10]);
        record(0x0203, &body)
    }

    #[test]
    fn biff_area_is_the_span_of_each_sheet() {
        let bof = record(0x0809, &[0u8; 16]);
        let eof = record(0x000A, &[]);
        let mut s = Vec::new();
        s.extend(&bof);
        s.extend(record(0x0085, &[0u8; 8]));
        s.extend(&eof);
        s.extend(&bof);
        s.extend(number(0, 0));
        s.extend(number(9, 4));
        s.extend(&eof);
        assert_eq!(biff_area(&s), 50);
        // One cell far away: the span calamine would allocate, refused by the cap.
        let mut far = Vec::new();
        far.extend(&bof);
        far.extend(number(0, 0));
        far.extend(number(65535, 65535));
        far.extend(&eof);
        assert!(biff_area(&far) > MAX_GRID_CELLS);
    }

    fn workbook(records: &[Vec<u8>]) -> Vec<u8> {
        use std::io::Write as _;
        let mut stream = record(0x0809, &[0, 6, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        stream.extend(records.concat());
        stream.extend(record(0x000A, &[]));
        let mut cf = cfb::CompoundFile::create(Cursor::new(Vec::new())).expect("cfb");
        cf.create_stream("/Workbook").and_then(|mut s| s.write_all(&stream)).expect("stream");
        cf.flush().expect("flush");
        cf.into_inner().into_inner()
    }

    /// Fuzzing findings (sheet): a short `Lbl` record, and a `BoundSheet` pointing past the
    /// end of the stream, made calamine index out of bounds.
    #[test]
    fn records_calamine_trusts_are_checked_first() {
        let short_name = workbook(&[record(0x0018, &[0, 0, 0, 9])]);
        let far_sheet = workbook(&[record(0x0085, &[0xff, 0xff, 0, 0, 0, 0, 1, 0, b'S'])]);
        for bytes in [short_name, far_sheet] {
            let err = read(&bytes, &Limits::default()).expect_err("refused");
            assert!(err.contains("已损坏"), "{err}");
        }
    }

    #[test]
    fn sparse_cells_become_a_capped_grid() {
        let grid = sparse_grid(vec![(5, 2, "a".into()), (6, 3, "b".into()), (4_000_000, 16_000, "far".into())]);
        assert_eq!(grid.len(), MAX_ROWS);
        assert_eq!(grid[0].len(), MAX_COLS);
        assert_eq!(grid[1][1], "b");
        assert_eq!(grid[0][0], "a");
    }
}
