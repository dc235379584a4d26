#!/usr/bin/env bash
# Private OpenLDAP (slapd 2.5) instance for the ssprd tests.
#
# Usage: slapd.sh setup|start|stop|status DIR
#   setup   create a fresh instance in DIR (wipes an earlier instance in DIR)
#   start   start it (again); data in DIR survives stop/start
#   stop    stop the recorded server process; waits until it is gone and its
#           ports are closed; safe to call when nothing runs
#   status  exit 0 if running, 3 if not
#
# Environment at setup time (stored in DIR, later calls need only DIR):
#   SSPR_OL_PORT      ldap:// port on 127.0.0.1   (default 38900)
#   SSPR_OL_TLS_PORT  ldaps:// port on 127.0.0.1  (default 63600)
#   SSPR_TEST_CA_DIR  existing CA (certs.sh) to issue the server cert from;
#                     default: a private CA in DIR/ca
#   SSPR_OL_LOGLEVEL  slapd -d level (default "stats"; log in DIR/slapd.log)
#   SSPR_TESTENV_MAX_RUNTIME  seconds before slapd is stopped by `timeout`
#                     as a safety net against leaked servers (default 7200)
#
# Layout: dc=example,dc=org with ou=people, ou=groups, ou=admins,
# ou=services (cn=sspr, password in DIR/sspr.pw) and ou=policies (default
# ppolicy cn=default; cn=mustchange is the same with pwdMustChange TRUE and
# applies to the user "mustchange" only). The ldapi:// socket in DIR makes
# the SASL EXTERNAL identity of the user who ran setup the rootdn (for test
# fixtures; the rootdn bypasses ppolicy checks), e.g.
#   ldapmodify -Q -Y EXTERNAL -H "$SSPR_OL_LDAPI_URI"
set -euo pipefail
TESTENV_PROG=slapd.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/testenv/lib.sh
. "$HERE/lib.sh"
# shellcheck source=scripts/testenv/testdata.sh
. "$HERE/testdata.sh"

MARKER=.sspr-testenv-openldap
SUFFIX=dc=example,dc=org
SVC_DN=cn=sspr,ou=services,$SUFFIX
PEOPLE=ou=people,$SUFFIX
SLAPD=/usr/sbin/slapd
MODULE_PATH=/usr/lib/ldap

usage() {
    sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

load_instance() {
    [[ -f $D/instance.env && -e $D/$MARKER ]] || die "$D is not a slapd test instance (run: slapd.sh setup $D)"
    # shellcheck source=/dev/null
    . "$D/instance.env"
}

user_dn() { # login container
    if [[ $2 == admins ]]; then
        printf 'uid=%s,ou=admins,%s' "$1" "$SUFFIX"
    else
        printf 'uid=%s,%s' "$1" "$PEOPLE"
    fi
}

write_config_ldif() {
    local uid gid peercred
    uid=$(id -u)
    gid=$(id -g)
    peercred="gidNumber=$gid+uidNumber=$uid,cn=peercred,cn=external,cn=auth"
    cat >"$D/config.ldif" <<LDIF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $D/slapd.pid
olcArgsFile: $D/slapd.args
olcLogLevel: none
olcTLSCACertificateFile: $D/tls/ca.crt
olcTLSCertificateFile: $D/tls/server.crt
olcTLSCertificateKeyFile: $D/tls/server.key
olcTLSProtocolMin: 3.3

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: $MODULE_PATH
olcModuleLoad: back_mdb
olcModuleLoad: ppolicy
olcModuleLoad: memberof

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcPasswordHash: {SSHA}

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact="$peercred" manage by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: $D/db
olcDbMaxSize: 1073741824
olcSuffix: $SUFFIX
olcRootDN: $peercred
olcDbIndex: objectClass eq
olcDbIndex: uid,cn,mail eq
olcDbIndex: member,memberOf eq
olcAccess: {0}to dn.subtree="$PEOPLE" attrs=userPassword by dn.exact="$SVC_DN" write by self write by anonymous auth by * none
olcAccess: {1}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {2}to dn.subtree="$PEOPLE" attrs=pwdAccountLockedTime,pwdFailureTime,pwdHistory,pwdReset,pwdChangedTime by dn.exact="$SVC_DN" write by users read by * none
olcAccess: {3}to * by users read by * none

dn: olcOverlay={0}ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {0}ppolicy
olcPPolicyDefault: cn=default,ou=policies,$SUFFIX
olcPPolicyHashCleartext: TRUE
olcPPolicyUseLockout: TRUE

dn: olcOverlay={1}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {1}memberof
olcMemberOfRefInt: TRUE
olcMemberOfGroupOC: groupOfNames
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf
LDIF
}

policy_ldif() { # name pwdMustChange
    cat <<LDIF
dn: cn=$1,ou=policies,$SUFFIX
objectClass: device
objectClass: pwdPolicy
cn: $1
pwdAttribute: userPassword
pwdMinLength: 8
pwdCheckQuality: 2
pwdInHistory: 3
pwdMaxFailure: 3
pwdLockout: TRUE
pwdLockoutDuration: 0
pwdFailureCountInterval: 0
pwdMinAge: 0
pwdMaxAge: 0
pwdAllowUserChange: TRUE
pwdMustChange: $2
pwdSafeModify: FALSE

LDIF
}

# slapadd bypasses overlays: passwords must be pre-hashed and memberOf
# (normally maintained by the memberof overlay) must be written explicitly.
write_data_ldif() {
    local svc_pw=$1 line login container cn given sn display mail mobile flags
    local name members m dn
    local -a mo
    local h_common h_unicode h_svc now
    h_common=$(slappasswd -h '{SSHA}' -s "$TD_PASSWORD")
    h_unicode=$(slappasswd -h '{SSHA}' -s "$TD_UNICODE_PASSWORD")
    h_svc=$(slappasswd -h '{SSHA}' -s "$svc_pw")
    now=$(date -u +%Y%m%d%H%M%SZ)

    local -A dn_of=() member_of=()
    for line in "${TD_USERS[@]}"; do
        IFS='|' read -r login container _ <<<"$line"
        dn_of[$login]=$(user_dn "$login" "$container")
    done
    for line in "${TD_GROUPS[@]}"; do
        IFS='|' read -r name members <<<"$line"
        dn_of[@$name]="cn=$name,ou=groups,$SUFFIX"
        for m in $members; do
            [[ -n ${dn_of[$m]:-} ]] || die "testdata: group $name has unknown member $m"
            member_of[$m]+="${dn_of[@$name]}|"
        done
    done

    {
        cat <<LDIF
dn: $SUFFIX
objectClass: dcObject
objectClass: organization
dc: example
o: Example Org

LDIF
        for ou in people groups admins services policies; do
            printf 'dn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n\n' "$ou" "$SUFFIX" "$ou"
        done
        cat <<LDIF
dn: $SVC_DN
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: sspr
description: ssprd service account (write on passwords under ou=people only)
userPassword: $h_svc

LDIF
        # 2.5 has no namedPolicy class: device (structural) + pwdPolicy.
        policy_ldif default FALSE
        # slapd ignores pwdReset unless the user's policy has pwdMustChange
        # TRUE, so "mustchange" gets its own otherwise identical policy.
        policy_ldif mustchange TRUE
        for line in "${TD_USERS[@]}"; do
            IFS='|' read -r login container cn given sn display mail mobile flags <<<"$line"
            dn=${dn_of[$login]}
            ldif_attr dn "$dn"
            echo "objectClass: inetOrgPerson"
            ldif_attr uid "$login"
            ldif_attr cn "$cn"
            ldif_attr givenName "$given"
            ldif_attr sn "$sn"
            ldif_attr displayName "$display"
            ldif_attr mail "$mail"
            [[ -z $mobile ]] || ldif_attr mobile "$mobile"
            if [[ $login == "$TD_UNICODE_LOGIN" ]]; then
                echo "userPassword: $h_unicode"
            else
                echo "userPassword: $h_common"
            fi
            # Lock at "now": with pwdLockoutDuration 0 it stays locked until
            # an administrator removes pwdAccountLockedTime.
            if td_has_flag "$flags" locked; then echo "pwdAccountLockedTime: $now"; fi
            # 000001010000Z = administratively (permanently) locked.
            if td_has_flag "$flags" disabled; then echo "pwdAccountLockedTime: 000001010000Z"; fi
            if td_has_flag "$flags" mustchange; then
                echo "pwdReset: TRUE"
                echo "pwdPolicySubentry: cn=mustchange,ou=policies,$SUFFIX"
            fi
            IFS='|' read -r -a mo <<<"${member_of[$login]:-}"
            for m in "${mo[@]}"; do [[ -z $m ]] || ldif_attr memberOf "$m"; done
            echo
        done
        for line in "${TD_GROUPS[@]}"; do
            IFS='|' read -r name members <<<"$line"
            ldif_attr dn "${dn_of[@$name]}"
            echo "objectClass: groupOfNames"
            ldif_attr cn "$name"
            for m in $members; do ldif_attr member "${dn_of[$m]}"; done
            IFS='|' read -r -a mo <<<"${member_of[@$name]:-}"
            for m in "${mo[@]}"; do [[ -z $m ]] || ldif_attr memberOf "$m"; done
            echo
        done
    } >"$D/data.ldif"
}

cmd_setup() {
    local port=${SSPR_OL_PORT:-38900} sport=${SSPR_OL_TLS_PORT:-63600} cadir svc_pw sock
    local loglevel=${SSPR_OL_LOGLEVEL:-stats}
    [[ $port =~ ^[0-9]+$ && $sport =~ ^[0-9]+$ ]] || die "SSPR_OL_PORT/SSPR_OL_TLS_PORT must be numbers"
    [[ $loglevel =~ ^[A-Za-z0-9,]+$ ]] || die "SSPR_OL_LOGLEVEL must be e.g. stats, 0 or stats,acl"
    [[ -x $SLAPD ]] || die "$SLAPD not found (run scripts/install-deps)"
    check_socket_path "$D/ldapi"
    if pidfile_alive "$D/launch.pid" || pidfile_alive "$D/server.pid"; then
        die "slapd in $D is running; run: slapd.sh stop $D"
    fi
    prepare_instance_dir "$D" "$MARKER"
    mkdir -p "$D/slapd.d" "$D/db" "$D/tls"

    cadir=${SSPR_TEST_CA_DIR:-$D/ca}
    "$HERE/certs.sh" ca "$cadir"
    "$HERE/certs.sh" server "$cadir" "$D/tls" \
        "IP:127.0.0.1,DNS:localhost,DNS:$(short_hostname)"

    sock="ldapi://$(printf '%s' "$D/ldapi" | sed 's|/|%2F|g')"
    cat >"$D/instance.env" <<EOF
OL_PORT=$port
OL_TLS_PORT=$sport
OL_LDAP_URI=ldap://127.0.0.1:$port
OL_LDAPS_URI=ldaps://127.0.0.1:$sport
OL_LDAPI_URI=$sock
OL_CA=$D/tls/ca.crt
OL_BASE=$SUFFIX
OL_BIND_DN=$SVC_DN
OL_MAX_RUNTIME=${SSPR_TESTENV_MAX_RUNTIME:-7200}
OL_LOGLEVEL=$loglevel
EOF
    svc_pw=$(random_password Svc)
    write_secret "$D/sspr.pw" "$svc_pw"

    write_config_ldif
    slapadd -n0 -F "$D/slapd.d" -l "$D/config.ldif" -q ||
        die "slapadd of cn=config failed (see $D/config.ldif)"
    write_data_ldif "$svc_pw"
    slapadd -n1 -F "$D/slapd.d" -l "$D/data.ldif" -q ||
        die "slapadd of the sample data failed (see $D/data.ldif)"
    log "set up OpenLDAP instance in $D"
}

cmd_start() {
    local lpid i spid
    load_instance
    if pidfile_alive "$D/server.pid" || pidfile_alive "$D/launch.pid"; then
        log "slapd in $D already running"
        return 0
    fi
    check_ports_free 127.0.0.1 "$OL_PORT" "$OL_TLS_PORT"
    rm -f "$D/ldapi" "$D/slapd.pid" "$D/server.pid" "$D/launch.pid"
    # Bare command + "&" so $! is `timeout` itself: `timeout` forwards
    # SIGTERM to slapd, and ends slapd after OL_MAX_RUNTIME if a test run
    # leaks it. Any -d keeps slapd in the foreground (no fork), so its PID
    # is stable, and in 2.5 -d LEVEL is what sends log lines to stderr
    # (olcLogLevel only feeds syslog). stop also signals slapd directly.
    timeout "$OL_MAX_RUNTIME" "$SLAPD" -F "$D/slapd.d" \
        -h "$OL_LDAP_URI/ $OL_LDAPS_URI/ $OL_LDAPI_URI" -d "$OL_LOGLEVEL" \
        </dev/null >>"$D/slapd.log" 2>&1 8>&- &
    lpid=$!
    record_pid "$D/launch.pid" "$lpid"

    for ((i = 0; i < 200; i++)); do
        if LDAPTLS_CACERT=$OL_CA ldapwhoami -x -H "$OL_LDAPS_URI" >/dev/null 2>&1 &&
            ldapwhoami -x -H "$OL_LDAP_URI" >/dev/null 2>&1; then
            spid=$(cat "$D/slapd.pid" 2>/dev/null || true)
            [[ -z $spid ]] || record_pid "$D/server.pid" "$spid"
            log "slapd running (pid ${spid:-?}) on $OL_LDAP_URI $OL_LDAPS_URI"
            return 0
        fi
        if ! pidfile_alive "$D/launch.pid"; then
            tail -n 20 "$D/slapd.log" >&2 || true
            die "slapd in $D exited during start-up (log: $D/slapd.log)"
        fi
        sleep 0.05
    done
    tail -n 20 "$D/slapd.log" >&2 || true
    cmd_stop || true
    die "slapd in $D did not answer within 10 s (log: $D/slapd.log)"
}

cmd_stop() {
    if [[ ! -f $D/instance.env ]]; then
        log "no slapd instance in $D; nothing to stop"
        return 0
    fi
    load_instance
    stop_recorded_server "slapd" "$D/slapd.pid" 15 127.0.0.1 "$OL_PORT $OL_TLS_PORT"
}

cmd_status() {
    if [[ -f $D/instance.env ]]; then
        load_instance
        if pidfile_alive "$D/server.pid" || pidfile_alive "$D/launch.pid"; then
            echo "slapd running in $D: $OL_LDAP_URI $OL_LDAPS_URI $OL_LDAPI_URI (pid $(cut -d' ' -f1 "$D/server.pid" 2>/dev/null || echo ?))"
            return 0
        fi
    fi
    echo "slapd not running in $D"
    return 3
}

testenv_main "$@"
