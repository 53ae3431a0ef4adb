//! The benchmark harness (`benches/daemon.rs`) at tiny size, in the debug build: every part
//! runs and is correct — every submission stored, judged and answered, the bare FETCH sees the
//! whole folder. Timings are printed, never asserted.

#[path = "../benches/harness/mod.rs"]
mod harness;

use crate::support::mailserver::MailServer;

#[test]
fn the_benchmark_runs_at_tiny_size_and_answers_everything() {
    let Some(server) = MailServer::start_or_skip("the_benchmark_runs_at_tiny_size_and_answers_everything") else {
        return;
    };
    let opts = harness::Options {
        mails: 20,
        latency: 3,
        big_mb: 2,
        judge_rounds: 1,
        judge_generated: 5,
        binary: env!("CARGO_BIN_EXE_mail-intake").into(),
        verbose: false,
    };
    let report = harness::run(&opts, &server);
    eprintln!("{}\n{}", report.table(), report.notes());
    assert_eq!(report.problems(), Vec::<String>::new());

    let latency = report.latency.as_ref().expect("latency ran");
    assert_eq!(latency.samples.len(), 3);
    assert!(latency.samples.iter().all(Option::is_some), "every SMTP submission answered: {latency:?}");

    let b = report.backlog.as_ref().expect("backlog ran");
    assert_eq!(b.counts, (20, 20, 0, 20), "(stored, judged, failed, replies sent)");
    assert_eq!(b.reply_files, 20, "one reply file per submission");
    assert_eq!((b.bare_fetch_messages, b.bare_fetch.len()), (20, 2));
    assert!(b.bare_fetch_bytes >= b.bytes, "the bare FETCH read every byte appended");
    assert!(b.peak_rss > 0);

    let big = report.big.as_ref().expect("big ran");
    assert_eq!(big.counts, (1, 1, 0, 1));
    assert_eq!(big.reply_files, 1);
    assert!(big.message_bytes > big.attachment_bytes);

    assert_eq!(report.judging.len(), 2);
    assert!(report.judging.iter().all(|j| j.one_thread > 0.0 && j.all_threads > 0.0 && j.threads > 0));
}

#[test]
fn generated_submissions_are_judged_as_intended() {
    use mail_intake::verdict::Decision;
    let rules = mail_intake::Rules::embedded();
    let opts = mail_intake::validate::JudgeOptions::default();
    for i in 0..40 {
        let raw = harness::submission(i, "", None);
        let size = raw.len();
        assert!((100_000..=450_000).contains(&size), "submission {i}: {size} bytes");
        let v = mail_intake::validate::judge("x", &raw, &rules, &opts);
        let expected = if i % 20 == 18 { Decision::RequestCorrection } else { Decision::Acknowledge };
        assert_eq!(v.decision, expected, "submission {i}: {:?} {:?} {:?}", v.subject, v.errors, v.reasons);
    }
}
