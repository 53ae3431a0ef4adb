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
pub const DEFAULT_CONFIG: &str = include_str!("../../deploy/mail-intake.example.toml");

mod error;
mod raw;
mod validate;
pub mod web;

pub use error::ConfigError;
pub use raw::{
    RawConfig, RawDaemon, RawDigest, RawLimits, RawMailbox, RawMaildir, RawOutboxDir, RawReply, RawRules, RawSmtp,
    RawStore,
};

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
    pub web: web::WebConfig,
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
        validate::validate(raw, base)
    }
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
