#!/usr/bin/env bash
# Capturing SMTP server (smtp_sink.py, python3-aiosmtpd) for the ssprd delivery tests.
#
# Usage: smtp.sh setup|start|stop|status DIR
#   setup   create a fresh instance in DIR (wipes an earlier instance in DIR) and
#           write DIR/smtp.env (KEY=VALUE lines for the test environment file)
#   start   start it (again); captured mail in DIR survives stop/start
#   stop    stop the recorded server process; waits until it is gone and its
#           ports are closed; safe to call when nothing runs
#   status  exit 0 if running, 3 if not
#
# Environment at setup time (stored in DIR, later calls need only DIR):
#   SSPR_SMTP_PORT      SMTP with required STARTTLS + AUTH on 127.0.0.1 (default 38925)
#   SSPR_SMTP_TLS_PORT  SMTP over implicit TLS on 127.0.0.1, AUTH optional (default 38465)
#   SSPR_TEST_CA_DIR    existing CA (certs.sh) to issue the server cert from;
#                       default: a private CA in DIR/ca
#   SSPR_TESTENV_MAX_RUNTIME  seconds before the server is stopped by `timeout`
#                       as a safety net against leaked servers (default 7200)
#
# smtp.env: SSPR_SMTP_HOST SSPR_SMTP_PORT SSPR_SMTP_TLS_PORT SSPR_SMTP_MAILDIR
# SSPR_SMTP_USER SSPR_SMTP_PASSWORD_FILE (the CA is SSPR_TEST_CA_DIR/ca.crt).
# Each accepted message is one file DIR/maildir/*.eml. Recipients tempfail*@…
# get 451 on their first RCPT, reject*@… always 550 (see smtp_sink.py).
set -euo pipefail
TESTENV_PROG=smtp.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/testenv/lib.sh
. "$HERE/lib.sh"

MARKER=.sspr-testenv-smtp
PYTHON=/usr/bin/python3 # Debian's, which has python3-aiosmtpd (not a pyenv shim)
SINK=$HERE/smtp_sink.py
HOST=127.0.0.1
USER_NAME=sspr-mailer

usage() {
    sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

load_instance() {
    [[ -f $D/instance.env && -e $D/$MARKER ]] || die "$D is not an SMTP test instance (run: smtp.sh setup $D)"
    # shellcheck source=/dev/null
    . "$D/instance.env"
}

# write_env_file FILE LINE...: values unquoted, so none may hold shell syntax
# (the same rule as testenv.env; see README.md).
write_env_file() {
    local file=$1 line value
    shift
    for line in "$@"; do
        value=${line#*=}
        if [[ -z $value || $value =~ [[:space:]\"\'\`\$\\\;\&\|\<\>\(\)\{\}\*\?\[\]] ]]; then
            die "value for ${line%%=*} cannot be written unquoted: '$value'"
        fi
    done
    printf '%s\n' "$@" >"$file.tmp"
    mv "$file.tmp" "$file"
}

cmd_setup() {
    local port=${SSPR_SMTP_PORT:-38925} sport=${SSPR_SMTP_TLS_PORT:-38465} cadir
    [[ $port =~ ^[0-9]+$ && $sport =~ ^[0-9]+$ ]] || die "SSPR_SMTP_PORT/SSPR_SMTP_TLS_PORT must be numbers"
    [[ $port != "$sport" ]] || die "SSPR_SMTP_PORT and SSPR_SMTP_TLS_PORT must differ"
    [[ -x $PYTHON ]] || die "$PYTHON not found (run scripts/install-deps)"
    "$PYTHON" -c 'import aiosmtpd' 2>/dev/null ||
        die "python3-aiosmtpd is missing for $PYTHON (run scripts/install-deps, or apt-get install python3-aiosmtpd)"
    if pidfile_alive "$D/launch.pid" || pidfile_alive "$D/server.pid"; then
        die "the SMTP sink in $D is running; run: smtp.sh stop $D"
    fi
    prepare_instance_dir "$D" "$MARKER"
    mkdir -p "$D/maildir" "$D/spool-tmp" "$D/tls"

    cadir=${SSPR_TEST_CA_DIR:-$D/ca}
    "$HERE/certs.sh" ca "$cadir"
    "$HERE/certs.sh" server "$cadir" "$D/tls" "IP:127.0.0.1,DNS:localhost"
    write_secret "$D/smtp.pw" "$(random_password Mail)"

    cat >"$D/instance.env" <<EOF
SMTP_PORT=$port
SMTP_TLS_PORT=$sport
SMTP_CA=$D/tls/ca.crt
SMTP_MAX_RUNTIME=${SSPR_TESTENV_MAX_RUNTIME:-7200}
EOF
    write_env_file "$D/smtp.env" \
        "SSPR_SMTP_HOST=$HOST" \
        "SSPR_SMTP_PORT=$port" \
        "SSPR_SMTP_TLS_PORT=$sport" \
        "SSPR_SMTP_MAILDIR=$D/maildir" \
        "SSPR_SMTP_USER=$USER_NAME" \
        "SSPR_SMTP_PASSWORD_FILE=$D/smtp.pw"
    log "set up SMTP sink instance in $D"
}

probe() {
    "$PYTHON" "$SINK" probe --host "$HOST" --port "$SMTP_PORT" --tls-port "$SMTP_TLS_PORT" \
        --ca "$SMTP_CA" 2>/dev/null
}

cmd_start() {
    local lpid
    load_instance
    if pidfile_alive "$D/server.pid" || pidfile_alive "$D/launch.pid"; then
        log "SMTP sink in $D already running"
        return 0
    fi
    check_ports_free "$HOST" "$SMTP_PORT" "$SMTP_TLS_PORT"
    rm -f "$D/sink.pid" "$D/server.pid" "$D/launch.pid"
    # Bare command + "&" so $! is `timeout` itself: it forwards SIGTERM to the
    # sink, and ends it after SMTP_MAX_RUNTIME if a test run leaks it.
    timeout "$SMTP_MAX_RUNTIME" "$PYTHON" "$SINK" serve --host "$HOST" \
        --port "$SMTP_PORT" --tls-port "$SMTP_TLS_PORT" \
        --cert "$D/tls/server.crt" --key "$D/tls/server.key" \
        --maildir "$D/maildir" --tmpdir "$D/spool-tmp" \
        --user "$USER_NAME" --password-file "$D/smtp.pw" --pidfile "$D/sink.pid" \
        </dev/null >>"$D/smtp.log" 2>&1 8>&- &
    lpid=$!
    record_pid "$D/launch.pid" "$lpid"

    await_server "SMTP sink" "$D/sink.pid" "$D/smtp.log" "$HOST:$SMTP_PORT (STARTTLS) $HOST:$SMTP_TLS_PORT (TLS)"
}

cmd_stop() {
    if [[ ! -f $D/instance.env ]]; then
        log "no SMTP sink instance in $D; nothing to stop"
        return 0
    fi
    load_instance
    stop_recorded_server "SMTP sink" "$D/sink.pid" 15 "$HOST" "$SMTP_PORT $SMTP_TLS_PORT"
}

cmd_status() {
    if [[ -f $D/instance.env ]]; then
        load_instance
        if pidfile_alive "$D/server.pid" || pidfile_alive "$D/launch.pid"; then
            echo "SMTP sink running in $D: $HOST:$SMTP_PORT (STARTTLS+AUTH) $HOST:$SMTP_TLS_PORT (TLS) (pid $(cut -d' ' -f1 "$D/server.pid" 2>/dev/null || echo ?))"
            return 0
        fi
    fi
    echo "SMTP sink not running in $D"
    return 3
}

testenv_main "$@"
