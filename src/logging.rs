//! The log: `tracing` lines on stderr, filtered by `RUST_LOG` (else a default per command) —
//! minus the wire logs of the mail libraries, which carry credentials.
//!
//! lettre writes every SMTP command it sends at `debug` (`AUTH PLAIN <base64 of the
//! password>`), and async-imap writes every IMAP command at `trace` (`LOGIN user password`),
//! reaching us through the `log` bridge. Those events are dropped whatever `RUST_LOG` says,
//! so turning the log up to find a problem never puts a password into the journal.

use tracing::Level;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{EnvFilter, FilterExt as _, filter_fn};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// True for an event that may hold a credential: the SMTP and IMAP protocol traces.
pub fn carries_secrets(target: &str, level: Level) -> bool {
    let wire = target.starts_with("lettre::transport::smtp") || target.starts_with("async_imap");
    wire && level >= Level::DEBUG
}

/// Installs the subscriber: `RUST_LOG` or `default`, without the wire logs.
pub fn init(default: &str) {
    let env = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let no_wire = filter_fn(|meta| !carries_secrets(meta.target(), *meta.level()));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        // Plain lines for journald and files; colour only on a terminal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(env.and(no_wire));
    // A second call (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_traces_are_dropped_and_the_rest_kept() {
        assert!(carries_secrets("lettre::transport::smtp::client::async_connection", Level::DEBUG));
        assert!(carries_secrets("async_imap::imap_stream", Level::TRACE));
        assert!(!carries_secrets("lettre::transport::smtp::client::async_connection", Level::INFO));
        assert!(!carries_secrets("mail_intake::daemon", Level::TRACE));
    }
}
