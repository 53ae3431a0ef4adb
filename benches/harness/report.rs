//! What one benchmark run measured, and the table it prints: the figures per part, the
//! machine they come from, the problems that make them meaningless.

use std::fmt::Write as _;
use std::time::Duration;

use crate::support::daemon::proc_number;

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

pub(super) fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let mem_kib = proc_number("/proc/meminfo", "MemTotal:");
    Machine {
        cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        cpu_model,
        memory: format!("{:.1} GiB", mem_kib as f64 / (1024.0 * 1024.0)),
        load_before: loadavg(),
        load_after: String::new(),
    }
}

pub(super) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

pub(super) fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

pub(super) fn mib(bytes: u64) -> f64 {
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
