//! `mail-intake bench`: judging throughput over a set of mails, one core and all cores.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use rayon::prelude::*;

use crate::rules::Rules;
use crate::validate::{JudgeOptions, judge};

pub fn run(rules: &Rules, paths: &[PathBuf], rounds: usize) -> anyhow::Result<ExitCode> {
    let files = super::expand(paths)?;
    let mails: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|p| {
            Ok((p.display().to_string(), std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?))
        })
        .collect::<anyhow::Result<_>>()?;
    anyhow::ensure!(!mails.is_empty(), "no .eml files to measure; give files or folders of .eml files");
    let bytes: usize = mails.iter().map(|(_, m)| m.len()).sum();
    let opts = JudgeOptions::default();
    let rounds = rounds.max(1);
    // Every round judges the same mails: measured as first sight, with the seal detector's
    // cache off (its effect is shown apart, last).
    crate::extract::seal_cache::set_enabled(false);
    // Warm-up.
    for (n, m) in &mails {
        judge(n, m, rules, &opts);
    }
    let one_thread = || {
        let t = Instant::now();
        for _ in 0..rounds {
            for (n, m) in &mails {
                std::hint::black_box(judge(n, m, rules, &opts));
            }
        }
        t.elapsed().as_secs_f64()
    };
    let single = one_thread();
    let t = Instant::now();
    for _ in 0..rounds {
        mails.par_iter().for_each(|(n, m)| {
            std::hint::black_box(judge(n, m, rules, &opts));
        });
    }
    let multi = t.elapsed().as_secs_f64();
    let total = (mails.len() * rounds) as f64;
    let mb = (bytes * rounds) as f64 / (1024.0 * 1024.0);
    println!("mails: {} ({:.1} MB) × {} rounds", mails.len(), bytes as f64 / (1024.0 * 1024.0), rounds);
    println!(
        "check, 1 thread:   {:>8.1} mails/s  {:>6.1} MB/s  ({:.2} ms/mail)",
        total / single,
        mb / single,
        single * 1000.0 / total
    );
    println!(
        "check, {} threads: {:>8.1} mails/s  {:>6.1} MB/s",
        rayon::current_num_threads(),
        total / multi,
        mb / multi
    );
    crate::extract::seal_cache::set_enabled(true);
    for (n, m) in &mails {
        judge(n, m, rules, &opts);
    }
    let cached = one_thread();
    println!(
        "again, 1 thread, scans' seals remembered (schools resending, `reparse`): {:>8.1} mails/s  ({:.2} ms/mail)",
        total / cached,
        cached * 1000.0 / total
    );
    Ok(ExitCode::SUCCESS)
}
