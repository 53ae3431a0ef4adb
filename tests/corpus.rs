//! Every real-world message of `../shared/corpus` gets a verdict, without a panic, each
//! within 2 s (the corpus comes from public test suites; it is read in place, never copied).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mail_intake::{JudgeOptions, Rules, judge};

use crate::support::{shared, skip_loudly};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "eml") {
            out.push(p);
        }
    }
}

#[test]
fn every_corpus_message_is_judged_quickly() {
    let Some(shared) = shared() else {
        return skip_loudly("every_corpus_message_is_judged_quickly");
    };
    let mut all = Vec::new();
    files(&shared.join("corpus"), &mut all);
    all.sort();
    assert!(all.len() > 100, "the corpus looks empty ({} files)", all.len());
    let rules = Rules::embedded();
    let opts = JudgeOptions::default();
    let mut slow = Vec::new();
    let mut decisions = std::collections::BTreeMap::new();
    for path in &all {
        let raw = std::fs::read(path).expect("read corpus file");
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let t = Instant::now();
        let v = judge(&name, &raw, &rules, &opts);
        let took = t.elapsed();
        // A budget, not a benchmark: 2 s per message is the bound for a hung parser.
        if took > Duration::from_secs(2) {
            slow.push(format!("{} took {:?}", path.display(), took));
        }
        assert_eq!(v.file, name);
        *decisions.entry(v.decision.as_str()).or_insert(0) += 1;
    }
    eprintln!("corpus: {} messages judged: {decisions:?}", all.len());
    assert!(slow.is_empty(), "messages over the 2 s budget:\n{}", slow.join("\n"));
}

#[test]
fn corpus_automatic_mail_is_never_answered() {
    let Some(shared) = shared() else {
        return skip_loudly("corpus_automatic_mail_is_never_answered");
    };
    let rules = Rules::embedded();
    let opts = JudgeOptions::default();
    let mut answered = Vec::new();
    for category in ["bounces", "autoreplies"] {
        let mut all = Vec::new();
        files(&shared.join("corpus").join(category), &mut all);
        for path in all {
            let raw = std::fs::read(&path).expect("read");
            let v = judge("x.eml", &raw, &rules, &opts);
            if matches!(v.decision, mail_intake::Decision::Acknowledge | mail_intake::Decision::RequestCorrection) {
                answered.push(format!("{} → {}", path.display(), v.decision));
            }
        }
    }
    assert!(answered.is_empty(), "automatic mail that would get a reply:\n{}", answered.join("\n"));
}
