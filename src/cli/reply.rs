//! `mail-intake reply ID --resend | --suppress`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;

use super::admin::{open, refuse};

/// `mail-intake reply --resend | --suppress`: the policy is [`crate::actions::reply`], shared
/// with the web view.
pub fn run(config: &Path, id: i64, resend: bool, suppress: bool) -> anyhow::Result<ExitCode> {
    if resend == suppress {
        bail!("give exactly one of --resend or --suppress");
    }
    let admin = open(config)?;
    let action = if suppress { crate::actions::ReplyAction::Suppress } else { crate::actions::ReplyAction::Resend };
    let hint = config.display().to_string();
    match crate::actions::reply(&admin.cfg, &admin.rules, &admin.store, id, action, None, &hint) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(crate::actions::ActionError::Refused(why)) => refuse(&why),
        Err(e) => Err(anyhow::Error::new(e)),
    }
}
