//! A real Dovecot (IMAP, IDLE, LMTP) + Postfix (SMTP → LMTP → Dovecot) on 127.0.0.1, one
//! throw-away instance per test, started by `scripts/mailserver/start.sh auto` (free random
//! ports, all state in a fresh temp dir) and stopped on drop. std only.
//!
//! ```ignore
//! let Some(srv) = MailServer::start_or_skip("my_test") else { return };
//! srv.send(eml, "school1@school1.example.cn", OFFICE);
//! assert!(srv.wait_for(OFFICE, "INBOX", 1, Duration::from_secs(10)));
//! let mut imap = srv.imap_login(OFFICE);
//! ```
//!
//! Needs root and the packages (`scripts/mailserver/start.sh install`). Without them a test
//! using [`MailServer::start_or_skip`] / [`skip_without_servers`] is skipped loudly, except
//! when `CI` is set: there it fails.
#![allow(dead_code)] // a shared harness: not every test binary uses every helper

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The office mailbox of the default users (password [`OFFICE_PW`]).
pub const OFFICE: &str = "office@example.edu.cn";
pub const OFFICE_PW: &str = "office-pw";
/// The default school mailboxes (password `schoolN-pw`).
pub const SCHOOLS: [&str; 3] =
    ["school1@school1.example.cn", "school2@school2.example.cn", "school3@school3.example.cn"];

const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// `scripts/mailserver/<name>` of this project.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mailserver").join(name)
}

/// True when running under CI (`CI` set to anything but empty, `0` or `false`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// Why real servers cannot run here, if they cannot.
fn unavailable_reason() -> Option<String> {
    for bin in ["/usr/sbin/dovecot", "/usr/sbin/postfix", "/usr/lib/postfix/sbin/master"] {
        if !Path::new(bin).exists() {
            return Some(format!("{bin} is missing (run `scripts/mailserver/start.sh install` as root)"));
        }
    }
    // Dovecot and Postfix switch users: only root can start them.
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("not running as root (Dovecot/Postfix need root to start)".into());
    }
    None
}

/// `true` when the mail servers cannot run here and the test should return at once.
/// Prints a loud SKIPPED message; under CI (`CI` set) it panics instead: CI never skips.
pub fn skip_without_servers(test: &str) -> bool {
    let Some(why) = unavailable_reason() else {
        return false;
    };
    if in_ci() {
        panic!("{test}: real mail servers required under CI, but {why}");
    }
    // straight to stderr, not eprintln!: the test harness would capture (hide) that
    let _ = writeln!(io::stderr(), "\n!!! SKIPPED: {test}: {why}; this test checked nothing !!!\n");
    true
}

/// One running Dovecot + Postfix instance. Ports are picked free at random; nothing is shared
/// with other instances, so tests may run in parallel.
pub struct MailServer {
    /// The instance dir (`/tmp/mtBASE.XXXXXX`), deleted on drop.
    pub dir: PathBuf,
    /// Always `127.0.0.1`.
    pub host: String,
    /// IMAP: plaintext LOGIN allowed, STARTTLS offered, IDLE.
    pub imap_port: u16,
    /// IMAP over implicit TLS (trust [`Self::ca_file`], name `localhost` or `127.0.0.1`).
    pub imaps_port: u16,
    /// SMTP "MX" port: 127.0.0.0/8 may send to local users without AUTH.
    pub smtp_port: u16,
    /// SMTPS (implicit TLS), AUTH required.
    pub smtps_port: u16,
    /// Submission: STARTTLS and AUTH required.
    pub submission_port: u16,
    /// PEM of the private CA that signed the servers' certificate.
    pub ca_file: PathBuf,
    /// `(address, password)` of every mailbox.
    pub users: Vec<(String, String)>,
    /// Every `KEY=VALUE` line start.sh printed (DOVECOT_PID, LMTP_SOCKET, …).
    pub env: HashMap<String, String>,
}

impl MailServer {
    /// Starts an instance with the default users (office + 3 schools), or `MAIL_USERS` from the
    /// environment. Panics when it cannot start (see [`Self::start_or_skip`]).
    pub fn start() -> MailServer {
        Self::start_inner(None, None, &[])
    }

    /// [`Self::start_or_skip`], with Postfix also filing what the office sends into the
    /// office's own Sent folder (the server-side copy QQ/163 make; `SENT_COPY` in start.sh).
    pub fn start_with_sent_copies_or_skip(test: &str) -> Option<MailServer> {
        if skip_without_servers(test) {
            return None;
        }
        Some(Self::start_inner(None, Some(OFFICE.to_string()), &[]))
    }

    /// [`Self::start_or_skip`] with extra start.sh settings, e.g. `MAIL_FOLDERS` for a
    /// provider's folder layout (`已发送=\\Sent;草稿箱=\\Drafts`) or `IMAP_CAPABILITY`.
    pub fn start_with_env_or_skip(test: &str, env: &[(&str, &str)]) -> Option<MailServer> {
        if skip_without_servers(test) {
            return None;
        }
        Some(Self::start_inner(None, None, env))
    }

    /// Successful IMAP logins of `user` so far, from Dovecot's log (`imap-login: Info: Login: user=<…>`).
    pub fn imap_logins(&self, user: &str) -> usize {
        let log = fs::read_to_string(self.dir.join("dovecot/dovecot.log")).unwrap_or_default();
        let needle = format!("user=<{user}>");
        log.lines().filter(|l| l.contains("imap-login:") && l.contains(" Login: ") && l.contains(&needle)).count()
    }

    /// Starts an instance with these `(address, password)` mailboxes.
    pub fn start_with_users(users: &[(&str, &str)]) -> MailServer {
        let spec = users.iter().map(|(u, p)| format!("{u}:{p}")).collect::<Vec<_>>().join(" ");
        Self::start_inner(Some(spec), None, &[])
    }

    /// [`Self::start`], or `None` after a loud skip message when the servers cannot run here
    /// (panics instead under CI).
    pub fn start_or_skip(test: &str) -> Option<MailServer> {
        if skip_without_servers(test) {
            return None;
        }
        Some(Self::start())
    }

    fn start_inner(users: Option<String>, sent_copy: Option<String>, env: &[(&str, &str)]) -> MailServer {
        // `auto` checks that the ports are free but cannot reserve them: on a clash with a
        // concurrently starting instance start.sh fails cleanly, so try again.
        let mut last = String::new();
        for _ in 0..4 {
            let mut cmd = Command::new("bash");
            cmd.arg(script("start.sh"))
                .arg("auto")
                // the watcher stops the instance if this test process dies (even by SIGKILL)
                .env("WATCH_PID", std::process::id().to_string());
            if let Some(u) = &users {
                cmd.env("MAIL_USERS", u);
            }
            if let Some(u) = &sent_copy {
                cmd.env("SENT_COPY", u);
            }
            cmd.envs(env.iter().copied());
            let out = cmd.output().expect("run scripts/mailserver/start.sh");
            if out.status.success() {
                return Self::from_env_lines(&String::from_utf8_lossy(&out.stdout));
            }
            last = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        }
        panic!("scripts/mailserver/start.sh auto failed 4 times; last output:\n{last}");
    }

    fn from_env_lines(text: &str) -> MailServer {
        let env: HashMap<String, String> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
            .collect();
        let get = |k: &str| -> &str { env.get(k).unwrap_or_else(|| panic!("start.sh printed no {k}:\n{text}")) };
        let port = |k: &str| -> u16 { get(k).parse().expect("port number") };
        let users = get("MAIL_USERS")
            .split_whitespace()
            .filter_map(|up| up.split_once(':'))
            .map(|(u, p)| (u.to_string(), p.to_string()))
            .collect();
        MailServer {
            dir: PathBuf::from(get("MAILTEST_DIR")),
            host: get("IMAP_HOST").to_string(),
            imap_port: port("IMAP_PORT"),
            imaps_port: port("IMAPS_PORT"),
            smtp_port: port("SMTP_PORT"),
            smtps_port: port("SMTPS_PORT"),
            submission_port: port("SUBMISSION_PORT"),
            ca_file: PathBuf::from(get("TLS_CA_FILE")),
            users,
            env,
        }
    }

    /// The password of `user`. Panics for an unknown user.
    pub fn password(&self, user: &str) -> &str {
        self.users
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, p)| p.as_str())
            .unwrap_or_else(|| panic!("no mailbox {user} on this server"))
    }

    // ---------------------------------------------------------------- SMTP

    /// Delivers `raw_eml` through SMTP (port BASE+2, no AUTH: the way a school's server
    /// reaches the office). Panics unless every reply is positive. Bare LF line ends are sent
    /// as CRLF; lines starting with `.` are dot-stuffed. Delivery into the Maildir follows
    /// about 0.1 s later: use [`Self::wait_for`].
    pub fn send(&self, raw_eml: &[u8], from: &str, to: &str) {
        if let Err(e) = self.try_send(raw_eml, from, &[to]) {
            panic!("SMTP send {from} -> {to} failed: {e}");
        }
    }

    /// Like [`Self::send`], with several recipients, returning the server's final
    /// reply (`250 2.0.0 Ok: queued as …`) or the first unexpected reply / I/O error.
    pub fn try_send(&self, raw_eml: &[u8], from: &str, to: &[&str]) -> Result<String, String> {
        let stream = TcpStream::connect((self.host.as_str(), self.smtp_port)).map_err(|e| format!("connect: {e}"))?;
        stream.set_read_timeout(Some(IO_TIMEOUT)).ok();
        stream.set_write_timeout(Some(IO_TIMEOUT)).ok();
        let mut r = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
        let mut w = stream;
        smtp_expect(&mut r, "greeting", 220)?;
        let mut step = |cmd: String, code: u16| -> Result<String, String> {
            w.write_all(cmd.as_bytes()).map_err(|e| format!("{}: {e}", cmd.trim_end()))?;
            smtp_expect(&mut r, cmd.trim_end(), code)
        };
        step("EHLO test.client\r\n".into(), 250)?;
        step(format!("MAIL FROM:<{from}>\r\n"), 250)?;
        for rcpt in to {
            step(format!("RCPT TO:<{rcpt}>\r\n"), 250)?;
        }
        step("DATA\r\n".into(), 354)?;
        w.write_all(&smtp_data(raw_eml)).map_err(|e| format!("DATA body: {e}"))?;
        let queued = smtp_expect(&mut r, "end of DATA", 250)?;
        // QUIT is a courtesy: the message is queued already
        let _ = w.write_all(b"QUIT\r\n");
        let _ = smtp_expect(&mut r, "QUIT", 221);
        Ok(queued)
    }

    // ---------------------------------------------------------------- Maildir

    /// `~/Maildir` of `user` (`DIR/mail/<domain>/<local part>/Maildir`).
    pub fn maildir(&self, user: &str) -> PathBuf {
        let (local, domain) = user.split_once('@').unwrap_or_else(|| panic!("not an address: {user}"));
        self.dir.join("mail").join(domain).join(local).join("Maildir")
    }

    /// The Maildir++ directory of an IMAP folder: `INBOX` is the Maildir itself, `Sent` is
    /// `Maildir/.Sent`, `A/B` is `Maildir/.A.B`; non-ASCII names are modified UTF-7 on disk
    /// (`已发送` → `.&XfJT0ZAB-`). The hierarchy separator over IMAP is `/`.
    pub fn folder_dir(&self, user: &str, folder: &str) -> PathBuf {
        let root = self.maildir(user);
        if folder.eq_ignore_ascii_case("INBOX") {
            return root;
        }
        let name = folder.split('/').map(mutf7_encode).collect::<Vec<_>>().join(".");
        root.join(format!(".{name}"))
    }

    /// Number of messages in `folder` of `user` (files in `cur/` + `new/` on disk; 0 when the
    /// folder does not exist yet).
    pub fn count_messages(&self, user: &str, folder: &str) -> usize {
        self.message_files(user, folder).len()
    }

    /// The raw messages in `folder` of `user`, in delivery order, as stored on disk.
    pub fn messages(&self, user: &str, folder: &str) -> Vec<Vec<u8>> {
        // Dovecot may move a file new/ → cur/ (renaming it) between listing and reading: retry.
        for _ in 0..20 {
            let files = self.message_files(user, folder);
            match files.iter().map(fs::read).collect::<io::Result<Vec<_>>>() {
                Ok(all) => return all,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => panic!("reading Maildir of {user}/{folder}: {e}"),
            }
        }
        panic!("Maildir of {user}/{folder} kept changing while being read")
    }

    /// Polls the Maildir until `folder` of `user` holds at least `n` messages; `false` on
    /// timeout. (Dovecot's IDLE notices a new message ~0.5 s after delivery, by design.)
    pub fn wait_for(&self, user: &str, folder: &str, n: usize, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if self.count_messages(user, folder) >= n {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Message files of a folder (new/ listed before cur/ and de-duplicated by unique name,
    /// so a file moved new → cur meanwhile is counted once), sorted by delivery time.
    fn message_files(&self, user: &str, folder: &str) -> Vec<PathBuf> {
        let dir = self.folder_dir(user, folder);
        let mut seen = HashSet::new();
        let mut files = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = fs::read_dir(dir.join(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                let base = name.split(':').next().unwrap_or(&name).to_string();
                if seen.insert(base) {
                    files.push(entry.path());
                }
            }
        }
        // "<secs>.M<usecs>P<pid>.<host>,S=…:2,FLAGS": order by (secs, usecs)
        files.sort_by_key(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let mut parts = name.splitn(2, '.');
            let secs: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
            let usecs: u64 = parts
                .next()
                .and_then(|rest| rest.strip_prefix('M'))
                .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect::<String>())
                .and_then(|d| d.parse().ok())
                .unwrap_or(0);
            (secs, usecs, name)
        });
        files
    }

    // ---------------------------------------------------------------- IMAP

    /// A plain-TCP IMAP connection to this server (greeting read).
    pub fn imap(&self) -> Imap {
        Imap::connect(&self.host, self.imap_port)
    }

    /// [`Self::imap`] logged in as `user`.
    pub fn imap_login(&self, user: &str) -> Imap {
        let mut imap = self.imap();
        let reply = imap.command(&format!("LOGIN {} {}", quote(user), quote(self.password(user))));
        assert!(reply.ok, "IMAP LOGIN {user}: {}", reply.status);
        imap
    }

    // ---------------------------------------------------------------- daemons

    /// Stops Dovecot gracefully (clients get `* BYE`; ~2.7 s). While Dovecot is down the SMTP
    /// ports drop new connections too (Postfix's smtpd gets SASL from Dovecot); about 1 s
    /// after [`Self::start_imap`] they accept again. Mail already queued is retried every 1-2 s.
    pub fn stop_imap(&self) {
        self.run_script("stop.sh", &[self.dir_str(), "dovecot"], false);
    }

    /// Kills Dovecot at once (SIGKILL, like a crash: connections just drop; ~0.05 s).
    pub fn kill_imap(&self) {
        self.run_script("stop.sh", &[self.dir_str(), "dovecot"], true);
    }

    /// Starts Dovecot again with the same config, ports and mail.
    pub fn start_imap(&self) {
        self.run_script("start.sh", &["resume", self.dir_str(), "dovecot"], false);
    }

    /// [`Self::stop_imap`] then [`Self::start_imap`]: a server restart as an IMAP client
    /// sees it. UIDVALIDITY, UIDs, flags and keywords survive (they are on disk).
    pub fn restart_imap(&self) {
        self.stop_imap();
        self.start_imap();
    }

    /// Stops Postfix gracefully (~1.5 s); mail already queued stays in its queue.
    pub fn stop_smtp(&self) {
        self.run_script("stop.sh", &[self.dir_str(), "postfix"], false);
    }

    /// Kills Postfix at once (SIGKILL; ~0.05 s).
    pub fn kill_smtp(&self) {
        self.run_script("stop.sh", &[self.dir_str(), "postfix"], true);
    }

    /// Starts Postfix again with the same config and queue.
    pub fn start_smtp(&self) {
        self.run_script("start.sh", &["resume", self.dir_str(), "postfix"], false);
    }

    /// [`Self::stop_smtp`] then [`Self::start_smtp`].
    pub fn restart_smtp(&self) {
        self.stop_smtp();
        self.start_smtp();
    }

    fn dir_str(&self) -> &str {
        self.dir.to_str().expect("instance dir is UTF-8")
    }

    fn run_script(&self, name: &str, args: &[&str], fast: bool) -> Output {
        let mut cmd = Command::new("bash");
        cmd.arg(script(name)).args(args);
        if fast {
            cmd.env("FAST", "1");
        }
        let out = cmd.output().unwrap_or_else(|e| panic!("run {name}: {e}"));
        assert!(
            out.status.success(),
            "{name} {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        // FAST: SIGKILL everything of this instance (~0.3 s); the data is thrown away anyway.
        let out = Command::new("bash").arg(script("stop.sh")).arg(&self.dir).env("FAST", "1").output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                eprintln!("mailserver: stop.sh {} failed: {}", self.dir.display(), String::from_utf8_lossy(&o.stderr))
            }
            Err(e) => eprintln!("mailserver: cannot run stop.sh: {e}"),
        }
    }
}

/// PIDs of live (non-zombie) processes whose command line or environment mentions `dir`:
/// after a stop there must be none.
pub fn processes_mentioning(dir: &Path) -> Vec<u32> {
    let needle = dir.as_os_str().as_encoded_bytes();
    let mut pids = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return pids;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let stat = fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let state = stat.rsplit(") ").next().and_then(|s| s.chars().next());
        if state == Some('Z') || stat.is_empty() {
            continue;
        }
        let mentions = ["cmdline", "environ"].iter().any(|f| {
            fs::read(entry.path().join(f)).map(|b| b.windows(needle.len()).any(|w| w == needle)).unwrap_or(false)
        });
        if mentions {
            pids.push(pid);
        }
    }
    pids
}

// -------------------------------------------------------------------- SMTP helpers

/// Reads one (possibly multi-line) SMTP reply; `Err` unless its code is `code`.
fn smtp_expect(r: &mut impl BufRead, what: &str, code: u16) -> Result<String, String> {
    let mut reply = String::new();
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line).map_err(|e| format!("{what}: reading reply: {e}"))?;
        if n == 0 {
            return Err(format!("{what}: connection closed; got so far: {reply:?}"));
        }
        reply.push_str(&line);
        // "250-..." continues, "250 ..." (or a bare "250") ends the reply
        if line.len() < 4 || line.as_bytes()[3] != b'-' {
            break;
        }
    }
    let got: u16 = reply.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
    if got == code {
        Ok(reply.trim_end().to_string())
    } else {
        Err(format!("{what}: expected {code}, got {:?}", reply.trim_end()))
    }
}

/// The DATA payload: CRLF line ends, dot-stuffed, terminated by `CRLF.CRLF`.
fn smtp_data(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 50 + 5);
    let mut at_line_start = true;
    let mut prev = 0u8;
    for &b in raw {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        at_line_start = b == b'\n';
        prev = b;
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

// -------------------------------------------------------------------- IMAP client

/// The answer to one IMAP command.
#[derive(Debug)]
pub struct ImapReply {
    /// Untagged (`* …`) and continuation lines, CRLF removed; literals are inlined (lossy UTF-8).
    pub lines: Vec<String>,
    /// The tagged status line without the tag, e.g. `OK [READ-WRITE] Select completed …`.
    pub status: String,
    /// Whether the status is `OK`.
    pub ok: bool,
}

impl ImapReply {
    /// The first untagged line containing `needle`.
    pub fn find(&self, needle: &str) -> Option<&str> {
        self.lines.iter().find(|l| l.contains(needle)).map(String::as_str)
    }
}

/// A minimal raw IMAP client over plain TCP, for checking what the server holds and for
/// filling and reading folders fast (the benchmark). Tags are `t1`, `t2`, …; every read
/// times out after 20 s unless [`Imap::set_timeout`] says otherwise (then an I/O error, or a
/// panic where the method says so) so a test cannot hang.
pub struct Imap {
    r: BufReader<TcpStream>,
    w: TcpStream,
    tag: u32,
    /// The server greeting (`* OK [CAPABILITY …] Dovecot ready.`).
    pub greeting: String,
}

/// What a response reader does with the literals (`{n}` and n bytes) it meets.
enum Literals<'a> {
    /// Inlined into the line as (lossy UTF-8) text.
    Inline,
    /// Read and thrown away, counted: (literals, bytes). For a bare FETCH of a whole folder.
    Count(&'a mut (usize, u64)),
}

impl Imap {
    /// Connects and reads the greeting (panics unless it is `* OK`).
    pub fn connect(host: &str, port: u16) -> Imap {
        let s = TcpStream::connect((host, port)).unwrap_or_else(|e| panic!("IMAP connect {host}:{port}: {e}"));
        s.set_nodelay(true).ok();
        let reader = BufReader::with_capacity(1 << 20, s.try_clone().expect("clone socket"));
        let mut imap = Imap { r: reader, w: s, tag: 0, greeting: String::new() };
        imap.set_timeout(IO_TIMEOUT);
        let greeting = imap.read_line(&mut Literals::Inline).expect("IMAP greeting");
        assert!(greeting.starts_with("* OK"), "IMAP greeting: {greeting}");
        imap.greeting = greeting;
        imap
    }

    /// How long one read or write may wait (20 s unless set).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.w.set_read_timeout(Some(timeout)).ok();
        self.w.set_write_timeout(Some(timeout)).ok();
    }

    /// Sends `command` with the next tag and reads up to its tagged response.
    /// Panics on I/O errors (not on `NO`/`BAD`: see [`ImapReply::ok`]).
    pub fn command(&mut self, command: &str) -> ImapReply {
        self.try_command(command).unwrap_or_else(|e| panic!("IMAP {command}: {e}"))
    }

    /// [`Self::command`] returning I/O errors (e.g. the server went away).
    pub fn try_command(&mut self, command: &str) -> io::Result<ImapReply> {
        let tag = self.send(command)?;
        self.read_reply(&tag, &mut Literals::Inline)
    }

    /// Sends `command` (a `FETCH`) and reads its answer, counting the literals instead of
    /// keeping them: (literals, their bytes). Panics unless the answer is `OK`.
    pub fn command_counting(&mut self, command: &str) -> (usize, u64) {
        let mut counts = (0, 0);
        let reply = self
            .send(command)
            .and_then(|tag| self.read_reply(&tag, &mut Literals::Count(&mut counts)))
            .unwrap_or_else(|e| panic!("IMAP {command}: {e}"));
        assert!(reply.ok, "IMAP {command}: {}", reply.status);
        counts
    }

    /// `APPEND mailbox (flags) {n}` + the message as a synchronising literal.
    pub fn append(&mut self, mailbox: &str, flags: &str, message: &[u8]) -> ImapReply {
        self.append_with(mailbox, flags, None, message, false).unwrap_or_else(|e| panic!("IMAP APPEND: {e}"))
    }

    /// `APPEND mailbox () "date" {n+}` — with an INTERNALDATE (`01-Mar-2023 08:00:00 +0800`),
    /// in one round trip when the server offers LITERAL+. Panics unless the server stores it.
    pub fn append_dated(&mut self, mailbox: &str, date: &str, message: &[u8]) {
        let literal_plus = self.greeting.contains("LITERAL+");
        let reply = self
            .append_with(mailbox, "", Some(date), message, literal_plus)
            .unwrap_or_else(|e| panic!("IMAP APPEND: {e}"));
        assert!(reply.ok, "IMAP APPEND to {mailbox}: {}", reply.status);
    }

    fn append_with(
        &mut self,
        mailbox: &str,
        flags: &str,
        date: Option<&str>,
        message: &[u8],
        literal_plus: bool,
    ) -> io::Result<ImapReply> {
        let date = date.map(|d| format!(" \"{d}\"")).unwrap_or_default();
        let plus = if literal_plus { "+" } else { "" };
        let tag = self.send(&format!("APPEND {} ({flags}){date} {{{}{plus}}}", quote(mailbox), message.len()))?;
        if !literal_plus {
            let cont = self.read_line(&mut Literals::Inline)?;
            if !cont.starts_with('+') {
                // the server refused the literal: that line is the tagged answer
                let status = cont.strip_prefix(&format!("{tag} ")).unwrap_or(&cont);
                return Ok(ImapReply { lines: Vec::new(), ok: status.starts_with("OK"), status: status.to_string() });
            }
        }
        self.w.write_all(message)?;
        self.w.write_all(b"\r\n")?;
        self.read_reply(&tag, &mut Literals::Inline)
    }

    /// `LOGOUT`, expecting `* BYE` and `OK`.
    pub fn logout(mut self) {
        let reply = self.command("LOGOUT");
        assert!(reply.ok, "LOGOUT: {}", reply.status);
        assert!(reply.find("* BYE").is_some(), "LOGOUT without BYE: {reply:?}");
    }

    /// Sends `command` with the next tag; returns the tag.
    fn send(&mut self, command: &str) -> io::Result<String> {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        self.w.write_all(format!("{tag} {command}\r\n").as_bytes())?;
        Ok(tag)
    }

    fn read_reply(&mut self, tag: &str, literals: &mut Literals) -> io::Result<ImapReply> {
        let prefix = format!("{tag} ");
        let mut lines = Vec::new();
        loop {
            let line = self.read_line(literals)?;
            if let Some(status) = line.strip_prefix(&prefix) {
                return Ok(ImapReply { lines, ok: status.starts_with("OK"), status: status.to_string() });
            }
            lines.push(line);
        }
    }

    /// One logical response line: a CRLF line, with any `{n}` literals read (inlined or
    /// counted).
    fn read_line(&mut self, literals: &mut Literals) -> io::Result<String> {
        let mut out = Vec::new();
        loop {
            let mut raw = Vec::new();
            let n = self.r.read_until(b'\n', &mut raw)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("IMAP connection closed; partial line {:?}", String::from_utf8_lossy(&out)),
                ));
            }
            while raw.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                raw.pop();
            }
            out.extend_from_slice(&raw);
            // "... {123}" at the end announces a literal of 123 bytes, then the line goes on
            let Some(len) = literal_len(&raw) else { return Ok(String::from_utf8_lossy(&out).into_owned()) };
            match literals {
                Literals::Inline => {
                    let mut buf = vec![0; len];
                    self.r.read_exact(&mut buf)?;
                    out.push(b'\n');
                    out.extend_from_slice(&buf);
                }
                Literals::Count(counts) => {
                    self.skip(len)?;
                    counts.0 += 1;
                    counts.1 += len as u64;
                }
            }
        }
    }

    /// Reads `len` bytes and forgets them.
    fn skip(&mut self, mut len: usize) -> io::Result<()> {
        while len > 0 {
            let buf = self.r.fill_buf()?;
            if buf.is_empty() {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "IMAP connection closed in a literal"));
            }
            let n = buf.len().min(len);
            self.r.consume(n);
            len -= n;
        }
        Ok(())
    }
}

/// The length of the literal a response line (CRLF removed) announces at its end: `{123}`
/// or `{123+}`.
fn literal_len(line: &[u8]) -> Option<usize> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    std::str::from_utf8(&inner[open + 1..]).ok()?.trim_end_matches('+').parse().ok()
}

/// An IMAP quoted string.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Modified UTF-7 (RFC 3501 §5.1.3), as Dovecot names Maildir++ folders on disk. Written
/// apart from `mail_intake::intake::mutf7` on purpose: the harness finds folders on disk
/// with its own encoder, so an encoding bug in the daemon cannot hide behind the same bug here.
pub fn mutf7_encode(name: &str) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    fn flush(out: &mut String, pending: &mut Vec<u16>) {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        for chunk in bytes.chunks(3) {
            let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            let chars = chunk.len() + 1; // 1 byte → 2 chars, 2 → 3, 3 → 4 (no padding)
            for i in 0..chars {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out.push('-');
        pending.clear();
    }
    let mut out = String::new();
    let mut pending = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut out, &mut pending);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut out, &mut pending);
    out
}
