#!/usr/bin/env bash
# The daemon benchmark (see BENCHMARKS.md): starts its own Dovecot + Postfix on loopback,
# runs the release mail-intake against them and prints one table.
#
#   scripts/bench.sh                      # 200 latency mails, 2 000-mail backlog, 50 MB mail
#   scripts/bench.sh --mails 10000        # the large backlog
#   scripts/bench.sh --only backlog --mails 500
#
# Needs root and the packages (`scripts/mailserver/start.sh install` installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v dovecot >/dev/null 2>&1 || ! [ -x /usr/sbin/postfix ]; then
    if [ "$(id -u)" = 0 ]; then
        bash scripts/mailserver/start.sh install
    else
        echo "Dovecot/Postfix are missing: run 'sudo bash scripts/mailserver/start.sh install' once." >&2
        exit 1
    fi
fi
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)" >&2
exec cargo bench --locked --bench daemon -- "$@"
