//! `mail-intake check`: judge files, print spec §5 JSON lines or a readable table.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use rayon::prelude::*;

use crate::rules::Rules;
use crate::validate::{JudgeOptions, judge};
use crate::verdict::Verdict;

pub fn run(rules: &Rules, paths: &[PathBuf], json: bool, jobs: Option<usize>) -> anyhow::Result<ExitCode> {
    let files = super::expand(paths)?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.unwrap_or(0)).build()?;
    let opts = JudgeOptions::default();
    let results: Vec<(Verdict, bool)> = pool.install(|| {
        files
            .par_iter()
            .map(|path| {
                let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                match std::fs::read(path) {
                    Ok(raw) => (judge(&name, &raw, rules, &opts), true),
                    Err(e) => {
                        let reason = format!("cannot read {}: {e}", path.display());
                        (Verdict::unreadable(&name, reason), false)
                    }
                }
            })
            .collect()
    });
    let mut out = std::io::stdout().lock();
    if json {
        for (v, _) in &results {
            serde_json::to_writer(&mut out, v)?;
            writeln!(out)?;
        }
    } else {
        super::table::print(&mut out, results.iter().map(|(v, _)| v))?;
    }
    out.flush()?;
    let failed: Vec<&Verdict> = results.iter().filter(|(_, ok)| !ok).map(|(v, _)| v).collect();
    for v in &failed {
        eprintln!("error: {}", v.reasons.join("; "));
    }
    Ok(if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
