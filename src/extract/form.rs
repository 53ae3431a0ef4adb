//! Reading the notice's forms out of grids of cell text, whatever the file format.
//!
//! Two layouts exist in the wild: a label/value grid (附件1, 附件2: `姓名 | 张三 | 性别 | 男`,
//! or `姓名：张三` in one cell) and a header row with one record per row (附件3). Labels are
//! compared by [`crate::text::key`], so padding with spaces or line breaks does not matter.

use std::collections::{BTreeMap, BTreeSet};

use super::Document;
use crate::rules::{FormRule, Rules};
use crate::text::key;

/// One filled-in form found in a document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormValues {
    /// Which form of the rules (`expert`, `lead`).
    pub form: String,
    /// field → value (empty when the label was there but the value was not).
    pub values: BTreeMap<String, String>,
}

impl FormValues {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.values.get(field).map(String::as_str).filter(|v| !v.is_empty())
    }
    /// Required fields of `rule` that are missing or empty.
    pub fn missing<'r>(&self, rule: &'r FormRule) -> Vec<&'r str> {
        rule.required.iter().filter(|f| self.get(f).is_none()).map(String::as_str).collect()
    }
}

/// What a document turned out to contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// One or more filled-in forms (several experts' forms may share a file).
    Forms(Vec<FormValues>),
    /// A summary table (附件3): one record per row, in the expert form's fields.
    Summary(Vec<FormValues>),
    Nothing,
}

fn is_stop(k: &str, all_labels: &BTreeSet<String>) -> bool {
    all_labels.contains(k) || k.contains("照片")
}

/// Scans one grid for label/value pairs of `rule`.
fn key_values(grid: &[Vec<String>], rule: &FormRule, all_labels: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for row in grid {
        for (j, cell) in row.iter().enumerate() {
            let k = key(cell);
            if let Some(field) = rule.labels.get(&k) {
                let mut value = String::new();
                for next in &row[j + 1..] {
                    let nk = key(next);
                    if nk.is_empty() {
                        continue;
                    }
                    if !is_stop(&nk, all_labels) {
                        value = next.trim().to_string();
                    }
                    break;
                }
                record(&mut out, field, value);
            } else if let Some((label, value)) = split_inline(cell)
                && let Some(field) = rule.labels.get(&key(label))
            {
                record(&mut out, field, value.trim().to_string());
            }
        }
    }
    out
}

fn record(out: &mut BTreeMap<String, String>, field: &str, value: String) {
    match out.get(field) {
        Some(v) if !v.is_empty() => {}
        _ => {
            out.insert(field.to_string(), value);
        }
    }
}

fn split_inline(cell: &str) -> Option<(&str, &str)> {
    let pos = cell.find(['：', ':'])?;
    let sep_len = cell[pos..].chars().next().map(char::len_utf8).unwrap_or(1);
    Some((&cell[..pos], &cell[pos + sep_len..]))
}

/// Finds a header row (≥3 labels including the name, labels ≥ 3/4 of the filled cells) and
/// the records under it.
fn summary_rows(grid: &[Vec<String>], rule: &FormRule, all_labels: &BTreeSet<String>) -> Vec<FormValues> {
    for (h, row) in grid.iter().enumerate().take(20) {
        let filled: Vec<(usize, String)> =
            row.iter().enumerate().map(|(i, c)| (i, key(c))).filter(|(_, k)| !k.is_empty()).collect();
        let columns: Vec<(usize, &String)> =
            filled.iter().filter_map(|(i, k)| rule.labels.get(k).map(|f| (*i, f))).collect();
        let has_name = columns.iter().any(|(_, f)| f.as_str() == "name");
        let generic = filled.iter().filter(|(_, k)| k == "序号" || k == "备注" || is_stop(k, all_labels)).count();
        if columns.len() < 3 || !has_name || (columns.len().max(generic)) * 4 < filled.len() * 3 {
            continue;
        }
        let name_col = columns.iter().find(|(_, f)| f.as_str() == "name").map(|(i, _)| *i).unwrap_or(0);
        let mut records = Vec::new();
        for data in &grid[h + 1..] {
            let name = data.get(name_col).map(|s| s.trim()).unwrap_or("");
            let nk = key(name);
            if nk.is_empty() || is_stop(&nk, all_labels) || nk.starts_with("填表") || nk.starts_with("合计") {
                continue;
            }
            let mut values = BTreeMap::new();
            for (i, field) in &columns {
                let v = data.get(*i).map(|s| s.trim().to_string()).unwrap_or_default();
                values.insert((*field).clone(), v);
            }
            records.push(FormValues { form: rule.id.clone(), values });
        }
        if !records.is_empty() {
            return records;
        }
    }
    Vec::new()
}

/// Every label of every form, as keys.
pub fn all_labels(rules: &Rules) -> BTreeSet<String> {
    rules.forms.values().flat_map(|f| f.labels.keys().cloned()).collect()
}

/// Reads the forms of the rules out of a document.
pub fn analyse(doc: &Document, rules: &Rules) -> Finding {
    let labels = all_labels(rules);
    // 附件3-style tables, in the expert form's vocabulary.
    for rule in rules.forms.values() {
        for grid in &doc.tables {
            let rows = summary_rows(grid, rule, &labels);
            if !rows.is_empty() && rule.labels.values().any(|f| f == "name") {
                return Finding::Summary(rows);
            }
        }
    }
    // Label/value forms: pick the form whose labels explain the document best.
    let text: String = doc.paragraphs.join("");
    let text_key = key(&text);
    let mut best: Option<(usize, Vec<FormValues>)> = None;
    for rule in rules.forms.values() {
        let mut forms: Vec<FormValues> = Vec::new();
        for grid in &doc.tables {
            let values = key_values(grid, rule, &labels);
            if values.is_empty() {
                continue;
            }
            let starts_new = values.contains_key(primary(rule))
                && forms.last().is_some_and(|f| f.values.contains_key(primary(rule)));
            match forms.last_mut() {
                Some(last) if !starts_new => {
                    for (f, v) in values {
                        record(&mut last.values, &f, v);
                    }
                }
                _ => forms.push(FormValues { form: rule.id.clone(), values }),
            }
        }
        // Forms typed as paragraphs ("姓名：张三").
        let para_grid: Vec<Vec<String>> = doc.paragraphs.iter().map(|p| vec![p.clone()]).collect();
        let para_values = key_values(&para_grid, rule, &labels);
        if !para_values.is_empty() {
            match forms.last_mut() {
                Some(last) => {
                    for (f, v) in para_values {
                        record(&mut last.values, &f, v);
                    }
                }
                None => forms.push(FormValues { form: rule.id.clone(), values: para_values }),
            }
        }
        forms.retain(|f| qualifies(f, rule));
        if forms.is_empty() {
            continue;
        }
        let marker = rule.markers.iter().any(|m| text_key.contains(&key(m)));
        let score = forms.iter().map(|f| f.values.len()).max().unwrap_or(0) * 2 + usize::from(marker) * 3;
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, forms));
        }
    }
    match best {
        Some((_, forms)) => Finding::Forms(forms),
        None => Finding::Nothing,
    }
}

/// The field that identifies one filled-in form (a new expert starts a new form).
fn primary(rule: &FormRule) -> &'static str {
    if rule.labels.values().any(|f| f == "name") { "name" } else { "school" }
}

/// Enough of a form's labels were found to call the document that form.
fn qualifies(f: &FormValues, rule: &FormRule) -> bool {
    let p = primary(rule);
    f.values.contains_key(p) && f.values.len() >= 3.min(rule.labels.values().collect::<BTreeSet<_>>().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect()
    }

    fn doc(tables: Vec<Vec<Vec<String>>>) -> Document {
        Document { tables, paragraphs: vec![] }
    }

    #[test]
    fn grid_form_with_padding_and_photo() {
        let rules = Rules::embedded();
        let d = doc(vec![grid(&[
            &["姓 名", "张三", "性 别", "", "照片"],
            &["出生年月\n", "1975.06", "民族", "汉族", ""],
            &["专业技术职称", "教授", "所属专业大类", "电子信息大类"],
        ])]);
        let Finding::Forms(forms) = analyse(&d, &rules) else { panic!("no form") };
        assert_eq!(forms[0].form, "expert");
        assert_eq!(forms[0].get("name"), Some("张三"));
        assert_eq!(forms[0].get("gender"), None);
        assert_eq!(forms[0].get("birth"), Some("1975.06"));
        assert_eq!(forms[0].get("title"), Some("教授"));
    }

    #[test]
    fn inline_labels() {
        let rules = Rules::embedded();
        let d = doc(vec![grid(&[&["姓名：李兰", "性别：男"], &["出生年月：1983.10", "民族：汉族"]])]);
        let Finding::Forms(forms) = analyse(&d, &rules) else { panic!("no form") };
        assert_eq!(forms[0].get("name"), Some("李兰"));
        assert_eq!(forms[0].get("birth"), Some("1983.10"));
    }

    #[test]
    fn summary_table_with_header_anywhere() {
        let rules = Rules::embedded();
        let d = doc(vec![grid(&[
            &["附件3", "", ""],
            &["专家推荐汇总表", "", ""],
            &["序号", "姓名", "性别", "出生年月", "职称"],
            &["1", "张三", "男", "1975-06-01", "教授"],
            &["2", "李四", "女", "1980.1", "副教授"],
            &["填表人：", "", ""],
        ])]);
        let Finding::Summary(rows) = analyse(&d, &rules) else { panic!("no summary") };
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].get("name"), Some("李四"));
    }

    #[test]
    fn lead_form() {
        let rules = Rules::embedded();
        let d = doc(vec![grid(&[
            &["学校名称", "昆明学院", "学校类别", "高职院校"],
            &["申报专业大类", "医药卫生大类", "是否“双高”院校", "否"],
            &["联系人", "刘俊", "职务", "教务处处长"],
            &["联系电话", "0871-60952175", "电子邮箱", "jwc@school.edu.cn"],
        ])]);
        let Finding::Forms(forms) = analyse(&d, &rules) else { panic!("no form") };
        assert_eq!(forms[0].form, "lead");
        assert_eq!(forms[0].get("school"), Some("昆明学院"));
        assert_eq!(forms[0].get("category"), Some("医药卫生大类"));
    }
}
