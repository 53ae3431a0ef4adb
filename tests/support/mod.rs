//! Shared test harness: where `../shared` is, running the built binary.

pub mod build;
pub mod daemon;

use std::path::PathBuf;
use std::process::{Command, Output};

pub mod mailserver;

/// `../shared` next to the project, when present (CI has it; a bare clone may not).
pub fn shared() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    dir.is_dir().then_some(dir)
}

/// Says loudly that a test could not run its real data.
pub fn skip_loudly(what: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"));
    assert!(
        !ci,
        "{what}: ../shared is not present next to the project and CI is set: this test must run its real data"
    );
    eprintln!("\n!!! SKIPPED: {what}: ../shared is not present next to the project; this test checked nothing !!!\n");
}

/// Runs the `mail-intake` binary built for this test run.
pub fn mail_intake(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mail-intake")).args(args).output().expect("run mail-intake")
}
