#!/usr/bin/env bash
# Measures the web view on a large store (BENCHMARKS.md, "Web view"): N mails (default
# 10 000) made from the demo's samples, spread over the roster's schools, judged by the daemon
# from a Maildir (no mail server); plus one mail with a 60 MB attachment. Then every page is
# fetched R times (median printed) and the 60 MB attachment is downloaded while the server's
# peak memory (VmHWM) is read before and after.
#
#   bash scripts/web-bench.sh [N] [BINARY]     (BINARY: target/release/mail-intake by default)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
BIN=${2:-target/release/mail-intake}
R=${R:-5}
WORK=${WORK:-var/web-bench}
[ -x "$BIN" ] || { echo "build $BIN first (cargo build --release)" >&2; exit 2; }

if [ ! -f "$WORK/store.sqlite3" ]; then
    rm -rf "$WORK"
    mkdir -p "$WORK/inbox/cur" "$WORK/inbox/new" "$WORK/inbox/tmp" "$WORK/outbox"
    python3 scripts/web-bench-mails.py "$N" "$WORK/inbox/cur"
    cat > "$WORK/mail-intake.toml" <<TOML
[maildir]
path = "inbox"
[outbox_dir]
path = "outbox"
from = "省学分银行 <office@example.edu.cn>"
[store]
path = "store.sqlite3"
[reply]
reply_since = "2023-01-01"
max_per_sender_per_day = 1000000
[web]
listen = "127.0.0.1:0"
[[web.users]]
name = "bench"
role = "admin"
password_hash = "$(printf bench | "$BIN" web hash-password)"
TOML
    start=$(date +%s)
    "$BIN" run -c "$WORK/mail-intake.toml" --once
    echo "store filled in $(( $(date +%s) - start )) s"
fi

RUST_LOG=${RUST_LOG:-info,mail_intake::web=debug} "$BIN" web -c "$WORK/mail-intake.toml" --listen 127.0.0.1:0 > "$WORK/web.out" 2> "$WORK/web.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q http "$WORK/web.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://[0-9.:]*' "$WORK/web.out" | head -1)
JAR="$WORK/cookies"
rm -f "$JAR"
TOKEN=$(curl -s -c "$JAR" -b "$JAR" "$URL/login" | grep -o 'name="csrf" value="[0-9a-f]*"' | grep -o '[0-9a-f]\{64\}')
curl -s -o /dev/null -c "$JAR" -b "$JAR" -d "csrf=$TOKEN&user=bench&password=bench&next=/" "$URL/login"

BIG=$(sqlite3 "$WORK/store.sqlite3" "SELECT message FROM raw_messages ORDER BY length(raw) DESC LIMIT 1")
HOLD=$(sqlite3 "$WORK/store.sqlite3" "SELECT message FROM verdicts WHERE decision='hold' LIMIT 1")
DOSSIER=$(sqlite3 "$WORK/store.sqlite3" "SELECT id FROM dossiers ORDER BY id DESC LIMIT 1")
MAIL=$(sqlite3 "$WORK/store.sqlite3" "SELECT message FROM verdicts WHERE decision='acknowledge' ORDER BY message DESC LIMIT 1")
echo "messages: $(sqlite3 "$WORK/store.sqlite3" 'SELECT count(*) FROM messages') · submissions: $(sqlite3 "$WORK/store.sqlite3" 'SELECT count(*) FROM dossiers')"
# The big mail's page as the first request after start-up (its skeleton may still be in the
# making in the background), then with the others.
first=$(curl -s -o /dev/null -w '%{time_total}' -b "$JAR" "$URL/mails/$BIG")
echo "first view of the big mail #$BIG right after start-up: $first s"
printf '%-44s %10s %10s\n' page "median ms" "bytes"
for p in / /schools "/schools/%E6%98%86%E6%98%8E%E5%AD%A6%E9%99%A2" /submissions "/submissions?page=20" "/submissions/$DOSSIER" \
         /mails "/mails?page=100" "/mails?view=hold" "/mails/$MAIL" "/mails/$HOLD" "/mails/$BIG" /export "/actions/$MAIL/resend"; do
    times=()
    for _ in $(seq "$R"); do
        t=$(curl -s -o "$WORK/page.html" -w '%{time_total}' -b "$JAR" "$URL$p")
        times+=("$t")
    done
    med=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]*1000}')
    printf '%-44s %10s %10s\n' "$p" "$med" "$(wc -c < "$WORK/page.html")"
done
hwm() { awk '/VmHWM/ {print $2}' "/proc/$PID/status"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }
echo "server memory before the big downloads: VmRSS $(rss) kB, peak $(hwm) kB"
for what in "raw:/mails/$BIG/raw" "attachment:/mails/$BIG/files/1"; do
    t=$(curl -s -o "$WORK/big.bin" -w '%{time_total} %{size_download}' -b "$JAR" "$URL${what#*:}")
    echo "${what%%:*} of #$BIG: $t (s, bytes); server VmRSS $(rss) kB, peak $(hwm) kB"
done
t=$(curl -s -o "$WORK/register.xlsx" -w '%{time_total} %{size_download}' -b "$JAR" "$URL/export/register.xlsx")
echo "register.xlsx: $t (s, bytes); peak $(hwm) kB"

# The overview right after a commit by another connection (the digest must be recomputed):
# at once (the page computes it, or waits for the background's computation), and 1 s later
# (the background has recomputed it).
STORE="$WORK/store.sqlite3"
for i in 1 2 3; do
    sqlite3 "$STORE" "INSERT OR REPLACE INTO state (key, value) VALUES ('web-bench', '$i-$RANDOM')"
    now=$(curl -s -o /dev/null -w '%{time_total}' -b "$JAR" "$URL/")
    sleep 1
    later=$(curl -s -o /dev/null -w '%{time_total}' -b "$JAR" "$URL/")
    echo "overview after a commit: at once $(awk "BEGIN {printf \"%.1f\", $now*1000}") ms, 1 s later $(awk "BEGIN {printf \"%.1f\", $later*1000}") ms"
done
grep -o 'overview digest computed.*' "$WORK/web.log" | tail -5 || true

# Re-judging one mail from the web (a confirmed POST, as a clerk does): the time until the
# mail's page is shown again.
CSRF=$(curl -s -b "$JAR" "$URL/mails/$MAIL" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | grep -o '[0-9a-f]\{64\}')
t=$(curl -s -o /dev/null -w '%{time_total}' -b "$JAR" -d "csrf=$CSRF" "$URL/actions/$MAIL/rejudge")
echo "re-judge #$MAIL from the web: $t s; $(grep -o 're-judged with its submissions.*' "$WORK/web.log" | tail -1)"
