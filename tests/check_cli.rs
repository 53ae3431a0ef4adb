//! The `check` and `rules check` commands as a user runs them.

use crate::support::{mail_intake, shared, skip_loudly};

#[test]
fn check_json_prints_one_line_per_file_in_input_order() {
    let Some(shared) = shared() else {
        return skip_loudly("check_json_prints_one_line_per_file_in_input_order");
    };
    let a = shared.join("samples/0035.eml");
    let b = shared.join("samples/0001.eml");
    let out = mail_intake(&["check", "--json", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["file"], "0035.eml");
    assert_eq!(lines[0]["decision"], "hold");
    assert_eq!(lines[0]["kind"], serde_json::Value::Null);
    assert_eq!(lines[1]["file"], "0001.eml");
    for key in [
        "message_id",
        "from",
        "subject",
        "arrived",
        "kind",
        "decision",
        "fields",
        "errors",
        "warnings",
        "experts",
        "attachments",
    ] {
        assert!(lines[1].get(key).is_some(), "missing key {key}");
    }
    let att = &lines[1]["attachments"][0];
    for key in ["filename", "type", "role", "size", "sha256", "pages", "scanned"] {
        assert!(att.get(key).is_some(), "missing attachment key {key}");
    }
    assert_eq!(lines[1]["arrived"], "2023-03-12T17:39:47+08:00");
}

#[test]
fn unparseable_files_still_get_a_line_and_missing_files_exit_2() {
    let dir = tempdir();
    let junk = dir.join("junk.eml");
    std::fs::write(&junk, [0u8, 159, 146, 150, 0, 0]).unwrap();
    let out = mail_intake(&["check", "--json", junk.to_str().unwrap()]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"], "hold");
    assert!(!v["reasons"].as_array().unwrap().is_empty());

    let missing = dir.join("nope.eml");
    let out = mail_intake(&["check", "--json", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));

    let out = mail_intake(&["check", "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn rules_check_reports_every_problem_with_file_and_line() {
    let out = mail_intake(&["rules", "check", concat!(env!("CARGO_MANIFEST_DIR"), "/rules")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let dir = tempdir();
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    for f in mail_intake::rules::FILES {
        std::fs::copy(format!("{}/rules/{f}", env!("CARGO_MANIFEST_DIR")), dir.join(f)).unwrap();
    }
    let schools = std::fs::read_to_string(dir.join("schools.toml")).unwrap();
    std::fs::write(
        dir.join("schools.toml"),
        format!("{schools}\n[[school]]\nname = \"新学校\"\naliases = [\"云大\"]\nlevel = \"幼儿园\"\n"),
    )
    .unwrap();
    let titles = std::fs::read_to_string(dir.join("titles.toml")).unwrap();
    std::fs::write(dir.join("titles.toml"), titles.replacen("level = \"正高\"", "level = \"特高\"", 1)).unwrap();
    let out = mail_intake(&["rules", "check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("schools.toml:") && text.contains("幼儿园"), "{text}");
    assert!(text.contains("`云大` is also used by 云南大学"), "{text}");
    assert!(text.contains("titles.toml:") && text.contains("特高"), "{text}");
    assert!(text.contains("3 problem(s)"), "{text}");
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mail-intake-test-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}
