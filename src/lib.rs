//! mail-intake: turns a government office's mailbox into a clean, queryable register of
//! submissions.
//!
//! The daemon is [`intake`] (IMAP or Maildir) → [`store`] (SQLite) → judge → [`reply`]
//! (outbox, SMTP), driven by [`daemon`] with a [`config`].
//!
//! The judging path is a pipeline of pure stages — [`parse`] → [`classify`] → [`extract`] →
//! [`validate`] — driven by the campaign's [`rules`]. [`validate::judge`] takes raw bytes and
//! returns a [`verdict::Verdict`]; it does no IO and never panics outward.

pub mod actions;
pub mod classify;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod digest;
pub mod export;
pub mod extract;
pub mod health;
pub mod intake;
pub mod limits;
pub mod logging;
pub mod parse;
pub mod register;
pub mod reply;
pub mod rules;
pub mod store;
pub mod text;
pub mod validate;
pub mod verdict;
pub mod web;

pub use rules::Rules;
pub use validate::{JudgeOptions, judge};
pub use verdict::{Decision, ErrorCode, Verdict, WarningCode};
