//! The house rules of `src/`, checked on every test run (issue 11):
//!
//! - the modules form layers: a module imports only from its own layer or lower ones, and
//!   the import graph between top-level modules has no circle;
//! - no source file has more than [`MAX_FILE_LINES`] lines of non-test code (comments included) and no function
//!   more than [`MAX_FN_LINES`] lines, unless a `// house: <reason>` comment right above it
//!   (or a `//! house: <reason>` line in the file) says why it must be longer.
//!
//! Test modules (`#[cfg(test)] mod …`, `tests.rs`) are not counted. The reader below is a
//! small Rust lexer: it skips comments, strings, raw strings and char literals, so braces and
//! `crate::` inside them are not mistaken for code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 500;
const MAX_FN_LINES: usize = 80;

/// Top-level modules of `src/`, lowest layer first. A module may import from its own layer
/// and every layer below it.
const LAYERS: &[&[&str]] = &[
    &["text", "limits", "verdict", "logging"],
    &["rules", "parse"],
    &["config"],
    &["classify", "extract"],
    &["validate"],
    &["store"],
    &["register"],
    &["reply", "export"],
    &["intake", "digest", "actions", "health"],
    &["daemon", "web"],
    &["cli"],
];

/// Names `lib.rs` re-exports at the crate root, and the module each comes from.
const REEXPORTS: &[(&str, &str)] = &[
    ("Rules", "rules"),
    ("JudgeOptions", "validate"),
    ("judge", "validate"),
    ("Decision", "verdict"),
    ("ErrorCode", "verdict"),
    ("Verdict", "verdict"),
    ("WarningCode", "verdict"),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src/ is readable") {
        let p = e.expect("directory entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") && p.file_name().is_some_and(|n| n != "tests.rs") {
            out.push(p);
        }
    }
    out.sort();
}

/// The file's text with comments, strings and char literals blanked out (same length and
/// line breaks, so positions and line numbers stay), and the test modules removed.
struct Code {
    /// Code only, per line (comments and literals replaced by spaces).
    lines: Vec<String>,
    /// The original lines, for `// house:` reasons.
    original: Vec<String>,
}

fn blank(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let keep_newlines = |s: &[char], out: &mut String| {
        for &c in s {
            out.push(if c == '\n' { '\n' } else { ' ' });
        }
    };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            let end = b[i..].iter().position(|&c| c == '\n').map_or(b.len(), |p| i + p);
            keep_newlines(&b[i..end], &mut out);
            i = end;
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            let mut j = i;
            while j < b.len() {
                if b[j] == '/' && b.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if b[j] == '*' && b.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            keep_newlines(&b[i..j.min(b.len())], &mut out);
            i = j;
        } else if (c == 'r' || (c == 'b' && next == Some('r')))
            && !b.get(i.wrapping_sub(1)).is_some_and(|p| p.is_alphanumeric() || *p == '_')
            && {
                let s = if c == 'b' { i + 2 } else { i + 1 };
                let hashes = b[s..].iter().take_while(|&&c| c == '#').count();
                b.get(s + hashes) == Some(&'"')
            }
        {
            let s = if c == 'b' { i + 2 } else { i + 1 };
            let hashes = b[s..].iter().take_while(|&&c| c == '#').count();
            let mut j = s + hashes + 1;
            while j < b.len() {
                if b[j] == '"' && b[j + 1..].iter().take(hashes).filter(|&&c| c == '#').count() == hashes {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            keep_newlines(&b[i..j.min(b.len())], &mut out);
            i = j;
        } else if c == '"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != '"' {
                j += if b[j] == '\\' { 2 } else { 1 };
            }
            keep_newlines(&b[i..(j + 1).min(b.len())], &mut out);
            i = j + 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            let close = if next == Some('\\') {
                b[i + 2..].iter().position(|&c| c == '\'').map(|p| i + 2 + p)
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(end) => {
                    keep_newlines(&b[i..=end], &mut out);
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Line index just past the block opened at or after line `from` (brace matching on code).
fn block_end(lines: &[String], from: usize) -> usize {
    let mut depth = 0i32;
    let mut opened = false;
    for (i, l) in lines.iter().enumerate().skip(from) {
        for c in l.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth -= 1,
                ';' if !opened && depth == 0 => return i + 1,
                _ => {}
            }
        }
        if opened && depth == 0 {
            return i + 1;
        }
    }
    lines.len()
}

fn read_code(path: &Path) -> Code {
    let text = std::fs::read_to_string(path).expect("source file is UTF-8");
    let blanked = blank(&text);
    let all: Vec<String> = blanked.lines().map(str::to_string).collect();
    let original: Vec<String> = text.lines().map(str::to_string).collect();
    let mut lines = Vec::new();
    let mut kept = Vec::new();
    let mut i = 0;
    while i < all.len() {
        let is_test_mod = all[i].trim() == "#[cfg(test)]"
            && all
                .get(i + 1)
                .is_some_and(|l| l.trim_start().starts_with("mod ") || l.trim_start().starts_with("pub mod "));
        if is_test_mod {
            i = block_end(&all, i + 1);
            continue;
        }
        lines.push(all[i].clone());
        kept.push(original.get(i).cloned().unwrap_or_default());
        i += 1;
    }
    Code { lines, original: kept }
}

fn rel(path: &Path) -> String {
    path.strip_prefix(src()).unwrap_or(path).display().to_string()
}

fn top_module(path: &Path) -> Option<String> {
    let r = path.strip_prefix(src()).ok()?;
    let first = r.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    (name != "lib" && name != "main").then(|| name.to_string())
}

fn has_reason(original: &[String], at: usize) -> bool {
    // The comment sits right above the item, among its doc comments and attributes.
    original[..at]
        .iter()
        .rev()
        .take_while(|l| {
            let t = l.trim_start();
            t.starts_with("//") || t.starts_with("#[") || t.is_empty()
        })
        .any(|l| l.trim_start().starts_with("// house:"))
}

fn fn_name(line: &str) -> Option<&str> {
    let mut words = line.split_whitespace().peekable();
    while let Some(w) = words.next() {
        if w == "fn" {
            return words.next().map(|n| n.split(['(', '<']).next().unwrap_or(n));
        }
        let modifier =
            w.starts_with("pub") || matches!(w, "const" | "async" | "unsafe" | "extern" | "\"C\"" | "default");
        if !modifier {
            return None;
        }
    }
    None
}

#[test]
fn no_file_or_function_is_longer_than_the_house_allows() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut too_long = Vec::new();
    for f in &files {
        let code = read_code(f);
        let file_reason = code.original.iter().any(|l| l.trim_start().starts_with("//! house:"));
        let n = code.lines.len();
        if n > MAX_FILE_LINES && !file_reason {
            too_long.push(format!("{}: {n} lines of code (at most {MAX_FILE_LINES})", rel(f)));
        }
        for (i, l) in code.lines.iter().enumerate() {
            let Some(name) = fn_name(l) else { continue };
            let end = block_end(&code.lines, i);
            let len = end - i;
            if len > MAX_FN_LINES && !has_reason(&code.original, i) {
                too_long.push(format!("{}:{}: fn {name} has {len} lines (at most {MAX_FN_LINES})", rel(f), i + 1));
            }
        }
    }
    assert!(
        too_long.is_empty(),
        "split these into named parts with one job each, or put a one-line `// house: <reason>` \
         above the item (`//! house:` for a file):\n{}",
        too_long.join("\n")
    );
}

/// Top-level modules each file of `src/` names through `crate::`.
fn imports() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let reexports: BTreeMap<&str, &str> = REEXPORTS.iter().copied().collect();
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for f in &files {
        let Some(from) = top_module(f) else { continue };
        let code = read_code(f).lines.join("\n");
        let mut named = BTreeSet::new();
        let mut rest = code.as_str();
        while let Some(p) = rest.find("crate::") {
            let before = rest[..p].chars().last();
            rest = &rest[p + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // e.g. `mail_intake_crate::`
            }
            if let Some(group) = rest.strip_prefix('{') {
                let body = &group[..group.find('}').unwrap_or(group.len())];
                for item in body.split(',') {
                    let id: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    named.insert(id);
                }
            } else {
                named.insert(rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
            }
        }
        for n in named {
            let to = reexports.get(n.as_str()).map_or(n.clone(), |m| m.to_string());
            if !to.is_empty() && to != from {
                graph.entry(from.clone()).or_default().entry(to).or_insert_with(|| rel(f));
            }
        }
    }
    graph
}

#[test]
fn modules_import_only_from_their_layer_or_below_and_never_in_a_circle() {
    let layer: BTreeMap<&str, usize> =
        LAYERS.iter().enumerate().flat_map(|(i, names)| names.iter().map(move |n| (*n, i))).collect();
    let graph = imports();
    let mut problems = Vec::new();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for m in files.iter().filter_map(|f| top_module(f)).collect::<BTreeSet<_>>() {
        if !layer.contains_key(m.as_str()) {
            problems.push(format!("module `{m}` has no layer: add it to LAYERS in tests/house.rs"));
        }
    }
    for (from, tos) in &graph {
        for (to, file) in tos {
            match (layer.get(from.as_str()), layer.get(to.as_str())) {
                (Some(a), Some(b)) if b > a => {
                    problems.push(format!("{file}: `{from}` (layer {a}) imports `{to}` (layer {b}), a higher layer"))
                }
                (_, None) => problems.push(format!("{file}: `crate::{to}` is not a module of LAYERS")),
                _ => {}
            }
        }
    }
    // Circles among modules of the same layer.
    fn reaches(graph: &BTreeMap<String, BTreeMap<String, String>>, from: &str, target: &str) -> bool {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(m) = todo.pop() {
            for next in graph.get(&m).into_iter().flat_map(|t| t.keys()) {
                if next == target {
                    return true;
                }
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        false
    }
    for (from, tos) in &graph {
        for (to, file) in tos {
            if reaches(&graph, to, from) {
                problems.push(format!("{file}: `{from}` imports `{to}`, which imports `{from}` back (a circle)"));
            }
        }
    }
    assert!(problems.is_empty(), "the module graph breaks the house's layers:\n{}", problems.join("\n"));
}

#[test]
fn the_lexer_skips_comments_strings_and_chars() {
    let b = blank("let a = \"{ crate::x }\"; // crate::y {\nlet c = '{'; let r = r#\"}\"#; fn f<'a>() {}");
    assert!(!b.contains("crate::"));
    assert_eq!(b.matches('{').count(), 1);
    assert_eq!(b.matches('}').count(), 1);
    assert_eq!(b.lines().count(), 2);
}
