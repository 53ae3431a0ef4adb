//! Admin commands over the store: `list`, `show`, `reply`, `export`, `stats`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn not_yet(what: &str) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`{what}` is not implemented yet")
}

pub fn list(_config: &Path, _filter: &super::ListFilter, _json: bool) -> anyhow::Result<ExitCode> {
    not_yet("list")
}

pub fn show(_config: &Path, _id: i64, _json: bool) -> anyhow::Result<ExitCode> {
    not_yet("show")
}

pub fn reply(_config: &Path, _id: i64, _resend: bool, _suppress: bool) -> anyhow::Result<ExitCode> {
    not_yet("reply")
}

pub fn export(
    _config: &Path,
    _xlsx: Option<PathBuf>,
    _csv: Option<PathBuf>,
    _attachments: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    not_yet("export")
}

pub fn stats(_config: &Path, _json: bool) -> anyhow::Result<ExitCode> {
    not_yet("stats")
}
