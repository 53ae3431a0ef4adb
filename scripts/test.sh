#!/usr/bin/env bash
# Runs every check and test of mail-intake: rustfmt and clippy (-D warnings), unit tests, the labelled samples and the corpus (when
# ../shared is present), and the integration tests against a real Dovecot and Postfix
# started on loopback by scripts/mailserver/start.sh.
#
# Installs Dovecot/Postfix first when they are missing (Debian/Ubuntu; needs root).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dovecot >/dev/null 2>&1 || ! [ -x /usr/sbin/postfix ]; then
    if [ "$(id -u)" = 0 ]; then
        bash scripts/mailserver/start.sh install
    else
        echo "Dovecot/Postfix are missing: run 'sudo bash scripts/mailserver/start.sh install' once." >&2
    fi
fi

# The checks CI does not forgive: formatting and every clippy lint, before the tests.
if [ "$#" = 0 ]; then
    cargo fmt --check
    cargo clippy --locked --all-targets -- -D warnings
fi
exec cargo test --locked "$@"
