#!/usr/bin/env bash
# HTTPS receiver standing in for an SMS provider (webhook_sink.py) for the ssprd delivery tests.
#
# Usage: webhook.sh setup|start|stop|status DIR
#   setup   create a fresh instance in DIR (wipes an earlier instance in DIR) and
#           write DIR/webhook.env (KEY=VALUE lines for the test environment file)
#   start   start it (again); recorded requests in DIR survive stop/start
#   stop    stop the recorded server process; waits until it is gone and its
#           port is closed; safe to call when nothing runs
#   status  exit 0 if running, 3 if not
#
# Environment at setup time (stored in DIR, later calls need only DIR):
#   SSPR_WEBHOOK_PORT   HTTPS port on 127.0.0.1 (default 38443)
#   SSPR_TEST_CA_DIR    existing CA (certs.sh) to issue the server cert from;
#                       default: a private CA in DIR/ca
#   SSPR_TESTENV_MAX_RUNTIME  seconds before the server is stopped by `timeout`
#                       as a safety net against leaked servers (default 7200)
#
# webhook.env: SSPR_WEBHOOK_URL (https://127.0.0.1:PORT/sms) SSPR_WEBHOOK_DIR
# SSPR_WEBHOOK_TOKEN_FILE (the CA is SSPR_TEST_CA_DIR/ca.crt). Each request is
# one file DIR/requests/*.json. Paths below /sms/ fail on purpose:
# fail-once/<name> 500 then 200, unavailable/<name> 503, reject/<name> 400
# (see webhook_sink.py).
set -euo pipefail
TESTENV_PROG=webhook.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/testenv/lib.sh
. "$HERE/lib.sh"

MARKER=.sspr-testenv-webhook
PYTHON=/usr/bin/python3
SINK=$HERE/webhook_sink.py
HOST=127.0.0.1

usage() {
    sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

load_instance() {
    [[ -f $D/instance.env && -e $D/$MARKER ]] || die "$D is not a webhook test instance (run: webhook.sh setup $D)"
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
    local port=${SSPR_WEBHOOK_PORT:-38443} cadir
    [[ $port =~ ^[0-9]+$ ]] || die "SSPR_WEBHOOK_PORT must be a number"
    [[ -x $PYTHON ]] || die "$PYTHON not found (run scripts/install-deps)"
    if pidfile_alive "$D/launch.pid" || pidfile_alive "$D/server.pid"; then
        die "the webhook receiver in $D is running; run: webhook.sh stop $D"
    fi
    prepare_instance_dir "$D" "$MARKER"
    mkdir -p "$D/requests" "$D/spool-tmp" "$D/tls"

    cadir=${SSPR_TEST_CA_DIR:-$D/ca}
    "$HERE/certs.sh" ca "$cadir"
    "$HERE/certs.sh" server "$cadir" "$D/tls" "IP:127.0.0.1,DNS:localhost"
    write_secret "$D/webhook.token" "$(openssl rand -hex 24)"

    cat >"$D/instance.env" <<EOF
WEBHOOK_PORT=$port
WEBHOOK_CA=$D/tls/ca.crt
WEBHOOK_MAX_RUNTIME=${SSPR_TESTENV_MAX_RUNTIME:-7200}
EOF
    write_env_file "$D/webhook.env" \
        "SSPR_WEBHOOK_URL=https://$HOST:$port/sms" \
        "SSPR_WEBHOOK_DIR=$D/requests" \
        "SSPR_WEBHOOK_TOKEN_FILE=$D/webhook.token"
    log "set up webhook receiver instance in $D"
}

probe() {
    "$PYTHON" "$SINK" probe --host "$HOST" --port "$WEBHOOK_PORT" --ca "$WEBHOOK_CA" 2>/dev/null
}

cmd_start() {
    local lpid
    load_instance
    if pidfile_alive "$D/server.pid" || pidfile_alive "$D/launch.pid"; then
        log "webhook receiver in $D already running"
        return 0
    fi
    check_ports_free "$HOST" "$WEBHOOK_PORT"
    rm -f "$D/sink.pid" "$D/server.pid" "$D/launch.pid"
    # Bare command + "&" so $! is `timeout` itself: it forwards SIGTERM to the
    # receiver, and ends it after WEBHOOK_MAX_RUNTIME if a test run leaks it.
    timeout "$WEBHOOK_MAX_RUNTIME" "$PYTHON" "$SINK" serve --host "$HOST" --port "$WEBHOOK_PORT" \
        --cert "$D/tls/server.crt" --key "$D/tls/server.key" \
        --dir "$D/requests" --tmpdir "$D/spool-tmp" \
        --token-file "$D/webhook.token" --pidfile "$D/sink.pid" \
        </dev/null >>"$D/webhook.log" 2>&1 8>&- &
    lpid=$!
    record_pid "$D/launch.pid" "$lpid"

    await_server "webhook receiver" "$D/sink.pid" "$D/webhook.log" "https://$HOST:$WEBHOOK_PORT/"
}

cmd_stop() {
    if [[ ! -f $D/instance.env ]]; then
        log "no webhook receiver instance in $D; nothing to stop"
        return 0
    fi
    load_instance
    stop_recorded_server "webhook receiver" "$D/sink.pid" 15 "$HOST" "$WEBHOOK_PORT"
}

cmd_status() {
    if [[ -f $D/instance.env ]]; then
        load_instance
        if pidfile_alive "$D/server.pid" || pidfile_alive "$D/launch.pid"; then
            echo "webhook receiver running in $D: https://$HOST:$WEBHOOK_PORT/ (pid $(cut -d' ' -f1 "$D/server.pid" 2>/dev/null || echo ?))"
            return 0
        fi
    fi
    echo "webhook receiver not running in $D"
    return 3
}

testenv_main "$@"
