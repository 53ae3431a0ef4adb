//! The register's submission sheets (spec §8): `报送` (one row per submission, with its
//! current parts and its mails), `联系人` (附件1's contact fields) and `汇总表` (附件3's rows).

use rusqlite::Connection;

use super::ExportError;
use super::sheets::{Cell, Sheet};
use super::words;
use crate::register::view;
use crate::rules::Rules;
use crate::store::dossiers::{self, DossierFilter};

/// The name of the submissions sheet.
pub const SUBMISSIONS: &str = "报送";
/// The name of the 附件1 contacts sheet.
pub const CONTACTS: &str = "联系人（附件1）";
/// The name of the 附件3 rows sheet.
pub const LISTED: &str = "汇总表（附件3）";

fn t(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn state_word(s: &str) -> &'static str {
    match s {
        "complete" => "齐全",
        "incomplete" => "待补正",
        _ => "已被取代",
    }
}

/// One row per submission.
pub fn submissions_sheet(conn: &Connection, rules: &Rules) -> Result<Sheet, ExportError> {
    let header = ["报送编号", "类别", "学校", "专家/专业大类", "状态", "问题", "提示", "邮件", "当前材料", "更新"]
        .map(String::from)
        .to_vec();
    let rows = view::dossiers(conn, &DossierFilter::default(), rules)?
        .into_iter()
        .map(|d| {
            let kind = rules.kind(&d.kind).map(|k| k.name.clone()).unwrap_or(d.kind.clone());
            let state = match d.superseded_by {
                Some(by) => format!("{}（由报送 {by} 取代）", state_word(d.state)),
                None => state_word(d.state).to_string(),
            };
            let parts: Vec<String> = d
                .parts
                .iter()
                .map(|p| {
                    format!(
                        "{}（{}，邮件 #{}，{} 字节，SHA-256 {}）",
                        p.filename,
                        words::role(p.role),
                        p.message,
                        p.size,
                        p.sha256.chars().take(16).collect::<String>()
                    )
                })
                .collect();
            vec![
                t(d.id.to_string()),
                t(kind),
                t(d.school.unwrap_or_default()),
                t(d.expert_name.or(d.category).unwrap_or_default()),
                t(state),
                t(words::errors(&d.errors)),
                t(words::warnings(&d.warnings, rules)),
                t(d.messages.iter().map(|m| format!("#{m}")).collect::<Vec<_>>().join(" ")),
                t(parts.join("\n")),
                t(d.updated.unwrap_or_default()),
            ]
        })
        .collect();
    Ok(Sheet { name: SUBMISSIONS.into(), header, rows })
}

/// 附件1's contact fields, one row per mail that carried the form (the current submission's
/// first).
pub fn contacts_sheet(conn: &Connection) -> Result<Sheet, ExportError> {
    let header =
        ["邮件编号", "报送编号", "学校", "专业大类", "联系人", "联系电话", "电子邮箱"].map(String::from).to_vec();
    let rows = dossiers::contacts(conn)?
        .into_iter()
        .map(|(message, dossier, cols)| {
            let mut row = vec![t(message.to_string()), t(dossier.map(|d| d.to_string()).unwrap_or_default())];
            row.extend(cols.into_iter().map(|c| t(c.unwrap_or_default())));
            row
        })
        .collect();
    Ok(Sheet { name: CONTACTS.into(), header, rows })
}

/// Every 附件3 row as received, with the mail it came in.
pub fn listed_sheet(conn: &Connection) -> Result<Sheet, ExportError> {
    let header = [
        "邮件编号",
        "学校",
        "姓名",
        "性别",
        "出生年月",
        "职称",
        "职称级别",
        "手机",
        "电子邮箱",
        "工作单位",
        "专业大类",
    ]
    .map(String::from)
    .to_vec();
    let rows = dossiers::summary_rows(conn)?
        .into_iter()
        .map(|(message, cols)| {
            let mut row = vec![t(message.to_string())];
            row.extend(cols.into_iter().map(|c| t(c.unwrap_or_default())));
            row
        })
        .collect();
    Ok(Sheet { name: LISTED.into(), header, rows })
}
