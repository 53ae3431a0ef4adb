//! The configuration file's shape as serde reads it, with the defaults of every key left out.

use serde::Deserialize;

use super::TlsMode;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub mailbox: Option<RawMailbox>,
    #[serde(default)]
    pub maildir: Option<RawMaildir>,
    #[serde(default)]
    pub smtp: Option<RawSmtp>,
    #[serde(default)]
    pub outbox_dir: Option<RawOutboxDir>,
    #[serde(default)]
    pub store: RawStore,
    #[serde(default)]
    pub rules: RawRules,
    #[serde(default)]
    pub reply: RawReply,
    #[serde(default)]
    pub daemon: RawDaemon,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub digest: RawDigest,
    #[serde(default)]
    pub web: super::web::RawWeb,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMailbox {
    /// A provider preset ([`super::presets::PRESETS`]) filling host, ports, TLS, `id`, the Sent
    /// folder and `append_sent`; each may still be given here and then wins.
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: Option<TlsMode>,
    #[serde(default)]
    pub ca_file: String,
    pub user: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_file: String,
    #[serde(default = "d_folder")]
    pub folder: String,
    #[serde(default = "d_true")]
    pub idle: bool,
    #[serde(default = "d_poll")]
    pub poll_interval: String,
    /// Send the IMAP ID command when offered (NetEase refuses SELECT without it).
    #[serde(default)]
    pub id: Option<bool>,
    /// Folder our replies are appended to, when the server flags none `\Sent`.
    #[serde(default)]
    pub sent_folder: Option<String>,
    #[serde(default)]
    pub append_sent: Option<bool>,
    /// Each reply also goes to the office's own address (envelope only), so the server
    /// files proof of acceptance in the office's mailbox. Default: on when `append_sent`.
    #[serde(default)]
    pub proof_copy: Option<bool>,
    /// Keyword set on every judged message.
    #[serde(default = "d_keyword")]
    pub keyword: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMaildir {
    pub path: String,
    #[serde(default = "d_sent")]
    pub sent_folder: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSmtp {
    /// Empty: the `[mailbox] provider` preset's.
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: Option<TlsMode>,
    #[serde(default)]
    pub ca_file: String,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_file: String,
    pub from: String,
    #[serde(default = "d_timeout")]
    pub timeout: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutboxDir {
    pub path: String,
    pub from: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    #[serde(default = "d_store")]
    pub path: String,
}

impl Default for RawStore {
    fn default() -> Self {
        RawStore { path: d_store() }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRules {
    /// Empty: the rules built into the binary.
    #[serde(default)]
    pub dir: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReply {
    #[serde(default = "d_true")]
    pub enabled: bool,
    /// Mail that arrived before this date is judged but never answered. Empty: the first
    /// start of the daemon against this store.
    #[serde(default)]
    pub reply_since: String,
    #[serde(default = "d_per_sender")]
    pub max_per_sender_per_day: u32,
    /// Retries of a temporarily failing reply before it is flagged for the office.
    #[serde(default = "d_attempts")]
    pub max_attempts: u32,
    #[serde(default = "d_backoff")]
    pub retry_backoff: String,
    /// How long after an interrupted send to look for it in the Sent folder.
    #[serde(default = "d_sent_check")]
    pub sent_check_delay: String,
}

impl Default for RawReply {
    fn default() -> Self {
        RawReply {
            enabled: true,
            reply_since: String::new(),
            max_per_sender_per_day: d_per_sender(),
            max_attempts: d_attempts(),
            retry_backoff: d_backoff(),
            sent_check_delay: d_sent_check(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDaemon {
    #[serde(default = "d_batch")]
    pub batch_size: usize,
    #[serde(default = "d_idle_renew")]
    pub idle_renew: String,
    #[serde(default = "d_backoff_max")]
    pub reconnect_max: String,
    #[serde(default = "d_alert")]
    pub alert_after_failures: u32,
    #[serde(default = "d_timeout")]
    pub io_timeout: String,
}

impl Default for RawDaemon {
    fn default() -> Self {
        RawDaemon {
            batch_size: d_batch(),
            idle_renew: d_idle_renew(),
            reconnect_max: d_backoff_max(),
            alert_after_failures: d_alert(),
            io_timeout: d_timeout(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    #[serde(default = "d_max_message")]
    pub max_message_size: String,
    #[serde(default = "d_max_decompressed")]
    pub max_decompressed_size: String,
    #[serde(default = "d_max_members")]
    pub max_archive_members: usize,
    #[serde(default = "d_max_pages")]
    pub max_pdf_pages: usize,
    /// All that may come out of one message's archives together.
    #[serde(default = "d_max_total_decompressed")]
    pub max_total_decompressed_size: String,
    /// Wall-clock budget for reading one message's attachments.
    #[serde(default = "d_max_judge_time")]
    pub max_judge_time: String,
}

impl Default for RawLimits {
    fn default() -> Self {
        RawLimits {
            max_message_size: d_max_message(),
            max_decompressed_size: d_max_decompressed(),
            max_archive_members: d_max_members(),
            max_pdf_pages: d_max_pages(),
            max_total_decompressed_size: d_max_total_decompressed(),
            max_judge_time: d_max_judge_time(),
        }
    }
}

/// `[digest]`: the daily digest mailed to the office (spec §7).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDigest {
    /// Unset: on when `to` names at least one address.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Local time of day (`HH:MM`) it is sent at.
    #[serde(default = "d_digest_at")]
    pub at: String,
    #[serde(default)]
    pub to: Vec<String>,
    /// IANA zone `at` is read in.
    #[serde(default = "d_digest_zone")]
    pub timezone: String,
}

impl Default for RawDigest {
    fn default() -> Self {
        RawDigest { enabled: None, at: d_digest_at(), to: Vec::new(), timezone: d_digest_zone() }
    }
}

fn d_digest_at() -> String {
    "08:00".into()
}
fn d_digest_zone() -> String {
    "Asia/Shanghai".into()
}

pub(super) fn d_imap_port() -> u16 {
    993
}
pub(super) fn d_smtp_port() -> u16 {
    465
}
pub(super) fn d_tls() -> TlsMode {
    TlsMode::Tls
}
fn d_folder() -> String {
    "INBOX".into()
}
pub(super) fn d_sent() -> String {
    "Sent".into()
}
fn d_keyword() -> String {
    "$MailIntake".into()
}
fn d_true() -> bool {
    true
}
fn d_poll() -> String {
    "60s".into()
}
fn d_timeout() -> String {
    "60s".into()
}
fn d_store() -> String {
    "var/mail-intake.sqlite3".into()
}
fn d_per_sender() -> u32 {
    20
}
fn d_attempts() -> u32 {
    8
}
fn d_backoff() -> String {
    "30s".into()
}
fn d_sent_check() -> String {
    "30s".into()
}
fn d_batch() -> usize {
    50
}
fn d_idle_renew() -> String {
    "25m".into()
}
fn d_backoff_max() -> String {
    "5m".into()
}
fn d_alert() -> u32 {
    5
}
fn d_max_message() -> String {
    "100MB".into()
}
fn d_max_decompressed() -> String {
    "64MB".into()
}
fn d_max_total_decompressed() -> String {
    "256MB".into()
}
fn d_max_judge_time() -> String {
    "60s".into()
}
fn d_max_members() -> usize {
    200
}
fn d_max_pages() -> usize {
    500
}
