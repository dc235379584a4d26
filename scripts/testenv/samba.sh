#!/usr/bin/env bash
# Private Samba 4 AD DC (LDAP service only) for the ssprd tests.
#
# Usage: samba.sh setup|start|stop|status DIR
#   setup   copy the cached, provisioned domain template into DIR (building
#           the template first if needed) and point it at DIR
#   start   start samba (again); data in DIR survives stop/start. The first
#           start after setup also locks out the "locked" sample user.
#   stop    stop the recorded samba process; waits until it is gone and its
#           ports are closed; safe to call when nothing runs
#   status  exit 0 if running, 3 if not
#
# Needs root: Samba's LDAP ports 389/636 (and GC 3268/3269) cannot be moved.
# Each instance listens only on its own loopback address 127.0.0.N.
#
# Environment at setup time (stored in DIR, later calls need only DIR):
#   SSPR_AD_IP_LAST_OCTET  N in 127.0.0.N (default 11)
#   SSPR_TEST_CA_DIR       existing CA (certs.sh) to issue the server cert
#                          from; default: a private CA in DIR/ca
#   SSPR_CACHE_DIR         template cache (default $HOME/.cache/ssprd)
#   SSPR_TESTENV_MAX_RUNTIME  samba --maximum-runtime safety net (default 7200)
#
# Domain: realm SSPR.TEST, NetBIOS SSPRTEST, base DC=sspr,DC=test.
# OU=People (users; the service account may reset passwords and read/write
# lockoutTime and pwdLastSet here only), OU=Groups, OU=Services (sspr-svc).
# Passwords: DIR/admin.pw (Administrator), DIR/sspr.pw (sspr-svc).
set -euo pipefail
TESTENV_PROG=samba.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/testenv/lib.sh
. "$HERE/lib.sh"
# shellcheck source=scripts/testenv/testdata.sh
. "$HERE/testdata.sh"

MARKER=.sspr-testenv-samba
REALM=SSPR.TEST
DOMAIN=SSPRTEST
DNS_DOMAIN=sspr.test
BASE=DC=sspr,DC=test
HOST=dc1
SVC_LOGIN=sspr-svc
SVC_DN=CN=$SVC_LOGIN,OU=Services,$BASE
ADMIN_DN=CN=Administrator,CN=Users,$BASE
PLACEHOLDER=@SSPR_AD_DIR@
PORTS="389 636 3268 3269"
SYS_PYTHON=/usr/bin/python3 # not a pyenv/venv python: needs python3-samba

# Well-known schema GUIDs for the delegation on OU=People.
GUID_USER=bf967aba-0de6-11d0-a285-00aa003049e2          # class user
GUID_RESET_PASSWORD=00299570-246d-11d0-a768-00aa006e0529 # extended right
GUID_LOCKOUT_TIME=28630ebf-41d5-11d1-a9c1-0000f80367c1   # attribute lockoutTime
GUID_PWD_LAST_SET=bf967a0a-0de6-11d0-a285-00aa003049e2   # attribute pwdLastSet

usage() {
    sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

require_root() {
    [[ $(id -u) -eq 0 ]] || die "samba.sh needs root (Samba's LDAP ports 389/636 are fixed)"
}

load_instance() {
    [[ -f $D/instance.env && -e $D/$MARKER ]] || die "$D is not a samba test instance (run: samba.sh setup $D)"
    # shellcheck source=/dev/null
    . "$D/instance.env"
}

# unicodePwd value: base64 of UTF-16LE of the password in double quotes.
unicode_pwd() { printf '"%s"' "$1" | iconv -f UTF-8 -t UTF-16LE | base64 -w0; }

ad_user_dn() { # cn container
    if [[ $2 == admins ]]; then
        printf 'CN=%s,CN=Users,%s' "$1" "$BASE"
    else
        printf 'CN=%s,OU=People,%s' "$1" "$BASE"
    fi
}

# LDIF with everything the template needs, applied by ad-apply.py in one
# transaction. The password policy comes first so the sample passwords are
# checked against it.
write_populate_ldif() {
    local svc_pw=$1 line login container cn given sn display mail mobile flags
    local name members m uac
    local -A dn_of=()
    # AD stores durations as negative 100 ns intervals: 30 min.
    local thirty_min=-18000000000
    cat <<LDIF
dn: $BASE
changetype: modify
replace: minPwdAge
minPwdAge: 0
-
replace: pwdHistoryLength
pwdHistoryLength: 3
-
replace: minPwdLength
minPwdLength: 8
-
replace: pwdProperties
pwdProperties: 1
-
replace: lockoutThreshold
lockoutThreshold: 3
-
replace: lockoutDuration
lockoutDuration: $thirty_min
-
replace: lockOutObservationWindow
lockOutObservationWindow: $thirty_min

LDIF
    for ou in People Groups Services; do
        printf 'dn: OU=%s,%s\nchangetype: add\nobjectClass: organizationalUnit\n\n' "$ou" "$BASE"
    done
    # 66048 = NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD
    cat <<LDIF
dn: $SVC_DN
changetype: add
objectClass: user
sAMAccountName: $SVC_LOGIN
userPrincipalName: $SVC_LOGIN@$DNS_DOMAIN
description: ssprd service account (password reset delegated on OU=People)
unicodePwd:: $(unicode_pwd "$svc_pw")
userAccountControl: 66048

LDIF
    for line in "${TD_USERS[@]}"; do
        IFS='|' read -r login container cn given sn display mail mobile flags <<<"$line"
        dn_of[$login]=$(ad_user_dn "$cn" "$container")
        uac=512 # NORMAL_ACCOUNT
        if td_has_flag "$flags" disabled; then uac=514; fi # | ACCOUNTDISABLE
        ldif_attr dn "${dn_of[$login]}"
        echo "changetype: add"
        echo "objectClass: user"
        ldif_attr sAMAccountName "$login"
        ldif_attr userPrincipalName "$login@$DNS_DOMAIN"
        ldif_attr givenName "$given"
        ldif_attr sn "$sn"
        ldif_attr displayName "$display"
        ldif_attr mail "$mail"
        [[ -z $mobile ]] || ldif_attr mobile "$mobile"
        echo "unicodePwd:: $(unicode_pwd "$(td_password "$login")")"
        echo "userAccountControl: $uac"
        # Samba has no SDProp; set what AD would set on protected accounts.
        if td_has_flag "$flags" admin; then echo "adminCount: 1"; fi
        echo
        if td_has_flag "$flags" mustchange; then
            # After the add: setting the password stamps pwdLastSet=now.
            ldif_attr dn "${dn_of[$login]}"
            printf 'changetype: modify\nreplace: pwdLastSet\npwdLastSet: 0\n\n'
        fi
        if td_has_flag "$flags" admin; then
            printf 'dn: CN=Domain Admins,CN=Users,%s\nchangetype: modify\nadd: member\n' "$BASE"
            ldif_attr member "${dn_of[$login]}"
            echo
        fi
    done
    for line in "${TD_GROUPS[@]}"; do
        IFS='|' read -r name members <<<"$line"
        dn_of[@$name]="CN=$name,OU=Groups,$BASE"
        ldif_attr dn "${dn_of[@$name]}"
        echo "changetype: add"
        echo "objectClass: group"
        ldif_attr sAMAccountName "$name"
        echo "groupType: -2147483646" # global security group
        for m in $members; do
            [[ -n ${dn_of[$m]:-} ]] || die "testdata: group $name has unknown member $m"
            ldif_attr member "${dn_of[$m]}"
        done
        echo
    done
}

template_hash() {
    {
        cat "$HERE/samba.sh" "$HERE/testdata.sh" "$HERE/ad-apply.py" "$HERE/lib.sh"
        samba --version
    } | sha256sum | cut -c1-16
}

# build_template FINAL: provision a domain and load the sample data into
# FINAL.tmp.PID, then rename it to FINAL (atomic for concurrent readers).
build_template() {
    local final=$1 tmp admin_pw svc_pw aces leftover
    tmp=$final.tmp.$$
    rm -rf "$tmp"
    mkdir -p "$tmp/run" "$tmp/log"
    log "provisioning Samba domain template (one-off, a few seconds): $final"
    admin_pw=$(random_password Adm)
    svc_pw=$(random_password Svc)
    # -s EMPTY: otherwise provision merges the host's /etc/samba/smb.conf
    # (shares, pam/passwd settings...) into the new smb.conf.
    # Every path option keeps Samba's files inside the folder, so the
    # template can be copied and re-pointed by editing smb.conf only.
    : >"$tmp/log/empty-base.conf"
    if ! samba-tool domain provision -s "$tmp/log/empty-base.conf" \
        --realm="$REALM" --domain="$DOMAIN" \
        --server-role=dc --dns-backend=NONE --host-name="$HOST" \
        --adminpass="$admin_pw" --targetdir="$tmp" \
        --option="interfaces=lo" --option="bind interfaces only=yes" \
        --option="pid directory=$tmp/run" --option="log file=$tmp/log/log.%m" \
        --option="ncalrpc dir=$tmp/run/ncalrpc" \
        --option="winbindd socket directory=$tmp/run/winbindd" \
        --option="ntp signd socket directory=$tmp/run/ntp_signd" \
        --option="load printers=no" --option="printing=bsd" \
        --option="printcap name=/dev/null" --option="disable spoolss=yes" \
        >"$tmp/log/provision.log" 2>&1; then
        tail -n 20 "$tmp/log/provision.log" >&2
        rm -rf "$tmp"
        die "samba-tool domain provision failed"
    fi
    sed -i 's/^\tunix password sync = .*/\tunix password sync = No/' "$tmp/etc/smb.conf"

    write_populate_ldif "$svc_pw" >"$tmp/populate.ldif"
    aces="(OA;CIIO;CR;$GUID_RESET_PASSWORD;$GUID_USER;{SID})"
    aces+="(OA;CIIO;RPWP;$GUID_LOCKOUT_TIME;$GUID_USER;{SID})"
    aces+="(OA;CIIO;RPWP;$GUID_PWD_LAST_SET;$GUID_USER;{SID})"
    if ! "$SYS_PYTHON" "$HERE/ad-apply.py" "$tmp/etc/smb.conf" "$tmp/populate.ldif" \
        --delegate "OU=People,$BASE" "$SVC_DN" "$aces" >"$tmp/log/populate.log" 2>&1; then
        cat "$tmp/log/populate.log" >&2
        rm -rf "$tmp"
        die "loading the sample data into the Samba template failed"
    fi
    write_secret "$tmp/admin.pw" "$admin_pw"
    write_secret "$tmp/sspr.pw" "$svc_pw"

    sed -i "s|$tmp|$PLACEHOLDER|g" "$tmp/etc/smb.conf"
    leftover=$(grep -rl --binary-files=text --exclude-dir=log -F "$tmp" "$tmp" || true)
    if [[ -n $leftover ]]; then
        rm -rf "$tmp"
        die "template still references its build path in: $leftover"
    fi
    rm -rf "$tmp/run"/* "$tmp/log"/log.*
    mv "$tmp" "$final"
}

# ensure_template -> prints the path of a ready template (builds it once;
# a lock serialises concurrent `up`s sharing the cache).
ensure_template() {
    local cache hash final
    cache=$(abs_path "${SSPR_CACHE_DIR:-${HOME:-/root}/.cache/ssprd}")
    mkdir -p "$cache"
    hash=$(template_hash)
    final=$cache/samba-template-$hash
    if [[ ! -f $final/admin.pw ]]; then
        exec 9>"$cache/samba-template.lock"
        flock -w 300 9 || die "timed out waiting for $cache/samba-template.lock"
        if [[ ! -f $final/admin.pw ]]; then
            # Holding the lock, so no build is in progress: any *.tmp.* is
            # debris from an interrupted build.
            rm -rf "$cache"/samba-template-*.tmp.*
            # Templates of other script/Samba versions unused for 2+ days.
            find "$cache" -maxdepth 1 -type d -name 'samba-template-*' -mtime +1 \
                -exec rm -rf {} + 2>/dev/null || true
            build_template "$final"
        fi
        exec 9>&-
    fi
    touch "$final" # mtime = last use, for the pruning above
    printf '%s' "$final"
}

cmd_setup() {
    local octet=${SSPR_AD_IP_LAST_OCTET:-11} ip tpl cadir
    require_root
    if ! [[ $octet =~ ^[0-9]+$ ]] || ((octet < 1 || octet > 254)); then
        die "SSPR_AD_IP_LAST_OCTET must be 1..254"
    fi
    ip=127.0.0.$octet
    if ! command -v samba >/dev/null || ! command -v samba-tool >/dev/null; then
        die "samba not installed (run scripts/install-deps)"
    fi
    [[ -x $SYS_PYTHON ]] || die "$SYS_PYTHON not found"
    # Longest socket samba creates under DIR (msg.sock/PID is shorter).
    check_socket_path "$D/private/ldap_priv/ldapi"
    if pidfile_alive "$D/launch.pid"; then
        die "samba in $D is running; run: samba.sh stop $D"
    fi
    tpl=$(ensure_template)
    prepare_instance_dir "$D" "$MARKER"
    cp -a "$tpl/." "$D/"
    # Re-point the template's paths, then add the per-instance settings
    # (address, our certificate, LDAP-only) right after "interfaces".
    sed -i -e "s|$PLACEHOLDER|$D|g" -e '/^\tserver services = /d' -e '/^\ttls /d' "$D/etc/smb.conf"
    sed -i "s|^\tinterfaces = .*|\tinterfaces = $ip/8\n\tserver services = ldap\n\ttls enabled = yes\n\ttls keyfile = $D/tls/server.key\n\ttls certfile = $D/tls/server.crt\n\ttls cafile = $D/tls/ca.crt|" \
        "$D/etc/smb.conf"
    grep -q "interfaces = $ip/8" "$D/etc/smb.conf" || die "could not set interfaces in $D/etc/smb.conf"

    cadir=${SSPR_TEST_CA_DIR:-$D/ca}
    "$HERE/certs.sh" ca "$cadir"
    "$HERE/certs.sh" server "$cadir" "$D/tls" \
        "IP:$ip,DNS:$HOST.$DNS_DOMAIN,DNS:$DNS_DOMAIN,DNS:localhost"

    cat >"$D/instance.env" <<EOF
AD_IP=$ip
AD_LDAP_URI=ldap://$ip
AD_LDAPS_URI=ldaps://$ip
AD_BASE=$BASE
AD_BIND_DN=$SVC_DN
AD_ADMIN_DN=$ADMIN_DN
AD_CA=$D/tls/ca.crt
AD_MAX_RUNTIME=${SSPR_TESTENV_MAX_RUNTIME:-7200}
EOF
    # The lockout must be fresh (it expires after the 30 min lockout
    # duration), so it is done by the first start, not in the template.
    : >"$D/.needs-initial-lockout"
    log "set up Samba AD instance in $D (template $tpl)"
}

admin_search() { # filter attrs...
    LDAPTLS_CACERT=$AD_CA ldapsearch -LLL -o ldif-wrap=no -x -H "$AD_LDAPS_URI" \
        -D "$AD_ADMIN_DN" -y "$D/admin.pw" -b "$AD_BASE" "$@"
}

# Lock out the sample users flagged "locked" with real bad-password binds,
# so lockoutTime/badPwdCount are exactly what AD itself would write.
initial_lockout() {
    local line login container cn flags dn i lt
    for line in "${TD_USERS[@]}"; do
        IFS='|' read -r login container cn _ _ _ _ _ flags <<<"$line"
        td_has_flag "$flags" locked || continue
        dn=$(ad_user_dn "$cn" "$container")
        for i in 1 2 3; do
            LDAPTLS_CACERT=$AD_CA ldapsearch -x -H "$AD_LDAPS_URI" -D "$dn" \
                -w "Wrong-Password-$i!" -s base -b "" dn >/dev/null 2>&1 || true
        done
        lt=$(admin_search "(sAMAccountName=$login)" lockoutTime | sed -n 's/^lockoutTime: //p')
        [[ -n $lt && $lt != 0 ]] || die "could not lock out $login in $D (lockoutTime='$lt')"
    done
    rm -f "$D/.needs-initial-lockout"
}

cmd_start() {
    local pid i
    require_root
    load_instance
    if pidfile_alive "$D/launch.pid"; then
        log "samba in $D already running"
        return 0
    fi
    # shellcheck disable=SC2086 # PORTS is a list
    check_ports_free "$AD_IP" $PORTS
    rm -f "$D/launch.pid" "$D/run/samba.pid"
    # Bare command + "&": $! is samba's root process itself. -F keeps it in
    # the foreground, --no-process-group stops it from taking its own process
    # group, -M single keeps everything in that one process, and
    # --maximum-runtime ends it if a test run leaks it.
    # "old password allowed period = 0": Samba otherwise accepts the previous password for
    # 60 minutes after a change (AD's NTLM grace); tests check that the old one stops working.
    samba -F --no-process-group -M single -s "$D/etc/smb.conf" --debug-stdout -d 1 \
        --option="old password allowed period = 0" \
        --maximum-runtime="$AD_MAX_RUNTIME" </dev/null >>"$D/log/samba.out" 2>&1 8>&- &
    pid=$!
    record_pid "$D/launch.pid" "$pid"

    for ((i = 0; i < 300; i++)); do
        if admin_search -s base -b "" dn >/dev/null 2>&1; then
            if [[ -e $D/.needs-initial-lockout ]]; then
                if ! (initial_lockout); then
                    cmd_stop || true
                    die "initial lockout failed in $D"
                fi
            fi
            log "samba running (pid $pid) on $AD_LDAPS_URI"
            return 0
        fi
        if ! pidfile_alive "$D/launch.pid"; then
            tail -n 20 "$D/log/samba.out" >&2 || true
            die "samba in $D exited during start-up (log: $D/log/samba.out)"
        fi
        sleep 0.1
    done
    tail -n 20 "$D/log/samba.out" >&2 || true
    cmd_stop || true
    die "samba in $D did not accept an LDAPS bind within 30 s (log: $D/log/samba.out)"
}

cmd_stop() {
    if [[ ! -f $D/instance.env ]]; then
        log "no samba instance in $D; nothing to stop"
        return 0
    fi
    load_instance
    if ! pidfile_alive "$D/launch.pid"; then
        rm -f "$D/launch.pid"
        return 0
    fi
    stop_pidfiles 20 "$AD_IP" "$PORTS" "$D/launch.pid" || die "samba in $D did not stop"
    log "samba in $D stopped"
}

cmd_status() {
    if [[ -f $D/instance.env ]]; then
        load_instance
        if pidfile_alive "$D/launch.pid"; then
            echo "samba running in $D: $AD_LDAPS_URI (pid $(cut -d' ' -f1 "$D/launch.pid"))"
            return 0
        fi
    fi
    echo "samba not running in $D"
    return 3
}

testenv_main "$@"
