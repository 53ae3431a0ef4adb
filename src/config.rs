//! The daemon's configuration: a TOML file, documented by `mail-intake default-config`,
//! checked by `mail-intake config check`.
//!
//! Raw (as written) and validated configuration are different types: [`RawConfig`] mirrors
//! the file; [`Config`] has secrets resolved (file, environment variable or inline, in that
//! order of preference), durations parsed and paths made absolute. Secrets never appear in
//! `Debug` output or logs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::limits::Limits;

pub mod presets;

/// The commented example printed by `mail-intake default-config`.
pub const DEFAULT_CONFIG: &str = include_str!("../deploy/mail-intake.example.toml");

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid TOML:\n{message}")]
    Parse { path: String, message: String },
    #[error("the configuration has {} problem(s):\n{}", .0.len(), .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<String>),
}

/// A secret value; prints as `***`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "***" })
    }
}

/// How a connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Implicit TLS (IMAPS 993, SMTPS 465).
    Tls,
    /// Plain connection upgraded with STARTTLS.
    Starttls,
    /// No TLS: allowed only towards loopback addresses.
    None,
}

// ---------------------------------------------------------------------------- raw file

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
    pub web: crate::web::config::RawWeb,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMailbox {
    /// A provider preset ([`presets::PRESETS`]) filling host, ports, TLS, `id`, the Sent
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

fn d_imap_port() -> u16 {
    993
}
fn d_smtp_port() -> u16 {
    465
}
fn d_tls() -> TlsMode {
    TlsMode::Tls
}
fn d_folder() -> String {
    "INBOX".into()
}
fn d_sent() -> String {
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

// ---------------------------------------------------------------------------- validated

/// Where mail comes from.
#[derive(Debug, Clone)]
pub enum SourceConfig {
    Imap(ImapConfig),
    Maildir { path: PathBuf, sent_folder: String },
}

#[derive(Debug, Clone)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub ca_file: Option<PathBuf>,
    pub user: String,
    pub password: Secret,
    pub folder: String,
    pub idle: bool,
    pub poll_interval: Duration,
    pub id: bool,
    /// The Sent folder to use when the server flags none `\\Sent` (decoded, e.g. `已发送`).
    pub sent_folder: String,
    /// Whether `sent_folder` was written in the file (not a preset's or the default).
    pub sent_folder_configured: bool,
    pub append_sent: bool,
    /// See [`RawMailbox::proof_copy`].
    pub proof_copy: bool,
    pub keyword: String,
    /// The provider preset named by `provider` (none for `custom`).
    pub provider: Option<&'static presets::Preset>,
}

/// Where replies go.
#[derive(Debug, Clone)]
pub enum TransportConfig {
    Smtp(SmtpConfig),
    /// Replies written as `.eml` files into a folder (the embedded default).
    Dir {
        path: PathBuf,
        from: String,
    },
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub ca_file: Option<PathBuf>,
    pub user: String,
    pub password: Secret,
    pub from: String,
    pub timeout: Duration,
}

impl TransportConfig {
    /// The office address replies come from (`Name <addr>` as configured).
    pub fn from(&self) -> &str {
        match self {
            TransportConfig::Smtp(s) => &s.from,
            TransportConfig::Dir { from, .. } => from,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ReplyConfig {
    pub enabled: bool,
    pub reply_since: Option<NaiveDate>,
    pub max_per_sender_per_day: u32,
    pub max_attempts: u32,
    pub retry_backoff: Duration,
    pub sent_check_delay: Duration,
}

#[derive(Debug, Clone)]
pub struct DaemonConfig {
    pub batch_size: usize,
    pub idle_renew: Duration,
    pub reconnect_max: Duration,
    pub alert_after_failures: u32,
    pub io_timeout: Duration,
}

/// The daily digest: when, in which zone, to whom.
#[derive(Debug, Clone)]
pub struct DigestConfig {
    pub enabled: bool,
    pub at: chrono::NaiveTime,
    /// Addresses as written (`Name <addr>` or `addr`), each a valid mailbox.
    pub to: Vec<String>,
    pub timezone: chrono_tz::Tz,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub source: SourceConfig,
    pub transport: TransportConfig,
    pub store_path: PathBuf,
    pub rules_dir: Option<PathBuf>,
    pub reply: ReplyConfig,
    pub daemon: DaemonConfig,
    pub limits: Limits,
    pub digest: DigestConfig,
    /// `[web]`: the office's web view (off unless `listen` is set).
    pub web: crate::web::config::WebConfig,
}

/// Parses `30s`, `5m`, `2h`, `1d`, `500ms` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len()));
    let n: f64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "" | "s" | "sec" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => return None,
    };
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

/// Parses `100MB`, `64 MiB`, `512KB`, `1GB` (a bare number is bytes).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().ok()?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "kib" | "k" => 1024,
        "mb" | "mib" | "m" => 1024 * 1024,
        "gb" | "gib" | "g" => 1024 * 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(mult)
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host == "::1" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// Reads a secret: `*_file` first, then the environment variable, then the inline value.
fn secret(inline: &str, file: &str, env: &str, base: &Path, what: &str, problems: &mut Vec<String>) -> Secret {
    if !file.is_empty() {
        let path = base.join(file);
        match std::fs::read_to_string(&path) {
            Ok(s) => return Secret::new(s.trim_end_matches(['\r', '\n'])),
            Err(e) => problems.push(format!("{what}: cannot read password_file {}: {e}", path.display())),
        }
    }
    if let Ok(v) = std::env::var(env)
        && !v.is_empty()
    {
        return Secret::new(v);
    }
    Secret::new(inline)
}

impl Config {
    /// Reads and validates a configuration file; relative paths are taken from the file's folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Config::from_str(&text, &base, &path.display().to_string())
    }

    /// Parses and validates configuration text.
    pub fn from_str(text: &str, base: &Path, name: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| ConfigError::Parse { path: name.to_string(), message: e.to_string() })?;
        Config::validate(raw, base)
    }

    /// Checks every value and collects every problem.
    pub fn validate(raw: RawConfig, base: &Path) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let dur = |s: &str, key: &str, problems: &mut Vec<String>| match parse_duration(s) {
            Some(d) => d,
            None => {
                problems.push(format!("{key} = \"{s}\" is not a duration (use 30s, 5m, 2h)"));
                Duration::from_secs(60)
            }
        };
        let abs = |p: &str| {
            let p = PathBuf::from(p);
            if p.is_absolute() { p } else { base.join(p) }
        };
        let opt_path = |p: &str| (!p.is_empty()).then(|| abs(p));

        // The provider preset, if any: it fills what the file leaves out, in [mailbox] and [smtp].
        let preset = match raw.mailbox.as_ref().and_then(|m| m.provider.as_deref()) {
            Some(name) if !presets::is_known(name) => {
                problems.push(format!(
                    "[mailbox] provider = \"{name}\" is not a known provider; use one of {} (custom: give host, port and tls yourself)",
                    presets::names().join(", ")
                ));
                None
            }
            Some(name) => presets::find(name),
            None => None,
        };
        let source = match (raw.mailbox, raw.maildir) {
            (Some(_), Some(_)) => {
                problems.push("give either [mailbox] (IMAP) or [maildir], not both".into());
                None
            }
            (None, None) => {
                problems.push("no mail source: add a [mailbox] section (IMAP) or a [maildir] section".into());
                None
            }
            (Some(m), None) => {
                let host =
                    m.host.clone().filter(|h| !h.trim().is_empty()).or_else(|| preset.map(|p| p.imap_host.to_string()));
                let host = host.unwrap_or_else(|| {
                    problems.push(
                        "[mailbox] host is missing: set host, or provider = \"163\" (etc.) to use a preset".into(),
                    );
                    String::new()
                });
                let tls = m.tls.or(preset.map(|p| p.imap_tls)).unwrap_or_else(d_tls);
                let port = m.port.or(preset.map(|p| p.imap_port)).unwrap_or_else(d_imap_port);
                if tls == TlsMode::None && !is_loopback(&host) {
                    problems.push(format!(
                        "[mailbox] tls = \"none\" is only allowed for loopback hosts, not {host}; use tls or starttls"
                    ));
                }
                if m.user.is_empty() {
                    problems.push("[mailbox] user is empty".into());
                }
                let password = secret(
                    &m.password,
                    &m.password_file,
                    "MAIL_INTAKE_MAILBOX_PASSWORD",
                    base,
                    "[mailbox]",
                    &mut problems,
                );
                if password.is_empty() {
                    problems.push(
                        "[mailbox] has no password: set password, password_file or MAIL_INTAKE_MAILBOX_PASSWORD".into(),
                    );
                }
                if m.keyword.is_empty() || m.keyword.contains(|c: char| c.is_whitespace() || "(){%*\"\\]".contains(c)) {
                    problems.push(format!("[mailbox] keyword \"{}\" is not a valid IMAP keyword", m.keyword));
                }
                for (key, name) in [("folder", Some(&m.folder)), ("sent_folder", m.sent_folder.as_ref())] {
                    if let Some(name) = name
                        && (name.trim().is_empty() || name.contains(['\r', '\n', '\0']))
                    {
                        problems.push(format!("[mailbox] {key} = {name:?} is not a folder name"));
                    }
                }
                let sent_folder_configured = m.sent_folder.is_some();
                let sent_folder = m
                    .sent_folder
                    .as_deref()
                    .map(crate::intake::mutf7::from_config)
                    .or_else(|| preset.map(|p| p.sent_names[0].to_string()))
                    .unwrap_or_else(d_sent);
                let append_sent =
                    m.append_sent.unwrap_or(!preset.is_some_and(|p| p.files_sent == presets::SentFiling::Always));
                Some(SourceConfig::Imap(ImapConfig {
                    poll_interval: dur(&m.poll_interval, "[mailbox] poll_interval", &mut problems),
                    host,
                    port,
                    tls,
                    ca_file: opt_path(&m.ca_file),
                    user: m.user,
                    password,
                    folder: crate::intake::mutf7::from_config(&m.folder),
                    idle: m.idle,
                    id: m.id.unwrap_or(true),
                    sent_folder,
                    sent_folder_configured,
                    append_sent,
                    proof_copy: m.proof_copy.unwrap_or(append_sent),
                    keyword: m.keyword,
                    provider: preset,
                }))
            }
            (None, Some(d)) => Some(SourceConfig::Maildir { path: abs(&d.path), sent_folder: d.sent_folder }),
        };

        let transport = match (raw.smtp, raw.outbox_dir) {
            (Some(_), Some(_)) => {
                problems.push("give either [smtp] or [outbox_dir], not both".into());
                None
            }
            (None, None) => {
                problems.push("no reply transport: add an [smtp] section or an [outbox_dir] section".into());
                None
            }
            (Some(s), None) => {
                let host =
                    s.host.clone().filter(|h| !h.trim().is_empty()).or_else(|| preset.map(|p| p.smtp_host.to_string()));
                let host = host.unwrap_or_else(|| {
                    problems.push("[smtp] host is missing: set host, or [mailbox] provider to use a preset".into());
                    String::new()
                });
                let tls = s.tls.or(preset.map(|p| p.smtp_tls)).unwrap_or_else(d_tls);
                let port = s.port.or(preset.map(|p| p.smtp_port)).unwrap_or_else(d_smtp_port);
                if tls == TlsMode::None && !is_loopback(&host) {
                    problems.push(format!("[smtp] tls = \"none\" is only allowed for loopback hosts, not {host}"));
                }
                if s.from.parse::<lettre::message::Mailbox>().is_err() {
                    problems.push(format!(
                        "[smtp] from = \"{}\" is not an address (e.g. 省学分银行 <office@example.edu.cn>)",
                        s.from
                    ));
                }
                let password =
                    secret(&s.password, &s.password_file, "MAIL_INTAKE_SMTP_PASSWORD", base, "[smtp]", &mut problems);
                Some(TransportConfig::Smtp(SmtpConfig {
                    timeout: dur(&s.timeout, "[smtp] timeout", &mut problems),
                    host,
                    port,
                    tls,
                    ca_file: opt_path(&s.ca_file),
                    user: s.user,
                    password,
                    from: s.from,
                }))
            }
            (None, Some(o)) => {
                if o.from.parse::<lettre::message::Mailbox>().is_err() {
                    problems.push(format!("[outbox_dir] from = \"{}\" is not an address", o.from));
                }
                Some(TransportConfig::Dir { path: abs(&o.path), from: o.from })
            }
        };

        let reply_since = if raw.reply.reply_since.trim().is_empty() {
            None
        } else {
            match NaiveDate::parse_from_str(raw.reply.reply_since.trim(), "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    problems.push(format!(
                        "[reply] reply_since = \"{}\" is not a date (YYYY-MM-DD)",
                        raw.reply.reply_since
                    ));
                    None
                }
            }
        };
        let reply = ReplyConfig {
            enabled: raw.reply.enabled,
            reply_since,
            max_per_sender_per_day: raw.reply.max_per_sender_per_day,
            max_attempts: raw.reply.max_attempts.max(1),
            retry_backoff: dur(&raw.reply.retry_backoff, "[reply] retry_backoff", &mut problems),
            sent_check_delay: dur(&raw.reply.sent_check_delay, "[reply] sent_check_delay", &mut problems),
        };
        let idle_renew = dur(&raw.daemon.idle_renew, "[daemon] idle_renew", &mut problems);
        if idle_renew >= Duration::from_secs(29 * 60) {
            problems.push("[daemon] idle_renew must be under 29m (RFC 2177)".into());
        }
        let daemon = DaemonConfig {
            batch_size: raw.daemon.batch_size.clamp(1, 1000),
            idle_renew,
            reconnect_max: dur(&raw.daemon.reconnect_max, "[daemon] reconnect_max", &mut problems),
            alert_after_failures: raw.daemon.alert_after_failures.max(1),
            io_timeout: dur(&raw.daemon.io_timeout, "[daemon] io_timeout", &mut problems),
        };
        let size = |s: &str, key: &str, problems: &mut Vec<String>| match parse_size(s) {
            Some(n) => n,
            None => {
                problems.push(format!("{key} = \"{s}\" is not a size (use 100MB, 512KB)"));
                0
            }
        };
        let mut limits = Limits::default();
        limits.max_message_bytes =
            size(&raw.limits.max_message_size, "[limits] max_message_size", &mut problems) as usize;
        limits.max_decompressed_bytes =
            size(&raw.limits.max_decompressed_size, "[limits] max_decompressed_size", &mut problems);
        limits.max_archive_members = raw.limits.max_archive_members;
        limits.max_pdf_pages = raw.limits.max_pdf_pages;
        limits.max_total_decompressed_bytes =
            size(&raw.limits.max_total_decompressed_size, "[limits] max_total_decompressed_size", &mut problems);
        if limits.max_total_decompressed_bytes < limits.max_decompressed_bytes {
            problems.push("[limits] max_total_decompressed_size is smaller than max_decompressed_size".into());
        }
        limits.max_judge_time = dur(&raw.limits.max_judge_time, "[limits] max_judge_time", &mut problems);

        let digest = digest_config(raw.digest, &mut problems);
        let web = crate::web::config::WebConfig::validate(raw.web, base, &mut problems);

        // A relative rules folder is looked for beside this file, then in the working folder.
        let rules_dir = match opt_path(&raw.rules.dir) {
            Some(d) if !d.is_dir() && Path::new(&raw.rules.dir).is_relative() && Path::new(&raw.rules.dir).is_dir() => {
                Some(PathBuf::from(&raw.rules.dir))
            }
            other => other,
        };
        if let Some(d) = &rules_dir
            && !d.is_dir()
        {
            problems.push(format!(
                "[rules] dir {} is not a folder (leave it empty to use the rules built into the binary)",
                d.display()
            ));
        }
        if !problems.is_empty() {
            return Err(ConfigError::Invalid(problems));
        }
        match (source, transport) {
            (Some(source), Some(transport)) => Ok(Config {
                source,
                transport,
                store_path: abs(&raw.store.path),
                rules_dir,
                reply,
                daemon,
                limits,
                digest,
                web,
            }),
            _ => Err(ConfigError::Invalid(vec!["incomplete configuration".into()])),
        }
    }
}

/// Validates `[digest]`.
fn digest_config(raw: RawDigest, problems: &mut Vec<String>) -> DigestConfig {
    let at = match chrono::NaiveTime::parse_from_str(raw.at.trim(), "%H:%M") {
        Ok(t) => t,
        Err(_) => {
            problems.push(format!("[digest] at = \"{}\" is not a time of day (HH:MM, e.g. 08:00)", raw.at));
            chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default()
        }
    };
    let timezone = match raw.timezone.trim().parse::<chrono_tz::Tz>() {
        Ok(tz) => tz,
        Err(_) => {
            problems.push(format!(
                "[digest] timezone = \"{}\" is not an IANA time zone (e.g. Asia/Shanghai)",
                raw.timezone
            ));
            chrono_tz::Asia::Shanghai
        }
    };
    for a in &raw.to {
        if a.parse::<lettre::message::Mailbox>().is_err() {
            problems.push(format!("[digest] to: \"{a}\" is not an address"));
        }
    }
    let enabled = raw.enabled.unwrap_or(!raw.to.is_empty());
    if enabled && raw.to.is_empty() {
        problems.push("[digest] enabled = true but to = [] names nobody; add the office's addresses".into());
    }
    DigestConfig { enabled, at, to: raw.to, timezone }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_section_defaults_and_problems() {
        let base = "[maildir]\npath = \"inbox\"\n[outbox_dir]\npath = \"out\"\nfrom = \"o@example.cn\"\n";
        let cfg = Config::from_str(base, Path::new("."), "t").expect("valid");
        assert!(!cfg.digest.enabled, "no recipients: off");
        assert_eq!(cfg.digest.at, chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap());
        assert_eq!(cfg.digest.timezone, chrono_tz::Asia::Shanghai);

        let on = format!("{base}[digest]\nat = \"17:30\"\nto = [\"科长 <boss@example.cn>\", \"a@example.cn\"]\n");
        let cfg = Config::from_str(&on, Path::new("."), "t").expect("valid");
        assert!(cfg.digest.enabled);
        assert_eq!(cfg.digest.at, chrono::NaiveTime::from_hms_opt(17, 30, 0).unwrap());
        assert_eq!(cfg.digest.to.len(), 2);

        let off = format!("{base}[digest]\nenabled = false\nto = [\"a@example.cn\"]\n");
        assert!(!Config::from_str(&off, Path::new("."), "t").expect("valid").digest.enabled);

        let bad =
            format!("{base}[digest]\nenabled = true\nat = \"8am\"\ntimezone = \"Mars/Base\"\nto = [\"nobody\"]\n");
        let Err(ConfigError::Invalid(p)) = Config::from_str(&bad, Path::new("."), "t") else { panic!("invalid") };
        let all = p.join("\n");
        assert!(
            all.contains("[digest] at") && all.contains("[digest] timezone") && all.contains("\"nobody\""),
            "{all}"
        );

        let empty = format!("{base}[digest]\nenabled = true\n");
        let Err(ConfigError::Invalid(p)) = Config::from_str(&empty, Path::new("."), "t") else { panic!("invalid") };
        assert!(p.join("\n").contains("names nobody"));

        let unknown = format!("{base}[digest]\nwhen = \"08:00\"\n");
        assert!(Config::from_str(&unknown, Path::new("."), "t").is_err());
    }

    #[test]
    fn the_example_config_is_valid_with_a_password_from_the_environment() {
        // The example leaves passwords empty; supply them as an operator would.
        let text = DEFAULT_CONFIG.replace("password = \"\"", "password = \"x\"");
        let cfg = Config::from_str(&text, Path::new("/etc/mail-intake"), "example").expect("valid");
        let SourceConfig::Imap(imap) = &cfg.source else { panic!("imap") };
        assert_eq!(imap.port, 993);
        assert_eq!(format!("{:?}", imap.password), "***");
        assert_eq!(cfg.store_path, PathBuf::from("/etc/mail-intake/var/mail-intake.sqlite3"));
    }

    #[test]
    fn every_provider_preset_gives_a_ready_file() {
        for p in presets::PRESETS {
            let text = presets::config_file(DEFAULT_CONFIG, p).replace("password = \"\"", "password = \"x\"");
            let cfg = Config::from_str(&text, Path::new("/etc/mail-intake"), p.name)
                .unwrap_or_else(|e| panic!("{}: {e}\n{text}", p.name));
            let SourceConfig::Imap(imap) = &cfg.source else { panic!("imap") };
            assert_eq!((imap.host.as_str(), imap.port, imap.tls), (p.imap_host, p.imap_port, p.imap_tls), "{}", p.name);
            assert!(imap.id, "{}", p.name);
            assert_eq!(imap.sent_folder, p.sent_names[0], "{}", p.name);
            assert!(!imap.sent_folder_configured, "{}: the preset's name, not the office's", p.name);
            assert_eq!(imap.append_sent, p.files_sent != presets::SentFiling::Always, "{}", p.name);
            assert_eq!(imap.proof_copy, imap.append_sent, "{}", p.name);
            let TransportConfig::Smtp(smtp) = &cfg.transport else { panic!("smtp") };
            assert_eq!((smtp.host.as_str(), smtp.port, smtp.tls), (p.smtp_host, p.smtp_port, p.smtp_tls), "{}", p.name);
        }
    }

    #[test]
    fn a_preset_is_overridable_and_an_unknown_provider_is_refused() {
        let text = "[mailbox]\nprovider = \"163\"\nhost = \"127.0.0.1\"\nport = 1143\ntls = \"none\"\nuser = \"o@163.com\"\npassword = \"x\"\nsent_folder = \"我的已发送\"\n[smtp]\nfrom = \"o@163.com\"\nport = 25\n";
        let cfg = Config::from_str(text, Path::new("."), "t").expect("valid");
        let SourceConfig::Imap(imap) = &cfg.source else { panic!("imap") };
        assert_eq!((imap.host.as_str(), imap.port, imap.tls), ("127.0.0.1", 1143, TlsMode::None));
        assert_eq!((imap.sent_folder.as_str(), imap.sent_folder_configured), ("我的已发送", true));
        assert!(imap.provider.is_some_and(|p| p.needs_id));
        let TransportConfig::Smtp(smtp) = &cfg.transport else { panic!("smtp") };
        assert_eq!((smtp.host.as_str(), smtp.port, smtp.tls), ("smtp.163.com", 25, TlsMode::Tls));

        let bad = text.replace("\"163\"", "\"hotmail\"");
        let Err(ConfigError::Invalid(p)) = Config::from_str(&bad, Path::new("."), "t") else { panic!("invalid") };
        assert!(p.join("\n").contains("not a known provider"), "{p:?}");
        let none = "[mailbox]\nuser = \"o\"\npassword = \"x\"\n[outbox_dir]\npath = \"o\"\nfrom = \"o@x.cn\"\n";
        let Err(ConfigError::Invalid(p)) = Config::from_str(none, Path::new("."), "t") else { panic!("invalid") };
        assert!(p.join("\n").contains("host is missing"), "{p:?}");
    }

    #[test]
    fn every_problem_is_reported() {
        let text = r#"
[mailbox]
host = "imap.example.cn"
tls = "none"
user = ""
poll_interval = "soon"
[smtp]
host = "smtp.example.cn"
from = "not an address"
"#;
        let Err(ConfigError::Invalid(p)) = Config::from_str(text, Path::new("."), "t") else { panic!("invalid") };
        let all = p.join("\n");
        assert!(all.contains("only allowed for loopback"), "{all}");
        assert!(all.contains("user is empty"), "{all}");
        assert!(all.contains("poll_interval"), "{all}");
        assert!(all.contains("not an address"), "{all}");
        assert!(all.contains("no password"), "{all}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = Config::from_str("[store]\npaht = \"x\"\n", Path::new("."), "t").expect_err("unknown key");
        assert!(err.to_string().contains("paht"));
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("25m"), Some(Duration::from_secs(1500)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("x"), None);
        assert_eq!(parse_size("100MB"), Some(100 * 1024 * 1024));
        assert_eq!(parse_size("12"), Some(12));
    }
}
