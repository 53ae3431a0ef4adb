//! `mail-intake reparse`: judge stored messages again and show what changed.

use std::path::Path;
use std::process::ExitCode;

pub fn run(
    _config: &Path,
    _id: Option<i64>,
    _failed: bool,
    _all: bool,
    _reply: bool,
    _json: bool,
) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`reparse` is not implemented yet")
}
