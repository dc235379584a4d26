#!/usr/bin/env bash
# `ssprd serve` end to end on 127.0.0.1: start-up from a real configuration (SQLite store, audit
# file, a directory that does not answer), the listening line, answers over TLS, SIGHUP with a bad
# file (refused, still serving), SIGTERM (exit 0), the start-up errors' exit codes, and the soft
# open files limit raised for server.max_connections (started under `ulimit -Sn 300`), and the
# warning when the hard limit is too low.
# Usage: ssprd_serve_test.sh SSPRD_BINARY SOURCE_DIR
set -uo pipefail
ssprd=$(realpath "$1")
src=$(realpath "$2")
tmp=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
passes=0
wait_listening() { # LOG: up to 10 s for $pid to print its listening line there (or to end)
    for _ in $(seq 100); do
        grep -q "listening on https://127.0.0.1:$port" "$1" && return 0
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
}

check() { # description, then a command that must succeed
    local what=$1
    shift
    if "$@"; then
        echo "ok: $what"
        passes=$((passes + 1))
    else
        echo "FAILED: $what"
        failures=$((failures + 1))
    fi
}

cd "$tmp" || exit 1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem \
    -out cert.pem -days 1 -subj /CN=localhost 2>/dev/null
head -c 32 /dev/urandom >store.key
head -c 32 /dev/urandom >hmac.key
echo service-password >ldap.pw
chmod 600 key.pem store.key hmac.key ldap.pw
# A port that was free a moment ago (the configuration does not take port 0).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >ssprd.yaml <<YAML
server:
  listen: ["127.0.0.1:$port"]
  public_url: https://localhost
  tls:
    certificate_file: $tmp/cert.pem
    key_file: $tmp/key.pem
  io_threads: 2
  workers: 2
directory:
  uris: [ldaps://127.0.0.1:1]
  dialect: openldap
  bind_dn: cn=sspr,dc=example,dc=org
  bind_password_file: $tmp/ldap.pw
  base_dn: dc=example,dc=org
  connect_timeout: 1s
  operation_timeout: 1s
store:
  sqlite_path: $tmp/state.db
  encryption_key_file: $tmp/store.key
  hmac_key_file: $tmp/hmac.key
delivery:
  smtp: {enabled: true, host: 127.0.0.1, port: 1, from: sspr@example.org}
methods:
  email: {enabled: true}
  totp: {enabled: true}
policy:
  scope: all
audit:
  path: $tmp/audit.jsonl
ui:
  organisation: Example
YAML
cp ssprd.yaml good.yaml

"$ssprd" serve -c "$src/tests/unit/config/golden/bad.yaml" >/dev/null 2>err.txt
check "serve with an invalid configuration exits 2" test $? -eq 2
check "and prints its errors with line and column" grep -q 'bad.yaml:11:12: directory.dialect' err.txt
"$ssprd" serve -c ssprd.yaml --messages "$tmp/no-such-dir" >/dev/null 2>err.txt
check "serve without a message catalogue exits 2" test $? -eq 2
"$ssprd" serve >/dev/null 2>&1
check "serve without -c is a usage error" test $? -eq 2

# A soft limit of 300 open files, below the default max_connections (1024) + 256.
hard_nofile=$(ulimit -Hn)
(ulimit -Sn 300 && exec "$ssprd" serve -c ssprd.yaml) >out.txt 2>log.txt &
pid=$!
wait_listening log.txt
check "serve prints the listening line" grep -q "^listening on https://127.0.0.1:$port\$" log.txt

soft_nofile=$(awk '/^Max open files/ { print $4 }' "/proc/$pid/limits")
if [[ $hard_nofile == unlimited ]] || ((hard_nofile >= 1280)); then
    check "the soft open files limit is raised to max_connections + 256" test "$soft_nofile" = 1280
    check "and that is logged" grep -q 'raised the open files limit.*300.*1280' log.txt
else
    check "the soft open files limit is raised to the hard limit" test "$soft_nofile" = "$hard_nofile"
    check "with a warning that it is too low" grep -q 'open files limit is below' log.txt
fi

url=https://127.0.0.1:$port
curl -sk -D headers.txt -o body.txt "$url/healthz"
check "/healthz answers 200 ok" grep -q '"status":"ok"' body.txt
check "with HSTS" grep -qi '^strict-transport-security: max-age=31536000; includeSubDomains' headers.txt
check "and a request id" grep -qi '^x-request-id: [A-Za-z0-9_-]\{16\}' headers.txt
status=$(curl -sk -o body.txt -w '%{http_code}' "$url/readyz")
check "/readyz is 503 while the directory does not answer" test "$status" = 503
check "and names it" grep -q '"directory":"unavailable"' body.txt
status=$(curl -sk -o body.txt -w '%{http_code}' -H 'Accept-Language: ko' "$url/nothing")
check "an unknown path is a 404 problem" test "$status" = 404
check "in the asked language" grep -q '"title":"찾을 수 없음"' body.txt

echo "not_a_section: 1" >>ssprd.yaml
kill -HUP "$pid"
for _ in $(seq 50); do
    grep -q 'reload refused' log.txt && break
    sleep 0.1
done
check "SIGHUP with a bad file is refused and logged" grep -q 'reload refused' log.txt
status=$(curl -sk -o /dev/null -w '%{http_code}' "$url/healthz")
check "and the old configuration keeps serving" test "$status" = 200
cp good.yaml ssprd.yaml
kill -HUP "$pid"
for _ in $(seq 50); do
    grep -q 'configuration reloaded' log.txt && break
    sleep 0.1
done
check "SIGHUP with a good file applies it" grep -q 'configuration reloaded' log.txt

kill -TERM "$pid"
rc=
for _ in $(seq 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid"
        rc=$?
        pid=
        break
    fi
    sleep 0.1
done
check "SIGTERM stops it with exit 0" test "$rc" = 0
check "the log never holds the service password" bash -c "! grep -q service-password '$tmp/log.txt'"

# A hard limit of 300 too: ssprd still serves, and says what to raise.
(ulimit -n 300 && exec "$ssprd" serve -c ssprd.yaml) >out.txt 2>log2.txt &
pid=$!
wait_listening log2.txt
check "under a hard limit of 300 open files serve still listens" grep -q "^listening on" log2.txt
check "and warns that the limit is below max_connections" \
    grep -q 'open files limit is below.*needed="1280" limit="300"' log2.txt
kill -TERM "$pid" 2>/dev/null
for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done

echo "$passes passed, $failures failed"
exit $((failures > 0))
