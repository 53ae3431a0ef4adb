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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter())),
        )
        .with_writer(std::io::stderr)
        // Plain lines for journald and files; colour only on a terminal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = mail_intake::cli::Cli::parse();
    match mail_intake::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
