//! Runs a reader the way production does — under `catch_unwind`, as `extract::extract` runs
//! every reader — so that a panic inside a dependency (mail-parser, calamine, lopdf, cfb, zip, quick-xml)
//! is counted and printed but does not stop the run, while a panic in mail-intake's own code
//! still aborts as a finding.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

static HOOK: Once = Once::new();
static CONTAINED: AtomicUsize = AtomicUsize::new(0);

/// `f()`, or `None` when it panicked inside a dependency.
pub fn contained<T>(f: impl FnOnce() -> T) -> Option<T> {
    HOOK.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Crates from the registry, and the ones patched in `vendor/` (mail-parser).
            let in_dependency = info
                .location()
                .is_some_and(|l| l.file().contains("/.cargo/registry/") || l.file().contains("/vendor/"));
            if in_dependency {
                let n = CONTAINED.fetch_add(1, Ordering::Relaxed) + 1;
                if n <= 20 || n.is_power_of_two() {
                    eprintln!("contained panic #{n} in a dependency: {info}");
                }
            } else {
                fuzzer_hook(info);
            }
        }));
    });
    catch_unwind(AssertUnwindSafe(f)).ok()
}
