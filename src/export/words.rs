//! The register's vocabulary in plain Chinese: decisions, error and warning codes, reply
//! states and attachment roles as the office reads them in a spreadsheet.
//!
//! Replies use the full sentences of `validate::reasons`; a register cell needs a few words.

use crate::rules::Rules;
use crate::store::ReplyState;
use crate::verdict::{AttachmentInfo, ErrorCode, Role, Seal, WarningCode};

/// A decision in words.
pub fn decision(d: &str) -> String {
    match d {
        "acknowledge" => "已受理".into(),
        "request_correction" => "需更正".into(),
        "hold" => "待人工处理".into(),
        "ignore" => "自动邮件（不回复）".into(),
        other => other.into(),
    }
}

/// An error code in words (an unknown code is shown as it is).
pub fn error(code: &str) -> String {
    let Ok(e) = serde_json::from_value::<ErrorCode>(serde_json::Value::String(code.to_string())) else {
        return code.to_string();
    };
    match e {
        ErrorCode::SubjectIncomplete => "邮件主题不完整",
        ErrorCode::UnknownSchool => "学校名称不在名单中",
        ErrorCode::UnknownCategory => "专业大类名称有误",
        ErrorCode::MissingForm => "缺少电子版表格",
        ErrorCode::MissingScan => "缺少盖章扫描件",
        ErrorCode::MissingReport => "缺少总结报告",
        ErrorCode::UnreadableAttachment => "附件无法打开",
        ErrorCode::NameMismatch => "专家姓名与表格不一致",
        ErrorCode::SchoolMismatch => "学校与表格不一致",
        ErrorCode::UnsupportedArchive => "压缩包无法打开",
        ErrorCode::AttachmentLink => "附件为超大附件下载链接",
        ErrorCode::ScanUnstamped => "扫描件未见公章",
    }
    .to_string()
}

/// A warning code in words (an unknown code is shown as it is).
pub fn warning(code: &str, rules: &Rules) -> String {
    let Ok(w) = serde_json::from_value::<WarningCode>(serde_json::Value::String(code.to_string())) else {
        return code.to_string();
    };
    match w {
        WarningCode::Late => "截止后到达".to_string(),
        WarningCode::ExpertOverAge => format!("专家超过 {} 周岁", rules.expert_max_age),
        WarningCode::ExpertTitleBelowSenior => "职称低于副高级".to_string(),
        WarningCode::DuplicateSubmission => "重复报送（以最新为准）".to_string(),
        WarningCode::FormIncomplete => "表格有必填项未填".to_string(),
        WarningCode::ExpertRecommendedByOtherSchool => "同一专家也由其他学校推荐".to_string(),
        WarningCode::SchoolNotOnRoster => "学校不在名单中（请核实后加入名单）".to_string(),
        WarningCode::ThreadFromStranger => "回复本处邮件的发件人此前未为该报送发过邮件，已按主题归档".to_string(),
        WarningCode::SealUnverified => "扫描件为灰度，公章待核对".to_string(),
    }
}

/// What the seal detector found on a scan, in words (`""` for attachments that are not
/// scans): `；公章：第 1 页下部右侧（x 60–82 %，y 43–60 %）`, `；未见公章`, blank pages.
pub fn seal_note(a: &AttachmentInfo) -> String {
    let mut out = String::new();
    match (a.seal, &a.seal_at) {
        (Some(Seal::Found), Some(at)) => out.push_str(&format!("；公章：{}", at.describe())),
        (Some(Seal::Found), None) => out.push_str("；有公章"),
        (Some(Seal::NotFound), _) => out.push_str("；未见公章"),
        (Some(Seal::Unverifiable), _) => out.push_str("；黑白/灰度，公章待核对"),
        (None, _) => {}
    }
    if let Some(b) = a.blank_pages.filter(|b| *b > 0) {
        out.push_str(&format!("；空白页 {b} 页"));
    }
    if let Some(t) = &a.scan_text {
        let mark = |b: Option<bool>| match b {
            Some(true) => "✓",
            Some(false) => "✗",
            None => "-",
        };
        out.push_str(&format!("；文字：标题{} 姓名{} 学校{}", mark(Some(t.title)), mark(t.name), mark(t.school)));
    }
    out
}

/// Several error codes in words, joined with `；`.
pub fn errors(codes: &[String]) -> String {
    codes.iter().map(|c| error(c)).collect::<Vec<_>>().join("；")
}

/// Several warning codes in words, joined with `；`.
pub fn warnings(codes: &[String], rules: &Rules) -> String {
    codes.iter().map(|c| warning(c, rules)).collect::<Vec<_>>().join("；")
}

/// A reply state in words; no reply at all is `无`.
pub fn reply_state(state: Option<ReplyState>) -> String {
    match state {
        None => "无",
        Some(ReplyState::Pending) => "待发送",
        Some(ReplyState::Sending) => "发送中",
        Some(ReplyState::Sent) => "已发送",
        Some(ReplyState::Failed) => "发送失败",
        Some(ReplyState::Suppressed) => "不发送",
        Some(ReplyState::Bounced) => "被退回",
    }
    .into()
}

/// An attachment role in words.
pub fn role(r: Role) -> &'static str {
    match r {
        Role::Form => "电子版表格",
        Role::SummaryTable => "汇总表",
        Role::Scan => "盖章扫描件",
        Role::Report => "总结报告",
        Role::Other => "其他",
    }
}

/// An expert's title level in words (`none` is `无`).
pub fn title_level(level: &str) -> String {
    if level.is_empty() || level == "none" { "无".into() } else { level.into() }
}

/// A verdict field's column title.
pub fn field(name: &str) -> String {
    match name {
        "school" => "学校名称".into(),
        "expert_name" => "专家姓名".into(),
        "category" => "专业大类名称".into(),
        "contact" => "联系人".into(),
        "phone" => "联系电话".into(),
        "email" => "电子邮箱".into(),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_words() {
        let rules = Rules::embedded();
        assert_eq!(error("missing_scan"), "缺少盖章扫描件");
        assert_eq!(error("no_such_code"), "no_such_code");
        assert_eq!(warning("expert_over_age", &rules), format!("专家超过 {} 周岁", rules.expert_max_age));
        assert_eq!(errors(&["missing_form".into(), "missing_scan".into()]), "缺少电子版表格；缺少盖章扫描件");
        assert_eq!(reply_state(None), "无");
        assert_eq!(title_level("none"), "无");
    }
}
