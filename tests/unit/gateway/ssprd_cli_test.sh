#!/usr/bin/env bash
# The ssprd executable's commands, end to end: exit codes and what they print.
# Usage: ssprd_cli_test.sh SSPRD_BINARY SOURCE_DIR
set -uo pipefail
ssprd=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
passes=0
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

"$ssprd" --version >"$tmp/version" 2>&1
check "--version exits 0 and names ssprd" grep -q '^ssprd [0-9]' "$tmp/version"

"$ssprd" check-config "$src/tests/unit/config/golden/bad.yaml" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "check-config on a bad file exits 2" test "$rc" -eq 2
check "check-config reports the line and column" grep -q 'bad.yaml:11:12: directory.dialect: unknown value' "$tmp/err"
check "check-config never echoes an inline secret" bash -c "! grep -q hunter2 '$tmp/err' '$tmp/out'"

"$ssprd" check-config >/dev/null 2>&1
check "check-config without a file is a usage error" test $? -eq 2

"$ssprd" doctor >/dev/null 2>"$tmp/err"
check "doctor without -c is a usage error (64: 0/1/2 are its results)" test $? -eq 64
"$ssprd" doctor -c "$src/tests/unit/config/golden/bad.yaml" >"$tmp/out" 2>&1
check "doctor on a bad file exits 2 (FAIL)" test $? -eq 2
check "doctor names the config check" grep -q '^FAIL  config: ' "$tmp/out"
check "doctor never echoes an inline secret" bash -c "! grep -q hunter2 '$tmp/out'"

# Pwned Passwords format, sorted by hash: SHA-1 of "password" and of "123456".
printf '5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:9545824\r\n7C4A8D09CA3762AF61E59520943DC26494F8941B:37359195\r\n' \
    >"$tmp/pwned.txt"
"$ssprd" breached import "$tmp/pwned.txt" "$tmp/pwned.bin" >"$tmp/out" 2>&1
check "breached import of a sorted file exits 0" test $? -eq 0
"$ssprd" breached verify "$tmp/pwned.bin" >"$tmp/out" 2>&1
check "breached verify accepts what import wrote" test $? -eq 0

printf '7C4A8D09CA3762AF61E59520943DC26494F8941B:1\n5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:1\n' >"$tmp/unsorted.txt"
"$ssprd" breached import "$tmp/unsorted.txt" "$tmp/unsorted.bin" >"$tmp/out" 2>&1
check "breached import refuses unsorted input" test $? -ne 0
check "and writes no file" test ! -e "$tmp/unsorted.bin"

echo "$passes passed, $failures failed"
exit $((failures > 0))
