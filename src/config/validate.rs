//! From the file's shape to a [`Config`]: each section checked by its own function, every
//! problem collected (in file order) before giving up.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;

use super::presets::{self, Preset};
use super::raw::{
    RawConfig, RawDaemon, RawDigest, RawLimits, RawMailbox, RawMaildir, RawOutboxDir, RawReply, RawSmtp, d_imap_port,
    d_sent, d_smtp_port, d_tls,
};
use super::web::WebConfig;
use super::{
    Config, ConfigError, DaemonConfig, DigestConfig, ImapConfig, ReplyConfig, Secret, SmtpConfig, SourceConfig,
    TlsMode, TransportConfig, parse_duration, parse_size,
};
use crate::limits::Limits;
use crate::text::mutf7;

/// The folder relative paths are taken from, and the problems found so far.
struct Check<'a> {
    base: &'a Path,
    problems: Vec<String>,
}

/// Checks every value and collects every problem.
pub(super) fn validate(raw: RawConfig, base: &Path) -> Result<Config, ConfigError> {
    let mut c = Check { base, problems: Vec::new() };
    // The provider preset, if any: it fills what the file leaves out, in [mailbox] and [smtp].
    let preset = c.preset(raw.mailbox.as_ref());
    let source = c.source(raw.mailbox, raw.maildir, preset);
    let transport = c.transport(raw.smtp, raw.outbox_dir, preset);
    let reply = c.reply(raw.reply);
    let daemon = c.daemon(raw.daemon);
    let limits = c.limits(raw.limits);
    let digest = digest_config(raw.digest, &mut c.problems);
    let web = WebConfig::validate(raw.web, base, &mut c.problems);
    let rules_dir = c.rules_dir(&raw.rules.dir);
    if !c.problems.is_empty() {
        return Err(ConfigError::Invalid(c.problems));
    }
    match (source, transport) {
        (Some(source), Some(transport)) => Ok(Config {
            source,
            transport,
            store_path: c.abs(&raw.store.path),
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

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host == "::1" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

impl Check<'_> {
    fn problem(&mut self, p: impl Into<String>) {
        self.problems.push(p.into());
    }

    fn dur(&mut self, s: &str, key: &str) -> Duration {
        parse_duration(s).unwrap_or_else(|| {
            self.problem(format!("{key} = \"{s}\" is not a duration (use 30s, 5m, 2h)"));
            Duration::from_secs(60)
        })
    }

    fn size(&mut self, s: &str, key: &str) -> u64 {
        parse_size(s).unwrap_or_else(|| {
            self.problem(format!("{key} = \"{s}\" is not a size (use 100MB, 512KB)"));
            0
        })
    }

    fn abs(&self, p: &str) -> PathBuf {
        let p = PathBuf::from(p);
        if p.is_absolute() { p } else { self.base.join(p) }
    }

    fn opt_path(&self, p: &str) -> Option<PathBuf> {
        (!p.is_empty()).then(|| self.abs(p))
    }

    /// Reads a secret: `*_file` first, then the environment variable, then the inline value.
    fn secret(&mut self, inline: &str, file: &str, env: &str, what: &str) -> Secret {
        if !file.is_empty() {
            let path = self.base.join(file);
            match std::fs::read_to_string(&path) {
                Ok(s) => return Secret::new(s.trim_end_matches(['\r', '\n'])),
                Err(e) => self.problem(format!("{what}: cannot read password_file {}: {e}", path.display())),
            }
        }
        if let Ok(v) = std::env::var(env)
            && !v.is_empty()
        {
            return Secret::new(v);
        }
        Secret::new(inline)
    }

    /// `[mailbox] provider`: a known preset, or none.
    fn preset(&mut self, mailbox: Option<&RawMailbox>) -> Option<&'static Preset> {
        match mailbox.and_then(|m| m.provider.as_deref()) {
            Some(name) if !presets::is_known(name) => {
                self.problem(format!(
                    "[mailbox] provider = \"{name}\" is not a known provider; use one of {} (custom: give host, port and tls yourself)",
                    presets::names().join(", ")
                ));
                None
            }
            Some(name) => presets::find(name),
            None => None,
        }
    }

    /// Where mail comes from: `[mailbox]` (IMAP) or `[maildir]`, exactly one.
    fn source(
        &mut self,
        mailbox: Option<RawMailbox>,
        maildir: Option<RawMaildir>,
        preset: Option<&'static Preset>,
    ) -> Option<SourceConfig> {
        match (mailbox, maildir) {
            (Some(_), Some(_)) => {
                self.problem("give either [mailbox] (IMAP) or [maildir], not both");
                None
            }
            (None, None) => {
                self.problem("no mail source: add a [mailbox] section (IMAP) or a [maildir] section");
                None
            }
            (Some(m), None) => Some(SourceConfig::Imap(self.imap(m, preset))),
            (None, Some(d)) => Some(SourceConfig::Maildir { path: self.abs(&d.path), sent_folder: d.sent_folder }),
        }
    }

    /// A host from the file or the preset; plain text only towards loopback.
    fn host(&mut self, given: Option<&String>, preset: Option<String>, missing: &str) -> String {
        given.filter(|h| !h.trim().is_empty()).cloned().or(preset).unwrap_or_else(|| {
            self.problem(missing);
            String::new()
        })
    }

    /// `[mailbox]`: the IMAP account, the preset filling what it leaves out.
    fn imap(&mut self, m: RawMailbox, preset: Option<&'static Preset>) -> ImapConfig {
        let host = self.host(
            m.host.as_ref(),
            preset.map(|p| p.imap_host.to_string()),
            "[mailbox] host is missing: set host, or provider = \"163\" (etc.) to use a preset",
        );
        let tls = m.tls.or(preset.map(|p| p.imap_tls)).unwrap_or_else(d_tls);
        let port = m.port.or(preset.map(|p| p.imap_port)).unwrap_or_else(d_imap_port);
        if tls == TlsMode::None && !is_loopback(&host) {
            self.problem(format!(
                "[mailbox] tls = \"none\" is only allowed for loopback hosts, not {host}; use tls or starttls"
            ));
        }
        if m.user.is_empty() {
            self.problem("[mailbox] user is empty");
        }
        let password = self.secret(&m.password, &m.password_file, "MAIL_INTAKE_MAILBOX_PASSWORD", "[mailbox]");
        if password.is_empty() {
            self.problem("[mailbox] has no password: set password, password_file or MAIL_INTAKE_MAILBOX_PASSWORD");
        }
        if m.keyword.is_empty() || m.keyword.contains(|c: char| c.is_whitespace() || "(){%*\"\\]".contains(c)) {
            self.problem(format!("[mailbox] keyword \"{}\" is not a valid IMAP keyword", m.keyword));
        }
        for (key, name) in [("folder", Some(&m.folder)), ("sent_folder", m.sent_folder.as_ref())] {
            if let Some(name) = name
                && (name.trim().is_empty() || name.contains(['\r', '\n', '\0']))
            {
                self.problem(format!("[mailbox] {key} = {name:?} is not a folder name"));
            }
        }
        let sent_folder = m
            .sent_folder
            .as_deref()
            .map(mutf7::from_config)
            .or_else(|| preset.map(|p| p.sent_names[0].to_string()))
            .unwrap_or_else(d_sent);
        let append_sent = m.append_sent.unwrap_or(!preset.is_some_and(|p| p.files_sent == presets::SentFiling::Always));
        ImapConfig {
            poll_interval: self.dur(&m.poll_interval, "[mailbox] poll_interval"),
            host,
            port,
            tls,
            ca_file: self.opt_path(&m.ca_file),
            password,
            folder: mutf7::from_config(&m.folder),
            idle: m.idle,
            id: m.id.unwrap_or(true),
            sent_folder,
            sent_folder_configured: m.sent_folder.is_some(),
            append_sent,
            proof_copy: m.proof_copy.unwrap_or(append_sent),
            user: m.user,
            keyword: m.keyword,
            provider: preset,
        }
    }

    /// Where replies go: `[smtp]` or `[outbox_dir]`, exactly one.
    fn transport(
        &mut self,
        smtp: Option<RawSmtp>,
        outbox: Option<RawOutboxDir>,
        preset: Option<&'static Preset>,
    ) -> Option<TransportConfig> {
        match (smtp, outbox) {
            (Some(_), Some(_)) => {
                self.problem("give either [smtp] or [outbox_dir], not both");
                None
            }
            (None, None) => {
                self.problem("no reply transport: add an [smtp] section or an [outbox_dir] section");
                None
            }
            (Some(s), None) => Some(TransportConfig::Smtp(self.smtp(s, preset))),
            (None, Some(o)) => {
                if o.from.parse::<lettre::message::Mailbox>().is_err() {
                    self.problem(format!("[outbox_dir] from = \"{}\" is not an address", o.from));
                }
                Some(TransportConfig::Dir { path: self.abs(&o.path), from: o.from })
            }
        }
    }

    /// `[smtp]`: the sending account, the preset filling what it leaves out.
    fn smtp(&mut self, s: RawSmtp, preset: Option<&'static Preset>) -> SmtpConfig {
        let host = self.host(
            s.host.as_ref(),
            preset.map(|p| p.smtp_host.to_string()),
            "[smtp] host is missing: set host, or [mailbox] provider to use a preset",
        );
        let tls = s.tls.or(preset.map(|p| p.smtp_tls)).unwrap_or_else(d_tls);
        let port = s.port.or(preset.map(|p| p.smtp_port)).unwrap_or_else(d_smtp_port);
        if tls == TlsMode::None && !is_loopback(&host) {
            self.problem(format!("[smtp] tls = \"none\" is only allowed for loopback hosts, not {host}"));
        }
        if s.from.parse::<lettre::message::Mailbox>().is_err() {
            self.problem(format!(
                "[smtp] from = \"{}\" is not an address (e.g. 省学分银行 <office@example.edu.cn>)",
                s.from
            ));
        }
        let password = self.secret(&s.password, &s.password_file, "MAIL_INTAKE_SMTP_PASSWORD", "[smtp]");
        SmtpConfig {
            timeout: self.dur(&s.timeout, "[smtp] timeout"),
            host,
            port,
            tls,
            ca_file: self.opt_path(&s.ca_file),
            user: s.user,
            password,
            from: s.from,
        }
    }

    /// `[reply]`.
    fn reply(&mut self, r: RawReply) -> ReplyConfig {
        let since = r.reply_since.trim();
        let reply_since = if since.is_empty() {
            None
        } else {
            NaiveDate::parse_from_str(since, "%Y-%m-%d")
                .map_err(|_| {
                    self.problem(format!("[reply] reply_since = \"{}\" is not a date (YYYY-MM-DD)", r.reply_since))
                })
                .ok()
        };
        ReplyConfig {
            enabled: r.enabled,
            reply_since,
            max_per_sender_per_day: r.max_per_sender_per_day,
            max_attempts: r.max_attempts.max(1),
            retry_backoff: self.dur(&r.retry_backoff, "[reply] retry_backoff"),
            sent_check_delay: self.dur(&r.sent_check_delay, "[reply] sent_check_delay"),
        }
    }

    /// `[daemon]`: IDLE is renewed well inside the 29 minutes RFC 2177 allows.
    fn daemon(&mut self, d: RawDaemon) -> DaemonConfig {
        let idle_renew = self.dur(&d.idle_renew, "[daemon] idle_renew");
        if idle_renew >= Duration::from_secs(29 * 60) {
            self.problem("[daemon] idle_renew must be under 29m (RFC 2177)");
        }
        DaemonConfig {
            batch_size: d.batch_size.clamp(1, 1000),
            idle_renew,
            reconnect_max: self.dur(&d.reconnect_max, "[daemon] reconnect_max"),
            alert_after_failures: d.alert_after_failures.max(1),
            io_timeout: self.dur(&d.io_timeout, "[daemon] io_timeout"),
        }
    }

    /// `[limits]`: the total cap is at least the per-member cap.
    fn limits(&mut self, l: RawLimits) -> Limits {
        let max_message_bytes = self.size(&l.max_message_size, "[limits] max_message_size") as usize;
        let max_decompressed_bytes = self.size(&l.max_decompressed_size, "[limits] max_decompressed_size");
        let max_total_decompressed_bytes =
            self.size(&l.max_total_decompressed_size, "[limits] max_total_decompressed_size");
        if max_total_decompressed_bytes < max_decompressed_bytes {
            self.problem("[limits] max_total_decompressed_size is smaller than max_decompressed_size");
        }
        Limits {
            max_message_bytes,
            max_decompressed_bytes,
            max_total_decompressed_bytes,
            max_archive_members: l.max_archive_members,
            max_pdf_pages: l.max_pdf_pages,
            max_judge_time: self.dur(&l.max_judge_time, "[limits] max_judge_time"),
            ..Limits::default()
        }
    }

    /// `[rules] dir`: a relative folder is looked for beside this file, then in the working
    /// folder; empty means the rules built into the binary.
    fn rules_dir(&mut self, dir: &str) -> Option<PathBuf> {
        let rules_dir = match self.opt_path(dir) {
            Some(d) if !d.is_dir() && Path::new(dir).is_relative() && Path::new(dir).is_dir() => {
                Some(PathBuf::from(dir))
            }
            other => other,
        };
        if let Some(d) = &rules_dir
            && !d.is_dir()
        {
            self.problem(format!(
                "[rules] dir {} is not a folder (leave it empty to use the rules built into the binary)",
                d.display()
            ));
        }
        rules_dir
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
