//! The `mail-intake` binary: parses arguments and hands over to the library.

use std::process::ExitCode;

use clap::Parser;

/// Quiet for one-shot commands, informative for the daemon.
fn default_filter() -> &'static str {
    match std::env::args().nth(1).as_deref() {
        Some("run") => "info",
        _ => "warn",
    }
}

fn main() -> ExitCode {
    mail_intake::logging::init(default_filter());
    let cli = mail_intake::cli::Cli::parse();
    match mail_intake::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
