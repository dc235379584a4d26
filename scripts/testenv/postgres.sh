#!/usr/bin/env bash
# Private PostgreSQL 15 instance for the ssprd store tests.
#
# Usage: postgres.sh setup|start|stop|status DIR
#   setup   create a fresh cluster in DIR (wipes an earlier instance in DIR)
#           with the role and database ssprd, and write DIR/postgres.env
#   start   start it (again); data in DIR survives stop/start
#   stop    fast shutdown (open client connections are cut, as in an outage)
#           of the recorded server; waits until it is gone and its port is
#           closed; safe to call when nothing runs
#   status  exit 0 if running, 3 if not
#
# Environment at setup time (stored in DIR, later calls need only DIR):
#   SSPR_PG_PORT      TCP port on 127.0.0.1 (default 54320)
#   SSPR_TESTENV_MAX_RUNTIME  seconds before the server is stopped by
#                     `timeout` as a safety net against leaked servers
#                     (default 7200)
#
# PostgreSQL refuses to run as root: when called by root, initdb and the
# server run as the `postgres` user, which must be able to reach DIR (search
# permission on every parent directory; mktemp -d makes 0700 directories, so
# `chmod o+x` the one above DIR). Otherwise everything runs as the caller.
#
# TCP only on 127.0.0.1, password (scram-sha-256) login as ssprd, password in
# DIR/ssprd.pw (mode 0600, no trailing newline). The superuser `postgres`
# connects only through the unix socket in DIR/run (mode 0700, trust), e.g.
#   psql -h DIR/run -p PORT -U postgres ssprd
# fsync is off: the data is disposable and the tests kill clients, never the
# server.
#
# DIR/postgres.env holds KEY=VALUE lines (unquoted, shell-safe), for the
# test environment file: SSPR_PG_HOST SSPR_PG_PORT SSPR_PG_DATABASE
# SSPR_PG_USER SSPR_PG_PASSWORD_FILE SSPR_PG_DIR SSPR_PG_CTL
set -euo pipefail
TESTENV_PROG=postgres.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/testenv/lib.sh
. "$HERE/lib.sh"

MARKER=.sspr-testenv-postgres
PG_BIN=/usr/lib/postgresql/15/bin
DB_NAME=ssprd
DB_USER=ssprd

usage() {
    sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

load_instance() {
    [[ -f $D/instance.env && -e $D/$MARKER ]] || die "$D is not a postgres test instance (run: postgres.sh setup $D)"
    # shellcheck source=/dev/null
    . "$D/instance.env"
}

is_root() { [[ $(id -u) -eq 0 ]]; }

# as_server CMD...: run a one-shot command as the user the server runs as.
as_server() {
    if is_root; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

cmd_setup() {
    local port=${SSPR_PG_PORT:-54320} password line value
    [[ $port =~ ^[0-9]+$ ]] || die "SSPR_PG_PORT must be a number"
    [[ -x $PG_BIN/initdb && -x $PG_BIN/postgres ]] || die "PostgreSQL 15 not found in $PG_BIN (run scripts/install-deps)"
    if is_root; then
        id -u postgres >/dev/null 2>&1 || die "no postgres user (PostgreSQL refuses to run as root)"
    fi
    check_socket_path "$D/run/.s.PGSQL.$port"
    if pidfile_alive "$D/launch.pid" || pidfile_alive "$D/server.pid"; then
        die "postgres in $D is running; run: postgres.sh stop $D"
    fi
    prepare_instance_dir "$D" "$MARKER"
    chmod 755 "$D"
    if is_root && ! runuser -u postgres -- test -x "$D"; then
        die "the postgres user cannot reach $D: give its parent directories search permission (chmod o+x), or use another DIR"
    fi
    mkdir -p "$D/data" "$D/run"
    chmod 700 "$D/data" "$D/run"
    if is_root; then
        chown postgres:postgres "$D/data" "$D/run"
    fi

    cat >"$D/instance.env" <<EOF
PG_PORT=$port
PG_MAX_RUNTIME=${SSPR_TESTENV_MAX_RUNTIME:-7200}
EOF
    # Hex: safe inside the SQL literal below and unquoted in postgres.env.
    password=$(openssl rand -hex 16)
    write_secret "$D/ssprd.pw" "$password"

    as_server "$PG_BIN/initdb" -D "$D/data" -U postgres -E UTF8 --locale=C \
        --auth-local=trust --auth-host=scram-sha-256 --no-sync --no-instructions \
        >"$D/initdb.log" 2>&1 || die "initdb failed (see $D/initdb.log)"
    cat >>"$D/data/postgresql.conf" <<EOF

# ssprd test instance (postgres.sh): loopback only, socket private to the server user.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$D/run'
unix_socket_permissions = 0700
max_connections = 200
shared_buffers = 32MB
fsync = off
full_page_writes = off
logging_collector = off
log_destination = 'stderr'
EOF
    # Single-user mode creates the role and database without opening any port.
    printf "CREATE ROLE %s LOGIN PASSWORD '%s';\nCREATE DATABASE %s OWNER %s;\n" \
        "$DB_USER" "$password" "$DB_NAME" "$DB_USER" |
        as_server "$PG_BIN/postgres" --single -D "$D/data" postgres >"$D/single.log" 2>&1 ||
        die "creating role and database failed (see $D/single.log)"
    if grep -Eq '^(ERROR|FATAL|PANIC):' "$D/single.log"; then
        die "creating role and database failed (see $D/single.log)"
    fi

    local -a lines=(
        "SSPR_PG_HOST=127.0.0.1"
        "SSPR_PG_PORT=$port"
        "SSPR_PG_DATABASE=$DB_NAME"
        "SSPR_PG_USER=$DB_USER"
        "SSPR_PG_PASSWORD_FILE=$D/ssprd.pw"
        "SSPR_PG_DIR=$D"
        "SSPR_PG_CTL=$HERE/postgres.sh"
    )
    for line in "${lines[@]}"; do
        value=${line#*=}
        if [[ -z $value || $value =~ [[:space:]\"\'\`\$\\\;\&\|\<\>\(\)\{\}\*\?\[\]] ]]; then
            die "value for ${line%%=*} cannot be written unquoted: '$value'"
        fi
    done
    printf '%s\n' "${lines[@]}" >"$D/postgres.env"
    log "set up PostgreSQL instance in $D (127.0.0.1:$port, database $DB_NAME, user $DB_USER)"
}

cmd_start() {
    local lpid i spid
    load_instance
    if pidfile_alive "$D/server.pid" || pidfile_alive "$D/launch.pid"; then
        log "postgres in $D already running"
        return 0
    fi
    check_ports_free 127.0.0.1 "$PG_PORT"
    rm -f "$D/server.pid" "$D/launch.pid"
    local -a as_user=()
    if is_root; then
        # setpriv execs (no fork), so $! below is `timeout` itself, as for slapd.
        as_user=(setpriv --reuid=postgres --regid=postgres --init-groups --)
    fi
    # Bare command + "&": $! is `timeout`, which forwards signals to the
    # postmaster and ends it after PG_MAX_RUNTIME if a test run leaks it.
    "${as_user[@]}" timeout "$PG_MAX_RUNTIME" "$PG_BIN/postgres" -D "$D/data" \
        </dev/null >>"$D/postgres.log" 2>&1 8>&- &
    lpid=$!
    record_pid "$D/launch.pid" "$lpid"

    for ((i = 0; i < 200; i++)); do
        if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d "$DB_NAME" -t 1; then
            spid=$(head -n 1 "$D/data/postmaster.pid" 2>/dev/null || true)
            [[ -z $spid ]] || record_pid "$D/server.pid" "$spid"
            log "postgres running (pid ${spid:-?}) on 127.0.0.1:$PG_PORT"
            return 0
        fi
        if ! pidfile_alive "$D/launch.pid"; then
            tail -n 20 "$D/postgres.log" >&2 || true
            die "postgres in $D exited during start-up (log: $D/postgres.log)"
        fi
        sleep 0.05
    done
    tail -n 20 "$D/postgres.log" >&2 || true
    cmd_stop || true
    die "postgres in $D did not answer within 10 s (log: $D/postgres.log)"
}

cmd_stop() {
    local pid
    if [[ ! -f $D/instance.env ]]; then
        log "no postgres instance in $D; nothing to stop"
        return 0
    fi
    load_instance
    # Start interrupted before the postmaster was recorded: record it now so
    # a half-started server is stopped too.
    if [[ ! -s $D/server.pid && -s $D/data/postmaster.pid ]] && pidfile_alive "$D/launch.pid"; then
        record_pid "$D/server.pid" "$(head -n 1 "$D/data/postmaster.pid")"
    fi
    if ! pidfile_alive "$D/server.pid" && ! pidfile_alive "$D/launch.pid"; then
        rm -f "$D/server.pid" "$D/launch.pid"
        return 0
    fi
    # SIGINT is PostgreSQL's fast shutdown: it ends client sessions and stops
    # cleanly. SIGTERM (what stop_pidfiles sends first) is the smart shutdown,
    # which waits for every client to leave; a test holding a connection pool
    # never does. The postmaster ignores the milder signal once a faster
    # shutdown is under way, so stop_pidfiles only waits, or escalates.
    if pidfile_alive "$D/server.pid"; then
        read -r pid _ <"$D/server.pid"
        kill -INT "$pid" 2>/dev/null || true
    fi
    stop_pidfiles 30 127.0.0.1 "$PG_PORT" "$D/server.pid" "$D/launch.pid" ||
        die "postgres in $D did not stop"
    log "postgres in $D stopped"
}

cmd_status() {
    if [[ -f $D/instance.env ]]; then
        load_instance
        if pidfile_alive "$D/server.pid" || pidfile_alive "$D/launch.pid"; then
            echo "postgres running in $D: 127.0.0.1:$PG_PORT (pid $(cut -d' ' -f1 "$D/server.pid" 2>/dev/null || echo ?))"
            return 0
        fi
    fi
    echo "postgres not running in $D"
    return 3
}

testenv_main "$@"
