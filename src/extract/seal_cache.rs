//! What the seal detector said about a file, remembered by the file's SHA-256: schools send
//! the same scan again (spec §8), and `reparse` re-judges every stored mail.
//!
//! Correct by construction: the key is everything the finding depends on — the file's bytes
//! (their SHA-256), the caps that decide how much of it is looked at, this detector's
//! [`VERSION`] and whether scans are read by OCR — and only findings are remembered, never a
//! refusal. The cache lives in the process's memory only, holds at most [`CAPACITY`] findings
//! (a few hundred bytes each; the oldest is forgotten first) and can be switched off
//! (`mail-intake bench` measures with it off).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::pdf_seal::SealFacts;
use crate::limits::Limits;

/// The detector's version: raise it whenever the detector may say something else about the
/// same file.
pub const VERSION: u32 = 2;
/// Findings remembered.
pub const CAPACITY: usize = 4096;

/// Everything a finding depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    sha256: String,
    max_decompressed: u64,
    max_pdf_pages: usize,
    version: u32,
    ocr: bool,
}

impl Key {
    pub fn new(sha256: &str, limits: &Limits) -> Key {
        Key {
            sha256: sha256.to_string(),
            max_decompressed: limits.max_decompressed_bytes,
            max_pdf_pages: limits.max_pdf_pages,
            version: VERSION,
            ocr: cfg!(feature = "ocr"),
        }
    }
}

#[derive(Default)]
struct Store {
    map: HashMap<Key, SealFacts>,
    order: VecDeque<Key>,
}

static STORE: Mutex<Option<Store>> = Mutex::new(None);
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Switches the cache on or off (off: nothing is looked up or remembered).
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// The finding remembered for `key`, if any.
pub fn get(key: &Key) -> Option<SealFacts> {
    if !ENABLED.load(Ordering::Relaxed) {
        return None;
    }
    let store = STORE.lock().unwrap_or_else(|e| e.into_inner());
    store.as_ref().and_then(|s| s.map.get(key).cloned())
}

/// Remembers the finding for `key`, forgetting the oldest past [`CAPACITY`].
pub fn put(key: Key, facts: &SealFacts) {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let mut guard = STORE.lock().unwrap_or_else(|e| e.into_inner());
    let store = guard.get_or_insert_with(Store::default);
    if store.map.insert(key.clone(), facts.clone()).is_none() {
        store.order.push_back(key);
    }
    while store.order.len() > CAPACITY {
        if let Some(old) = store.order.pop_front() {
            store.map.remove(&old);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Seal;

    #[test]
    fn a_finding_is_found_again_only_under_the_same_key_and_the_oldest_goes_first() {
        let limits = Limits::default();
        let facts = SealFacts { seal: Some(Seal::Found), blank_pages: 1, ..SealFacts::default() };
        let key = Key::new("test-cache-a", &limits);
        put(key.clone(), &facts);
        assert_eq!(get(&key), Some(facts.clone()));
        let fewer_pages = Limits { max_pdf_pages: 1, ..Limits::default() };
        assert_eq!(get(&Key::new("test-cache-a", &fewer_pages)), None);
        assert_eq!(get(&Key { version: VERSION + 1, ..key.clone() }), None);
        for k in 0..CAPACITY {
            put(Key::new(&format!("test-cache-fill-{k}"), &limits), &facts);
        }
        assert_eq!(get(&key), None, "the oldest finding is forgotten");
    }
}
