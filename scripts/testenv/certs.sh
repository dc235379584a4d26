#!/usr/bin/env bash
# Throw-away test PKI shared by the OpenLDAP and Samba test servers, so the
# gateway's tests verify both servers with a single CA file.
#
# Usage:
#   certs.sh CADIR                      create CADIR/ca.crt + CADIR/ca.key (if missing)
#   certs.sh ca CADIR                   same
#   certs.sh server CADIR OUTDIR SANS   issue OUTDIR/server.{crt,key} signed by the CA;
#                                       SANS is an openssl subjectAltName list,
#                                       e.g. "IP:127.0.0.1,DNS:localhost"
set -euo pipefail
TESTENV_PROG=certs.sh
# shellcheck source=scripts/testenv/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DAYS=${SSPR_TEST_CERT_DAYS:-90}

make_ca() {
    local dir
    dir=$(abs_path "$1")
    mkdir -p "$dir"
    if [[ -s $dir/ca.crt && -s $dir/ca.key ]] &&
        openssl x509 -in "$dir/ca.crt" -noout -checkend 86400 >/dev/null 2>&1; then
        return 0 # idempotent: keep a CA that is still valid for a day
    fi
    # RSA rather than EC: the gateway may link GnuTLS (libldap) and OpenSSL.
    (umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
        -out "$dir/ca.key" 2>/dev/null)
    openssl req -x509 -new -key "$dir/ca.key" -out "$dir/ca.crt" -days "$DAYS" \
        -subj "/O=ssprd tests/CN=ssprd test CA $(date -u +%Y%m%d%H%M%S)" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null ||
        die "openssl could not create the test CA in $dir"
    chmod 600 "$dir/ca.key"
    chmod 644 "$dir/ca.crt"
}

issue_server() {
    local cadir outdir sans cn
    cadir=$(abs_path "$1")
    outdir=$(abs_path "$2")
    sans=$3
    [[ -s $cadir/ca.crt && -s $cadir/ca.key ]] || die "no CA in $cadir (run: certs.sh ca $cadir)"
    mkdir -p "$outdir"
    # CN: first DNS name, else the first SAN value (clients only use the SAN).
    cn=$(tr ',' '\n' <<<"$sans" | sed -n 's/^DNS://p' | head -n1)
    [[ -n $cn ]] || cn=$(tr ',' '\n' <<<"$sans" | head -n1 | cut -d: -f2-)
    (umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
        -out "$outdir/server.key" 2>/dev/null)
    # Samba refuses a TLS key file that is not mode 0600.
    chmod 600 "$outdir/server.key"
    printf '%s\n' \
        "subjectAltName=$sans" \
        "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth" \
        "subjectKeyIdentifier=hash" \
        "authorityKeyIdentifier=keyid" >"$outdir/server.ext"
    openssl req -new -key "$outdir/server.key" -subj "/O=ssprd tests/CN=$cn" \
        -out "$outdir/server.csr" 2>/dev/null
    openssl x509 -req -in "$outdir/server.csr" -CA "$cadir/ca.crt" -CAkey "$cadir/ca.key" \
        -set_serial "0x$(openssl rand -hex 16)" -days "$DAYS" \
        -extfile "$outdir/server.ext" -out "$outdir/server.crt" 2>/dev/null ||
        die "openssl could not issue the server certificate in $outdir"
    rm -f "$outdir/server.csr"
    cp "$cadir/ca.crt" "$outdir/ca.crt"
    openssl verify -CAfile "$cadir/ca.crt" "$outdir/server.crt" >/dev/null ||
        die "issued certificate does not verify against $cadir/ca.crt"
}

case ${1:-} in
ca)
    [[ $# -eq 2 ]] || die "usage: certs.sh ca CADIR"
    make_ca "$2"
    ;;
server)
    [[ $# -eq 4 ]] || die "usage: certs.sh server CADIR OUTDIR SANS"
    issue_server "$2" "$3" "$4"
    ;;
"" | -h | --help)
    sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    [[ -n ${1:-} ]] || exit 2
    ;;
*)
    [[ $# -eq 1 ]] || die "usage: certs.sh CADIR | certs.sh ca CADIR | certs.sh server CADIR OUTDIR SANS"
    make_ca "$1"
    ;;
esac
