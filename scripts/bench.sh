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
bash scripts/mailserver/install-if-missing.sh
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)" >&2
exec cargo bench --locked --bench daemon -- "$@"
