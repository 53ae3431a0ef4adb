//! Plain-language reasons for a verdict: what the office sees and what a correction request
//! tells the school to fix.

use crate::classify::SubjectReading;
use crate::rules::{KindRule, Rules};
use crate::verdict::{ErrorCode, Verdict, WarningCode};

/// One sentence per error and warning, in the order given.
pub fn explain(
    kind: &KindRule,
    errors: &[ErrorCode],
    warnings: &[WarningCode],
    reading: &SubjectReading,
    v: &Verdict,
    rules: &Rules,
) -> Vec<String> {
    let mut out = Vec::new();
    let convention = &kind.convention;
    for e in errors {
        out.push(match e {
            ErrorCode::SubjectIncomplete => format!("邮件主题不完整，请按“{convention}”的格式命名邮件主题。"),
            ErrorCode::UnknownSchool => format!(
                "主题中的学校名称“{}”不在本次通知的学校名单中，请使用学校全称（按“{convention}”命名）。",
                reading.unknown_school.as_deref().unwrap_or("")
            ),
            ErrorCode::UnknownCategory => format!(
                "主题中的专业大类“{}”不在《职业教育专业目录》的 {} 个专业大类中，请使用专业大类全称（如“电子与信息大类”）。",
                reading.unknown_category.as_deref().unwrap_or(""),
                rules.categories.len()
            ),
            ErrorCode::MissingForm => {
                let title = kind.form.as_deref().and_then(|f| rules.forms.get(f)).map(|f| f.title.as_str()).unwrap_or("申请表");
                format!("未收到{title}的电子版（Word 或 Excel），请补发。")
            }
            ErrorCode::MissingScan => "未收到盖章扫描件（PDF 或图片），请补发。".to_string(),
            ErrorCode::MissingReport => "未收到试点工作总结报告（Word 或 PDF），请补发。".to_string(),
            ErrorCode::UnreadableAttachment => {
                let bad: Vec<String> = v
                    .attachments
                    .iter()
                    .filter_map(|a| a.problem.as_ref().map(|p| format!("{}（{p}）", a.filename)))
                    .collect();
                format!("附件无法打开：{}。请检查文件后重新发送。", bad.join("；"))
            }
            ErrorCode::NameMismatch => format!(
                "主题中的专家姓名“{}”与推荐表中的姓名“{}”不一致，请核对。",
                v.fields.get("expert_name").map(String::as_str).unwrap_or(""),
                v.experts.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join("、")
            ),
            ErrorCode::SchoolMismatch => format!(
                "主题中的学校“{}”与表中填写的学校不一致，请核对。",
                v.fields.get("school").map(String::as_str).unwrap_or("")
            ),
            ErrorCode::UnsupportedArchive => {
                "附件压缩包无法打开（RAR/7z 格式、设有密码或已损坏）。请直接添加附件，或使用不加密的 ZIP 格式。".to_string()
            }
            ErrorCode::AttachmentLink => {
                "附件以“超大附件”下载链接形式发送，链接会过期，无法存档。请将附件直接添加到邮件中发送（可压缩为 ZIP）。"
                    .to_string()
            }
        });
    }
    for w in warnings {
        out.push(warning_text(*w, rules));
    }
    out
}

/// The sentence for one warning.
pub fn warning_text(w: WarningCode, rules: &Rules) -> String {
    match w {
        WarningCode::Late => "提示：邮件在截止时间之后到达。".to_string(),
        WarningCode::ExpertOverAge => format!("提示：专家年龄超过 {} 周岁。", rules.expert_max_age),
        WarningCode::ExpertTitleBelowSenior => "提示：专家职称低于副高级或不属于专业技术职称。".to_string(),
        WarningCode::DuplicateSubmission => {
            "提示：此前已收到同一学校同一专家（专业大类）的材料，以本次为准。".to_string()
        }
        WarningCode::FormIncomplete => "提示：表格中有必填项未填写。".to_string(),
        WarningCode::ExpertRecommendedByOtherSchool => "提示：同一专家也出现在其他学校的推荐中。".to_string(),
        WarningCode::SchoolNotOnRoster => {
            "提示：学校名称不在本次通知的学校名单中，已受理，由工作人员核实。".to_string()
        }
        WarningCode::ThreadFromStranger => {
            "提示：本邮件回复的是本处发给其他发件人的邮件，已按邮件主题归档。".to_string()
        }
    }
}
