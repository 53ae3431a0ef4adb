//! Provider presets: what an office would otherwise have to look up itself for its mail
//! provider — IMAP/SMTP hosts, ports and TLS modes, whether the server wants the IMAP `ID`
//! command, the names its Sent folder goes by, and whether it files SMTP-sent mail into
//! Sent by itself. `[mailbox] provider = "163"` fills these in; every value can still be
//! overridden in the file. Data only: the table is [`PRESETS`].

use super::TlsMode;

/// Whether a provider files mail sent through its SMTP server into the Sent folder itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentFiling {
    /// Always (Gmail, Outlook): do not append a copy of our own.
    Always,
    /// Only when the office switches on this setting in the web mail (off: we append).
    IfSwitchedOn(&'static str),
    /// Not known (a custom server).
    Unknown,
}

impl SentFiling {
    /// For people: `config check --connect` and the README.
    pub fn describe(&self) -> String {
        match self {
            SentFiling::Always => "yes, always (the provider files SMTP-sent mail into Sent itself)".into(),
            SentFiling::IfSwitchedOn(setting) => {
                format!("only if “{setting}” is switched on in the web mail (unknown from here)")
            }
            SentFiling::Unknown => "unknown (no provider preset)".into(),
        }
    }
}

/// One provider's facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// The `provider = "…"` value.
    pub name: &'static str,
    /// For people.
    pub label: &'static str,
    pub imap_host: &'static str,
    pub imap_port: u16,
    pub imap_tls: TlsMode,
    pub smtp_host: &'static str,
    pub smtp_port: u16,
    pub smtp_tls: TlsMode,
    /// The server refuses SELECT until the client sent `ID` (RFC 2971): NetEase's
    /// "Unsafe Login".
    pub needs_id: bool,
    /// The Sent folder's names as this provider shows them (decoded), most likely first;
    /// used when the server flags no folder `\Sent`.
    pub sent_names: &'static [&'static str],
    pub files_sent: SentFiling,
    /// What the office must switch on in the web mail before the daemon can work.
    pub switch_on: &'static str,
    /// The password the daemon needs.
    pub password: &'static str,
}

const NETEASE_SENT: &[&str] = &["已发送"];
const NETEASE_SWITCH: &str = "设置 → POP3/SMTP/IMAP → 开启 IMAP/SMTP 服务";
const NETEASE_FILING: SentFiling = SentFiling::IfSwitchedOn("POP3/SMTP/IMAP → 客户端发信保存到已发送");

/// Every preset, `custom` excluded (it fills nothing).
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "exmail",
        label: "Tencent Exmail (腾讯企业邮箱)",
        imap_host: "imap.exmail.qq.com",
        imap_port: 993,
        imap_tls: TlsMode::Tls,
        smtp_host: "smtp.exmail.qq.com",
        smtp_port: 465,
        smtp_tls: TlsMode::Tls,
        needs_id: false,
        sent_names: &["Sent Messages", "已发送"],
        files_sent: SentFiling::IfSwitchedOn("设置 → 客户端设置 → SMTP发信后保存到服务器"),
        switch_on: "设置 → 客户端设置 → 开启 IMAP/SMTP 服务; 安全登录 on: 生成客户端专用密码",
        password: "客户端专用密码 (when 安全登录 is on), else the mailbox password",
    },
    Preset {
        name: "qq",
        label: "QQ Mail (QQ邮箱)",
        imap_host: "imap.qq.com",
        imap_port: 993,
        imap_tls: TlsMode::Tls,
        smtp_host: "smtp.qq.com",
        smtp_port: 465,
        smtp_tls: TlsMode::Tls,
        needs_id: false,
        sent_names: &["Sent Messages", "已发送"],
        files_sent: SentFiling::IfSwitchedOn("设置 → 账户 → SMTP发信后保存到服务器"),
        switch_on: "设置 → 账户 → 开启 IMAP/SMTP 服务, then 生成授权码",
        password: "授权码 (authorisation code), not the QQ password",
    },
    Preset {
        name: "163",
        label: "NetEase 163 (网易163邮箱)",
        imap_host: "imap.163.com",
        imap_port: 993,
        imap_tls: TlsMode::Tls,
        smtp_host: "smtp.163.com",
        smtp_port: 465,
        smtp_tls: TlsMode::Tls,
        needs_id: true,
        sent_names: NETEASE_SENT,
        files_sent: NETEASE_FILING,
        switch_on: NETEASE_SWITCH,
        password: "授权码 (authorisation code), not the login password",
    },
    Preset {
        name: "126",
        label: "NetEase 126 (网易126邮箱)",
        imap_host: "imap.126.com",
        imap_port: 993,
        imap_tls: TlsMode::Tls,
        smtp_host: "smtp.126.com",
        smtp_port: 465,
        smtp_tls: TlsMode::Tls,
        needs_id: true,
        sent_names: NETEASE_SENT,
        files_sent: NETEASE_FILING,
        switch_on: NETEASE_SWITCH,
        password: "授权码 (authorisation code), not the login password",
    },
    Preset {
        name: "yeah",
        label: "NetEase yeah.net",
        imap_host: "imap.yeah.net",
        imap_port: 993,
        imap_tls: TlsMode::Tls,
        smtp_host: "smtp.yeah.net",
        smtp_port: 465,
        smtp_tls: TlsMode::Tls,
        needs_id: true,
        sent_names: NETEASE_SENT,
        files_sent: NETEASE_FILING,
        switch_on: NETEASE_SWITCH,
        password: "授权码 (authorisation code), not the login password",
    },
    Preset {
        name: "aliyun",
        label: "Aliyun enterprise mail (阿里云企业邮箱)",
        imap_host: "imap.qiye.aliyun.com",
        imap_port: 993,
        imap_tls: TlsMode::Tls,
        smtp_host: "smtp.qiye.aliyun.com",
        smtp_port: 465,
        smtp_tls: TlsMode::Tls,
        needs_id: false,
        sent_names: &["已发送", "Sent"],
        files_sent: SentFiling::IfSwitchedOn("设置 → 客户端设置 → SMTP发信后保存到已发送"),
        switch_on: "设置 → 客户端设置 → 开启 IMAP/SMTP; 三方客户端安全密码 when required",
        password: "三方客户端安全密码 when the administrator requires it, else the mailbox password",
    },
    Preset {
        name: "outlook",
        label: "Microsoft Outlook / Exchange Online",
        imap_host: "outlook.office365.com",
        imap_port: 993,
        imap_tls: TlsMode::Tls,
        smtp_host: "smtp.office365.com",
        smtp_port: 587,
        smtp_tls: TlsMode::Starttls,
        needs_id: false,
        sent_names: &["Sent Items", "Sent"],
        files_sent: SentFiling::Always,
        switch_on: "IMAP and SMTP AUTH enabled for the mailbox by the tenant administrator",
        password: "an app password where the tenant still allows basic authentication (Microsoft is retiring it; mail-intake has no OAuth2)",
    },
    Preset {
        name: "gmail",
        label: "Gmail / Google Workspace",
        imap_host: "imap.gmail.com",
        imap_port: 993,
        imap_tls: TlsMode::Tls,
        smtp_host: "smtp.gmail.com",
        smtp_port: 465,
        smtp_tls: TlsMode::Tls,
        needs_id: false,
        sent_names: &["[Gmail]/Sent Mail", "[Google Mail]/Sent Mail", "[Gmail]/已发邮件"],
        files_sent: SentFiling::Always,
        switch_on: "2-Step Verification on, then an app password (IMAP is always on)",
        password: "app password (16 letters)",
    },
];

/// The names `provider` accepts, `custom` included.
pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|p| p.name).chain(std::iter::once("custom")).collect()
}

/// The preset called `name` (case-insensitive); `None` for `custom` or an unknown name.
pub fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name.eq_ignore_ascii_case(name.trim()))
}

/// Whether `name` is a valid `provider` value.
pub fn is_known(name: &str) -> bool {
    name.trim().eq_ignore_ascii_case("custom") || find(name).is_some()
}

fn tls_name(t: TlsMode) -> &'static str {
    match t {
        TlsMode::Tls => "tls",
        TlsMode::Starttls => "starttls",
        TlsMode::None => "none",
    }
}

/// A ready configuration file for `provider` (from the commented example): the
/// `[mailbox]` and `[smtp]` sections name the provider and its hosts; the office fills in
/// its address and password.
pub fn config_file(example: &str, preset: &Preset) -> String {
    let mut out = String::with_capacity(example.len() + 1024);
    let mut section = "";
    for line in example.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            section = if trimmed.starts_with("[mailbox]") {
                "mailbox"
            } else if trimmed.starts_with("[smtp]") {
                "smtp"
            } else {
                "other"
            };
            out.push_str(line);
            out.push('\n');
            if section == "mailbox" {
                out.push_str(&format!(
                    "provider = \"{}\"   # {}: fills in what is commented out below\n",
                    preset.name, preset.label
                ));
            }
            continue;
        }
        let key = trimmed.split('=').next().unwrap_or("").trim();
        let value = match (section, key) {
            ("mailbox", "host") => Some(format!("\"{}\"", preset.imap_host)),
            ("mailbox", "port") => Some(preset.imap_port.to_string()),
            ("mailbox", "tls") => Some(format!("\"{}\"", tls_name(preset.imap_tls))),
            ("mailbox", "id") => Some(preset.needs_id.to_string()),
            ("mailbox", "sent_folder") => Some(format!("\"{}\"", preset.sent_names[0])),
            ("mailbox", "append_sent") => Some((preset.files_sent != SentFiling::Always).to_string()),
            ("smtp", "host") => Some(format!("\"{}\"", preset.smtp_host)),
            ("smtp", "port") => Some(preset.smtp_port.to_string()),
            ("smtp", "tls") => Some(format!("\"{}\"", tls_name(preset.smtp_tls))),
            _ => None,
        };
        match value {
            // Preset values stay visible but commented: the preset is the source of truth
            // until the office overrides one.
            Some(v) => out.push_str(&format!("# {key} = {v}   # from the {} preset\n", preset.name)),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_issue_provider_is_there() {
        for n in ["exmail", "qq", "163", "126", "yeah", "aliyun", "outlook", "gmail", "custom"] {
            assert!(is_known(n), "{n}");
        }
        assert!(!is_known("hotmail"));
        assert!(find("163").is_some_and(|p| p.needs_id && p.sent_names == ["已发送"]));
        assert!(find("EXMAIL").is_some_and(|p| p.sent_names[0] == "Sent Messages" && !p.needs_id));
        assert!(find("custom").is_none());
        for p in PRESETS {
            assert!(!p.sent_names.is_empty(), "{}", p.name);
        }
    }
}
