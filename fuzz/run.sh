#!/usr/bin/env bash
# Writes the seed corpus, then runs every fuzz target for SECONDS (default 600) each, one at a
# time; logs go to fuzz/artifacts/<target>.log. Not part of .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
cargo test --test integration write_fuzz_seed_corpus -- --ignored --quiet
cd fuzz
mkdir -p artifacts
for t in ${TARGETS:-judge subject header docx sheet pdf doc}; do
    echo "== $t (${secs}s)"
    RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=30 -rss_limit_mb=2560 -print_final_stats=1 \
        >"artifacts/$t.log" 2>&1 || echo "   $t stopped with a finding: see artifacts/$t.log"
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "artifacts/$t.log" || true
done
