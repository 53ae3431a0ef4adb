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
    /// Starts `mail-intake run --config FILE` (this test run's build, `RUST_LOG=info`),
    /// logging to `log` (appended).
    pub fn start(config: &Path, log: &Path) -> Daemon {
        Daemon::start_with_env(config, log, &[])
    }

    /// Like [`Daemon::start`] with extra environment (e.g. `MAIL_INTAKE_FAILPOINT`).
    pub fn start_with_env(config: &Path, log: &Path, env: &[(&str, &str)]) -> Daemon {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mail-intake"));
        cmd.env("RUST_LOG", "info");
        for (k, v) in env {
            cmd.env(k, v);
        }
        Daemon::spawn(cmd, config, log)
    }

    /// `binary run --config FILE` as the benchmark runs it: the binary it is given, the log
    /// level of the environment. Investigation aid (not for figures): `BENCH_WRAP="heaptrack
    /// -o /tmp/ht"` runs the daemon under another program.
    pub fn start_binary(binary: &Path, config: &Path, log: &Path) -> Daemon {
        let wrap = std::env::var("BENCH_WRAP").unwrap_or_default();
        let mut words = wrap.split_whitespace();
        let cmd = match words.next() {
            Some(w) => {
                let mut c = Command::new(w);
                c.args(words).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        Daemon::spawn(cmd, config, log)
    }

    fn spawn(mut cmd: Command, config: &Path, log: &Path) -> Daemon {
        let out = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("daemon log");
        let err = out.try_clone().expect("daemon log");
        let child = cmd
            .args(["run", "--config"])
            .arg(config)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start mail-intake run");
        Daemon { child, log: log.to_path_buf() }
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

    /// SIGTERM and wait (kills after 30 s and panics).
    pub fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                self.kill9();
                panic!("the daemon did not stop on SIGTERM; log:\n{}", self.log_tail(30));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// [`Self::stop`], panicking unless the daemon exits cleanly.
    pub fn stop_cleanly(self) {
        let log = self.log.clone();
        let status = self.stop();
        assert!(status.success(), "the daemon exited with {status}; log:\n{}", tail(&log, 30));
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        tail(&self.log, n)
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

    /// [`Self::cpu_ticks`] as time (USER_HZ is 100 on Linux).
    pub fn cpu(&self) -> Duration {
        Duration::from_millis(self.cpu_ticks() * 10)
    }

    /// The peak resident set size so far (`VmHWM` of /proc), bytes.
    pub fn peak_rss(&self) -> u64 {
        let kib = proc_number(&format!("/proc/{}/status", self.child.id()), "VmHWM:");
        kib * 1024
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill9();
        }
    }
}

/// The number after `field` in a /proc file (`VmHWM:` in `/proc/PID/status`, `MemTotal:` in
/// `/proc/meminfo`: kB); 0 when there is none.
pub fn proc_number(path: &str, field: &str) -> u64 {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The last `n` lines of a file.
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Options for [`write_config`].
#[derive(Clone, Copy)]
pub struct Setup {
    pub imap_tls: &'static str,
    pub smtp_tls: &'static str,
    pub smtp_auth: bool,
    /// The server files sent mail into Sent itself (start it with sent copies).
    pub server_sent_copies: bool,
    /// The folder the daemon reads.
    pub folder: &'static str,
    pub replies: Replies,
    pub pace: Pace,
}

/// How the daemon sends its replies.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Replies {
    /// By SMTP to the server (and a copy appended to Sent unless the server files one).
    Smtp,
    /// As `.eml` files in `outbox/` beside the configuration.
    Files,
}

/// The daemon's timings.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Short: reconnects, retries and polls within a test's patience.
    Test,
    /// The defaults but for a long I/O timeout (big backlogs) and a slow poll (IDLE does the
    /// work).
    Bench,
}

/// Plain IMAP and SMTP, the INBOX, replies by SMTP, test timings.
pub const PLAIN: Setup = Setup {
    imap_tls: "none",
    smtp_tls: "none",
    smtp_auth: false,
    server_sent_copies: false,
    folder: "INBOX",
    replies: Replies::Smtp,
    pace: Pace::Test,
};

/// Writes a configuration for the daemon against `server` into `dir` (its store beside it).
pub fn write_config(server: &MailServer, dir: &Path, setup: Setup) -> PathBuf {
    let text = format!(
        "{}\n{}\n[store]\npath = \"{}\"\n\n{}",
        mailbox_section(server, setup),
        replies_section(server, dir, setup),
        dir.join("store.sqlite3").display(),
        pace_sections(setup.pace),
    );
    let path = dir.join("mail-intake.toml");
    std::fs::write(&path, text).expect("write the configuration");
    path
}

fn mailbox_section(server: &MailServer, setup: Setup) -> String {
    let port = if setup.imap_tls == "tls" { server.imaps_port } else { server.imap_port };
    let append_sent = setup.replies == Replies::Smtp && !setup.server_sent_copies;
    let poll = if setup.pace == Pace::Test { "3s" } else { "60s" };
    format!(
        r#"[mailbox]
host = "{host}"
port = {port}
tls = "{tls}"
ca_file = "{ca}"
user = "{OFFICE}"
password = "{pw}"
folder = "{folder}"
idle = true
poll_interval = "{poll}"
sent_folder = "Sent"
append_sent = {append_sent}
"#,
        host = server.host,
        tls = setup.imap_tls,
        ca = server.ca_file.display(),
        pw = server.password(OFFICE),
        folder = setup.folder,
    )
}

fn replies_section(server: &MailServer, dir: &Path, setup: Setup) -> String {
    if setup.replies == Replies::Files {
        let outbox = dir.join("outbox");
        return format!("[outbox_dir]\npath = \"{}\"\nfrom = \"省学分银行 <{OFFICE}>\"\n", outbox.display());
    }
    let port = match (setup.smtp_tls, setup.smtp_auth) {
        ("tls", _) => server.smtps_port,
        ("starttls", true) => server.submission_port,
        _ => server.smtp_port,
    };
    let (user, pw) = if setup.smtp_auth { (OFFICE, server.password(OFFICE)) } else { ("", "") };
    format!(
        r#"[smtp]
host = "{host}"
port = {port}
tls = "{tls}"
ca_file = "{ca}"
user = "{user}"
password = "{pw}"
from = "省学分银行 <{OFFICE}>"
timeout = "20s"
"#,
        host = server.host,
        tls = setup.smtp_tls,
        ca = server.ca_file.display(),
    )
}

fn pace_sections(pace: Pace) -> &'static str {
    match pace {
        Pace::Test => {
            r#"[reply]
reply_since = "2000-01-01"
max_per_sender_per_day = 100000
retry_backoff = "1s"
sent_check_delay = "2s"

[daemon]
reconnect_max = "2s"
io_timeout = "15s"
"#
        }
        Pace::Bench => {
            r#"[reply]
reply_since = "2000-01-01"
max_per_sender_per_day = 1000000

[daemon]
io_timeout = "120s"
"#
        }
    }
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
