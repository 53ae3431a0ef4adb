//! `mail-intake export`: the register as `.xlsx` / CSV, and the attachments into a folder.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};

use super::admin::{open, size_text};
use crate::export::{self, attachments};

/// `mail-intake export`.
pub fn run(
    config: &Path,
    xlsx: Option<PathBuf>,
    csv: Option<PathBuf>,
    attachments_dir: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    if xlsx.is_none() && csv.is_none() && attachments_dir.is_none() {
        bail!("nothing to export: give --xlsx FILE, --csv DIR and/or --attachments DIR");
    }
    let admin = open(config)?;
    if xlsx.is_some() || csv.is_some() {
        let sheets =
            admin.store.with(|c| Ok(export::register_sheets(c, &admin.rules)))?.context("cannot read the register")?;
        let counts: Vec<String> = sheets.iter().map(|s| format!("{} {}", s.name, s.rows.len())).collect();
        if let Some(path) = &xlsx {
            let bytes = export::sheets_xlsx(&sheets).context("cannot build the workbook")?;
            export::write_private_file(path, &bytes)?;
            println!("wrote {} ({} sheets: {})", path.display(), sheets.len(), counts.join(", "));
        }
        if let Some(dir) = &csv {
            let files = export::write_csv_dir(&sheets, dir)?;
            println!("wrote {} CSV file(s) (UTF-8 with BOM) into {}", files.len(), dir.display());
        }
    }
    if let Some(dir) = &attachments_dir {
        let progress = std::io::stdout().is_terminal();
        let done = admin
            .store
            .with(|c| Ok(attachments::export_attachments(c, &admin.rules, &admin.cfg.limits, dir, progress)))?
            .with_context(|| format!("cannot export the attachments into {}", dir.display()))?;
        print!(
            "wrote {} file(s) ({}) from {} message(s) into {}",
            done.files,
            size_text(done.bytes),
            done.messages,
            dir.display()
        );
        if done.duplicates > 0 {
            print!("; {} identical cop(ies) left out", done.duplicates);
        }
        println!();
    }
    Ok(ExitCode::SUCCESS)
}
