//! Word 2007+ (`.docx`): tables as grids of cell text, plus the paragraph text.
//!
//! Reads `word/document.xml` through the capped reader and walks it with quick-xml. Text
//! split across runs is joined; line breaks and tabs inside a cell become spaces; nested
//! tables become tables of their own.

use std::io::Cursor;

use quick_xml::Reader;
use quick_xml::events::{BytesRef, Event};

use super::Document;
use crate::limits::{CapError, Limits, read_capped};

/// Reads a .docx file.
pub fn read(bytes: &[u8], limits: &Limits) -> Result<Document, String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("Word 文件已损坏（{e}）"))?;
    let entry = zip.by_name("word/document.xml").map_err(|_| "Word 文件缺少正文（word/document.xml）".to_string())?;
    if entry.size() > limits.max_decompressed_bytes {
        return Err(too_large(limits.max_decompressed_bytes));
    }
    let xml = read_capped(entry, limits.max_decompressed_bytes).map_err(|e| match e {
        CapError::TooLarge { limit } => too_large(limit),
        CapError::Io(e) => format!("Word 文件已损坏，正文无法解压（{e}）"),
    })?;
    let xml = String::from_utf8(xml).map_err(|_| "Word 文件正文不是 UTF-8".to_string())?;
    parse_document_xml(&xml)
}

fn too_large(limit: u64) -> String {
    format!("Word 文件正文解压后超过 {} MB 的上限，未读取", limit.div_ceil(1024 * 1024))
}

#[derive(Default)]
struct Table {
    rows: Vec<Vec<String>>,
    row: Vec<String>,
    cell: Option<String>,
}

/// Parses WordprocessingML body XML.
pub fn parse_document_xml(xml: &str) -> Result<Document, String> {
    let mut reader = Reader::from_str(xml);
    let mut walk = Walk::default();
    loop {
        let event = reader.read_event().map_err(|e| format!("Word 文件正文无法解析（{e}）"))?;
        match event {
            Event::Start(e) => walk.start(e.local_name().as_ref()),
            Event::Empty(e) => walk.empty(e.local_name().as_ref()),
            Event::End(e) => walk.end(e.local_name().as_ref()),
            Event::Text(t) if walk.in_text => walk.text(&t.xml10_content()),
            Event::GeneralRef(r) if walk.in_text => walk.text(&resolve_ref(&r)),
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(walk.doc)
}

/// The text an entity or character reference in `<w:t>` stands for (nothing when unknown).
fn resolve_ref(r: &BytesRef) -> String {
    match r.resolve_char_ref() {
        Ok(Some(c)) => c.to_string(),
        _ => match r.xml10_content().as_ref() {
            "amp" => "&".into(),
            "lt" => "<".into(),
            "gt" => ">".into(),
            "quot" => "\"".into(),
            "apos" => "'".into(),
            _ => String::new(),
        },
    }
}

/// Where the walk over the body is: the document so far, the tables open (innermost last),
/// whether inside `<w:t>`, the paragraph's text so far.
#[derive(Default)]
struct Walk {
    doc: Document,
    stack: Vec<Table>,
    in_text: bool,
    paragraph: String,
}

impl Walk {
    fn start(&mut self, name: &str) {
        match name {
            "tbl" => self.stack.push(Table::default()),
            "tr" => {
                if let Some(t) = self.stack.last_mut() {
                    t.row.clear();
                }
            }
            "tc" => {
                if let Some(t) = self.stack.last_mut() {
                    t.cell = Some(String::new());
                }
            }
            "t" => self.in_text = true,
            "p" => self.paragraph.clear(),
            _ => {}
        }
    }

    fn empty(&mut self, name: &str) {
        match name {
            "br" | "cr" | "tab" => self.text(" "),
            "tc" => {
                if let Some(t) = self.stack.last_mut() {
                    t.row.push(String::new());
                }
            }
            _ => {}
        }
    }

    fn end(&mut self, name: &str) {
        match name {
            "t" => self.in_text = false,
            "p" => self.end_paragraph(),
            "tc" => {
                if let Some(t) = self.stack.last_mut() {
                    let cell = t.cell.take().unwrap_or_default();
                    t.row.push(cell.split_whitespace().collect::<Vec<_>>().join(" "));
                }
            }
            "tr" => {
                if let Some(t) = self.stack.last_mut() {
                    let row = std::mem::take(&mut t.row);
                    t.rows.push(row);
                }
            }
            "tbl" => {
                if let Some(t) = self.stack.pop() {
                    self.doc.tables.push(t.rows);
                }
            }
            _ => {}
        }
    }

    fn end_paragraph(&mut self) {
        let text = self.paragraph.trim().to_string();
        if !text.is_empty() {
            self.doc.paragraphs.push(text);
        }
        self.paragraph.clear();
        // A paragraph break inside a cell separates lines.
        if let Some(cell) = self.stack.last_mut().and_then(|t| t.cell.as_mut())
            && !cell.is_empty()
            && !cell.ends_with(' ')
        {
            cell.push(' ');
        }
    }

    fn text(&mut self, s: &str) {
        self.paragraph.push_str(s);
        if let Some(cell) = self.stack.last_mut().and_then(|t| t.cell.as_mut()) {
            cell.push_str(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_runs_breaks_and_entities() {
        let xml = r#"<w:document xmlns:w="x"><w:body><w:p><w:r><w:t>附件2</w:t></w:r></w:p>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>姓</w:t></w:r><w:r><w:t xml:space="preserve"> 名</w:t></w:r></w:p></w:tc>
<w:tc><w:p><w:r><w:t>张三</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:p><w:r><w:t>出生年月</w:t><w:br/></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>R&amp;D</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
</w:body></w:document>"#;
        let doc = parse_document_xml(xml).expect("parses");
        assert_eq!(doc.tables.len(), 1);
        assert_eq!(doc.tables[0][0], vec!["姓 名", "张三"]);
        assert_eq!(doc.tables[0][1], vec!["出生年月", "R&D"]);
        assert_eq!(doc.paragraphs[0], "附件2");
    }
}
