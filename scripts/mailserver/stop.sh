#!/usr/bin/env bash
# Stop a mail system started by start.sh and delete its directory.
# usage: stop.sh <MAILTEST_DIR>                    stop both daemons, delete the dir
#        stop.sh <MAILTEST_DIR> dovecot|postfix    stop only that daemon, keep the dir
#                                                  (bring it back with `start.sh resume DIR ...`)
# Environment knobs:
#   KEEP=1 keep the dir (logs, maildirs); FAST=1 SIGKILL at once (~0.3 s instead of ~2-3 s);
#   GRACE=N seconds to wait after SIGTERM before SIGKILL (default 10)
# Only processes of that instance are touched: the two master PIDs from its pid files
# (identity checked against /proc) and the processes in their sessions (both masters
# call setsid(), so every child carries the master's PID as its session id).
# No pkill/killall by name: other instances (and other users' servers) stay untouched.
set -euo pipefail
D=${1:?usage: $0 MAILTEST_DIR [dovecot|postfix]}
D=$(cd "$D" 2>/dev/null && pwd) || { echo "no such dir: $1" >&2; exit 1; }
[ -f "$D"/dovecot/dovecot.conf ] || { echo "$D is not a mailtest dir" >&2; exit 1; }
ONLY=${2:-}
case $ONLY in ''|dovecot|postfix) ;; *) echo "unknown daemon '$ONLY'" >&2; exit 2;; esac

# proc_has PID FILE STRING: /proc/PID/FILE (cmdline or environ) has STRING as one of its
# NUL-separated entries, or inside one when SUBSTR=1 (no pipe into grep -q: with pipefail an
# early grep exit could turn a match into a failure)
proc_has() {
    local lines
    lines=$(tr '\0' '\n' 2>/dev/null < /proc/"$1"/"$2") || return 1
    if [ "${SUBSTR:-0}" = 1 ]; then grep -qF -- "$3" <<< "$lines"; else grep -qxF -- "$3" <<< "$lines"; fi
}

masters=()
if [ "$ONLY" != postfix ]; then
    dp=$(cat "$D"/dovecot/run/master.pid 2>/dev/null || true)
    if [ -n "$dp" ] && SUBSTR=1 proc_has "$dp" cmdline "$D/dovecot/dovecot.conf"; then
        masters+=("$dp")
    fi
fi
if [ "$ONLY" != dovecot ]; then
    pp=$(head -n1 "$D"/postfix/spool/pid/master.pid 2>/dev/null | tr -d ' ' || true)
    # master started as "master -c DIR" has DIR in argv; via "postfix -c DIR start" it has
    # MAIL_CONFIG=DIR in its environment
    if [ -n "$pp" ] && { proc_has "$pp" cmdline "$D/postfix/etc" ||
                         proc_has "$pp" environ "MAIL_CONFIG=$D/postfix/etc"; }; then
        masters+=("$pp")
    fi
fi

session_members() {  # PIDs whose session id is $1 (zombies excluded: they are gone already)
    local sid=$1 f stat rest st s
    for f in /proc/[0-9]*/stat; do
        read -r stat 2>/dev/null < "$f" || continue
        rest=${stat##*) }                      # drop "pid (comm) "; then: state ppid pgrp session ...
        read -r st _ _ s _ <<< "$rest"
        if [ "$s" = "$sid" ] && [ "$st" != Z ]; then f=${f#/proc/}; echo "${f%/stat}"; fi
    done
    return 0
}

if [ "${FAST:-0}" != 1 ]; then
    for m in "${masters[@]}"; do kill -TERM "$m" 2>/dev/null || true; done
    # graceful: up to GRACE s (dovecot needs ~2 s, postfix ~1.5 s; they stop in parallel)
    for _ in $(seq $((${GRACE:-10} * 20))); do
        alive=0
        for m in "${masters[@]}"; do if kill -0 "$m" 2>/dev/null; then alive=1; fi; done
        [ $alive = 0 ] && break
        sleep 0.05
    done
fi
# whatever is left in the instances' sessions (everything, with FAST=1)
for m in "${masters[@]}"; do
    for p in $(session_members "$m"); do kill -KILL "$p" 2>/dev/null || true; done
done
for m in "${masters[@]}"; do
    for _ in $(seq 100); do [ -z "$(session_members "$m")" ] && break; sleep 0.05; done
done

left=""
for m in "${masters[@]}"; do left="$left$(session_members "$m" | tr '\n' ' ')"; done
if [ -n "${left// /}" ]; then echo "still running: $left" >&2; exit 1; fi

if [ -n "$ONLY" ]; then
    # one daemon only: its listening ports are closed once its session is empty
    echo "stopped $ONLY ${masters[*]:-(was not running)}; kept $D"
    exit 0
fi

# the optional WATCH_PID watcher (unless we are it)
wp=$(sed -n 's/^WATCHER_PID=//p' "$D"/env 2>/dev/null || true)
if [ -n "$wp" ] && [ "$wp" != "$$" ] && [ "$wp" != "$PPID" ] &&
   proc_has "$wp" cmdline "$D"; then
    kill -TERM "$wp" 2>/dev/null || true
fi

if [ "${KEEP:-0}" = 1 ]; then echo "stopped ${masters[*]:-nothing}; kept $D"
else rm -rf "$D"; echo "stopped ${masters[*]:-nothing}; removed $D"; fi
