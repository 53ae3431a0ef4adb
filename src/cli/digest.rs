//! `mail-intake digest`: render or send the daily digest by hand.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn not_yet(what: &str) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`{what}` is not implemented yet")
}

pub fn run(
    _config: &Path,
    _date: Option<String>,
    _send: bool,
    _html: Option<PathBuf>,
    _text: bool,
) -> anyhow::Result<ExitCode> {
    not_yet("digest")
}
