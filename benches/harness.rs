//! The daemon benchmark, shared by `benches/daemon.rs` (the full-size run, release build)
//! and `tests/bench_smoke.rs` (a tiny run in the debug build that checks only correctness).
//!
//! Everything runs against a real Dovecot + Postfix on loopback started by
//! `scripts/mailserver/start.sh` (see `tests/support/mailserver.rs`), and the real
//! `mail-intake run` binary as a child process, so memory is measured per process
//! (`VmHWM` of `/proc/<pid>/status`, read while the daemon is still alive).
//!
//! - **latency**: the daemon in IDLE with SMTP replies; submissions sent one at a time by SMTP;
//!   time from the server's `250` after DATA to the reply file appearing in the school's Maildir.
//! - **backlog**: a folder pre-filled by IMAP `APPEND` (with `INTERNALDATE`s before the
//!   deadline) with N generated submissions; time from starting the daemon (file transport
//!   for replies) until every message is judged and every reply written; beside it a bare
//!   `UID FETCH 1:* BODY.PEEK[]` of the same folder over the same plain-TCP IMAP.
//! - **big**: one submission carrying one large scanned PDF; time and peak RSS.
//! - **judging**: `mail-intake bench` (the pure judge, as `check` runs it) on the bundled demo
//!   samples and on generated submissions, one thread and all threads.

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::build::{BodyCharset, ExpertForm, HeaderText, LeadForm, Mail, NameStyle, report_docx};
use crate::support::mailserver::{MailServer, OFFICE, SCHOOLS};

/// What to run, and how big.
#[derive(Debug, Clone)]
pub struct Options {
    /// Submissions in the backlog mailbox (0: skip the backlog).
    pub mails: usize,
    /// Submissions delivered one at a time for the latency figures (0: skip).
    pub latency: usize,
    /// Size of the one large attachment in MB (0: skip).
    pub big_mb: usize,
    /// Rounds of `mail-intake bench` over the demo samples (0: skip judging).
    pub judge_rounds: usize,
    /// Generated submissions judged by `mail-intake bench` (0: only the demo samples).
    pub judge_generated: usize,
    /// The `mail-intake` binary to run.
    pub binary: PathBuf,
    /// Progress lines on stderr.
    pub verbose: bool,
}

/// The latency run.
#[derive(Debug, Clone, Default)]
pub struct Latency {
    /// One per submission, in order; `None` when no reply came within the timeout.
    pub samples: Vec<Option<Duration>>,
    /// Peak RSS of the daemon over the run, bytes.
    pub peak_rss: u64,
}

/// The backlog run.
#[derive(Debug, Clone, Default)]
pub struct Backlog {
    pub mails: usize,
    /// Raw bytes in the folder.
    pub bytes: u64,
    /// Time to fill the folder by APPEND (not a figure of the daemon).
    pub fill: Duration,
    /// Daemon start → every message judged and every reply written.
    pub daemon: Duration,
    /// Bare `UID FETCH 1:* BODY.PEEK[]`: before and after the daemon's run.
    pub bare_fetch: Vec<Duration>,
    /// Messages and bytes the bare FETCH saw (checked against the folder).
    pub bare_fetch_messages: usize,
    pub bare_fetch_bytes: u64,
    /// Peak RSS of the daemon process, bytes.
    pub peak_rss: u64,
    /// CPU time (user + system) of the daemon process over the run.
    pub cpu: Duration,
    /// CPU time of the whole machine (every process: the mail server, the daemon, anything
    /// else running) over each bare FETCH, and over the daemon's run.
    pub bare_fetch_machine_cpu: Vec<Duration>,
    pub machine_cpu: Duration,
    /// Store counts after the run: (messages, judged, failed, replies sent).
    pub counts: (i64, i64, i64, i64),
    /// `.eml` files in the outbox.
    pub reply_files: usize,
}

/// The large-attachment run.
#[derive(Debug, Clone, Default)]
pub struct Big {
    pub attachment_bytes: u64,
    pub message_bytes: u64,
    pub daemon: Duration,
    pub peak_rss: u64,
    pub counts: (i64, i64, i64, i64),
    pub reply_files: usize,
}

/// One `mail-intake bench` result.
#[derive(Debug, Clone, Default)]
pub struct Judging {
    pub set: String,
    pub mails: usize,
    pub mean_bytes: u64,
    pub one_thread: f64,
    pub threads: usize,
    pub all_threads: f64,
}

/// The machine the figures come from.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory: String,
    pub load_before: String,
    pub load_after: String,
}

/// Everything one run measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub machine: Machine,
    pub latency: Option<Latency>,
    pub backlog: Option<Backlog>,
    pub big: Option<Big>,
    pub judging: Vec<Judging>,
}

fn progress(opts: &Options, what: &str) {
    if opts.verbose {
        let _ = writeln!(io::stderr(), "bench: {what}");
    }
}

/// Runs every part the options ask for against one fresh mail server.
pub fn run(opts: &Options, server: &MailServer) -> Report {
    let mut report = Report { machine: machine(), ..Report::default() };
    let work = tempfile::tempdir().expect("temp dir");
    if opts.latency > 0 {
        progress(opts, &format!("latency: {} submissions by SMTP, one at a time", opts.latency));
        report.latency = Some(latency(opts, server, &work.path().join("latency")));
    }
    if opts.mails > 0 {
        progress(opts, &format!("backlog: {} submissions", opts.mails));
        report.backlog = Some(backlog(opts, server, &work.path().join("backlog")));
    }
    if opts.big_mb > 0 {
        progress(opts, &format!("big: one {} MB attachment", opts.big_mb));
        report.big = Some(big(opts, server, &work.path().join("big")));
    }
    if opts.judge_rounds > 0 {
        progress(opts, "judging alone (mail-intake bench)");
        report.judging = judging(opts, &work.path().join("judging"));
    }
    report.machine.load_after = loadavg();
    report
}

// ------------------------------------------------------------------------------------ parts

fn latency(opts: &Options, server: &MailServer, dir: &Path) -> Latency {
    std::fs::create_dir_all(dir).expect("latency dir");
    let config = write_config(server, dir, "INBOX", Replies::Smtp);
    let daemon = Daemon::start(&opts.binary, &config, &dir.join("daemon.log"));
    // A first submission, not counted: the daemon is connected and in IDLE once it is answered.
    let warm = submission(1_000_000, SCHOOLS[0], None);
    send_and_wait(server, &warm, SCHOOLS[0], &daemon);
    let mut samples = Vec::with_capacity(opts.latency);
    for i in 0..opts.latency {
        let school = SCHOOLS[i % SCHOOLS.len()];
        let raw = submission(i, school, None);
        samples.push(send_and_wait(server, &raw, school, &daemon));
        if opts.verbose && (i + 1) % 50 == 0 {
            progress(opts, &format!("latency: {}/{}", i + 1, opts.latency));
        }
    }
    let peak_rss = daemon.peak_rss();
    daemon.stop();
    Latency { samples, peak_rss }
}

/// Sends one submission by SMTP and waits for the reply in the school's INBOX; the time from
/// the server's acceptance of the DATA to the reply's file appearing.
fn send_and_wait(server: &MailServer, raw: &[u8], school: &str, daemon: &Daemon) -> Option<Duration> {
    let before = server.count_messages(school, "INBOX");
    if let Err(e) = server.try_send(raw, school, &[OFFICE]) {
        panic!("SMTP submission from {school} refused: {e}");
    }
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(30);
    while Instant::now() < deadline {
        if server.count_messages(school, "INBOX") > before {
            return Some(t0.elapsed());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = writeln!(io::stderr(), "bench: no reply within 30 s; daemon log tail:\n{}", daemon.log_tail(20));
    None
}

fn backlog(opts: &Options, server: &MailServer, dir: &Path) -> Backlog {
    std::fs::create_dir_all(dir).expect("backlog dir");
    let folder = "Backlog";
    let t = Instant::now();
    let bytes = fill(server, folder, opts.mails, |i| submission(i, "", Some(i)));
    let fill_time = t.elapsed();
    progress(opts, &format!("backlog: {} mails, {:.1} MB appended in {:.1?}", opts.mails, mb(bytes), fill_time));

    let mut out = Backlog { mails: opts.mails, bytes, fill: fill_time, ..Backlog::default() };
    let cpu0 = machine_cpu();
    let (d, n, b) = bare_fetch(server, folder);
    out.bare_fetch_machine_cpu.push(machine_cpu().saturating_sub(cpu0));
    progress(opts, &format!("backlog: bare FETCH {d:.2?} ({n} messages)"));
    out.bare_fetch.push(d);
    (out.bare_fetch_messages, out.bare_fetch_bytes) = (n, b);

    let outbox = dir.join("outbox");
    let config = write_config(server, dir, folder, Replies::Files(outbox.clone()));
    let t = Instant::now();
    let cpu0 = machine_cpu();
    let mut daemon = Daemon::start(&opts.binary, &config, &dir.join("daemon.log"));
    let store = dir.join("store.sqlite3");
    let counts = wait_until_done(&store, opts.mails, &mut daemon, opts);
    out.daemon = t.elapsed();
    out.machine_cpu = machine_cpu().saturating_sub(cpu0);
    out.peak_rss = daemon.peak_rss();
    out.cpu = daemon.cpu();
    daemon.stop();
    out.counts = counts;
    out.reply_files = eml_files(&outbox);
    progress(opts, &format!("backlog: daemon {:.2?}, peak RSS {:.1} MiB", out.daemon, mib(out.peak_rss)));

    let cpu0 = machine_cpu();
    let (d, _, _) = bare_fetch(server, folder);
    out.bare_fetch_machine_cpu.push(machine_cpu().saturating_sub(cpu0));
    progress(opts, &format!("backlog: bare FETCH again {d:.2?}"));
    out.bare_fetch.push(d);
    out
}

fn big(opts: &Options, server: &MailServer, dir: &Path) -> Big {
    std::fs::create_dir_all(dir).expect("big dir");
    let folder = "Big";
    let attachment = opts.big_mb * 1024 * 1024;
    let bytes = fill(server, folder, 1, |i| big_submission(i, attachment));
    let outbox = dir.join("outbox");
    let config = write_config(server, dir, folder, Replies::Files(outbox.clone()));
    let t = Instant::now();
    let mut daemon = Daemon::start(&opts.binary, &config, &dir.join("daemon.log"));
    let counts = wait_until_done(&dir.join("store.sqlite3"), 1, &mut daemon, opts);
    let elapsed = t.elapsed();
    let peak_rss = daemon.peak_rss();
    daemon.stop();
    Big {
        attachment_bytes: attachment as u64,
        message_bytes: bytes,
        daemon: elapsed,
        peak_rss,
        counts,
        reply_files: eml_files(&outbox),
    }
}

fn judging(opts: &Options, dir: &Path) -> Vec<Judging> {
    let mut out = Vec::new();
    // `bench` reads the .eml files of a folder: the demo Maildir's files under .eml names.
    let demo = dir.join("demo");
    std::fs::create_dir_all(&demo).expect("judging dir");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/inbox/cur");
    for (i, e) in std::fs::read_dir(source).expect("demo/inbox/cur").flatten().enumerate() {
        std::fs::copy(e.path(), demo.join(format!("{i:02}.eml"))).expect("copy a demo mail");
    }
    out.push(judge_bench(opts, "demo samples (demo/inbox)", &demo, opts.judge_rounds));
    if opts.judge_generated > 0 {
        let generated = dir.join("generated");
        std::fs::create_dir_all(&generated).expect("judging dir");
        for i in 0..opts.judge_generated {
            std::fs::write(generated.join(format!("{i:05}.eml")), submission(i, "", Some(i))).expect("write a sample");
        }
        out.push(judge_bench(opts, "generated submissions", &generated, opts.judge_rounds.min(3)));
    }
    out
}

fn judge_bench(opts: &Options, set: &str, dir: &Path, rounds: usize) -> Judging {
    let files: Vec<PathBuf> = std::fs::read_dir(dir).expect("sample dir").flatten().map(|e| e.path()).collect();
    let bytes: u64 = files.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    let out = Command::new(&opts.binary)
        .args(["bench", "--rounds", &rounds.to_string()])
        .arg(dir)
        .output()
        .expect("run mail-intake bench");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "mail-intake bench failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    let mut j = Judging {
        set: set.to_string(),
        mails: files.len(),
        mean_bytes: bytes / files.len().max(1) as u64,
        ..Judging::default()
    };
    // "check, 1 thread:   123.4 mails/s …" and "check, 2 threads: 234.5 mails/s …"
    for line in text.lines().filter(|l| l.starts_with("check,")) {
        let Some((left, right)) = line.split_once(':') else { continue };
        let threads: usize = left.split_whitespace().nth(1).and_then(|t| t.parse().ok()).unwrap_or(0);
        let rate: f64 = right.split_whitespace().next().and_then(|r| r.parse().ok()).unwrap_or(0.0);
        if left.ends_with(" thread") {
            j.one_thread = rate;
        } else {
            j.threads = threads;
            j.all_threads = rate;
        }
    }
    j
}

// ------------------------------------------------------------------------------------ daemon

enum Replies {
    Smtp,
    Files(PathBuf),
}

fn write_config(server: &MailServer, dir: &Path, folder: &str, replies: Replies) -> PathBuf {
    let (transport, append_sent) = match replies {
        Replies::Smtp => (
            format!(
                "[smtp]\nhost = \"{}\"\nport = {}\ntls = \"none\"\nfrom = \"省学分银行 <{OFFICE}>\"\ntimeout = \"20s\"\n",
                server.host, server.smtp_port
            ),
            true,
        ),
        Replies::Files(path) => {
            (format!("[outbox_dir]\npath = \"{}\"\nfrom = \"省学分银行 <{OFFICE}>\"\n", path.display()), false)
        }
    };
    let text = format!(
        r#"[mailbox]
host = "{host}"
port = {port}
tls = "none"
user = "{OFFICE}"
password = "{pw}"
folder = "{folder}"
idle = true
poll_interval = "60s"
sent_folder = "Sent"
append_sent = {append_sent}

{transport}
[store]
path = "{store}"

[reply]
reply_since = "2000-01-01"
max_per_sender_per_day = 1000000

[daemon]
io_timeout = "120s"
"#,
        host = server.host,
        port = server.imap_port,
        pw = server.password(OFFICE),
        store = dir.join("store.sqlite3").display(),
    );
    let path = dir.join("mail-intake.toml");
    std::fs::write(&path, text).expect("write the configuration");
    path
}

/// `mail-intake run` as a child process.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(binary: &Path, config: &Path, log: &Path) -> Daemon {
        let out = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("daemon log");
        let err = out.try_clone().expect("daemon log");
        // Investigation aid (not for figures): BENCH_WRAP="heaptrack -o /tmp/ht" runs the
        // daemon under another program.
        let wrap = std::env::var("BENCH_WRAP").unwrap_or_default();
        let mut words = wrap.split_whitespace();
        let mut command = match words.next() {
            Some(w) => {
                let mut c = Command::new(w);
                c.args(words).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        let child = command
            .args(["run", "--config"])
            .arg(config)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start mail-intake run");
        Daemon { child, log: log.to_path_buf() }
    }

    /// CPU time (user + system) used so far.
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
        let fields: Vec<&str> = stat.rsplit(") ").next().unwrap_or("").split_whitespace().collect();
        let ticks: u64 = [11, 12].iter().filter_map(|&i| fields.get(i)?.parse::<u64>().ok()).sum();
        Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
    }

    /// The peak resident set size so far (`VmHWM`), bytes.
    fn peak_rss(&self) -> u64 {
        status_kib(self.child.id(), "VmHWM:") * 1024
    }

    fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then waits (SIGKILL after 30 s); panics unless it exits cleanly.
    fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "the daemon exited with {status}; log:\n{}", self.log_tail(30));
                return;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the daemon did not stop on SIGTERM; log:\n{}", self.log_tail(30));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn status_kib(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Polls the store (read-only) until `n` messages are judged (or failed) and every pending
/// reply is written; returns (messages, judged, failed, replies sent).
fn wait_until_done(store: &Path, n: usize, daemon: &mut Daemon, opts: &Options) -> (i64, i64, i64, i64) {
    let deadline = Instant::now() + Duration::from_secs(3600);
    let mut last_report = Instant::now();
    let mut conn: Option<rusqlite::Connection> = None;
    loop {
        assert!(Instant::now() < deadline, "the daemon did not finish within an hour; log:\n{}", daemon.log_tail(30));
        assert!(daemon.alive(), "the daemon exited early; log:\n{}", daemon.log_tail(30));
        if conn.is_none() && store.exists() {
            conn = rusqlite::Connection::open_with_flags(store, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ok();
        }
        if let Some(c) = &conn {
            let counts = c.query_row(
                "SELECT (SELECT count(*) FROM messages),
                        (SELECT count(*) FROM messages WHERE state = 'judged'),
                        (SELECT count(*) FROM messages WHERE state = 'failed'),
                        (SELECT count(*) FROM replies WHERE state = 'sent'),
                        (SELECT count(*) FROM replies WHERE state IN ('pending', 'sending'))",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get::<_, i64>(4)?)),
            );
            if let Ok((messages, judged, failed, sent, unsent)) = counts {
                if (judged + failed) as usize >= n && unsent == 0 {
                    return (messages, judged, failed, sent);
                }
                if opts.verbose && last_report.elapsed() > Duration::from_secs(10) {
                    progress(opts, &format!("… stored {messages}, judged {judged}, replies {sent}"));
                    last_report = Instant::now();
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn eml_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "eml")).count())
        .unwrap_or(0)
}

// ------------------------------------------------------------------------------------ IMAP

/// A minimal blocking IMAP client over plain TCP: APPEND with LITERAL+ and a bare FETCH
/// that reads literals straight into a scratch buffer.
struct RawImap {
    r: BufReader<TcpStream>,
    w: TcpStream,
    tag: u32,
    literal_plus: bool,
}

impl RawImap {
    fn login(server: &MailServer, user: &str) -> io::Result<RawImap> {
        let s = TcpStream::connect((server.host.as_str(), server.imap_port))?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(120)))?;
        let mut imap =
            RawImap { r: BufReader::with_capacity(1 << 20, s.try_clone()?), w: s, tag: 0, literal_plus: false };
        let greeting = imap.line()?;
        imap.literal_plus = String::from_utf8_lossy(&greeting).contains("LITERAL+");
        imap.command(&format!("LOGIN \"{user}\" \"{}\"", server.password(user)))?;
        Ok(imap)
    }

    fn line(&mut self) -> io::Result<Vec<u8>> {
        let mut line = Vec::new();
        if self.r.read_until(b'\n', &mut line)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "IMAP connection closed"));
        }
        Ok(line)
    }

    /// Sends a command and reads to its tagged answer; `Err` unless `OK`. Literals in the
    /// answer are skipped (counted into the returned (messages, bytes)).
    fn command(&mut self, command: &str) -> io::Result<(usize, u64)> {
        self.tag += 1;
        let tag = format!("b{} ", self.tag);
        self.w.write_all(format!("{tag}{command}\r\n").as_bytes())?;
        self.answer(&tag)
    }

    fn answer(&mut self, tag: &str) -> io::Result<(usize, u64)> {
        let mut scratch = vec![0u8; 1 << 20];
        let (mut literals, mut bytes) = (0usize, 0u64);
        loop {
            let line = self.line()?;
            if line.starts_with(tag.as_bytes()) {
                let status = String::from_utf8_lossy(&line[tag.len()..]).trim_end().to_string();
                if status.starts_with("OK") {
                    return Ok((literals, bytes));
                }
                return Err(io::Error::other(format!("IMAP answered {status}")));
            }
            // A line ending in {n} announces n bytes of literal, then the line goes on.
            let mut line = line;
            while let Some(n) = literal_len(&line) {
                let mut left = n;
                while left > 0 {
                    let take = left.min(scratch.len() as u64) as usize;
                    self.r.read_exact(&mut scratch[..take])?;
                    left -= take as u64;
                }
                literals += 1;
                bytes += n;
                line = self.line()?;
            }
        }
    }

    /// `APPEND folder (flags) "date" {n+}` — one round trip per message.
    fn append(&mut self, folder: &str, date: &str, raw: &[u8]) -> io::Result<()> {
        self.tag += 1;
        let tag = format!("b{} ", self.tag);
        let plus = if self.literal_plus { "+" } else { "" };
        self.w.write_all(format!("{tag}APPEND \"{folder}\" () \"{date}\" {{{}{plus}}}\r\n", raw.len()).as_bytes())?;
        if !self.literal_plus {
            let cont = self.line()?;
            if !cont.starts_with(b"+") {
                return Err(io::Error::other(format!("APPEND refused: {}", String::from_utf8_lossy(&cont))));
            }
        }
        self.w.write_all(raw)?;
        self.w.write_all(b"\r\n")?;
        self.answer(&tag).map(|_| ())
    }

    fn logout(mut self) {
        let _ = self.command("LOGOUT");
    }
}

fn literal_len(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\r\n").or_else(|| line.strip_suffix(b"\n"))?;
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    std::str::from_utf8(&inner[open + 1..]).ok()?.trim_end_matches('+').parse().ok()
}

/// Creates `folder` in the office account and APPENDs `n` messages made by `make` (in
/// parallel batches), each with an INTERNALDATE in March 2023 (before the deadline).
/// Returns the bytes appended.
fn fill(server: &MailServer, folder: &str, n: usize, make: impl Fn(usize) -> Vec<u8> + Sync) -> u64 {
    use rayon::prelude::*;
    let mut imap = RawImap::login(server, OFFICE).expect("IMAP login for APPEND");
    imap.command(&format!("CREATE \"{folder}\"")).expect("CREATE the folder");
    let start = chrono::DateTime::parse_from_rfc3339("2023-03-01T08:00:00+08:00").expect("date");
    let mut bytes = 0u64;
    let mut i = 0;
    while i < n {
        let batch: Vec<Vec<u8>> = (i..(i + 64).min(n)).into_par_iter().map(&make).collect();
        for raw in batch {
            let date = (start + chrono::Duration::seconds(60 * i as i64)).format("%d-%b-%Y %H:%M:%S %z").to_string();
            imap.append(folder, &date, &raw).expect("APPEND a submission");
            bytes += raw.len() as u64;
            i += 1;
        }
    }
    imap.logout();
    bytes
}

/// A bare `UID FETCH 1:* BODY.PEEK[]` of the folder on a fresh plain-TCP connection (the
/// daemon's connection type): login to the last byte of the answer. Returns (time,
/// messages, bytes).
/// CPU time the whole machine has spent so far (every CPU, every process: `/proc/stat`'s
/// user, nice, system, irq, softirq and steal), at USER_HZ (10 ms) resolution.
fn machine_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let first = stat.lines().next().unwrap_or("");
    let fields: Vec<u64> = first.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal ...
    let busy: u64 = [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| fields.get(i)).sum();
    Duration::from_millis(busy * 10)
}

fn bare_fetch(server: &MailServer, folder: &str) -> (Duration, usize, u64) {
    let t = Instant::now();
    let mut imap = RawImap::login(server, OFFICE).expect("IMAP login for FETCH");
    imap.command(&format!("EXAMINE \"{folder}\"")).expect("EXAMINE");
    let (n, bytes) = imap.command("UID FETCH 1:* BODY.PEEK[]").expect("UID FETCH");
    let elapsed = t.elapsed();
    imap.logout();
    (elapsed, n, bytes)
}

// ------------------------------------------------------------------------------------ mail

const ROSTER: [&str; 24] = [
    "云南大学",
    "昆明理工大学",
    "云南农业大学",
    "西南林业大学",
    "昆明医科大学",
    "大理大学",
    "云南师范大学",
    "曲靖师范学院",
    "云南财经大学",
    "昆明学院",
    "云南交通职业技术学院",
    "昆明工业职业技术学院",
    "云南机电职业技术学院",
    "云南旅游职业学院",
    "昆明冶金高等专科学校",
    "云南国土资源职业学院",
    "云南农业职业技术学院",
    "云南林业职业技术学院",
    "云南财经职业学院",
    "昆明铁道职业技术学院",
    "云南水利水电职业学院",
    "玉溪职业技术学院",
    "曲靖财经学校",
    "红河职业技术学院",
];

const CATEGORIES: [&str; 8] = [
    "电子与信息大类",
    "装备制造大类",
    "财经商贸大类",
    "交通运输大类",
    "医药卫生大类",
    "旅游大类",
    "土木建筑大类",
    "农林牧渔大类",
];

const SURNAMES: [&str; 20] = [
    "张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗",
    "高",
];
const GIVEN: [&str; 24] = [
    "明", "华", "芳", "强", "静", "丽", "军", "伟", "敏", "磊", "洋", "艳", "建国", "海燕", "志强", "晓东", "丽萍",
    "文斌", "春梅", "红霞", "国华", "永刚", "秀英", "德明",
];

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(n);
        v
    }
}

/// A JPEG as a scanner app writes it: the markers that declare its size, then `bytes` of
/// random-looking entropy-coded data.
fn scan_jpeg(rng: &mut Rng, width: u16, height: u16, bytes: usize) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    v.extend(b"JFIF\0");
    v.extend([0x01, 0x01, 0x00, 0x00, 0x96, 0x00, 0x96, 0x00, 0x00]);
    v.extend([0xFF, 0xC0, 0x00, 0x0B, 0x08]);
    v.extend(height.to_be_bytes());
    v.extend(width.to_be_bytes());
    v.extend([0x01, 0x01, 0x11, 0x00]);
    v.extend([0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]);
    // Entropy-coded data never holds a bare 0xFF.
    v.extend(rng.bytes(bytes).into_iter().map(|b| if b == 0xFF { 0xFE } else { b }));
    v.extend([0xFF, 0xD9]);
    v
}

/// A scanned document: one A4 page per JPEG, each page only an image (no text).
fn scan_pdf(pages: &[Vec<u8>]) -> Vec<u8> {
    let n = pages.len();
    // 1 catalog, 2 pages, then per page: page, content, image.
    let kids: Vec<String> = (0..n).map(|p| format!("{} 0 R", 3 + 3 * p)).collect();
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).into_bytes(),
    ];
    for (p, jpeg) in pages.iter().enumerate() {
        let (content, image) = (4 + 3 * p, 5 + 3 * p);
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 {image} 0 R >> >> /Contents {content} 0 R >>"
            )
            .into_bytes(),
        );
        let draw = b"q 595 0 0 842 0 0 cm /Im0 Do Q";
        let mut c = format!("<< /Length {} >>\nstream\n", draw.len()).into_bytes();
        c.extend_from_slice(draw);
        c.extend_from_slice(b"\nendstream");
        objects.push(c);
        let mut im = format!(
            "<< /Type /XObject /Subtype /Image /Width 1240 /Height 1754 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode /Length {} >>\nstream\n",
            jpeg.len()
        )
        .into_bytes();
        im.extend_from_slice(jpeg);
        im.extend_from_slice(b"\nendstream");
        objects.push(im);
    }
    crate::support::build::pdf(&objects)
}

fn school_of(i: usize) -> (usize, &'static str) {
    let k = (i * 7 + i / 24) % ROSTER.len();
    (k, ROSTER[k])
}

fn expert_of(i: usize) -> String {
    format!("{}{}", SURNAMES[(i * 3 + i / 20) % SURNAMES.len()], GIVEN[(i * 5 + i / 24) % GIVEN.len()])
}

/// Submission `i` of the generated campaign: mostly expert recommendations (a docx or xlsx
/// form and a scanned PDF), some lead-institution applications and pilot summaries, one in
/// twenty without its scan (a correction request), one in twenty a re-submission (a
/// duplicate). Attachments total 100–300 KB. From `from` when given, else from the school's
/// own address; `seed` varies the random bytes (`None`: from `i`).
pub fn submission(i: usize, from: &str, seed: Option<usize>) -> Vec<u8> {
    let mut rng = Rng::new(seed.unwrap_or(i) as u64 + 17);
    let (k, school) = school_of(i);
    let sender = if from.is_empty() { format!("jwc{k}@school{k}.example.cn") } else { from.to_string() };
    let target = 100 * 1024 + rng.below(200 * 1024);
    let sep = ["+", "＋", "-", " + "][i % 4];
    let subject_style = [
        HeaderText::Utf8Word,
        HeaderText::GbWord("GBK"),
        HeaderText::GbWord("GB2312"),
        HeaderText::SplitGbk,
        HeaderText::GbWord("gb18030"),
    ][i % 5];
    let name_style =
        [NameStyle::Word("GBK"), NameStyle::Rfc2231, NameStyle::SplitWords, NameStyle::Word("UTF-8")][i % 4];
    let pages = 1 + i % 3;
    let kind = i % 20;
    let (subject, mut files): (String, Vec<(String, Vec<u8>)>) = match kind {
        14..=16 => {
            let category = CATEGORIES[i % CATEGORIES.len()];
            let form = LeadForm::new(school, category).docx();
            (
                format!("牵头院校上报{sep}{category}{sep}{school}"),
                vec![(format!("附件1：{school}牵头院校申请表.docx"), form)],
            )
        }
        17 => {
            let title = format!("{school}“1+X”证书制度试点工作总结");
            let report = report_docx(
                &title,
                &[
                    "一、试点工作完成情况。本年度共申报证书 6 个，完成考核 520 人，通过率 86%。",
                    "二、试点工作机制建设情况。学校成立试点工作领导小组，统筹推进书证融通。",
                    "三、存在的问题与下一步打算。进一步加强师资培训与考核站点建设。",
                ],
            );
            (format!("{school}1+X证书制度试点工作总结"), vec![(format!("{school}试点工作总结.docx"), report)])
        }
        _ => {
            // 19: the expert of submission i-19 again (a duplicate); 18: no scan.
            let j = if kind == 19 { i - 19 } else { i };
            let (_, school) = school_of(j);
            let name = expert_of(j);
            let mut form = ExpertForm::new(&name, school);
            form.category = CATEGORIES[j % CATEGORIES.len()].to_string();
            form.email = format!("expert{j}@school.example.cn");
            let (file, bytes) = if i.is_multiple_of(5) {
                (format!("附件2：专家推荐表（{name}）.xlsx"), form.xlsx(None))
            } else {
                (format!("附件2：专家推荐表（{name}）.docx"), form.docx())
            };
            (format!("专家推荐{sep}{school}{sep}{name}"), vec![(file, bytes)])
        }
    };
    let used: usize = files.iter().map(|(_, b)| b.len()).sum();
    let left = target.saturating_sub(used).max(20_000);
    if kind == 18 {
        // A one-inch ID photo instead of the stamped scan: not a scan (too small a side).
        files.push((format!("{}证件照.jpg", expert_of(i)), scan_jpeg(&mut rng, 295, 413, left)));
    } else {
        let per_page = left / pages;
        let jpegs: Vec<Vec<u8>> = (0..pages).map(|_| scan_jpeg(&mut rng, 1240, 1754, per_page)).collect();
        let name =
            ["扫描全能王 2023-03-15 10.21.pdf", "盖章扫描件.pdf", "推荐表盖章版.pdf", "CamScanner 03-15-2023.pdf"]
                [i % 4]
                .to_string();
        files.push((name, scan_pdf(&jpegs)));
    }
    let mut mail = Mail::new(&subject)
        .subject_as(subject_style)
        .from(&format!("=?UTF-8?B?5pWZ5Yqh5aSE?= <{sender}>"))
        .to(OFFICE)
        .message_id(&format!("<bench-{i}-{}@{}>", rng.next() % 1_000_000, sender.rsplit('@').next().unwrap_or("x")));
    if i.is_multiple_of(3) {
        mail = mail.body_charset(BodyCharset::Gb("GBK"));
    }
    for (name, bytes) in files {
        mail = mail.attach_as(&name, bytes, name_style);
    }
    mail.build()
}

/// An expert recommendation whose stamped scan is one large PDF of `attachment` bytes.
pub fn big_submission(i: usize, attachment: usize) -> Vec<u8> {
    let mut rng = Rng::new(99 + i as u64);
    let (_, school) = school_of(i);
    let name = expert_of(i);
    let form = ExpertForm::new(&name, school).docx();
    // Pages of ~2 MB each, as a 600 dpi colour scan gives.
    let pages = attachment.div_ceil(2 << 20).max(1);
    let overhead = 600 * pages + 400;
    let per_page = attachment.saturating_sub(overhead) / pages;
    let jpegs: Vec<Vec<u8>> = (0..pages).map(|_| scan_jpeg(&mut rng, 4960, 7016, per_page)).collect();
    let pdf = scan_pdf(&jpegs);
    Mail::new(&format!("专家推荐+{school}+{name}"))
        .from("=?UTF-8?B?5pWZ5Yqh5aSE?= <jwc-big@school-big.example.cn>")
        .to(OFFICE)
        .message_id(&format!("<bench-big-{i}@school-big.example.cn>"))
        .attach(&format!("附件2：专家推荐表（{name}）.docx"), form)
        .attach(&format!("{name}推荐材料盖章扫描件.pdf"), pdf)
        .build()
}

// ------------------------------------------------------------------------------------ table

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Machine {
        cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        cpu_model,
        memory: format!("{:.1} GiB", mem_kib as f64 / (1024.0 * 1024.0)),
        load_before: loadavg(),
        load_after: String::new(),
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn secs(d: Duration) -> String {
    if d < Duration::from_secs(10) { format!("{:.3} s", d.as_secs_f64()) } else { format!("{:.1} s", d.as_secs_f64()) }
}

/// The `p`-th percentile (nearest rank) of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Report {
    /// What went wrong: a daemon that lost or left mail unanswered measured nothing.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if let Some(l) = &self.latency {
            let lost = l.samples.iter().filter(|s| s.is_none()).count();
            if lost > 0 {
                p.push(format!("latency: {lost} of {} submissions got no reply within 30 s", l.samples.len()));
            }
        }
        if let Some(b) = &self.backlog {
            let n = b.mails as i64;
            if b.counts != (n, n, 0, n) || b.reply_files != b.mails {
                p.push(format!(
                    "backlog: (stored, judged, failed, replies) = {:?} and {} reply files, expected {n} each",
                    b.counts, b.reply_files
                ));
            }
            if b.bare_fetch_messages != b.mails {
                p.push(format!("backlog: the bare FETCH saw {} messages, expected {n}", b.bare_fetch_messages));
            }
        }
        if let Some(b) = &self.big
            && (b.counts != (1, 1, 0, 1) || b.reply_files != 1)
        {
            p.push(format!("big: (stored, judged, failed, replies) = {:?}, {} reply files", b.counts, b.reply_files));
        }
        p
    }

    /// How the figures were made, in a line or two under the table.
    pub fn notes(&self) -> String {
        let mut n = String::new();
        if let Some(b) = &self.backlog {
            let _ = write!(
                n,
                "Backlog filled by IMAP APPEND ({} mails, {:.0} MB in {}); replies to .eml files; the daemon's store \
                 and verdicts checked after the run.",
                b.mails,
                mb(b.bytes),
                secs(b.fill)
            );
        }
        n
    }

    /// The one table (Markdown), with the machine above it.
    pub fn table(&self) -> String {
        let m = &self.machine;
        let mut t = String::new();
        let _ = writeln!(
            t,
            "Machine: {} CPU(s), {}, {} RAM; load average before {} / after {}.\n",
            m.cpus, m.cpu_model, m.memory, m.load_before, m.load_after
        );
        let _ = writeln!(t, "| figure | value |");
        let _ = writeln!(t, "|---|---|");
        if let Some(l) = &self.latency {
            let mut ok: Vec<Duration> = l.samples.iter().flatten().copied().collect();
            ok.sort();
            let lost = l.samples.len() - ok.len();
            let _ = writeln!(
                t,
                "| latency, {} submissions by SMTP one at a time (IDLE): p50 / p95 / max | {} / {} / {}{} |",
                l.samples.len(),
                secs(percentile(&ok, 50.0)),
                secs(percentile(&ok, 95.0)),
                secs(ok.last().copied().unwrap_or_default()),
                if lost > 0 { format!(" ({lost} without a reply in 30 s)") } else { String::new() }
            );
        }
        if let Some(b) = &self.backlog {
            let bare = b.bare_fetch.iter().min().copied().unwrap_or_default();
            let _ = writeln!(
                t,
                "| backlog: {} submissions, {:.0} MB: daemon stores + judges + writes replies | {} ({:.0} mails/s) |",
                b.mails,
                mb(b.bytes),
                secs(b.daemon),
                b.mails as f64 / b.daemon.as_secs_f64()
            );
            let _ = writeln!(
                t,
                "| backlog: bare `UID FETCH 1:* BODY.PEEK[]`, same folder, plain IMAP (best of {}: {}) | {} ({:.0} MB/s) |",
                b.bare_fetch.len(),
                b.bare_fetch.iter().map(|d| secs(*d)).collect::<Vec<_>>().join(", "),
                secs(bare),
                mb(b.bare_fetch_bytes) / bare.as_secs_f64()
            );
            let _ = writeln!(
                t,
                "| backlog: ratio daemon / bare FETCH | {:.2}× |",
                b.daemon.as_secs_f64() / bare.as_secs_f64()
            );
            let _ = writeln!(t, "| backlog: CPU time of the daemon (user + system) | {} |", secs(b.cpu));
            let _ = writeln!(
                t,
                "| backlog: CPU time of the whole machine during the daemon's run / during the bare FETCH (best of {}: {}) | {} / {} |",
                b.bare_fetch_machine_cpu.len(),
                b.bare_fetch_machine_cpu.iter().map(|d| secs(*d)).collect::<Vec<_>>().join(", "),
                secs(b.machine_cpu),
                secs(b.bare_fetch_machine_cpu.iter().min().copied().unwrap_or_default())
            );
            let _ = writeln!(t, "| backlog: peak RSS of the daemon | {:.1} MiB |", mib(b.peak_rss));
        }
        if let Some(b) = &self.big {
            let _ = writeln!(
                t,
                "| one {:.0} MB attachment (message {:.1} MB): time / peak RSS | {} / {:.1} MiB ({:.2}× the message) |",
                mib(b.attachment_bytes),
                mib(b.message_bytes),
                secs(b.daemon),
                mib(b.peak_rss),
                b.peak_rss as f64 / b.message_bytes as f64
            );
        }
        for j in &self.judging {
            let _ = writeln!(
                t,
                "| judging alone (`check`), {} ({} mails, {:.0} KB avg): 1 thread / {} threads | {:.0} / {:.0} mails/s |",
                j.set,
                j.mails,
                j.mean_bytes as f64 / 1000.0,
                j.threads,
                j.one_thread,
                j.all_threads
            );
        }
        if let Some(l) = &self.latency {
            let _ = writeln!(t, "| latency run: peak RSS of the daemon | {:.1} MiB |", mib(l.peak_rss));
        }
        t
    }
}
