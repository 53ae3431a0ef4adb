//! The command line: argument shapes (clap) and one function per subcommand.
//!
//! `main` only calls [`run`]; every behaviour lives here and in the library, so tests can
//! drive commands without a process.

mod admin;
mod bench;
mod check;
mod demo;
mod demo_inbox;
mod digest;
mod export;
mod list;
mod register;
mod reparse;
mod reply;
mod run;
mod show;
mod stats;
mod status;
mod table;
mod web;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::rules::Rules;

/// mail-intake: judges submissions mailed to the office and keeps the register.
#[derive(Debug, Parser)]
#[command(name = "mail-intake", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The main job on a bundled sample inbox (no mail server): register, replies, digest-to-be.
    Demo {
        /// Working folder (made afresh).
        #[arg(long, default_value = "var/demo")]
        dir: PathBuf,
        /// Then serve the demo register in a browser until Ctrl-C (user demo, password demo).
        #[arg(long)]
        serve: bool,
        /// Where `--serve` listens (another free port when this one is taken).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8025")]
        listen: String,
    },
    /// The office's web view: serve it (`-c CONF`), or make a password hash (`hash-password`).
    Web {
        #[arg(long, short = 'c', value_name = "FILE")]
        config: Option<PathBuf>,
        /// Listen here instead of `[web] listen` (`127.0.0.1:0`: a free port).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        #[command(subcommand)]
        command: Option<WebCommand>,
    },
    /// Run the daemon: IMAP (or Maildir) → SQLite → replies, until stopped.
    Run {
        #[arg(long, short = 'c', value_name = "FILE")]
        config: PathBuf,
        /// Process what is there, send due replies, and exit.
        #[arg(long)]
        once: bool,
    },
    /// Print a commented example configuration (ready for a provider with --provider).
    DefaultConfig {
        /// exmail | qq | 163 | 126 | yeah | aliyun | outlook | gmail | custom
        #[arg(long, value_name = "NAME")]
        provider: Option<String>,
    },
    /// List messages in the register.
    List {
        #[arg(long, short = 'c', value_name = "FILE")]
        config: PathBuf,
        #[command(flatten)]
        filter: ListFilter,
        #[arg(long)]
        json: bool,
    },
    /// Show one message: headers, attachments, verdict with reasons, experts, replies.
    Show {
        #[arg(long, short = 'c', value_name = "FILE")]
        config: PathBuf,
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Judge stored messages again (after a rules change); prints what changed.
    Reparse {
        #[arg(long, short = 'c', value_name = "FILE")]
        config: PathBuf,
        /// One message.
        #[arg(conflicts_with_all = ["failed", "all"], required_unless_present_any = ["failed", "all"])]
        id: Option<i64>,
        /// Every message whose judging failed.
        #[arg(long)]
        failed: bool,
        /// Every message.
        #[arg(long)]
        all: bool,
        /// Queue a reply where the verdict changed (nothing is sent otherwise).
        #[arg(long)]
        reply: bool,
        #[arg(long)]
        json: bool,
    },
    /// Re-send or suppress the reply of one message.
    Reply {
        #[arg(long, short = 'c', value_name = "FILE")]
        config: PathBuf,
        id: i64,
        /// Send the reply again (queued for the daemon's outbox).
        #[arg(long, conflicts_with = "suppress", required_unless_present = "suppress")]
        resend: bool,
        /// Do not send the pending reply.
        #[arg(long)]
        suppress: bool,
    },
    /// Export the register (.xlsx and/or CSV) and the attachments as folders.
    Export {
        #[arg(long, short = 'c', value_name = "FILE")]
        config: PathBuf,
        /// Write the register as an .xlsx workbook.
        #[arg(long, value_name = "FILE")]
        xlsx: Option<PathBuf>,
        /// Write the register as CSV files into this folder.
        #[arg(long, value_name = "DIR")]
        csv: Option<PathBuf>,
        /// Write the attachments as kind/school/expert-or-category/original-name.
        #[arg(long, value_name = "DIR")]
        attachments: Option<PathBuf>,
    },
    /// The submissions (spec §8): one per school and expert / 专业大类 / summary, assembled
    /// across the school's mails.
    Dossiers {
        #[arg(long, short = 'c', value_name = "FILE")]
        config: PathBuf,
        /// expert_recommendation | lead_institution | pilot_summary (as in rules/).
        #[arg(long)]
        kind: Option<String>,
        /// The school's name as the register has it.
        #[arg(long)]
        school: Option<String>,
        /// complete | incomplete | superseded
        #[arg(long)]
        state: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Every roster school (and every off-roster school seen) with what it has sent.
    Schools {
        #[arg(long, short = 'c', value_name = "FILE")]
        config: PathBuf,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Counts by kind × decision, and mails per day.
    Stats {
        #[arg(long, short = 'c', value_name = "FILE")]
        config: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Render or send the daily digest by hand.
    Digest {
        #[arg(long, short = 'c', value_name = "FILE")]
        config: PathBuf,
        /// The day the digest is for (YYYY-MM-DD, office time; default today).
        #[arg(long, value_name = "DATE")]
        date: Option<String>,
        /// Send it to [digest] to (once per day: a second --send the same day does nothing).
        #[arg(long, conflicts_with_all = ["html", "text"])]
        send: bool,
        /// Write the HTML part to this file.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Print the plain-text part (the default).
        #[arg(long)]
        text: bool,
    },
    /// Is the daemon doing its job? Exit 0 healthy, 1 degraded, 2 down.
    Status {
        #[arg(long, short = 'c', value_name = "FILE")]
        config: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Work with a configuration file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Judge .eml files without a mailbox, database or sending anything (spec §5).
    Check {
        /// One JSON object per file and line, in input order.
        #[arg(long)]
        json: bool,
        /// Rules folder (default: the rules built into this binary).
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
        /// Worker threads (default: all cores).
        #[arg(long, short = 'j')]
        jobs: Option<usize>,
        /// .eml files, or folders of them.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Work with the rules folder.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Measure judging speed on a set of mails: mails per second, one core and all cores.
    Bench {
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
        /// Rounds over the set.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// .eml files, or folders of them.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

/// Filters shared by `list` (and usable by `export`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ListFilter {
    /// acknowledge | request_correction | hold | ignore
    #[arg(long)]
    pub decision: Option<String>,
    /// expert_recommendation | lead_institution | pilot_summary
    #[arg(long)]
    pub kind: Option<String>,
    /// School name (or part of it).
    #[arg(long)]
    pub school: Option<String>,
    /// Arrived on or after this date (YYYY-MM-DD, office time).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Arrived on or before this date (YYYY-MM-DD, office time; inclusive).
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Carrying this error code (e.g. missing_scan).
    #[arg(long, value_name = "CODE")]
    pub error: Option<String>,
    /// Only messages whose judging failed.
    #[arg(long)]
    pub failed: bool,
    /// Include submissions superseded by a later one.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum WebCommand {
    /// Read a password on stdin and print its argon2 hash for `[[web.users]] password_hash`.
    HashPassword,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file; reports every problem at once.
    Check {
        #[arg(long, short = 'c', value_name = "FILE")]
        config: PathBuf,
        /// Also log in to the mailbox: list its folders, say which it reads and which it
        /// uses as Sent (and why), and whether the provider files SMTP-sent mail itself.
        #[arg(long)]
        connect: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate a rules folder; reports every problem with file and line.
    Check {
        #[arg(default_value = "rules", value_name = "DIR")]
        dir: PathBuf,
    },
}

/// Runs a parsed command line. Usage and IO failures are `Err` (exit 2).
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Demo { dir, serve, listen } => demo::run(&dir, serve, &listen),
        Command::Web { command: Some(WebCommand::HashPassword), .. } => web::hash_password(),
        Command::Web { config: Some(config), listen, command: None } => web::serve(&config, listen.as_deref()),
        Command::Web { config: None, .. } => {
            anyhow::bail!("give the configuration (`mail-intake web -c FILE`) or `mail-intake web hash-password`")
        }
        Command::Run { config, once } => run::run(&config, once),
        Command::DefaultConfig { provider } => run::default_config(provider.as_deref()),
        Command::List { config, filter, json } => list::run(&config, &filter, json),
        Command::Show { config, id, json } => show::run(&config, id, json),
        Command::Reparse { config, id, failed, all, reply, json } => {
            reparse::run(&config, id, failed, all, reply, json)
        }
        Command::Reply { config, id, resend, suppress } => reply::run(&config, id, resend, suppress),
        Command::Export { config, xlsx, csv, attachments } => export::run(&config, xlsx, csv, attachments),
        Command::Stats { config, json } => stats::run(&config, json),
        Command::Dossiers { config, kind, school, state, json } => {
            register::dossiers(&config, kind, school, state.as_deref(), json)
        }
        Command::Schools { config, json } => register::schools(&config, json),
        Command::Status { config, json } => status::run(&config, json),
        Command::Digest { config, date, send, html, text } => digest::run(&config, date, send, html, text),
        Command::Config { command: ConfigCommand::Check { config, connect } } => run::config_check(&config, connect),
        Command::Check { json, rules, jobs, files } => {
            let rules = load_rules(rules.as_deref())?;
            check::run(&rules, &files, json, jobs)
        }
        Command::Rules { command: RulesCommand::Check { dir } } => rules_check(&dir),
        Command::Bench { rules, rounds, files } => {
            let rules = load_rules(rules.as_deref())?;
            bench::run(&rules, &files, rounds)
        }
    }
}

fn load_rules(dir: Option<&std::path::Path>) -> anyhow::Result<Rules> {
    match dir {
        Some(d) => Rules::load(d).with_context(|| format!("cannot use the rules in {}", d.display())),
        None => Ok(Rules::embedded()),
    }
}

fn rules_check(dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    match Rules::load(dir) {
        Ok(r) => {
            println!(
                "{}: OK — {} kinds, {} schools, {} categories, {} forms",
                dir.display(),
                r.kinds.len(),
                r.schools.len(),
                r.categories.len(),
                r.forms.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(crate::rules::RulesError::Invalid(problems)) => {
            for p in &problems {
                println!("{}", format_problem(dir, p));
            }
            println!(
                "{} problem(s) in {}; fix them and run `mail-intake rules check` again",
                problems.len(),
                dir.display()
            );
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot check the rules in {}", dir.display()))),
    }
}

fn format_problem(dir: &std::path::Path, p: &crate::rules::RuleProblem) -> String {
    format!("{}:{}: {}", dir.join(&p.file).display(), p.line, p.message)
}

/// Expands folders into their `.eml` files (sorted); keeps files as given.
pub fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot list {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && f.extension().is_some_and(|x| x.eq_ignore_ascii_case("eml")))
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}
