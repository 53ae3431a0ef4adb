//! Shared test harness: where `../shared` is, running the built binary.

pub mod build;
pub mod cdp;
pub mod daemon;
pub mod http;
pub mod web;

use std::path::PathBuf;
use std::process::{Command, Output};

pub mod mailserver;

/// `../shared` next to the project, when present (CI has it; a bare clone may not).
pub fn shared() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    dir.is_dir().then_some(dir)
}

/// Says loudly that a test could not run its real data; under CI (`CI` set) it fails
/// instead: CI never passes a data test that checked nothing.
pub fn skip_loudly(what: &str) {
    let why = "../shared is not present next to the project";
    if mailserver::in_ci() {
        panic!("{what}: the labelled data is required under CI, but {why}");
    }
    // straight to stderr: the test harness captures (hides) eprintln!
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "\n!!! SKIPPED: {what}: {why}; this test checked nothing !!!\n");
}

/// Runs the `mail-intake` binary built for this test run.
pub fn mail_intake(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mail-intake")).args(args).output().expect("run mail-intake")
}
