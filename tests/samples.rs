//! Every labelled sample in `../shared/samples` judged against `labels.jsonl`: decision,
//! kind, fields, errors, warnings and the experts' birth and title must all match.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::{judge_labelled, sorted};

#[test]
fn samples_match_their_labels() {
    let Some(judged) = judge_labelled("samples", "samples_match_their_labels") else { return };
    let mut total = 0;
    let mut failures = Vec::new();
    let mut measures: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (want, got) in &judged {
        let file = want["file"].as_str().expect("file");
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
