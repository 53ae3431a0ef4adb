#!/usr/bin/env bash
# Start a throw-away mail system on 127.0.0.1 for the integration tests:
#   Dovecot 2.3 (IMAP + IMAPS with IDLE, LMTP on a unix socket, SASL for Postfix)
#   Postfix 3.7 (SMTP/STARTTLS, SMTPS, submission) delivering to Dovecot over LMTP.
# All state lives in one fresh temp dir; nothing under /etc is read or written (apart from
# the packages' own files). Needs root (both daemons switch users); no systemd, no syslog.
# Adapted from the verified recipe in ../shared/recipes/mailserver.md (read it for the why).
#
# usage:  start.sh install                 idempotent: apt-get install the packages (root)
#         start.sh [BASE_PORT|auto]        start an instance, print KEY=VALUE lines (eval-able),
#                                          also written to $MAILTEST_DIR/env
#         start.sh resume DIR [dovecot|postfix|all]
#                                          relaunch daemon(s) of an existing instance after
#                                          `stop.sh DIR dovecot|postfix` (same config, same mail)
#
# Ports (BASE default 21000; `auto` = random free base in 20000-32499):
#   BASE+0 IMAP (STARTTLS offered, plaintext LOGIN allowed)   BASE+1 IMAPS
#   BASE+2 SMTP "MX" port: 127.0.0.0/8 may send to local users without AUTH
#   BASE+3 SMTPS (implicit TLS, AUTH required)                BASE+4 submission (STARTTLS + AUTH)
#
# Environment knobs:
#   MAILTEST_ROOT   parent of the instance dir (default /tmp; keep it short: unix socket
#                   paths are limited to 108 bytes)
#   MAIL_USERS      "addr:password addr:password ..." (default: office + 3 schools, see below)
#   MAIL_AUTOCREATE folders created (and subscribed) for every user on first login, with their
#                   SPECIAL-USE flag when the name is Sent/Drafts/Trash/Junk/Archive
#                   (default "Sent"; set to "" to make the client CREATE them itself)
#   MAIL_FOLDERS    instead of MAIL_AUTOCREATE: "name[=FLAG];name[=FLAG];..." where FLAG is a
#                   SPECIAL-USE flag such as \Sent (names may hold spaces and any UTF-8, e.g.
#                   "已发送=\Sent;草稿箱=\Drafts;已删除=\Trash"), each created and subscribed on
#                   first login, with its flag
#   IMAP_CAPABILITY if set, Dovecot's imap_capability (the full list the server advertises,
#                   e.g. to hide IDLE or SPECIAL-USE from the client)
#   SENT_COPY       "addr ..." : mail those users send through Postfix is also delivered into
#                   their own Sent folder (as QQ/163 do with "SMTP发信后保存到服务器"): a
#                   server-side copy made at acceptance, which the daemon uses to tell whether
#                   an interrupted send was accepted
#   WATCH_PID       if set, a watcher stops this instance as soon as that PID is gone
#                   (protects against a test runner killed with SIGKILL)
# Stop with: stop.sh <instance dir>   (printed as MAILTEST_DIR=...)
set -euo pipefail

# cmake and nasm are not the mail server's: the build needs them (libjpeg-turbo, see README),
# and this is the one install step the tests' machines run.
PKGS="dovecot-imapd dovecot-lmtpd postfix openssl cmake nasm"
HERE=$(cd "$(dirname "$0")" && pwd)

# ====================================================================================
# install
# ====================================================================================
if [ "${1:-}" = install ]; then
    [ "$(id -u)" = 0 ] || { echo "start.sh install: must run as root" >&2; exit 1; }
    missing=""
    for p in $PKGS; do
        st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [ "$st" = "install ok installed" ] || missing="$missing $p"
    done
    if [ -z "$missing" ]; then
        echo "mailserver packages already installed: $PKGS"
        exit 0
    fi
    echo "installing:$missing" >&2
    # Keep apt from starting the system-wide daemons (ports 25/143/993, /etc configs) while
    # installing: a temporary policy-rc.d (only if the machine has none) + Postfix's
    # "No configuration" debconf answer (so no /etc/postfix/main.cf is written).
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    # Package lists on a fresh/cached image may be stale or absent: refresh before installing.
    apt-get update -q -o DPkg::Lock::Timeout=600
    # --no-upgrade: do not upgrade any of these that is already installed (e.g. openssl)
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 \
        --no-upgrade --no-install-recommends $PKGS
    exit 0
fi

# ====================================================================================
# helpers shared by a fresh start and `resume`
# ====================================================================================
port_busy() { (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }
range_busy() { local p; for p in $(seq "$1" $(($1 + 4))); do port_busy "$p" && return 0; done; return 1; }
now() { date +%s.%N; }

D=""   # instance dir, set below
fail() {
    echo "ERROR: $*" >&2
    for f in "$D"/dovecot/dovecot.log "$D"/postfix/maillog; do
        if [ -f "$f" ]; then tail -n 20 "$f" >&2; fi
    done
    if [ -n "$D" ] && [ "${RESUMING:-0}" != 1 ]; then
        # a half-made instance: stop whatever started, remove the dir
        if [ -f "$D"/dovecot/dovecot.conf ]; then bash "$HERE"/stop.sh "$D" >&2 || true
        else rm -rf "$D"; fi
    fi
    exit 1
}
wait_for() {  # wait_for <what> <test command...>; 10 s max
    local what=$1; shift
    for _ in $(seq 500); do "$@" && return 0; sleep 0.02; done
    fail "timeout waiting for $what"
}

check_prereqs() {
    local b
    for b in dovecot postfix openssl; do
        command -v $b >/dev/null || { echo "missing $b: run '$0 install' (root)" >&2; exit 1; }
    done
    [ "$(id -u)" = 0 ] || { echo "must run as root (Dovecot/Postfix switch users)" >&2; exit 1; }
    getent passwd dovecot dovenull postfix >/dev/null || { echo "package users missing" >&2; exit 1; }
}

start_dovecot() {   # needs D, IMAP
    # Dovecot refuses to start while the PID in master.pid exists. After `FAST=1 stop.sh`
    # the killed master may still be an unreaped zombie (PID 1 reaps it a little later), so
    # drop a pid file whose process is gone or a zombie; a live master is an error.
    local pidf=$D/dovecot/run/master.pid op stat
    if [ -f "$pidf" ]; then
        op=$(cat "$pidf" 2>/dev/null || true)
        stat=$(cat /proc/"$op"/stat 2>/dev/null || true)
        if [ -n "$op" ] && [ -n "$stat" ] && [ "$(read -r st _ <<< "${stat##*) }"; echo "$st")" != Z ]; then
            fail "dovecot master $op of this instance is still running"
        fi
        rm -f "$pidf"
    fi
    dovecot -c "$D"/dovecot/dovecot.conf >"$D"/dovecot/start.out 2>&1 ||
        { cat "$D"/dovecot/start.out >&2; fail "dovecot did not start"; }
    wait_for "IMAP port" port_busy "$IMAP"   # (TLS ports are bound together with the plain ones;
    wait_for "LMTP socket" test -S "$D"/dovecot/run/lmtp     # probing them only adds log noise)
    wait_for "auth socket" test -S "$D"/dovecot/run/auth-client
}

start_postfix() {   # needs D, SMTP, SUBM
    local P=$D/postfix
    # The postfix(1) command prints errors only to a tty or syslog; maillog_file has them too.
    if [ "${POSTFIX_OFFICIAL_START:-0}" = 1 ]; then
        # official way: postfix-script creates the queue dirs and runs its checks (~1-2 s)
        postfix -c "$P"/etc start >"$P"/start.out 2>&1 ||
            { cat "$P"/start.out >&2; fail "postfix did not start"; }
    else
        # fast way (~0.05 s): create the queue layout of a fresh install ourselves (once) and
        # run master(8) directly; -w returns only after the master initialised successfully.
        if [ ! -d "$P"/spool/active ]; then
            ( cd "$P"/spool &&
              mkdir -m 700 active bounce corrupt defer deferred flush hold incoming private saved trace &&
              mkdir -m 730 maildrop && mkdir -m 710 public && mkdir -m 755 pid &&
              chown postfix:root active bounce corrupt defer deferred flush hold incoming private saved trace &&
              chown postfix:postdrop maildrop public &&
              mkdir -m 700 "$P"/data && chown postfix "$P"/data ) || fail "postfix queue dirs"
        fi
        /usr/lib/postfix/sbin/master -c "$P"/etc -w >"$P"/start.out 2>&1 ||
            { cat "$P"/start.out >&2; fail "postfix master did not start"; }
    fi
    wait_for "SMTP port" port_busy "$SMTP"
    wait_for "submission port" port_busy "$SUBM"
}

# ====================================================================================
# resume DIR [dovecot|postfix|all]: relaunch stopped daemon(s) of an existing instance
# ====================================================================================
if [ "${1:-}" = resume ]; then
    check_prereqs
    D=$(cd "${2:?usage: $0 resume DIR [dovecot|postfix|all]}" && pwd)
    [ -f "$D"/env ] && [ -f "$D"/dovecot/dovecot.conf ] || { echo "$D is not a mailtest dir" >&2; exit 1; }
    RESUMING=1
    IMAP=$(sed -n 's/^IMAP_PORT=//p' "$D"/env)
    SMTP=$(sed -n 's/^SMTP_PORT=//p' "$D"/env)
    SUBM=$(sed -n 's/^SUBMISSION_PORT=//p' "$D"/env)
    what=${3:-all}
    case $what in dovecot|postfix|all) ;; *) echo "unknown daemon '$what'" >&2; exit 2;; esac
    if [ "$what" != postfix ]; then
        if port_busy "$IMAP"; then echo "IMAP port $IMAP busy (dovecot still running?)" >&2; exit 1; fi
        start_dovecot
        echo "DOVECOT_PID=$(cat "$D"/dovecot/run/master.pid)"
    fi
    if [ "$what" != dovecot ]; then
        if port_busy "$SMTP"; then echo "SMTP port $SMTP busy (postfix still running?)" >&2; exit 1; fi
        start_postfix
        echo "POSTFIX_PID=$(head -n1 "$D"/postfix/spool/pid/master.pid | tr -d ' ')"
    fi
    exit 0
fi

# ====================================================================================
# fresh instance
# ====================================================================================
check_prereqs
BASE=${1:-21000}
ROOT=${MAILTEST_ROOT:-/tmp}
if [ "$BASE" = auto ]; then
    # random free base (checked, not reserved: a race is still possible, callers may retry).
    # 20000-32499 stays below the kernel's ephemeral range; a base whose instance dir exists
    # is skipped too (it may be starting right now and not yet listening).
    for _ in $(seq 50); do
        BASE=$((20000 + (RANDOM % 2500) * 5))
        if compgen -G "$ROOT/mt$BASE.*" >/dev/null; then continue; fi
        range_busy $BASE || break
    done
fi
case $BASE in ''|*[!0-9]*) echo "base port must be a number or 'auto'" >&2; exit 2;; esac
if [ "$BASE" -lt 1024 ] || [ "$BASE" -gt 65530 ]; then echo "base port must be 1024..65530" >&2; exit 2; fi
IMAP=$BASE IMAPS=$((BASE + 1)) SMTP=$((BASE + 2)) SMTPS=$((BASE + 3)) SUBM=$((BASE + 4))

for p in $IMAP $IMAPS $SMTP $SMTPS $SUBM; do
    if port_busy "$p"; then echo "port $p on 127.0.0.1 already in use" >&2; exit 1; fi
done

D=$(mktemp -d "$ROOT/mt$BASE.XXXXXX")
chmod 755 "$D"                  # mktemp makes 0700; dovecot/postfix helper users must traverse it
# postfix creates data/ itself (it must be owned by postfix)
mkdir -p "$D"/tls "$D"/dovecot "$D"/mail "$D"/postfix/etc "$D"/postfix/spool
chown dovecot:dovecot "$D"/mail  # mail is stored as user dovecot (uid 0 is refused)

# ---------- TLS: a private CA + a leaf cert for localhost/127.0.0.1 --------------
# (a separate CA:FALSE leaf is what rustls/webpki accept; a bare self-signed CA:TRUE
#  cert used as server cert is rejected by rustls with CaUsedAsEndEntity)
(
  cd "$D"/tls
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -subj "/CN=mailtest CA $BASE" -keyout ca.key -out ca.pem 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -subj "/CN=localhost" -keyout key.pem -out leaf.csr 2>/dev/null
  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" > leaf.ext
  openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile leaf.ext -out cert.pem 2>/dev/null
  chmod 600 ca.key key.pem; chmod 644 ca.pem cert.pem
) || fail "openssl"

# ---------- users --------------------------------------------------------------
MAIL_USERS=${MAIL_USERS:-"office@example.edu.cn:office-pw school1@school1.example.cn:school1-pw school2@school2.example.cn:school2-pw school3@school3.example.cn:school3-pw"}
: > "$D"/dovecot/users; : > "$D"/postfix/etc/vmailbox; : > "$D"/postfix/etc/sender_bcc
for u in ${SENT_COPY:-}; do
    echo "$u ${u%@*}+Sent@${u#*@}" >> "$D"/postfix/etc/sender_bcc
done
domains=""
for up in $MAIL_USERS; do
    u=${up%%:*} pw=${up#*:}
    case $up in *@*.*:*) ;; *) fail "MAIL_USERS entry '$up': need addr@domain:password";; esac
    echo "$u:{PLAIN}$pw::::::" >> "$D"/dovecot/users
    echo "$u OK" >> "$D"/postfix/etc/vmailbox
    dom=${u#*@}; case " $domains " in *" $dom "*) ;; *) domains="$domains $dom";; esac
done
chmod 644 "$D"/dovecot/users      # read by the auth process (user dovecot)

# ---------- folders created on first login -----------------------------------------
# Any client may also CREATE folders (Maildir++: $home/Maildir/.<name>); IMAP keywords are
# stored per mailbox in dovecot-keywords (Maildir allows 26 per mailbox).
folders=""
if [ -n "${MAIL_FOLDERS:-}" ]; then
    IFS=';' read -r -a entries <<< "$MAIL_FOLDERS"
    for e in "${entries[@]}"; do
        [ -n "$e" ] || continue
        name=${e%%=*}; su=""
        case $e in *=*) su="special_use = ${e#*=}";; esac
        name=${name//\\/\\\\}; name=${name//\"/\\\"}
        folders="$folders  mailbox \"$name\" {
    auto = subscribe
    $su
  }
"
    done
    MAIL_AUTOCREATE=""
fi
for f in ${MAIL_AUTOCREATE-Sent}; do
    case $f in Sent|Drafts|Trash|Junk|Archive) su="special_use = \\$f";; *) su="";; esac
    folders="$folders  mailbox $f {
    auto = subscribe
    $su
  }
"
done

# ---------- Dovecot --------------------------------------------------------------
cat > "$D"/dovecot/dovecot.conf <<EOF
# standalone: does not include /etc/dovecot/*
instance_name = mailtest-$BASE
base_dir = $D/dovecot/run
state_dir = $D/dovecot/state
log_path = $D/dovecot/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = yes
ssl_cert = <$D/tls/cert.pem
ssl_key = <$D/tls/key.pem
ssl_dh = </usr/share/dovecot/dh.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
# Maildir: INBOX in ~/Maildir/{cur,new,tmp}, other folders in ~/Maildir/.<name>/ (mUTF-7)
mail_location = maildir:~/Maildir
mail_uid = dovecot
mail_gid = dovecot
first_valid_uid = 1
mail_max_userip_connections = 100
# IDLE is on by default (CAPABILITY lists it); this is only the fallback without inotify
mailbox_idle_check_interval = 1 secs
${IMAP_CAPABILITY:+imap_capability = $IMAP_CAPABILITY}
# user+Folder@domain delivers into Folder (used by SENT_COPY)
recipient_delimiter = +
lmtp_save_to_detail_mailbox = yes
namespace inbox {
  inbox = yes
  separator = /
$folders}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $D/dovecot/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $D/dovecot/users
  default_fields = home=$D/mail/%d/%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS
    ssl = yes
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
service auth {
  unix_listener auth-client {
    mode = 0666
  }
}
# no auth penalty (failed logins from 127.0.0.1 would otherwise be delayed up to 15 s)
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF

# ---------- Postfix ------------------------------------------------------------
P=$D/postfix
cat > "$P"/etc/main.cf <<EOF
compatibility_level = 3.6
queue_directory = $P/spool
data_directory = $P/data
maillog_file = $P/maillog
maillog_file_prefixes = $P
syslog_name = postfix-$BASE
myhostname = mail.example.test
mydomain = example.test
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
biff = no
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
# Dovecot 2.3 LMTP has no SMTPUTF8: with it on, a client's MAIL FROM ... SMTPUTF8 is accepted
# and then bounced asynchronously; off, the client gets a synchronous 555 instead.
# (raw 8-bit UTF-8/GB18030 headers without SMTPUTF8 are delivered either way)
smtputf8_enable = no
virtual_mailbox_domains =$domains
virtual_mailbox_maps = texthash:$P/etc/vmailbox
virtual_transport = lmtp:unix:$D/dovecot/run/lmtp
recipient_delimiter = +
sender_bcc_maps = texthash:$P/etc/sender_bcc
default_transport = error:5.7.1 outside delivery disabled in test MTA
local_transport = error:5.7.1 no local delivery in test MTA
message_size_limit = 52428800
# a delivery deferred while Dovecot is down is retried within 1-2 s
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtpd_error_sleep_time = 0
# smtpd needs Dovecot's auth socket (SASL): while Dovecot is down (restart tests) a new SMTP
# connection makes smtpd exit at startup ("fatal: no SASL authentication mechanisms") and the
# master then throttles the service for service_throttle_time (default 60 s!); 1 s instead
service_throttle_time = 1s
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $D/dovecot/run/auth-client
smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated reject_unauth_destination
smtpd_tls_cert_file = $D/tls/cert.pem
smtpd_tls_key_file = $D/tls/key.pem
smtpd_tls_security_level = may
EOF
cat > "$P"/etc/master.cf <<EOF
127.0.0.1:$SMTP inet n - n - - smtpd
127.0.0.1:$SMTPS inet n - n - - smtpd
  -o smtpd_tls_wrappermode=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
127.0.0.1:$SUBM inet n - n - - smtpd
  -o smtpd_tls_security_level=encrypt
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
pickup    unix  n - n 60    1 pickup
cleanup   unix  n - n -     0 cleanup
qmgr      unix  n - n 300   1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n -     - trivial-rewrite
bounce    unix  - - n -     0 bounce
defer     unix  - - n -     0 bounce
trace     unix  - - n -     0 bounce
verify    unix  - - n -     1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -     - proxymap
showq     unix  n - n -     - showq
error     unix  - - n -     - error
retry     unix  - - n -     - error
discard   unix  - - n -     - discard
lmtp      unix  - - n -     - lmtp
anvil     unix  - - n -     1 anvil
scache    unix  - - n -     1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF

# Postfix re-reads any config/map file whose mtime is within ~1 s of "now" every 0.3 s
# ("pausing to let ... settle down") -> a 1.5-2 s start-up delay; backdate them.
touch -d '-1 min' "$P"/etc/main.cf "$P"/etc/master.cf "$P"/etc/vmailbox "$P"/etc/sender_bcc

# ---------- start ----------------------------------------------------------------
t0=$(now)
start_dovecot
t1=$(now)
start_postfix
t2=$(now)

DOVECOT_PID=$(cat "$D"/dovecot/run/master.pid)
POSTFIX_PID=$(head -n1 "$P"/spool/pid/master.pid | tr -d ' ')

cat > "$D"/env <<EOF
MAILTEST_DIR=$D
IMAP_HOST=127.0.0.1
IMAP_PORT=$IMAP
IMAPS_PORT=$IMAPS
SMTP_PORT=$SMTP
SMTPS_PORT=$SMTPS
SUBMISSION_PORT=$SUBM
TLS_CA_FILE=$D/tls/ca.pem
TLS_SERVER_NAME=localhost
LMTP_SOCKET=$D/dovecot/run/lmtp
MAIL_USERS="$MAIL_USERS"
DOVECOT_PID=$DOVECOT_PID
POSTFIX_PID=$POSTFIX_PID
DOVECOT_START_S=$(awk "BEGIN{printf \"%.3f\", $t1 - $t0}")
POSTFIX_START_S=$(awk "BEGIN{printf \"%.3f\", $t2 - $t1}")
EOF

if [ -n "${WATCH_PID:-}" ]; then
    # setsid: not in the caller's process group/session; stdio on /dev/null so that
    # `eval "$(start.sh auto)"` returns at once
    setsid bash -c 'while kill -0 '"$WATCH_PID"' 2>/dev/null && [ -d "$1" ]; do sleep 1; done
                    [ -d "$1" ] && bash "$2" "$1"' watcher "$D" "$HERE/stop.sh" >/dev/null 2>&1 </dev/null &
    echo "WATCHER_PID=$!" >> "$D"/env
fi
cat "$D"/env
