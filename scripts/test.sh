#!/usr/bin/env bash
# Runs every check and test of mail-intake: rustfmt and clippy (-D warnings), unit tests, the labelled samples and the corpus (when
# ../shared is present), and the integration tests against a real Dovecot and Postfix
# started on loopback by scripts/mailserver/start.sh.
#
# Installs Dovecot/Postfix first when they are missing (Debian/Ubuntu; needs root).
set -euo pipefail
cd "$(dirname "$0")/.."

# Without them the integration tests say loudly that they skipped (and fail under CI).
bash scripts/mailserver/install-if-missing.sh || true

# The checks CI does not forgive: formatting and every clippy lint, before the tests.
if [ "$#" = 0 ]; then
    cargo fmt --check
    cargo clippy --locked --all-targets -- -D warnings
fi
cargo test --locked "$@"

# The optional features, in one more build: OCR of scans (`ocr`, needs Tesseract's Simplified
# Chinese model) and libjpeg-turbo decoding (`turbojpeg`, needs cmake and nasm to build).
features=()
command -v tesseract >/dev/null 2>&1 && features+=(ocr)
command -v cmake >/dev/null 2>&1 && command -v nasm >/dev/null 2>&1 && features+=(turbojpeg)
if [ "$#" = 0 ] && [ "${#features[@]}" -gt 0 ]; then
    list=$(IFS=,; echo "${features[*]}")
    cargo clippy --locked --all-targets --features "$list" -- -D warnings
    cargo test --locked --features "$list" --lib extract::
    cargo test --locked --features "$list" --test integration seals::
fi
