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

/// The register as stored, with submission ids replaced by their mails (a partial re-bind
/// makes new ids): each mail's verdict and each submission's row.
fn register_dump(config: &Path) -> Vec<String> {
    let db = rusqlite::Connection::open(config.with_file_name("mail-intake.sqlite3")).unwrap();
    let mut members: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
    let mut st =
        db.prepare("SELECT dossier, message FROM verdicts WHERE dossier IS NOT NULL ORDER BY message").unwrap();
    for r in st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))).unwrap() {
        let (d, m) = r.unwrap();
        members.entry(d).or_default().push(m);
    }
    let name = |d: Option<i64>| d.map(|d| format!("{:?}", members.get(&d))).unwrap_or_default();
    let mut out = Vec::new();
    let mut st = db
        .prepare("SELECT message, decision, kind, school, errors, warnings, superseded_by, dossier, json FROM verdicts ORDER BY message")
        .unwrap();
    let rows = st
        .query_map([], |r| {
            let mut json: serde_json::Value = serde_json::from_str(&r.get::<_, String>(8)?).unwrap();
            if let Some(s) = json.get_mut("submission").and_then(|s| s.as_object_mut()) {
                s.remove("id");
            }
            Ok(format!(
                "mail {} {:?} {:?} {:?} {:?} {:?} {:?} in {} {json}",
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<i64>>(6)?,
                name(r.get(7)?),
            ))
        })
        .unwrap();
    out.extend(rows.map(Result::unwrap));
    let mut st = db
        .prepare("SELECT id, kind, school, detail, keyed, state, superseded_by, errors, warnings, parts, form_name, birth, phone, updated FROM dossiers")
        .unwrap();
    let rows = st
        .query_map([], |r| {
            let mut warnings: Vec<String> = serde_json::from_str(&r.get::<_, String>(8)?).unwrap();
            warnings.sort();
            Ok(format!(
                "submission {} {:?} {:?} {:?} {} {} {} {} {warnings:?} {} {:?} {:?} {:?} {:?}",
                name(Some(r.get(0)?)),
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, String>(5)?,
                name(r.get(6)?),
                r.get::<_, String>(7)?,
                r.get::<_, String>(9)?,
                r.get::<_, Option<String>>(10)?,
                r.get::<_, Option<String>>(11)?,
                r.get::<_, Option<String>>(12)?,
                r.get::<_, Option<String>>(13)?,
            ))
        })
        .unwrap();
    let mut subs: Vec<String> = rows.map(Result::unwrap).collect();
    subs.sort();
    out.extend(subs);
    out
}

/// Two more mails: a second copy of #1 (its school's submission again) and a reply in the
/// thread of our reply to #4, under a subject that names nothing (bound by the thread).
fn add_mails(config: &Path) {
    let db = rusqlite::Connection::open(config.with_file_name("mail-intake.sqlite3")).unwrap();
    let raw = |id: i64| -> String {
        let b: Vec<u8> = db.query_row("SELECT raw FROM raw_messages WHERE message = ?1", [id], |r| r.get(0)).unwrap();
        String::from_utf8_lossy(&b).into_owned()
    };
    let reply_id: String =
        db.query_row("SELECT reply_message_id FROM replies WHERE message = 4", [], |r| r.get(0)).unwrap();
    let renamed = |text: &str, id: &str, extra: &str| -> String {
        let mut out = format!("Message-ID: <{id}@test>\r\n{extra}");
        for line in text.split_inclusive('\n') {
            let l = line.to_ascii_lowercase();
            let dropped = l.starts_with("message-id:") || (extra.contains("Subject") && l.starts_with("subject:"));
            if !dropped {
                out.push_str(line);
            }
        }
        out
    };
    let inbox = config.with_file_name("inbox").join("new");
    std::fs::write(inbox.join("1800000000.M1P1.again"), renamed(&raw(1), "again-1", "")).unwrap();
    let extra =
        format!("In-Reply-To: {reply_id}\r\nReferences: {reply_id}\r\nSubject: =?UTF-8?B?6KGl5YWF5p2Q5paZ?=\r\n");
    std::fs::write(inbox.join("1800000060.M2P1.thread"), renamed(&raw(4), "thread-4", &extra)).unwrap();
    // Delivered at a fixed time (the Maildir's file time is the arrival), the same in both stores.
    for (name, at) in [("1800000000.M1P1.again", 1_679_300_000), ("1800000060.M2P1.thread", 1_679_300_060)] {
        let f = std::fs::File::options().append(true).open(inbox.join(name)).unwrap();
        f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(at)).unwrap();
    }
    let out = mail_intake(&["run", "-c", config.to_str().unwrap(), "--once"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn judging_one_mail_again_re_binds_what_it_touches_as_a_full_rebuild_would() {
    let dir = tempfile::tempdir().unwrap();
    let full = demo_with_changed_rules(&dir.path().join("full"));
    let one = demo_with_changed_rules(&dir.path().join("one"));
    add_mails(&full);
    add_mails(&one);
    let out = mail_intake(&["reparse", "-c", full.to_str().unwrap(), "--all", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let changed: Vec<i64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| !v["changed"].as_array().unwrap().is_empty())
        .map(|v| v["id"].as_i64().unwrap())
        .collect();
    assert_eq!(changed.len(), 1, "the changed rules move one mail");
    assert_ne!(register_dump(&one), register_dump(&full), "the stores differ before");

    // The one mail the rules change moves, judged again on its own: the same register.
    let out = mail_intake(&["reparse", "-c", one.to_str().unwrap(), &changed[0].to_string()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("reparsed 1 message(s): 1 changed"), "{text}");
    assert!(!text.contains("(9 other"), "not every mail is re-bound: {text}");
    assert_eq!(register_dump(&one), register_dump(&full));

    // Each mail, its stored judgement made stale first (held, out of its submission), judged
    // again on its own: back to what the full rebuild gives.
    let db = rusqlite::Connection::open(one.with_file_name("mail-intake.sqlite3")).unwrap();
    let by_school: i64 = db
        .query_row("SELECT max(n) FROM (SELECT count(*) AS n FROM verdicts GROUP BY school)", [], |r| r.get(0))
        .unwrap();
    assert!(by_school >= 2, "some school sent several mails");
    let thread: i64 = db
        .query_row("SELECT count(*) FROM verdicts WHERE json LIKE '%\"bound_by\":\"thread\"%'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(thread, 1, "one mail is bound by its thread");
    for id in 1..=12 {
        db.execute(
            "UPDATE verdicts SET dossier = NULL, school = NULL, decision = 'hold', superseded_by = NULL WHERE message = ?1",
            [id],
        )
        .unwrap();
        let out = mail_intake(&["reparse", "-c", one.to_str().unwrap(), &id.to_string()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(register_dump(&one), register_dump(&full), "after #{id}");
    }
}
