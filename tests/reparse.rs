//! `reparse` after a rules change: prints what changed, sends nothing without `--reply`, and
//! with `--reply` queues exactly the replies whose verdict changed.

use std::path::{Path, PathBuf};

use crate::support::mail_intake;

/// A demo store whose config points at a copy of the rules where 智能制造大类 is an alias.
fn demo_with_changed_rules(dir: &Path) -> PathBuf {
    let work = dir.join("demo");
    let out = mail_intake(&["demo", "--dir", work.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rules = work.join("rules");
    std::fs::create_dir_all(rules.join("templates")).unwrap();
    for f in mail_intake::rules::FILES {
        std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules").join(f), rules.join(f)).unwrap();
    }
    let cats = std::fs::read_to_string(rules.join("categories.toml")).unwrap();
    let cats = cats.replacen("aliases = [\"装备制造类\"", "aliases = [\"智能制造大类\", \"装备制造类\"", 1);
    assert!(cats.contains("智能制造大类"), "the categories file changed shape");
    std::fs::write(rules.join("categories.toml"), cats).unwrap();
    let config = work.join("mail-intake.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}\n[rules]\ndir = \"rules\"\n")).unwrap();
    config
}

fn outbox_count(config: &Path) -> usize {
    std::fs::read_dir(config.parent().unwrap().join("outbox")).unwrap().count()
}

#[test]
fn reparse_prints_changes_and_sends_nothing_without_reply() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo_with_changed_rules(dir.path());
    let c = config.to_str().unwrap();
    let before = outbox_count(&config);

    let out = mail_intake(&["reparse", "-c", c, "--all"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("decision request_correction → acknowledge"), "{text}");
    assert!(text.contains("errors [unknown_category] → []"), "{text}");
    assert!(text.contains("reparsed 10 message(s): 1 changed, 0 reply(ies) queued"), "{text}");
    assert!(text.contains("nothing was sent"), "{text}");

    // Nothing was queued: a daemon run sends nothing.
    let out = mail_intake(&["run", "-c", c, "--once"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("sent 0 reply(ies)"));
    assert_eq!(outbox_count(&config), before);

    // Reparsing again with the same rules changes nothing; one message by id works too.
    let out = mail_intake(&["reparse", "-c", c, "--all", "--json"]);
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 10);
    assert!(lines.iter().all(|l| l["changed"].as_array().unwrap().is_empty()));
    let out = mail_intake(&["reparse", "-c", c, "6"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("reparsed 1 message(s): 0 changed"));

    let out = mail_intake(&["reparse", "-c", c, "999"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no message #999"));
}

#[test]
fn reparse_with_reply_queues_only_changed_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo_with_changed_rules(dir.path());
    let c = config.to_str().unwrap();
    let before = outbox_count(&config);

    let out = mail_intake(&["reparse", "-c", c, "--all", "--reply"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 changed, 1 reply(ies) queued"), "{text}");

    let out = mail_intake(&["run", "-c", c, "--once"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("sent 1 reply(ies)"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(outbox_count(&config), before + 1);
    let newest = std::fs::read_dir(config.parent().unwrap().join("outbox"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read(e.path()).unwrap())
        .filter_map(|raw| mail_parser::MessageParser::default().parse(&raw).and_then(|m| m.subject().map(String::from)))
        .filter(|s| s.contains("智能制造大类"))
        .collect::<Vec<_>>();
    assert!(newest.iter().any(|s| s.starts_with("回执：")), "{newest:?}");
    assert!(newest.iter().any(|s| s.starts_with("请更正：")), "the first reply stays in history: {newest:?}");
}
