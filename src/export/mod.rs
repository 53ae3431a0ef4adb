//! The register as files: `.xlsx` (one sheet per kind, the experts, the roster with each
//! school's status), CSV, and the attachments as folders.

use rusqlite::Connection;
use rust_xlsxwriter::{Format, Workbook};

use crate::rules::Rules;
use crate::store::query::{self, Filter};

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
}

/// The register as an `.xlsx` workbook (current submissions; every cell text).
pub fn register_xlsx(conn: &Connection, rules: &Rules) -> Result<Vec<u8>, ExportError> {
    let rows = query::list(conn, &Filter { current_only: true, ..Filter::default() })?;
    let mut wb = Workbook::new();
    let text = Format::new().set_num_format("@");
    let ws = wb.add_worksheet();
    ws.set_name("登记表")?;
    let header = ["编号", "到达时间", "发件人", "主题", "结论", "类别", "学校", "专家/专业大类", "问题", "提示"];
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, *h)?;
    }
    for (r, m) in rows.iter().enumerate() {
        let r = (r + 1) as u32;
        let kind = m.kind.as_deref().and_then(|k| rules.kind(k)).map(|k| k.name.clone()).unwrap_or_default();
        let cells = [
            m.id.to_string(),
            m.arrived.clone().unwrap_or_default(),
            m.sender.clone().unwrap_or_default(),
            m.subject.clone(),
            m.decision.clone().unwrap_or_else(|| m.state.clone()),
            kind,
            m.school.clone().unwrap_or_default(),
            m.expert_name.clone().or_else(|| m.category.clone()).unwrap_or_default(),
            m.errors.join(", "),
            m.warnings.join(", "),
        ];
        for (c, v) in cells.iter().enumerate() {
            ws.write_string_with_format(r, c as u16, v, &text)?;
        }
    }
    Ok(wb.save_to_buffer()?)
}
