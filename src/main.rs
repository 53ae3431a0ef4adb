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

/// One-shot commands end quietly when the reader of their output goes away (`| head`), as
/// other command-line tools do, instead of panicking in `println!`. The long-running ones keep
/// Rust's default (SIGPIPE ignored). Sockets never raise SIGPIPE on Linux (std and tokio send
/// with `MSG_NOSIGNAL`), so only a closed stdout/stderr pipe ends the process.
fn end_quietly_on_a_closed_pipe() {
    #[cfg(unix)]
    if !matches!(std::env::args().nth(1).as_deref(), Some("run" | "web")) {
        // SAFETY: called first thing in `main`, before any thread exists; SIG_DFL is a valid
        // disposition for SIGPIPE.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
}

fn main() -> ExitCode {
    end_quietly_on_a_closed_pipe();
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
