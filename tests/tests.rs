//! All integration tests in one binary (see `support` for the shared harness).

mod support;

mod admin;
mod autoresponder;
mod bench_smoke;
mod check_cli;
mod corpus;
mod crash;
mod daemon_imap;
mod daemon_maildir;
mod digest;
mod habits;
mod hostile;
mod house;
mod mailserver_smoke;
mod office97;
mod office_alerts;
mod outage;
mod providers;
mod reparse;
mod samples;
mod seals;
mod second_campaign;
mod security;
mod submissions;
mod web;
mod web_browser;
