//! Every labelled sample in `../shared/samples` judged against `labels.jsonl`: decision,
//! kind, fields, errors, warnings and the experts' birth and title must all match.

use std::collections::BTreeMap;

use mail_intake::{JudgeOptions, Rules, judge};
use serde_json::Value;

use crate::support::{shared, skip_loudly};

fn sorted(v: &Value) -> Vec<String> {
    let mut out: Vec<String> =
        v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect()).unwrap_or_default();
    out.sort();
    out
}

#[test]
fn samples_match_their_labels() {
    let Some(shared) = shared() else {
        return skip_loudly("samples_match_their_labels");
    };
    let dir = shared.join("samples");
    let labels = std::fs::read_to_string(dir.join("labels.jsonl")).expect("labels.jsonl");
    let rules = Rules::embedded();
    let opts = JudgeOptions::default();
    let mut total = 0;
    let mut failures = Vec::new();
    let mut measures: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for line in labels.lines().filter(|l| !l.trim().is_empty()) {
        let want: Value = serde_json::from_str(line).expect("label line is JSON");
        let file = want["file"].as_str().expect("file");
        let raw = std::fs::read(dir.join(file)).expect("sample file");
        let got = serde_json::to_value(judge(file, &raw, &rules, &opts)).expect("verdict serialises");
        total += 1;
        let mut check = |measure: &'static str, ok: bool, detail: String| {
            let e = measures.entry(measure).or_default();
            e.1 += 1;
            if ok {
                e.0 += 1;
            } else {
                failures.push(format!("{file} [{}] {measure}: {detail}", want["scenario"].as_str().unwrap_or("")));
            }
        };
        check(
            "decision",
            got["decision"] == want["decision"],
            format!("got {} want {}", got["decision"], want["decision"]),
        );
        check("kind", got["kind"] == want["kind"], format!("got {} want {}", got["kind"], want["kind"]));
        check("fields", got["fields"] == want["fields"], format!("got {} want {}", got["fields"], want["fields"]));
        check(
            "errors",
            sorted(&got["errors"]) == sorted(&want["errors"]),
            format!("got {} want {}", got["errors"], want["errors"]),
        );
        check(
            "warnings",
            sorted(&got["warnings"]) == sorted(&want["warnings"]),
            format!("got {} want {}", got["warnings"], want["warnings"]),
        );
        let got_experts: Vec<(Value, Value, Value)> = got["experts"]
            .as_array()
            .map(|a| a.iter().map(|e| (e["name"].clone(), e["birth"].clone(), e["title"].clone())).collect())
            .unwrap_or_default();
        let want_experts: Vec<(Value, Value, Value)> = want["experts"]
            .as_array()
            .map(|a| a.iter().map(|e| (e["name"].clone(), e["birth"].clone(), e["title"].clone())).collect())
            .unwrap_or_default();
        check("experts", got_experts == want_experts, format!("got {got_experts:?} want {want_experts:?}"));
    }
    for (m, (ok, n)) in &measures {
        eprintln!("samples {m}: {ok}/{n} ({:.1} %)", 100.0 * *ok as f64 / *n as f64);
    }
    assert!(total > 0, "labels.jsonl lists no sample");
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}
