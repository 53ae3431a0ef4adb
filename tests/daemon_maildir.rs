//! The daemon on the embedded default (Maildir in, `.eml` files out): the demo's inbox is
//! judged, every deserving mail gets exactly one reply, and running again changes nothing.

use std::path::Path;

use crate::support::mail_intake;

fn count_eml(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "eml")).count())
        .unwrap_or(0)
}

#[test]
fn demo_runs_and_a_second_run_answers_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("demo");
    let out = mail_intake(&["demo", "--dir", work.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("stored 10 message(s), judged 10, wrote 8 reply(ies)"), "{text}");
    assert!(
        text.contains("== The register") && text.contains("== The replies") && text.contains("== The digest-to-be")
    );
    assert_eq!(count_eml(&work.join("outbox")), 8);

    // The same store and inbox again, through `run --once`: nothing new, nothing re-sent.
    let config = work.join("mail-intake.toml");
    let out = mail_intake(&["run", "--config", config.to_str().unwrap(), "--once"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("stored 0 new message(s), judged 0, sent 0 reply(ies)"), "{text}");
    assert_eq!(count_eml(&work.join("outbox")), 8);

    // Every reply also sits in the Maildir's Sent folder, once.
    assert_eq!(std::fs::read_dir(work.join("inbox/.Sent/cur")).unwrap().count(), 8);
}

#[test]
fn store_and_its_folder_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("demo");
    let out = mail_intake(&["demo", "--dir", work.to_str().unwrap()]);
    assert!(out.status.success());
    let mode = std::fs::metadata(work.join("mail-intake.sqlite3")).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "store mode {mode:o}");
}

#[test]
fn config_commands() {
    let out = mail_intake(&["default-config"]);
    assert!(out.status.success());
    let example = String::from_utf8(out.stdout).unwrap();
    assert!(example.contains("[mailbox]") && example.contains("password_file"));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[mailbox]\nhost = \"imap.example.cn\"\ntls = \"none\"\nuser = \"\"\n[smtp]\nhost = \"x\"\nfrom = \"nope\"\n",
    )
    .unwrap();
    let out = mail_intake(&["config", "check", "--config", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("only allowed for loopback") && text.contains("no password") && text.contains("not an address"),
        "{text}"
    );

    // The production example is valid once its password file exists.
    let pw = dir.path().join("mailbox-password");
    std::fs::write(&pw, "auth-code\n").unwrap();
    let production =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/mail-intake.production.toml"))
            .unwrap()
            .replace("/etc/mail-intake/mailbox-password", pw.to_str().unwrap());
    let prod = dir.path().join("production.toml");
    std::fs::write(&prod, production).unwrap();
    let out = mail_intake(&["config", "check", "--config", prod.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("auth-code"));

    let good = dir.path().join("good.toml");
    std::fs::write(&good, example.replace("password = \"\"", "password = \"secret-pw\"")).unwrap();
    let out = mail_intake(&["config", "check", "--config", good.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("secret-pw"), "a secret was printed");
}
