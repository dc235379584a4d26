# shellcheck shell=bash
# Sample directory content, loaded identically into OpenLDAP (slapd.sh) and
# Samba AD (samba.sh), so one test can run against either backend with the
# same logins, passwords and group names. Sourced, not executed.
#
# Changing this file changes the Samba template hash (samba.sh), so the
# cached provisioned domain is rebuilt automatically.

# shellcheck disable=SC2034 # the variables are used by the sourcing scripts
TD_PASSWORD='Start-Pass-1!'
# shellcheck disable=SC2034
TD_UNICODE_LOGIN='jürgen'
# shellcheck disable=SC2034
TD_UNICODE_PASSWORD='Pässwörd-Ünï-27#'

# One user per line, fields separated by "|":
#   login | container | cn | givenName | sn | displayName | mail | mobile | flags
# container: "people" (OpenLDAP ou=people / AD OU=People: resettable by the
#            service account) or "admins" (OpenLDAP ou=admins / AD CN=Users:
#            NOT writable by the service account).
# cn:        RDN value; "alice" deliberately differs from her login so code
#            must search for the DN instead of constructing it.
# flags:     comma list of
#            locked     - locked out by bad passwords when the server is ready
#            disabled   - AD: ACCOUNTDISABLE; OpenLDAP: administrative lock
#            mustchange - AD: pwdLastSet=0; OpenLDAP: pwdReset=TRUE
#            admin      - AD: Domain Admins + adminCount=1
TD_USERS=(
    'alice|people|Alice Example|Alice|Example|Alice Example|alice@example.org|+82 10 1234 5678|'
    'bob|people|bob|Bob|Builder|Bob Builder|bob@example.org||'
    'carol|people|carol|Carol|Admin|Carol Admin|carol@example.org||'
    "${TD_UNICODE_LOGIN}|people|${TD_UNICODE_LOGIN}|Jürgen|Müller|Jürgen Müller|juergen@example.org||"
    'locked|people|locked|Locked|User|Locked User|locked@example.org||locked'
    'disabled|people|disabled|Disabled|User|Disabled User|disabled@example.org||disabled'
    'mustchange|people|mustchange|Mustchange|User|Mustchange User|mustchange@example.org||mustchange'
    'padmin|admins|padmin|Privileged|Admin|Privileged Admin|padmin@example.org||admin'
)
for _td_i in $(seq -w 1 30); do
    TD_USERS+=("t${_td_i}|people|t${_td_i}|Test|User ${_td_i}|Test User ${_td_i}|t${_td_i}@example.org|+82 10 5555 00${_td_i}|")
done
unset _td_i

# One group per line: name | space-separated members ("@name" = a group).
# Must be listed so that member groups come first. alice is nested 3 deep:
# alice -> team-a -> dept-eng -> all-staff.
# shellcheck disable=SC2034
TD_GROUPS=(
    'team-a|alice'
    'dept-eng|@team-a'
    'all-staff|@dept-eng bob'
    'sspr-admins|carol padmin'
)

# td_password LOGIN -> initial password of that user.
td_password() {
    if [[ $1 == "$TD_UNICODE_LOGIN" ]]; then
        printf '%s' "$TD_UNICODE_PASSWORD"
    else
        printf '%s' "$TD_PASSWORD"
    fi
}

# td_has_flag FLAGS FLAG
td_has_flag() { [[ ,$1, == *,"$2",* ]]; }
