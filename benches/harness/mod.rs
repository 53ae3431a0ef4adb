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

mod campaign;
mod report;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub use campaign::{big_submission, submission};
pub use report::{Backlog, Big, Judging, Latency, Report};
use report::{loadavg, machine, mb, mib};

use crate::support::daemon::{Daemon, PLAIN, Pace, Replies, Setup, write_config};
use crate::support::mailserver::{MailServer, OFFICE, SCHOOLS};

/// How long one IMAP read may wait while filling or fetching a large folder.
const IMAP_TIMEOUT: Duration = Duration::from_secs(120);

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
    let config = write_config(server, dir, Setup { pace: Pace::Bench, ..PLAIN });
    let daemon = Daemon::start_binary(&opts.binary, &config, &dir.join("daemon.log"));
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
    daemon.stop_cleanly();
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
    let config = write_config(server, dir, Setup { folder, replies: Replies::Files, pace: Pace::Bench, ..PLAIN });
    let t = Instant::now();
    let cpu0 = machine_cpu();
    let mut daemon = Daemon::start_binary(&opts.binary, &config, &dir.join("daemon.log"));
    let store = dir.join("store.sqlite3");
    let counts = wait_until_done(&store, opts.mails, &mut daemon, opts);
    out.daemon = t.elapsed();
    out.machine_cpu = machine_cpu().saturating_sub(cpu0);
    out.peak_rss = daemon.peak_rss();
    out.cpu = daemon.cpu();
    daemon.stop_cleanly();
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
    let config = write_config(server, dir, Setup { folder, replies: Replies::Files, pace: Pace::Bench, ..PLAIN });
    let t = Instant::now();
    let mut daemon = Daemon::start_binary(&opts.binary, &config, &dir.join("daemon.log"));
    let counts = wait_until_done(&dir.join("store.sqlite3"), 1, &mut daemon, opts);
    let elapsed = t.elapsed();
    let peak_rss = daemon.peak_rss();
    daemon.stop_cleanly();
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

/// Polls the store (read-only) until `n` messages are judged (or failed) and every pending
/// reply is written; returns (messages, judged, failed, replies sent).
fn wait_until_done(store: &Path, n: usize, daemon: &mut Daemon, opts: &Options) -> (i64, i64, i64, i64) {
    let deadline = Instant::now() + Duration::from_secs(3600);
    let mut last_report = Instant::now();
    let mut conn: Option<rusqlite::Connection> = None;
    loop {
        assert!(Instant::now() < deadline, "the daemon did not finish within an hour; log:\n{}", daemon.log_tail(30));
        assert!(!daemon.exited(), "the daemon exited early; log:\n{}", daemon.log_tail(30));
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

/// Creates `folder` in the office account and APPENDs `n` messages made by `make` (in
/// parallel batches), each with an INTERNALDATE in March 2023 (before the deadline).
/// Returns the bytes appended.
fn fill(server: &MailServer, folder: &str, n: usize, make: impl Fn(usize) -> Vec<u8> + Sync) -> u64 {
    use rayon::prelude::*;
    let mut imap = server.imap_login(OFFICE);
    imap.set_timeout(IMAP_TIMEOUT);
    let created = imap.command(&format!("CREATE \"{folder}\""));
    assert!(created.ok, "CREATE {folder}: {}", created.status);
    let start = chrono::DateTime::parse_from_rfc3339("2023-03-01T08:00:00+08:00").expect("date");
    let mut bytes = 0u64;
    let mut i = 0;
    while i < n {
        let batch: Vec<Vec<u8>> = (i..(i + 64).min(n)).into_par_iter().map(&make).collect();
        for raw in batch {
            let date = (start + chrono::Duration::seconds(60 * i as i64)).format("%d-%b-%Y %H:%M:%S %z").to_string();
            imap.append_dated(folder, &date, &raw);
            bytes += raw.len() as u64;
            i += 1;
        }
    }
    imap.logout();
    bytes
}

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

/// A bare `UID FETCH 1:* BODY.PEEK[]` of the folder on a fresh plain-TCP connection (the
/// daemon's connection type): login to the last byte of the answer. Returns (time,
/// messages, bytes).
fn bare_fetch(server: &MailServer, folder: &str) -> (Duration, usize, u64) {
    let t = Instant::now();
    let mut imap = server.imap_login(OFFICE);
    imap.set_timeout(IMAP_TIMEOUT);
    let examined = imap.command(&format!("EXAMINE \"{folder}\""));
    assert!(examined.ok, "EXAMINE {folder}: {}", examined.status);
    let (n, bytes) = imap.command_counting("UID FETCH 1:* BODY.PEEK[]");
    let elapsed = t.elapsed();
    imap.logout();
    (elapsed, n, bytes)
}
