//! `cargo bench --bench daemon -- [--mails N] [--latency N] [--big-mb MB] [--rounds R]
//! [--judge-generated N] [--only latency,backlog,big,judge] [--binary PATH] [--quiet]`
//!
//! Starts its own Dovecot + Postfix on loopback (like the integration tests; needs root and
//! the packages, `scripts/mailserver/start.sh install`), runs the release `mail-intake` as a
//! child process, and prints one Markdown table. See BENCHMARKS.md for what each figure
//! means; `scripts/bench.sh` wraps this.

mod harness;
// The integration tests' kit (mail builders, mail server, daemon, IMAP client, generator),
// shared rather than copied: the benchmark uses only part of it.
#[allow(dead_code)]
#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::ExitCode;

use support::mailserver::{MailServer, skip_without_servers};

const USAGE: &str = "usage: cargo bench --bench daemon -- [--mails N (2000)] [--latency N (200)] [--big-mb MB (50)] \
[--rounds R (200)] [--judge-generated N (200)] [--only latency,backlog,big,judge] [--binary PATH] [--quiet] | --write-samples DIR N | --write-big FILE MB";

fn main() -> ExitCode {
    let mut opts = harness::Options {
        mails: 2000,
        latency: 200,
        big_mb: 50,
        judge_rounds: 200,
        judge_generated: 200,
        binary: env!("CARGO_BIN_EXE_mail-intake").into(),
        verbose: true,
    };
    let mut only: Option<Vec<String>> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            // cargo bench passes --bench to every bench target
            "--bench" => {}
            "--mails" | "--latency" | "--big-mb" | "--rounds" | "--judge-generated" => {
                let Some(n) = args.next().and_then(|v| v.replace('_', "").parse().ok()) else {
                    eprintln!("{a} needs a number\n{USAGE}");
                    return ExitCode::from(2);
                };
                *size(&mut opts, &a) = n;
            }
            "--binary" => match args.next() {
                Some(path) => opts.binary = path.into(),
                None => return ExitCode::from(2),
            },
            // Writes N generated submissions as .eml files into DIR and exits (for profiling
            // `mail-intake check`/`bench` on exactly what the backlog holds).
            "--write-samples" => {
                let (Some(dir), Some(n)) = (args.next(), args.next().and_then(|n| n.parse::<usize>().ok())) else {
                    eprintln!("--write-samples needs DIR N\n{USAGE}");
                    return ExitCode::from(2);
                };
                return write_samples(Path::new(&dir), n);
            }
            // Writes the large-attachment submission (MB megabytes of scanned PDF) as FILE.
            "--write-big" => {
                let (Some(file), Some(mb)) = (args.next(), args.next().and_then(|n| n.parse::<usize>().ok())) else {
                    eprintln!("--write-big needs FILE MB\n{USAGE}");
                    return ExitCode::from(2);
                };
                return write_file(Path::new(&file), &harness::big_submission(0, mb << 20));
            }
            "--only" => only = args.next().map(|v| v.split(',').map(str::to_string).collect()),
            "--quiet" => opts.verbose = false,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument {other}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if let Some(only) = only {
        keep_only(&mut opts, &only);
    }
    if skip_without_servers("benches/daemon") {
        return ExitCode::from(1);
    }
    let server = MailServer::start();
    let report = harness::run(&opts, &server);
    println!("\n{}\n{}", report.table(), report.notes());
    let problems = report.problems();
    for p in &problems {
        eprintln!("PROBLEM: {p}");
    }
    if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// The size a numeric flag sets.
fn size<'a>(opts: &'a mut harness::Options, flag: &str) -> &'a mut usize {
    match flag {
        "--mails" => &mut opts.mails,
        "--latency" => &mut opts.latency,
        "--big-mb" => &mut opts.big_mb,
        "--rounds" => &mut opts.judge_rounds,
        _ => &mut opts.judge_generated,
    }
}

/// `--only a,b`: the parts not named are skipped.
fn keep_only(opts: &mut harness::Options, only: &[String]) {
    let on = |part: &str| only.iter().any(|o| o == part);
    for (part, size) in [
        ("latency", &mut opts.latency),
        ("backlog", &mut opts.mails),
        ("big", &mut opts.big_mb),
        ("judge", &mut opts.judge_rounds),
    ] {
        if !on(part) {
            *size = 0;
        }
    }
}

/// `n` generated submissions as `DIR/00000.eml`, ….
fn write_samples(dir: &Path, n: usize) -> ExitCode {
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        return ExitCode::from(1);
    }
    for i in 0..n {
        let code = write_file(&dir.join(format!("{i:05}.eml")), &harness::submission(i, "", None));
        if code != ExitCode::SUCCESS {
            return code;
        }
    }
    ExitCode::SUCCESS
}

fn write_file(path: &Path, bytes: &[u8]) -> ExitCode {
    match std::fs::write(path, bytes) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cannot write {}: {e}", path.display());
            ExitCode::from(1)
        }
    }
}
