//! `cargo bench --bench daemon -- [--mails N] [--latency N] [--big-mb MB] [--rounds R]
//! [--judge-generated N] [--only latency,backlog,big,judge] [--binary PATH] [--quiet]`
//!
//! Starts its own Dovecot + Postfix on loopback (like the integration tests; needs root and
//! the packages, `scripts/mailserver/start.sh install`), runs the release `mail-intake` as a
//! child process, and prints one Markdown table. See BENCHMARKS.md for what each figure
//! means; `scripts/bench.sh` wraps this.

#[allow(dead_code)] // the test builders: only some are used here
#[path = "../tests/support/build.rs"]
pub(crate) mod build;
#[path = "../tests/support/mailserver.rs"]
pub(crate) mod mailserver;
/// The paths the harness uses, as in the test binary.
mod support {
    pub(crate) use super::{build, mailserver};
}
mod harness;

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
        let mut number = |name: &str| -> Option<usize> {
            let v = args.next().and_then(|v| v.replace('_', "").parse().ok());
            if v.is_none() {
                eprintln!("{name} needs a number\n{USAGE}");
            }
            v
        };
        match a.as_str() {
            // cargo bench passes --bench to every bench target
            "--bench" => {}
            "--mails" => match number("--mails") {
                Some(n) => opts.mails = n,
                None => return ExitCode::from(2),
            },
            "--latency" => match number("--latency") {
                Some(n) => opts.latency = n,
                None => return ExitCode::from(2),
            },
            "--big-mb" => match number("--big-mb") {
                Some(n) => opts.big_mb = n,
                None => return ExitCode::from(2),
            },
            "--rounds" => match number("--rounds") {
                Some(n) => opts.judge_rounds = n,
                None => return ExitCode::from(2),
            },
            "--judge-generated" => match number("--judge-generated") {
                Some(n) => opts.judge_generated = n,
                None => return ExitCode::from(2),
            },
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
                if let Err(e) = std::fs::create_dir_all(&dir) {
                    eprintln!("cannot create {dir}: {e}");
                    return ExitCode::from(1);
                }
                for i in 0..n {
                    let path = std::path::Path::new(&dir).join(format!("{i:05}.eml"));
                    if let Err(e) = std::fs::write(&path, harness::submission(i, "", None)) {
                        eprintln!("cannot write {}: {e}", path.display());
                        return ExitCode::from(1);
                    }
                }
                return ExitCode::SUCCESS;
            }
            // Writes the large-attachment submission (MB megabytes of scanned PDF) as FILE.
            "--write-big" => {
                let (Some(file), Some(mb)) = (args.next(), args.next().and_then(|n| n.parse::<usize>().ok())) else {
                    eprintln!("--write-big needs FILE MB\n{USAGE}");
                    return ExitCode::from(2);
                };
                if let Err(e) = std::fs::write(&file, harness::big_submission(0, mb << 20)) {
                    eprintln!("cannot write {file}: {e}");
                    return ExitCode::from(1);
                }
                return ExitCode::SUCCESS;
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
        let on = |part: &str| only.iter().any(|o| o == part);
        if !on("latency") {
            opts.latency = 0;
        }
        if !on("backlog") {
            opts.mails = 0;
        }
        if !on("big") {
            opts.big_mb = 0;
        }
        if !on("judge") {
            opts.judge_rounds = 0;
        }
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
