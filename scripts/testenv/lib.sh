# shellcheck shell=bash
# Shared helpers for the ssprd test-environment scripts (sourced, not executed).
#
# Conventions used by every script here:
#   * progress/diagnostics go to stderr, so callers can capture stdout
#     (e.g. ENV=$(scripts/testenv/up DIR));
#   * servers are started as a bare "cmd ... &" so that $! is the server (or
#     a wrapper that forwards signals), and are stopped by that recorded PID,
#     never by process name;
#   * a PID file holds "PID STARTTIME" (starttime = field 22 of
#     /proc/PID/stat), so a recycled PID is never mistaken for our server.

TESTENV_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export TESTENV_LIB_DIR

# The ldap-utils must verify the certificates of our own CA and must not be
# steered by a developer's ~/.ldaprc or /etc/ldap/ldap.conf defaults.
export LDAPTLS_REQCERT=demand
unset LDAPURI LDAPBASE LDAPBINDDN 2>/dev/null || true

log() { printf '%s: %s\n' "${TESTENV_PROG:-testenv}" "$*" >&2; }
die() { printf '%s: ERROR: %s\n' "${TESTENV_PROG:-testenv}" "$*" >&2; exit 1; }

# abs_path PATH -> absolute path (the directory need not exist yet).
abs_path() {
    local p=$1
    [[ $p == /* ]] || p="$PWD/$p"
    # Squash "//" and trailing "/" so that sed-based re-pointing is exact.
    p=$(printf '%s' "$p" | sed -e 's|/\{2,\}|/|g' -e 's|\(.\)/$|\1|')
    printf '%s' "$p"
}

# Paths end up unquoted in testenv.env, in ldapi:// URLs and in sed
# expressions, so only allow a conservative character set.
check_safe_path() {
    local p=$1
    [[ $p =~ ^/[A-Za-z0-9._/+-]*$ ]] ||
        die "unsupported directory '$p': use only letters, digits and . _ / + - (no spaces)"
    [[ $p != / ]] || die "refusing to use / as a test directory"
}

# check_socket_path PATH: AF_UNIX socket paths are limited to 107 bytes. Too
# long a DIR otherwise fails late and cryptically (Samba: "failed to setup
# parent messaging, error code -1073741801").
check_socket_path() {
    local p=$1
    ((${#p} <= 107)) ||
        die "directory too deep: unix socket path $p is ${#p} bytes (max 107); use a shorter DIR"
}

# prepare_instance_dir DIR MARKER: make DIR an empty directory for a fresh
# instance. Only wipes DIR if it is empty or was created by us (MARKER file),
# so a typo such as "setup ~" can never delete someone's data.
prepare_instance_dir() {
    local dir=$1 marker=$2
    if [[ -e $dir ]]; then
        [[ -d $dir ]] || die "$dir exists and is not a directory"
        if [[ -n $(ls -A "$dir") ]]; then
            [[ -e $dir/$marker ]] ||
                die "$dir is not empty and was not created by these scripts (no $marker); refusing to wipe it"
            rm -rf "$dir"
        fi
    fi
    mkdir -p "$dir"
    : >"$dir/$marker"
}

# proc_starttime PID -> kernel start time (clock ticks since boot), or nothing.
proc_starttime() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    # Field 2 (comm) may contain spaces/parens: cut after the last ')'.
    stat=${stat##*) }
    # Now field 1 is "state" (overall field 3), so starttime (22) is field 20.
    awk '{ print $20 }' <<<"$stat"
}

proc_state() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    printf '%s' "${stat%% *}"
}

# pid_alive PID STARTTIME: true if that exact process still exists and is not
# a zombie (PID 1 in containers may reap orphans lazily, so a dead server can
# linger as <defunct> for a second or two).
pid_alive() {
    local pid=$1 start=$2 now state
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    now=$(proc_starttime "$pid") || return 1
    [[ $now == "$start" ]] || return 1
    state=$(proc_state "$pid") || return 1
    [[ $state != Z && $state != X ]]
}

# record_pid FILE PID: store "PID STARTTIME" for a process we just started.
record_pid() {
    local file=$1 pid=$2 start
    start=$(proc_starttime "$pid") || start=0
    printf '%s %s\n' "$pid" "$start" >"$file"
}

# pidfile_alive FILE: true if the process recorded in FILE is still running.
pidfile_alive() {
    local file=$1 pid start
    [[ -s $file ]] || return 1
    read -r pid start <"$file" || return 1
    pid_alive "$pid" "$start"
}

# port_listeners ADDR PORT: print the `ss` lines of TCP listeners that would
# conflict with binding ADDR:PORT (exact address or a wildcard).
port_listeners() {
    local addr=$1 port=$2
    ss -ltnHp "( sport = :$port )" 2>/dev/null |
        awk -v a="$addr:$port" -v p=":$port" '
            { l = $4 }
            l == a || l == "0.0.0.0" p || l == "*" p || l == "[::]" p { print }'
}

# check_ports_free ADDR PORT... : die with a clear message if any is taken.
check_ports_free() {
    local addr=$1 port busy
    shift
    for port in "$@"; do
        busy=$(port_listeners "$addr" "$port")
        if [[ -n $busy ]]; then
            die "TCP port $addr:$port is already in use; listener: $(tr -s ' ' <<<"$busy" | head -n 3 | paste -sd';')"
        fi
    done
}

ports_closed() {
    local addr=$1 port
    shift
    for port in "$@"; do
        [[ -z $(port_listeners "$addr" "$port") ]] || return 1
    done
}

# stop_pidfiles TIMEOUT_S ADDR "PORTS" PIDFILE... : SIGTERM every recorded
# process that is still ours, then wait until all are gone AND the ports are
# closed; escalate to SIGKILL after TIMEOUT_S. Removes the PID files.
stop_pidfiles() {
    local timeout=$1 addr=$2 ports=$3 f pid start i j any
    shift 3
    local -a pids=() starts=()
    for f in "$@"; do
        [[ -s $f ]] || continue
        read -r pid start <"$f" || continue
        if pid_alive "$pid" "$start"; then
            pids+=("$pid")
            starts+=("$start")
            kill -TERM "$pid" 2>/dev/null || true
            # A test may have left the server SIGSTOPped (hung-server tests);
            # it only acts on SIGTERM once continued.
            kill -CONT "$pid" 2>/dev/null || true
        fi
    done
    # shellcheck disable=SC2086 # $ports is a space-separated list on purpose
    for ((i = 0; i < timeout * 10; i++)); do
        any=0
        for j in "${!pids[@]}"; do
            pid_alive "${pids[$j]}" "${starts[$j]}" && any=1
        done
        if ((any == 0)) && ports_closed "$addr" $ports; then
            rm -f "$@"
            return 0
        fi
        sleep 0.1
    done
    for j in "${!pids[@]}"; do
        if pid_alive "${pids[$j]}" "${starts[$j]}"; then
            log "process ${pids[$j]} ignored SIGTERM for ${timeout}s; sending SIGKILL"
            kill -KILL "${pids[$j]}" 2>/dev/null || true
        fi
    done
    # shellcheck disable=SC2086
    for ((i = 0; i < 50; i++)); do
        any=0
        for j in "${!pids[@]}"; do
            pid_alive "${pids[$j]}" "${starts[$j]}" && any=1
        done
        if ((any == 0)) && ports_closed "$addr" $ports; then
            rm -f "$@"
            return 0
        fi
        sleep 0.1
    done
    # shellcheck disable=SC2086
    ports_closed "$addr" $ports || log "port(s) $ports on $addr still open after stop"
    return 1
}

# lock_instance DIR: serialise start/stop of one instance (ctest may run
# tests in parallel that restart the same server). Uses fd 8, which server
# processes must not inherit (start them with 8>&-), or they would hold the
# lock for their whole life.
lock_instance() {
    exec 8>"$1/.ctl.lock"
    flock -w 120 8 || die "timed out waiting for $1/.ctl.lock"
}

# ldif_attr NAME VALUE: one LDIF line; base64 ("NAME:: ...") whenever the
# value is not a plain LDIF SAFE-STRING (e.g. non-ASCII such as "jürgen").
ldif_attr() {
    local name=$1 value=$2
    if LC_ALL=C awk -v v="$value" 'BEGIN {
            if (v ~ /[^ -~]/ || v ~ /^[ :<]/ || v ~ / $/) exit 1; exit 0 }'; then
        printf '%s: %s\n' "$name" "$value"
    else
        printf '%s:: %s\n' "$name" "$(printf '%s' "$value" | base64 -w0)"
    fi
}

# write_secret FILE VALUE: mode 0600, no trailing newline (ldap-utils' -y
# and the gateway read the whole file as the password).
write_secret() {
    local file=$1 value=$2
    (umask 077 && printf '%s' "$value" >"$file")
    chmod 600 "$file"
}

# random_password PREFIX: satisfies AD complexity (upper, lower, digit, symbol).
random_password() {
    printf '%s-%s' "$1" "$(openssl rand -hex 12)"
}

short_hostname() { hostname 2>/dev/null || uname -n; }

# The command line every server script shares: `NAME.sh setup|start|stop|status DIR`. The script
# defines cmd_setup, cmd_start, cmd_stop and cmd_status; start and stop hold the instance lock so
# parallel test processes never start or stop one server twice.
testenv_main() {
    [[ $# -eq 2 ]] || usage
    D=$(abs_path "$2")
    check_safe_path "$D"
    # shellcheck disable=SC2153 # MARKER and TESTENV_PROG are set by each server script
    case $1 in
    setup) cmd_setup ;;
    start)
        [[ -e $D/$MARKER ]] || die "$D is not a test instance (run: $TESTENV_PROG setup $D)"
        lock_instance "$D"
        cmd_start
        ;;
    stop)
        if [[ -e $D/$MARKER ]]; then lock_instance "$D"; fi
        cmd_stop
        ;;
    status) cmd_status ;;
    *) usage ;;
    esac
}

# Stops a server started as `timeout … server &` whose launch PID is in $D/launch.pid and whose
# own PID the server writes to SELF_PIDFILE once it listens: records that PID if start was
# interrupted before it did, then signals both and waits (up to WAIT s) until the ports close.
# Usage: stop_recorded_server NAME SELF_PIDFILE WAIT HOST "PORT…"
stop_recorded_server() {
    local name=$1 self_pidfile=$2 wait=$3 host=$4 ports=$5
    if [[ ! -s $D/server.pid && -s $self_pidfile ]] && pidfile_alive "$D/launch.pid"; then
        record_pid "$D/server.pid" "$(head -n 1 "$self_pidfile")"
    fi
    if ! pidfile_alive "$D/server.pid" && ! pidfile_alive "$D/launch.pid"; then
        rm -f "$D/server.pid" "$D/launch.pid"
        return 0
    fi
    stop_pidfiles "$wait" "$host" "$ports" "$D/server.pid" "$D/launch.pid" ||
        die "$name in $D did not stop"
    log "$name in $D stopped"
}

# Waits (up to 10 s) until a server started by start-up code above writes SELF_PIDFILE and the
# script's probe() answers; records the PID and logs READY. A server that exits or never answers
# is reported with the tail of its LOG (and stopped with cmd_stop), and the script dies.
# Usage: await_server NAME SELF_PIDFILE LOG READY
await_server() {
    local name=$1 self_pidfile=$2 logfile=$3 ready=$4 i
    for ((i = 0; i < 200; i++)); do
        if [[ -s $self_pidfile ]] && probe; then
            record_pid "$D/server.pid" "$(cat "$self_pidfile")"
            log "$name running (pid $(cat "$self_pidfile")) on $ready"
            return 0
        fi
        if ! pidfile_alive "$D/launch.pid"; then
            tail -n 20 "$logfile" >&2 || true
            die "$name in $D exited during start-up (log: $logfile)"
        fi
        sleep 0.05
    done
    tail -n 20 "$logfile" >&2 || true
    cmd_stop || true
    die "$name in $D did not answer within 10 s (log: $logfile)"
}
