//! All integration tests in one binary (see `support` for the shared harness).

mod support;

mod check_cli;
mod corpus;
mod daemon_imap;
mod daemon_maildir;
mod habits;
mod mailserver_smoke;
mod reparse;
mod samples;
