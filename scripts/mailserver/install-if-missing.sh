#!/usr/bin/env bash
# Installs Dovecot and Postfix when they are missing (Debian/Ubuntu; needs root), for
# scripts/test.sh and scripts/bench.sh. Exits 1, saying what to run, when they are missing
# and this is not root.
set -euo pipefail
cd "$(dirname "$0")/../.."
if command -v dovecot >/dev/null 2>&1 && [ -x /usr/sbin/postfix ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ]; then
    exec bash scripts/mailserver/start.sh install
fi
echo "Dovecot/Postfix are missing: run 'sudo bash scripts/mailserver/start.sh install' once." >&2
exit 1
