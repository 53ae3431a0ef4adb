//! Shared test harness: where `../shared` is, running the built binary.

pub mod build;
pub mod cdp;
pub mod daemon;
pub mod http;
pub mod rng;
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

/// The strings of a JSON array, sorted (for comparing code lists).
pub fn sorted(v: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> =
        v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect()).unwrap_or_default();
    out.sort();
    out
}

/// Every labelled mail of `../shared/<folder>` judged as `check` would: (label, verdict as
/// JSON) per line of its `labels.jsonl`; `None` (after a loud skip, or a failure under CI)
/// when `../shared` is missing.
pub fn judge_labelled(folder: &str, test: &str) -> Option<Vec<(serde_json::Value, serde_json::Value)>> {
    let Some(shared) = shared() else {
        skip_loudly(test);
        return None;
    };
    let dir = shared.join(folder);
    let labels = std::fs::read_to_string(dir.join("labels.jsonl")).expect("labels.jsonl");
    let rules = mail_intake::Rules::embedded();
    let opts = mail_intake::JudgeOptions::default();
    let mut out = Vec::new();
    for line in labels.lines().filter(|l| !l.trim().is_empty()) {
        let want: serde_json::Value = serde_json::from_str(line).expect("label line is JSON");
        let file = want["file"].as_str().expect("file").to_string();
        let raw = std::fs::read(dir.join(&file)).expect("sample file");
        let got = serde_json::to_value(mail_intake::judge(&file, &raw, &rules, &opts)).expect("verdict serialises");
        out.push((want, got));
    }
    Some(out)
}
