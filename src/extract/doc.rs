//! Word 97-2003 (`.doc`, and WPS `.wps`): text through the piece table, tables from cell marks.
//!
//! cfb gives the container; the text is found through the FIB's `fcClx` → piece table
//! (8-bit cp1252 or UTF-16LE pieces). Table cells end with `\x07` and every row ends with an
//! extra `\x07`; rows are rebuilt from a header of labels where one exists, otherwise each
//! table is one long row (enough for label/value forms).

use std::io::Cursor;

use super::Document;
use crate::limits::{Limits, read_capped};

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Reads the text of a Word 97-2003 document.
pub fn text(bytes: &[u8], limits: &Limits) -> Result<String, String> {
    let mut cf = cfb::CompoundFile::open(Cursor::new(bytes)).map_err(|e| format!("Word 97-2003 文件已损坏（{e}）"))?;
    let word = {
        let s = cf.open_stream("/WordDocument").map_err(|_| "不是 Word 文件（缺少 WordDocument）".to_string())?;
        read_capped(s, limits.max_decompressed_bytes).map_err(|e| e.to_string())?
    };
    if u16_at(&word, 0) != Some(0xA5EC) {
        return Err("Word 文件头无效".into());
    }
    let flags = u16_at(&word, 0x0A).unwrap_or(0);
    if flags & 0x0100 != 0 {
        return Err("Word 文件设有密码，无法打开".into());
    }
    let table_name = if flags & 0x0200 != 0 { "/1Table" } else { "/0Table" };
    let table = {
        let s = cf.open_stream(table_name).map_err(|_| "Word 文件缺少表流".to_string())?;
        read_capped(s, limits.max_decompressed_bytes).map_err(|e| e.to_string())?
    };
    let fc_clx = u32_at(&word, 0x01A2).ok_or("Word 文件头过短")? as usize;
    let lcb_clx = u32_at(&word, 0x01A6).ok_or("Word 文件头过短")? as usize;
    let clx = table.get(fc_clx..fc_clx.saturating_add(lcb_clx)).ok_or("Word 文件的文本索引越界")?;
    // Skip Prc blocks (0x01), find the Pcdt (0x02).
    let mut i = 0;
    while i < clx.len() && clx[i] == 0x01 {
        let cb = u16_at(clx, i + 1).ok_or("Word 文件的文本索引无效")? as usize;
        i += 3 + cb;
    }
    if clx.get(i) != Some(&0x02) {
        return Err("Word 文件的文本索引无效".into());
    }
    let lcb = u32_at(clx, i + 1).ok_or("Word 文件的文本索引无效")? as usize;
    let plc = clx.get(i + 5..i + 5 + lcb).ok_or("Word 文件的文本索引越界")?;
    if plc.len() < 4 {
        return Ok(String::new());
    }
    let n = (plc.len() - 4) / 12;
    let mut out = String::new();
    for k in 0..n {
        let cp_start = u32_at(plc, k * 4).unwrap_or(0) as usize;
        let cp_end = u32_at(plc, (k + 1) * 4).unwrap_or(0) as usize;
        let pcd = (n + 1) * 4 + k * 8;
        let fc = u32_at(plc, pcd + 2).unwrap_or(0);
        let count = cp_end.saturating_sub(cp_start);
        if count > limits.max_decompressed_bytes as usize {
            return Err("Word 文件文本过大".into());
        }
        if fc & 0x4000_0000 != 0 {
            let start = ((fc & 0x3FFF_FFFF) / 2) as usize;
            let slice = word.get(start..start + count).ok_or("Word 文件的文本越界")?;
            let (s, _, _) = encoding_rs::WINDOWS_1252.decode(slice);
            out.push_str(&s);
        } else {
            let start = fc as usize;
            let slice = word.get(start..start + count * 2).ok_or("Word 文件的文本越界")?;
            let units: Vec<u16> = slice.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
            out.push_str(&String::from_utf16_lossy(&units));
        }
    }
    Ok(out)
}

/// Reads a .doc into the same shape as a .docx.
pub fn read(bytes: &[u8], limits: &Limits, is_label: &dyn Fn(&str) -> bool) -> Result<Document, String> {
    let text = text(bytes, limits)?;
    Ok(structure(&text, is_label))
}

/// Rebuilds paragraphs and tables from Word's plain text with cell marks.
pub fn structure(text: &str, is_label: &dyn Fn(&str) -> bool) -> Document {
    let mut doc = Document::default();
    let mut cells: Vec<String> = Vec::new();
    let mut current = String::new();
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c == '\r' || c == '\x0b' || c == '\t' { ' ' } else { c })
            .filter(|c| !c.is_control())
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let flush_table = |cells: &mut Vec<String>, doc: &mut Document| {
        if !cells.is_empty() {
            doc.tables.push(rows_from_cells(std::mem::take(cells), is_label));
        }
    };
    for c in text.chars() {
        match c {
            '\x07' => {
                cells.push(clean(&current));
                current.clear();
            }
            '\r' => {
                // A paragraph mark: inside a cell it is a line break; outside, a paragraph.
                if current.trim().is_empty() {
                    current.clear();
                    continue;
                }
                let p = clean(&current);
                if !cells.is_empty() && !p.is_empty() {
                    // Text after the last cell mark of a table that was followed by a plain
                    // paragraph: the table ended.
                    flush_table(&mut cells, &mut doc);
                }
                if !p.is_empty() {
                    doc.paragraphs.push(p);
                }
                current.clear();
            }
            // Field codes and other specials.
            '\x13' | '\x14' | '\x15' | '\x01' | '\x08' => {}
            c => current.push(c),
        }
    }
    flush_table(&mut cells, &mut doc);
    let tail = clean(&current);
    if !tail.is_empty() {
        doc.paragraphs.push(tail);
    }
    for row in doc.tables.iter().flatten() {
        for cell in row {
            if !cell.is_empty() {
                doc.paragraphs.push(cell.clone());
            }
        }
    }
    doc
}

/// Splits a table's cell sequence into rows: when a run of ≥3 labels is followed by an empty
/// cell (the row-end mark), that run is a header and rows are that wide (+1 for the mark).
fn rows_from_cells(cells: Vec<String>, is_label: &dyn Fn(&str) -> bool) -> Vec<Vec<String>> {
    let mut run = 0;
    for (i, c) in cells.iter().enumerate() {
        if is_label(c) {
            run += 1;
            continue;
        }
        if c.is_empty() && run >= 3 && i + 1 < cells.len() {
            let width = run + 1;
            let start = i + 1 - width;
            let mut rows: Vec<Vec<String>> = Vec::new();
            if start > 0 {
                rows.push(cells[..start].to_vec());
            }
            for chunk in cells[start..].chunks(width) {
                let mut row = chunk.to_vec();
                if row.len() == width {
                    row.pop();
                }
                rows.push(row);
            }
            return rows;
        }
        run = 0;
    }
    vec![cells]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_value_cells_stay_in_order() {
        let text = "附件2\r专家推荐表\r姓名\x07张三\x07性别\x07男\x07\x07出生年月\x071975.06\x07民族\x07汉\x07\x07\r";
        let doc = structure(text, &|s| ["姓名", "性别", "出生年月", "民族"].contains(&s));
        assert_eq!(doc.tables.len(), 1);
        assert_eq!(doc.tables[0][0][..4], ["姓名", "张三", "性别", "男"]);
        assert_eq!(doc.paragraphs[0], "附件2");
    }

    #[test]
    fn header_rows_are_rebuilt() {
        let text = "序号\x07姓名\x07性别\x07出生年月\x07\x071\x07张三\x07男\x071975.06\x07\x072\x07李四\x07女\x071980.01\x07\x07";
        let doc = structure(text, &|s| ["序号", "姓名", "性别", "出生年月"].contains(&s));
        assert_eq!(doc.tables[0].len(), 3, "{:?}", doc.tables[0]);
        assert_eq!(doc.tables[0][2], vec!["2", "李四", "女", "1980.01"]);
    }
}
