//! Running the real `mail-intake` daemon against a [`MailServer`]: configuration, a child
//! process that can be killed or stopped, and realistic submissions made from the bundled
//! demo inbox.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::mailserver::{MailServer, OFFICE};

/// The bundled demo mails (invented submissions), sorted: 0 expert ok, 1 expert ok with a
/// warning, 2 missing scan, 3 subject incomplete, 4 lead ok, 5 unknown category, 6 summary
/// ok, 7 question, 8 auto-reply, 9 cloud link. `from` and `unique` (the Message-ID) are
/// rewritten; the Date is now.
pub fn demo(index: usize, from: &str, unique: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/inbox/cur");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    let raw = std::fs::read(&files[index % files.len()]).unwrap();
    let text = String::from_utf8(raw).expect("demo mails are ASCII (base64 bodies)");
    let mut out = String::new();
    for line in text.split_inclusive("\r\n") {
        if line.starts_with("Return-Path:") {
            continue;
        } else if line.starts_with("From:") {
            out.push_str(&format!("From: school <{from}>\r\n"));
        } else if line.starts_with("Message-ID:") {
            out.push_str(&format!("Message-ID: <{unique}@test.example>\r\n"));
        } else if line.starts_with("Date:") {
            out.push_str(&format!("Date: {}\r\n", chrono::Utc::now().to_rfc2822()));
        } else {
            out.push_str(line);
        }
    }
    out.into_bytes()
}

/// The daemon as a child process.
pub struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// Starts `mail-intake run --config FILE`, logging to `log` (appended).
    pub fn start(config: &Path, log: &Path) -> Daemon {
        Daemon::start_with_env(config, log, &[])
    }

    /// Like [`Daemon::start`] with extra environment (e.g. `MAIL_INTAKE_FAILPOINT`).
    pub fn start_with_env(config: &Path, log: &Path, env: &[(&str, &str)]) -> Daemon {
        let out = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        let err = out.try_clone().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mail-intake"));
        cmd.args(["run", "--config", config.to_str().unwrap()])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Daemon { child: cmd.spawn().expect("start the daemon"), log: log.to_path_buf() }
    }

    /// Whether the process has exited (e.g. at a failpoint).
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// SIGKILL and reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait (kills after 20 s and panics).
    pub fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                self.kill9();
                panic!("the daemon did not stop on SIGTERM; log:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// CPU time used so far (user + system), in clock ticks, from /proc.
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which is in parentheses).
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let get = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
        // utime and stime are fields 14 and 15 of /proc/pid/stat, i.e. 11 and 12 after ")".
        get(11) + get(12)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill9();
        }
    }
}

/// Options for [`write_config`].
#[derive(Clone, Copy)]
pub struct Setup {
    pub imap_tls: &'static str,
    pub smtp_tls: &'static str,
    pub smtp_auth: bool,
    /// The server files sent mail into Sent itself (start it with sent copies).
    pub server_sent_copies: bool,
}

pub const PLAIN: Setup = Setup { imap_tls: "none", smtp_tls: "none", smtp_auth: false, server_sent_copies: false };

/// Writes a configuration for the daemon against `server` into `dir`.
pub fn write_config(server: &MailServer, dir: &Path, setup: Setup) -> PathBuf {
    let imap_port = if setup.imap_tls == "tls" { server.imaps_port } else { server.imap_port };
    let smtp_port = match (setup.smtp_tls, setup.smtp_auth) {
        ("tls", _) => server.smtps_port,
        ("starttls", true) => server.submission_port,
        _ => server.smtp_port,
    };
    let (smtp_user, smtp_pw) = if setup.smtp_auth { (OFFICE, server.password(OFFICE)) } else { ("", "") };
    let text = format!(
        r#"
[mailbox]
host = "{host}"
port = {imap_port}
tls = "{imap_tls}"
ca_file = "{ca}"
user = "{OFFICE}"
password = "{pw}"
folder = "INBOX"
idle = true
poll_interval = "3s"
sent_folder = "Sent"
append_sent = {append}

[smtp]
host = "{host}"
port = {smtp_port}
tls = "{smtp_tls}"
ca_file = "{ca}"
user = "{smtp_user}"
password = "{smtp_pw}"
from = "省学分银行 <{OFFICE}>"
timeout = "20s"

[store]
path = "{store}"

[reply]
reply_since = "2000-01-01"
max_per_sender_per_day = 100000
retry_backoff = "1s"
sent_check_delay = "2s"

[daemon]
reconnect_max = "2s"
io_timeout = "15s"
"#,
        host = server.host,
        imap_tls = setup.imap_tls,
        smtp_tls = setup.smtp_tls,
        ca = server.ca_file.display(),
        pw = server.password(OFFICE),
        append = !setup.server_sent_copies,
        store = dir.join("store.sqlite3").display(),
    );
    let path = dir.join("mail-intake.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The `In-Reply-To` of every message in `user`'s INBOX.
pub fn in_reply_to(server: &MailServer, user: &str) -> Vec<String> {
    server
        .messages(user, "INBOX")
        .iter()
        .filter_map(|raw| {
            let m = mail_parser::MessageParser::default().parse(raw)?;
            m.in_reply_to().as_text().map(|s| format!("<{}>", s.trim_matches(['<', '>'])))
        })
        .collect()
}
