#!/usr/bin/env python3
"""Black-box test harness for `ssprd serve` (python3 standard library only).

What it does, for the test modules next to it (test_*.py) and for scripts/demo:
  * reads the test environment file (SSPR_TESTENV_FILE, written by scripts/testenv/up);
  * writes a complete, valid ssprd configuration for OpenLDAP or Samba AD, on SQLite or
    PostgreSQL, with SMTP (STARTTLS + AUTH) and the SMS webhook, every method enabled, its own CA
    and gateway certificate (openssl CLI), fresh store and HMAC keys, and the audit file in a
    temporary directory (Gateway.write_config);
  * starts `ssprd serve -c FILE`, waits for "listening on https://ADDR:PORT" on stderr, keeps
    stderr in a file, and stops the server by PID with SIGTERM (Gateway.start / stop);
  * talks HTTPS JSON to it, verifying the gateway certificate against that CA (Client);
  * reads one-time codes from the SMTP sink's maildir and the SMS webhook's request files
    (Mailbox, SmsBox), computes TOTP codes (Totp), enrolls users through the API (enroll);
  * prepares and restores directory accounts with the admin identities of the test servers
    (Directory: ldapi:// rootdn on OpenLDAP, Administrator on Samba AD), and checks passwords with
    ldapwhoami;
  * remembers every password, code, answer and token the tests used (SECRETS) so that each module
    can prove none of them reached the server's log or the audit file.

Run a module:  python3 tests/integration/gateway/test_flows.py PATH/TO/ssprd [--directory ad]
(or SSPR_SSPRD=PATH/TO/ssprd). Without SSPR_TESTENV_FILE every module exits 77 (ctest: skipped)
with a message saying so; with it, anything that does not work is a failure.

Knobs (environment): SSPR_KEEP_TMP=1 keeps the temporary directories; SSPR_GATEWAY_VERBOSE=1
prints every request and response.
"""

import argparse
import base64
import email
import email.policy
import hashlib
import hmac
import html.parser
import http.client
import json
import os
import re
import secrets as _secrets
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

SKIP_RC = 77
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
VERBOSE = os.environ.get("SSPR_GATEWAY_VERBOSE") == "1"

# Filled by main() (or by a script that imports the harness): the ssprd binary, the directory
# the module is asked to run against, and the parsed environment file.
ARGS = argparse.Namespace(ssprd=None, directory="openldap")
ENV = None


# ---- the environment file ----------------------------------------------------------------------

class TestEnv:
    """KEY=VALUE lines; values are unquoted and free of shell syntax (scripts/testenv/README.md)."""

    def __init__(self, path):
        self.path = path
        self.values = {}
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line or line.startswith("#") or "=" not in line:
                    continue
                key, value = line.split("=", 1)
                self.values[key] = value

    def __getitem__(self, key):
        if key not in self.values:
            raise KeyError(f"{key} is not in the test environment file {self.path}")
        return self.values[key]

    def get(self, key, default=None):
        return self.values.get(key, default)

    @property
    def user_password(self):
        return self["SSPR_TEST_USER_PASSWORD"]


def testenv_or_skip():
    """The parsed SSPR_TESTENV_FILE; exits 77 with a clear message when it is not set."""
    global ENV
    if ENV is not None:
        return ENV
    path = os.environ.get("SSPR_TESTENV_FILE", "")
    if not path:
        print("SKIP: SSPR_TESTENV_FILE is not set, so there are no test servers to run against. "
              "Run through scripts/test (it starts slapd, Samba AD, the SMTP sink, the SMS "
              "webhook and PostgreSQL), or start them with scripts/testenv/up DIR and export "
              "SSPR_TESTENV_FILE=DIR/testenv.env.", flush=True)
        sys.exit(SKIP_RC)
    if not os.path.isfile(path):
        # Set but wrong is a failure, not a skip: somebody meant to run against servers.
        raise SystemExit(f"FAIL: SSPR_TESTENV_FILE={path} does not exist")
    ENV = TestEnv(path)
    return ENV


def ssprd_binary():
    path = ARGS.ssprd or os.environ.get("SSPR_SSPRD")
    if not path:
        raise SystemExit("FAIL: no ssprd binary: pass its path as the first argument or set "
                         "SSPR_SSPRD")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise SystemExit(f"FAIL: {path} is not an executable ssprd binary")
    return os.path.abspath(path)


def main(argv=None, needs_testenv=True):
    """Entry point of every test module: `test_x.py [SSPRD] [--directory openldap|ad] [unittest
    options]`."""
    argv = list(sys.argv if argv is None else argv)
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("ssprd", nargs="?")
    parser.add_argument("--directory", choices=["openldap", "ad"], default="openldap")
    known, rest = parser.parse_known_args(argv[1:])
    # A unittest option (e.g. -k name) must not be taken for the binary.
    if known.ssprd and known.ssprd.startswith("-"):
        rest.insert(0, known.ssprd)
        known.ssprd = None
    ARGS.ssprd = known.ssprd or os.environ.get("SSPR_SSPRD")
    ARGS.directory = known.directory
    if needs_testenv:
        testenv_or_skip()
    unittest.main(module="__main__", argv=[argv[0]] + rest, verbosity=2)


# ---- secrets the tests used (none may appear in the server's log or audit file) ------------------

class SecretRegistry:
    SECRET_KEYS = {"password", "current_password", "new_password", "code", "answer", "token",
                   "flow"}

    def __init__(self):
        self.lock = threading.Lock()
        self.values = {}  # value -> what it was

    def add(self, value, what="secret"):
        if not isinstance(value, str) or len(value) < 4:
            return
        with self.lock:
            self.values.setdefault(value, what)

    def add_from_json(self, value, where):
        """Every string under a key that names a secret, and the secret of an otpauth URI."""
        if isinstance(value, dict):
            for k, v in value.items():
                if k in self.SECRET_KEYS and isinstance(v, str):
                    self.add(v, f"{where}.{k}")
                elif k == "otpauth_uri" and isinstance(v, str):
                    self.add(v, f"{where}.otpauth_uri")
                    secret = otpauth_params(v).get("secret")
                    if secret:
                        self.add(secret, f"{where}.totp_secret")
                else:
                    self.add_from_json(v, where)
        elif isinstance(value, list):
            for item in value:
                self.add_from_json(item, where)

    def snapshot(self):
        with self.lock:
            return dict(self.values)


SECRETS = SecretRegistry()


def find_secrets(path, secrets):
    """[(what, value, line number)] of every secret found in the file. Digit-only secrets (codes)
    only count as whole tokens, so a timestamp or a hash that happens to contain the digits is
    not a hit."""
    hits = []
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return hits
    lines = data.split("\n")
    for value, what in secrets.items():
        if value.isdigit():
            pattern = re.compile(r"(?<![0-9A-Za-z])" + re.escape(value) + r"(?![0-9A-Za-z])")
            for n, line in enumerate(lines, 1):
                if pattern.search(line):
                    hits.append((what, value, n))
        else:
            for n, line in enumerate(lines, 1):
                if value in line:
                    hits.append((what, value, n))
    return hits


# ---- small YAML writer (JSON scalars are valid YAML; block style for people) --------------------

def _scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    raise TypeError(f"not a YAML scalar: {v!r}")


def to_yaml(value, indent=0):
    pad = "  " * indent
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, dict) and v:
                out.append(f"{pad}{k}:")
                out.append(to_yaml(v, indent + 1))
            elif isinstance(v, list) and v:
                out.append(f"{pad}{k}:")
                out.append(to_yaml(v, indent + 1))
            elif isinstance(v, dict):
                out.append(f"{pad}{k}: {{}}")
            elif isinstance(v, list):
                out.append(f"{pad}{k}: []")
            else:
                out.append(f"{pad}{k}: {_scalar(v)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                inner = to_yaml(item, indent + 1).split("\n")
                inner[0] = pad + "- " + inner[0][len(pad) + 2:]
                out.extend(inner)
            else:
                out.append(f"{pad}- {_scalar(item)}")
    else:
        out.append(pad + _scalar(value))
    return "\n".join(out)


def merge(base, overrides):
    """Deep merge; a None value removes the key."""
    for k, v in overrides.items():
        if v is None:
            base.pop(k, None)
        elif isinstance(v, dict) and isinstance(base.get(k), dict):
            merge(base[k], v)
        else:
            base[k] = v
    return base


# ---- files: PKI, keys ---------------------------------------------------------------------------

def run(cmd, check=True, timeout=60, env=None, input=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       env=env, input=input)
    if check and p.returncode != 0:
        raise RuntimeError(f"command failed ({p.returncode}): {' '.join(cmd)}\n"
                           f"{p.stdout.decode(errors='replace')}{p.stderr.decode(errors='replace')}")
    return p


def write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(path, 0o600)


KEY_ALGORITHMS = {
    "EC": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "RSA": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
}


def issue_cert(directory, ca_crt, ca_key, name="gateway", sans="IP:127.0.0.1,DNS:localhost",
               algorithm="EC"):
    """A server certificate NAME.crt with its key NAME.key (0600) in `directory`, from the CA;
    algorithm "EC" (P-256) or "RSA" (2048 bits). Returns (cert, key)."""
    key = os.path.join(directory, f"{name}.key")
    csr = os.path.join(directory, f"{name}.csr")
    crt = os.path.join(directory, f"{name}.crt")
    ext = os.path.join(directory, f"{name}.ext")
    old = os.umask(0o077)
    try:
        run(["openssl", "genpkey", *KEY_ALGORITHMS[algorithm], "-out", key])
        with open(ext, "w") as f:
            f.write(f"subjectAltName={sans}\nbasicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n")
        run(["openssl", "req", "-new", "-key", key, "-subj", "/O=ssprd gateway tests/CN=localhost",
             "-out", csr])
        run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
             "-set_serial", "0x" + _secrets.token_hex(16), "-days", "30", "-extfile", ext,
             "-out", crt])
    finally:
        os.umask(old)
    os.chmod(key, 0o600)
    os.chmod(crt, 0o644)
    os.remove(csr)
    return crt, key


def make_pki(directory, sans="IP:127.0.0.1,DNS:localhost"):
    """A CA of its own and a server certificate for the gateway; returns (ca, cert, key)."""
    os.makedirs(directory, exist_ok=True)
    ca_key = os.path.join(directory, "ca.key")
    ca_crt = os.path.join(directory, "ca.crt")
    old = os.umask(0o077)
    try:
        run(["openssl", "genpkey", *KEY_ALGORITHMS["EC"], "-out", ca_key])
        run(["openssl", "req", "-x509", "-new", "-key", ca_key, "-out", ca_crt, "-days", "30",
             "-subj", "/O=ssprd gateway tests/CN=ssprd gateway test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    finally:
        os.umask(old)
    os.chmod(ca_key, 0o600)
    os.chmod(ca_crt, 0o644)
    crt, key = issue_cert(directory, ca_crt, ca_key, sans=sans)
    return ca_crt, crt, key


def make_keys(directory):
    """store.key: 64 hex digits; hmac.key: 32 random bytes; both 0600; never the same."""
    os.makedirs(directory, exist_ok=True)
    store_key = os.path.join(directory, "store.key")
    hmac_key = os.path.join(directory, "hmac.key")
    write_private(store_key, _secrets.token_hex(32))
    write_private(hmac_key, os.urandom(32))
    return store_key, hmac_key


def make_breached_file(directory, passwords, ssprd=None):
    """`ssprd breached import` of a Pwned-Passwords-format list holding these passwords."""
    text = os.path.join(directory, "pwned.txt")
    out = os.path.join(directory, "breached.bin")
    lines = sorted(hashlib.sha1(p.encode()).hexdigest().upper() + ":42" for p in passwords)
    with open(text, "w") as f:
        f.write("\r\n".join(lines) + "\r\n")
    run([ssprd or ssprd_binary(), "breached", "import", text, out])
    os.remove(text)
    return out


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# ---- the configuration ----------------------------------------------------------------------

QUESTION_POOL = [
    {"id": "first-school", "text": {"en": "What was the name of your first school?",
                                    "ko": "처음 다닌 학교의 이름은 무엇입니까?"}},
    {"id": "first-pet", "text": {"en": "What was the name of your first pet?",
                                 "ko": "처음 키운 애완동물의 이름은 무엇입니까?"}},
    {"id": "birth-city", "text": {"en": "In which city were you born?",
                                  "ko": "태어난 도시는 어디입니까?"}},
    {"id": "first-concert", "text": {"en": "Which band did you see at your first concert?",
                                     "ko": "처음 간 콘서트의 가수는 누구입니까?"}},
]

ALLOWED_ORIGIN = "https://intranet.example.org"
ADMIN_RECIPIENT = "sspr-security@example.org"
ORGANISATION = "ssprd tests"


def directory_section(env, directory):
    if directory == "openldap":
        return {
            "uris": [env["SSPR_OL_LDAPS_URI"]],
            "dialect": "openldap",
            "bind_dn": env["SSPR_OL_BIND_DN"],
            "bind_password_file": env["SSPR_OL_BIND_PASSWORD_FILE"],
            "base_dn": env["SSPR_OL_BASE"],
            "ca_file": env["SSPR_TEST_CA"],
            "connect_timeout": "2s",
            "operation_timeout": "5s",
            "backoff_min": "100ms",
            "backoff_max": "1s",
        }
    if directory == "ad":
        return {
            "uris": [env["SSPR_AD_LDAPS_URI"]],
            "dialect": "ad",
            "bind_dn": env["SSPR_AD_BIND_DN"],
            "bind_password_file": env["SSPR_AD_BIND_PASSWORD_FILE"],
            "base_dn": env["SSPR_AD_BASE"],
            "ca_file": env["SSPR_TEST_CA"],
            "connect_timeout": "2s",
            "operation_timeout": "5s",
            "backoff_min": "100ms",
            "backoff_max": "1s",
        }
    raise ValueError(f"unknown directory {directory!r}")


def group_dn(env, directory, name):
    if directory == "openldap":
        return f"cn={name},ou=groups,{env['SSPR_OL_BASE']}"
    return f"CN={name},OU=Groups,{env['SSPR_AD_BASE']}"


# Out of scope in every generated configuration: members of all-staff (bob directly, alice
# nested) are kept out by a deny rule, so "bob" is the out-of-scope user of the tests.
OUT_OF_SCOPE_USER = "bob"


def make_config(env, *, directory, port, tls_cert, tls_key, store_key, hmac_key, workdir,
                store="sqlite", audit_path=None, overrides=None):
    """The configuration as a dict (see config/ssprd.example.yaml for every key)."""
    cfg = {
        "server": {
            "listen": [f"127.0.0.1:{port}"],
            "public_url": f"https://127.0.0.1:{port}",
            "tls": {"certificate_file": tls_cert, "key_file": tls_key, "min_version": "TLSv1.2"},
            "allowed_origins": [ALLOWED_ORIGIN],
            "request_timeout": "30s",
            "max_body_bytes": 65536,
        },
        "directory": directory_section(env, directory),
        "store": {
            "backend": "sqlite",
            "sqlite_path": os.path.join(workdir, "state.db"),
            "encryption_key_file": store_key,
            "hmac_key_file": hmac_key,
        },
        "delivery": {
            "smtp": {
                "enabled": True,
                "host": env["SSPR_SMTP_HOST"],
                "port": int(env["SSPR_SMTP_PORT"]),
                "tls": "starttls",
                "ca_file": env["SSPR_TEST_CA"],
                "username": env["SSPR_SMTP_USER"],
                "password_file": env["SSPR_SMTP_PASSWORD_FILE"],
                "from": "Password reset <sspr@example.org>",
                "timeout": "10s",
            },
            "sms": {
                "enabled": True,
                "url": env["SSPR_WEBHOOK_URL"],
                "method": "POST",
                "ca_file": env["SSPR_TEST_CA"],
                "bearer_token_file": env["SSPR_WEBHOOK_TOKEN_FILE"],
                "format": "json",
                "body_template": '{"to":"{to}","text":"{message}"}',
                "timeout": "10s",
            },
        },
        "methods": {
            "email": {"enabled": True, "code_length": 6, "lifetime": "10m", "max_tries": 5},
            "sms": {"enabled": True, "code_length": 6, "lifetime": "5m", "max_tries": 3},
            "totp": {"enabled": True, "digits": 6, "period": "30s", "skew_steps": 1,
                     "issuer": "ssprd tests"},
            "questions": {
                "enabled": True,
                "register_count": 3,
                "answer_count": 2,
                "min_answer_length": 3,
                "argon2": {"memory_kib": 8192, "iterations": 1, "parallelism": 1},
                "pool": QUESTION_POOL,
            },
        },
        "policy": {
            "scope": "all",
            "rules": [{"name": "not-all-staff", "effect": "deny",
                       "groups": [group_dn(env, directory, "all-staff")]}],
            "default_gates": 1,
            "admin_groups": [group_dn(env, directory, "sspr-admins")],
            "allow_protected_accounts": False,
            "allow_unlock": True,
            "allow_change": True,
        },
        "password": {
            "min_length": 8,
            "max_length": 256,
            "ad_complexity": False,
            "banned_terms": ["example", "contoso", "welcome", "password"],
            "min_score": 5,
        },
        # Generous limits except failed_proofs (the lockout the brute-force tests meet): every
        # request comes from 127.0.0.1 and a module makes hundreds of them.
        "throttles": {
            "failed_proofs": {"key": "user", "limit": 5, "window": "24h", "block": "24h"},
            "validations": {"key": "user", "limit": 50, "window": "1h", "block": "24h"},
            "emails": {"key": "destination", "limit": 50, "window": "10m", "block": "24h"},
            "texts": {"key": "destination", "limit": 50, "window": "1h", "block": "24h"},
            "flow_starts_per_ip": {"key": "client_ip", "limit": 100000, "window": "10m",
                                   "block": "30m"},
            "flow_starts_per_user": {"key": "user", "limit": 100, "window": "1m", "block": "1m"},
            "flow_starts_per_net": {"key": "client_net", "limit": 100000, "window": "10m",
                                    "block": "30m"},
        },
        "notifications": {
            "on_reset": True,
            "on_change": True,
            "on_unlock": True,
            "on_enrollment_change": True,
            "admin_recipients": [ADMIN_RECIPIENT],
        },
        "enrollment": {"reconfirm_after": "180d", "required_methods": 1},
        "audit": {"path": audit_path or os.path.join(workdir, "audit.jsonl")},
        "ui": {
            "organisation": ORGANISATION,
            "helpdesk_url": "https://help.example.org/password",
            "helpdesk_email": "helpdesk@example.org",
            "languages": ["en", "ko"],
            "default_language": "en",
        },
    }
    if store == "postgres":
        cfg["store"] = {
            "backend": "postgres",
            "postgres": {
                "host": env["SSPR_PG_HOST"],
                "port": int(env["SSPR_PG_PORT"]),
                "database": env["SSPR_PG_DATABASE"],
                "user": env["SSPR_PG_USER"],
                "password_file": env["SSPR_PG_PASSWORD_FILE"],
                # The test PostgreSQL has no TLS; check-config warns about anything below
                # verify-full, which is expected here.
                "sslmode": "disable",
                "pool_size": 4,
            },
            "encryption_key_file": store_key,
            "hmac_key_file": hmac_key,
        }
    elif store != "sqlite":
        raise ValueError(f"unknown store {store!r}")
    if overrides:
        merge(cfg, json.loads(json.dumps(overrides)))
    return cfg


# ---- the server process -----------------------------------------------------------------------

LISTENING = re.compile(r"listening on https://(\S+):(\d+)")


class Gateway:
    """One `ssprd serve` process with its own temporary directory, CA, keys and config."""

    def __init__(self, name="gw", directory=None, store="sqlite", overrides=None,
                 keys_from=None, workdir=None, port=None):
        self.env = testenv_or_skip()
        self.ssprd = ssprd_binary()
        self.name = name
        self.directory = directory or ARGS.directory
        self.store = store
        self.overrides = overrides or {}
        self.own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix=f"ssprd-{name}-")
        os.makedirs(self.workdir, exist_ok=True)
        os.chmod(self.workdir, 0o700)
        self.port = port or free_port()
        self.host = "127.0.0.1"
        if keys_from is not None:
            # Instances that share a store share its keys (and trust one CA for simplicity).
            self.ca, self.cert, self.key = keys_from.ca, keys_from.cert, keys_from.key
            self.store_key, self.hmac_key = keys_from.store_key, keys_from.hmac_key
        else:
            self.ca, self.cert, self.key = make_pki(os.path.join(self.workdir, "tls"))
            self.store_key, self.hmac_key = make_keys(os.path.join(self.workdir, "keys"))
        self.config_path = os.path.join(self.workdir, "ssprd.yaml")
        self.audit_path = os.path.join(self.workdir, "audit.jsonl")
        self.stderr_path = os.path.join(self.workdir, "ssprd.stderr.log")
        self.stdout_path = os.path.join(self.workdir, "ssprd.stdout.log")
        self.proc = None
        self.exit_codes = []
        self.write_config()

    # -- config --
    def config(self, overrides=None):
        o = json.loads(json.dumps(self.overrides))
        if overrides:
            merge(o, overrides)
        return make_config(self.env, directory=self.directory, port=self.port,
                           tls_cert=self.cert, tls_key=self.key, store_key=self.store_key,
                           hmac_key=self.hmac_key, workdir=self.workdir, store=self.store,
                           audit_path=self.audit_path, overrides=o)

    def write_config(self, overrides=None, path=None, raw=None):
        path = path or self.config_path
        text = raw if raw is not None else (
            "# written by tests/integration/gateway/harness.py\n" +
            to_yaml(self.config(overrides)) + "\n")
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        return path

    def check_config(self, path=None):
        p = run([self.ssprd, "check-config", path or self.config_path], check=False)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    # -- process --
    def start(self, timeout=30):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        offset = os.path.getsize(self.stderr_path) if os.path.exists(self.stderr_path) else 0
        err = open(self.stderr_path, "ab")
        out = open(self.stdout_path, "ab")
        try:
            self.proc = subprocess.Popen([self.ssprd, "serve", "-c", self.config_path],
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         cwd=self.workdir)
        finally:
            err.close()
            out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self._stderr_from(offset)
            m = LISTENING.search(text)
            if m:
                if int(m.group(2)) != self.port:
                    raise AssertionError(f"{self.name}: listening on port {m.group(2)}, "
                                         f"configured {self.port}")
                return self
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.name}: ssprd serve exited with {self.proc.returncode} before "
                    f"listening.\nconfig: {self.config_path}\nstderr:\n{self.tail()}")
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"{self.name}: no 'listening on https://…' within {timeout}s.\n"
                             f"stderr:\n{self.tail()}")

    def _stderr_from(self, offset):
        try:
            with open(self.stderr_path, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines=40):
        text = self._stderr_from(0).splitlines()
        return "\n".join(text[-lines:])

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def reload(self, settle=1.0):
        self.signal(signal.SIGHUP)
        time.sleep(settle)

    def stop(self, timeout=30):
        """SIGTERM by PID; returns the exit code (the tests require 0)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(f"{self.name}: did not exit within {timeout}s of SIGTERM\n"
                                     f"{self.tail()}")
        rc = self.proc.returncode
        self.exit_codes.append(rc)
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def cleanup(self, keep=False):
        self.kill()
        if self.own_workdir and not keep and os.environ.get("SSPR_KEEP_TMP") != "1":
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            print(f"[{self.name}] kept {self.workdir}", file=sys.stderr)

    # -- after the fact --
    def audit_verify(self):
        p = run([self.ssprd, "audit", "verify", self.audit_path], check=False)
        return p.returncode, (p.stdout + p.stderr).decode(errors="replace")

    def leaks(self, secrets=None):
        secrets = secrets if secrets is not None else SECRETS.snapshot()
        found = []
        for path in (self.stderr_path, self.stdout_path, self.audit_path):
            for what, value, line in find_secrets(path, secrets):
                found.append(f"{os.path.basename(path)}:{line}: {what} ({len(value)} chars)")
        return found

    def client(self, **kw):
        return Client(self.host, self.port, self.ca, **kw)

    def url(self, path=""):
        return f"https://{self.host}:{self.port}{path}"


# ---- HTTPS client -----------------------------------------------------------------------------

class Response:
    def __init__(self, method, path, request_body, status, reason, headers, body, elapsed):
        self.method = method
        self.path = path
        self.request_body = request_body
        self.status = status
        self.reason = reason
        self.headers = headers  # http.client.HTTPMessage: case-insensitive
        self.body = body
        self.elapsed = elapsed
        self._json = None

    def header(self, name, default=None):
        return self.headers.get(name, default)

    @property
    def content_type(self):
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def json(self):
        if self._json is None:
            if not self.body:
                self._json = {}
            else:
                self._json = json.loads(self.body.decode("utf-8"))
        return self._json

    def describe(self):
        req = self.request_body
        if isinstance(req, bytes):
            req = req[:300].decode("utf-8", "replace")
        body = self.body[:1500].decode("utf-8", "replace")
        hdrs = "; ".join(f"{k}: {v}" for k, v in self.headers.items())
        return (f"request: {self.method} {self.path} {req if req is not None else ''}\n"
                f"response: {self.status} {self.reason}\n  headers: {hdrs}\n  body: {body}")

    def __repr__(self):
        return f"<Response {self.method} {self.path} -> {self.status}>"


class Client:
    """HTTPS JSON client for the gateway; verifies its certificate against the test CA. By
    default every request uses a new connection; keep_alive=True reuses one."""

    def __init__(self, host, port, cafile, keep_alive=False, timeout=60, headers=None,
                 context=None):
        self.host = host
        self.port = port
        self.timeout = timeout
        self.keep_alive = keep_alive
        self.headers = dict(headers or {})
        self.context = context or self.make_context(cafile)
        self.conn = None

    @staticmethod
    def make_context(cafile):
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def _connection(self):
        if self.keep_alive and self.conn is not None:
            return self.conn
        conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                           context=self.context)
        conn.connect()
        if self.keep_alive:
            self.conn = conn
        return conn

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, headers=None, raw=None,
                content_type="application/json", token=None):
        hdrs = dict(self.headers)
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        data = None
        if raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode()
        elif body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            SECRETS.add_from_json(body, f"{method} {path}")
        if data is not None and content_type:
            hdrs["Content-Type"] = content_type
        if headers:
            hdrs.update(headers)
        for attempt in range(2):
            conn = self._connection()
            started = time.monotonic()
            try:
                conn.request(method, path, body=data, headers=hdrs)
                r = conn.getresponse()
                payload = r.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if self.keep_alive and attempt == 0:
                    continue  # the server closed an idle keep-alive connection
                raise
            elapsed = time.monotonic() - started
            if not self.keep_alive or (r.getheader("Connection") or "").lower() == "close":
                if self.keep_alive:
                    self.close()
                else:
                    conn.close()
            break
        resp = Response(method, path, body if raw is None else raw, r.status, r.reason,
                        r.headers, payload, elapsed)
        # Problem bodies carry a "code" too, but that one is the problem's name, not a secret.
        if resp.content_type == "application/json" and payload:
            try:
                SECRETS.add_from_json(resp.json(), f"{method} {path} response")
            except ValueError:
                pass
        if VERBOSE:
            print(resp.describe(), file=sys.stderr)
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, content_type=None, **kw)


# ---- the HTML forms, as a browser without JavaScript submits them ----------------------------

class Forms(html.parser.HTMLParser):
    """The forms of one page: action and the values a browser would submit (hidden and text
    inputs, the checked radio button)."""

    def __init__(self, page):
        super().__init__()
        self.forms = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": {}})
        elif tag == "input" and self.forms and a.get("name"):
            if a.get("type") == "radio" and "checked" not in a:
                return
            self.forms[-1]["fields"][a["name"]] = a.get("value") or ""

    def form(self, action):
        for f in self.forms:
            if f["action"] == action:
                return dict(f["fields"])
        raise AssertionError(f"no form posting to {action}; forms: "
                             f"{[f['action'] for f in self.forms]}")


class Browser:
    """Cookies and Origin for form posts over several instances behind one public URL."""

    def __init__(self, origin):
        self.origin = origin
        self.cookies = {}

    def headers(self):
        h = {"Origin": self.origin}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return h

    def keep(self, r):
        for value in r.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return r

    def get(self, client, path):
        return self.keep(client.get(path, headers=self.headers()))

    def post(self, client, path, fields):
        raw = urllib.parse.urlencode(fields)
        return self.keep(client.post(path, raw=raw, headers=self.headers(),
                                     content_type="application/x-www-form-urlencoded"))


# ---- codes from the SMTP sink and the SMS webhook ------------------------------------------------

CODE = re.compile(r"(?<![0-9])([0-9]{6,8})(?![0-9])")


def digits(s):
    return re.sub(r"[^0-9]", "", s or "")


class Mailbox:
    """The SMTP sink's maildir: one .eml per message, names sort by arrival."""

    def __init__(self, maildir=None):
        self.maildir = maildir or testenv_or_skip()["SSPR_SMTP_MAILDIR"]

    def names(self):
        try:
            return set(n for n in os.listdir(self.maildir) if n.endswith(".eml"))
        except FileNotFoundError:
            return set()

    def snapshot(self):
        return self.names()

    def parse(self, name):
        with open(os.path.join(self.maildir, name), "rb") as f:
            return email.message_from_binary_file(f, policy=email.policy.default)

    @staticmethod
    def recipients(msg):
        rcpts = [str(v) for v in (msg.get_all("Delivered-To") or [])]
        rcpts += [str(v) for v in (msg.get_all("To") or [])]
        return " ".join(rcpts).lower()

    @staticmethod
    def text(msg):
        part = msg.get_body(preferencelist=("plain",))
        if part is None:
            part = msg.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""

    def wait(self, address, since, predicate=None, timeout=30):
        """The newest message to `address` that arrived after the `since` snapshot (and for
        which predicate(msg, text) holds)."""
        deadline = time.monotonic() + timeout
        address = address.lower()
        seen = set()
        while True:
            new = sorted(self.names() - since - seen, reverse=True)
            for name in new:
                try:
                    msg = self.parse(name)
                except OSError:
                    continue
                if address not in self.recipients(msg):
                    seen.add(name)
                    continue
                text = self.text(msg)
                if predicate is None or predicate(msg, text):
                    return msg, text
                seen.add(name)
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail to {address} within {timeout}s in {self.maildir}")
            time.sleep(0.1)

    def wait_code(self, address, since, timeout=30):
        def has_code(msg, text):
            return CODE.search(text) is not None
        msg, text = self.wait(address, since, has_code, timeout)
        code = CODE.search(text).group(1)
        SECRETS.add(code, f"mailed code to {address}")
        return code

    def wait_subject(self, address, since, pattern, timeout=30):
        rx = re.compile(pattern, re.I)
        return self.wait(address, since, lambda m, t: rx.search(str(m["Subject"] or "")),
                         timeout)


class SmsBox:
    """The SMS webhook receiver's request files: one .json per request."""

    def __init__(self, directory=None):
        self.directory = directory or testenv_or_skip()["SSPR_WEBHOOK_DIR"]

    def names(self):
        try:
            return set(n for n in os.listdir(self.directory) if n.endswith(".json"))
        except FileNotFoundError:
            return set()

    def snapshot(self):
        return self.names()

    def wait(self, number, since, predicate=None, timeout=30):
        want = digits(number)
        deadline = time.monotonic() + timeout
        seen = set()
        while True:
            for name in sorted(self.names() - since - seen, reverse=True):
                try:
                    with open(os.path.join(self.directory, name), encoding="utf-8") as f:
                        entry = json.load(f)
                    body = json.loads(entry.get("body") or "{}")
                except (OSError, ValueError):
                    seen.add(name)
                    continue
                to = digits(str(body.get("to", "")))
                # "+82 10 5555 0003" may arrive as E.164 "+821055550003" or nationally.
                if to and (to == want or want.endswith(to) or to.endswith(want)):
                    text = str(body.get("text", ""))
                    if predicate is None or predicate(entry, text):
                        return entry, text
                seen.add(name)
            if time.monotonic() > deadline:
                raise AssertionError(f"no text message to {number} within {timeout}s in "
                                     f"{self.directory}")
            time.sleep(0.1)

    def wait_code(self, number, since, timeout=30):
        entry, text = self.wait(number, since, lambda e, t: CODE.search(t) is not None, timeout)
        code = CODE.search(text).group(1)
        SECRETS.add(code, f"texted code to {number}")
        return code


# ---- TOTP (RFC 6238) ---------------------------------------------------------------------------

def otpauth_params(uri):
    parsed = urllib.parse.urlparse(uri)
    return {k: v[0] for k, v in urllib.parse.parse_qs(parsed.query).items()}


def b32decode(s):
    s = s.strip().replace(" ", "").upper()
    return base64.b32decode(s + "=" * (-len(s) % 8))


def totp_at(key, step, digits_=6, algorithm="sha1"):
    mac = hmac.new(key, struct.pack(">Q", step), getattr(hashlib, algorithm)).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % (10 ** digits_)).zfill(digits_)


class Totp:
    """An authenticator app: never offers the same step twice (the server accepts each OTP
    once), using the next step early when the server's skew allows it."""

    def __init__(self, otpauth_uri, skew_steps=1):
        if not otpauth_uri.startswith("otpauth://totp/"):
            raise AssertionError(f"not an otpauth://totp/ URI: {otpauth_uri[:40]}…")
        p = otpauth_params(otpauth_uri)
        self.uri = otpauth_uri
        self.secret = p["secret"]
        self.key = b32decode(self.secret)
        self.digits = int(p.get("digits", "6"))
        self.period = int(p.get("period", "30"))
        self.algorithm = p.get("algorithm", "SHA1").lower()
        self.skew = skew_steps
        self.last_step = -1
        SECRETS.add(self.secret, "totp secret")

    def wrong(self):
        """A code no step the server could accept now would give."""
        now_step = int(time.time()) // self.period
        valid = {totp_at(self.key, s, self.digits, self.algorithm)
                 for s in range(now_step - self.skew - 1, now_step + self.skew + 2)}
        for n in range(10 ** self.digits):
            c = str((n * 7919 + 123457) % (10 ** self.digits)).zfill(self.digits)
            if c not in valid:
                return c
        raise AssertionError("unreachable")

    def code(self):
        now_step = int(time.time()) // self.period
        step = max(now_step, self.last_step + 1)
        while step > now_step + self.skew:
            time.sleep(0.2)
            now_step = int(time.time()) // self.period
        self.last_step = step
        c = totp_at(self.key, step, self.digits, self.algorithm)
        SECRETS.add(c, "totp code")
        return c


# ---- enrollment through the API -------------------------------------------------------------

class Enrolled:
    def __init__(self, login, password):
        self.login = login
        self.password = password
        self.token = None
        self.email = None
        self.number = None
        self.totp = None
        self.answers = {}  # question id -> answer


ANSWERS = ["Blue Harbor School", "Rex the Terrier", "Busan by the Sea", "The Midnight Owls"]


def expect(resp, status, what=""):
    if resp.status != status:
        raise AssertionError(f"{what}: expected HTTP {status}, got {resp.status}\n"
                             f"{resp.describe()}")
    return resp


def enrol_session(client, login, password):
    r = expect(client.post("/api/v1/enroll/session", {"username": login, "password": password}),
               200, f"enrollment session for {login}")
    token = r.json()["token"]
    SECRETS.add(token, "enrollment token")
    return token, r


def enroll(client, login, password, email=None, number=None, totp=False, questions=False,
          mailbox=None, smsbox=None):
    """Signs in and registers the given methods, confirming each with its code."""
    e = Enrolled(login, password)
    e.token, _ = enrol_session(client, login, password)
    if email:
        mailbox = mailbox or Mailbox()
        since = mailbox.snapshot()
        expect(client.post("/api/v1/enroll/email", {"address": email}, token=e.token), 202,
               f"enroll email {email}")
        code = mailbox.wait_code(email, since)
        expect(client.post("/api/v1/enroll/email/verify", {"address": email, "code": code},
                           token=e.token), 200, f"confirm email {email}")
        e.email = email
    if number:
        smsbox = smsbox or SmsBox()
        since = smsbox.snapshot()
        expect(client.post("/api/v1/enroll/sms", {"number": number}, token=e.token), 202,
               f"enroll sms {number}")
        code = smsbox.wait_code(number, since)
        expect(client.post("/api/v1/enroll/sms/verify", {"number": number, "code": code},
                           token=e.token), 200, f"confirm sms {number}")
        e.number = number
    if totp:
        r = expect(client.post("/api/v1/enroll/totp", {}, token=e.token), 200, "enroll totp")
        body = r.json()
        if "otpauth_uri" not in body or "qr_svg" not in body:
            raise AssertionError(f"enroll totp: expected otpauth_uri and qr_svg\n{r.describe()}")
        e.totp = Totp(body["otpauth_uri"])
        expect(client.post("/api/v1/enroll/totp/verify", {"code": e.totp.code()},
                           token=e.token), 200, "confirm totp")
    if questions:
        r = expect(client.get("/api/v1/enroll/questions", token=e.token), 200,
                   "question pool")
        pool = r.json()["questions"]
        chosen = pool[:3]
        e.answers = {q["id"]: ANSWERS[i] for i, q in enumerate(chosen)}
        for a in e.answers.values():
            SECRETS.add(a, "security answer")
        expect(client.put("/api/v1/enroll/questions",
                          {"answers": [{"id": k, "answer": v} for k, v in e.answers.items()]},
                          token=e.token), 200, "register answers")
    return e


def method_of(start_body, kind):
    for m in start_body.get("methods", []):
        if m.get("kind") == kind:
            return m
    return None


def pass_gate(client, kind_path, flow, method, enrolled, mailbox=None, smsbox=None):
    """challenge + verify for one offered method; returns the verify response."""
    kind = method["kind"]
    mid = method["id"]
    if kind == "email":
        mailbox = mailbox or Mailbox()
        since = mailbox.snapshot()
        expect(client.post(f"/api/v1/{kind_path}/challenge", {"flow": flow, "method": mid}), 202,
               "challenge email")
        code = mailbox.wait_code(enrolled.email, since)
        return client.post(f"/api/v1/{kind_path}/verify", {"flow": flow, "method": mid,
                                                           "code": code})
    if kind == "sms":
        smsbox = smsbox or SmsBox()
        since = smsbox.snapshot()
        expect(client.post(f"/api/v1/{kind_path}/challenge", {"flow": flow, "method": mid}), 202,
               "challenge sms")
        code = smsbox.wait_code(enrolled.number, since)
        return client.post(f"/api/v1/{kind_path}/verify", {"flow": flow, "method": mid,
                                                           "code": code})
    if kind == "totp":
        expect(client.post(f"/api/v1/{kind_path}/challenge", {"flow": flow, "method": mid}), 200,
               "challenge totp")
        return client.post(f"/api/v1/{kind_path}/verify", {"flow": flow, "method": mid,
                                                           "code": enrolled.totp.code()})
    if kind == "questions":
        r = expect(client.post(f"/api/v1/{kind_path}/challenge", {"flow": flow, "method": mid}),
                   200, "challenge questions")
        asked = r.json()["questions"]
        answers = [{"id": q["id"], "answer": enrolled.answers[q["id"]]} for q in asked]
        return client.post(f"/api/v1/{kind_path}/verify", {"flow": flow, "method": mid,
                                                           "answers": answers})
    raise AssertionError(f"unknown method kind {kind}")


def new_password(tag="Reset"):
    """A password that passes every rule of the generated configs: long, four classes, no
    banned term, no part of a test user's name."""
    p = f"{tag}-Kx{_secrets.token_hex(4)}-Zq9!"
    SECRETS.add(p, "new password")
    return p


# ---- the directories, from the admin side (fixtures) ---------------------------------------------

def _filter_escape(value):
    out = []
    for ch in value:
        if ch in "*()\\\0":
            out.append("\\%02x" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


class Directory:
    """Test fixtures for one of the two directories, through ldap-utils: look up DNs as the
    service account, check passwords with ldapwhoami, and put accounts into a known state with
    the admin identity (OpenLDAP: the rootdn over ldapi://, which bypasses ppolicy; Samba AD:
    Administrator over LDAPS)."""

    def __init__(self, kind=None, env=None):
        self.env = env or testenv_or_skip()
        self.kind = kind or ARGS.directory
        e = self.env
        if self.kind == "openldap":
            self.uri = e["SSPR_OL_LDAPS_URI"]
            self.base = e["SSPR_OL_BASE"]
            self.bind_dn = e["SSPR_OL_BIND_DN"]
            self.bind_pw_file = e["SSPR_OL_BIND_PASSWORD_FILE"]
            self.login_attr = "uid"
        else:
            self.uri = e["SSPR_AD_LDAPS_URI"]
            self.base = e["SSPR_AD_BASE"]
            self.bind_dn = e["SSPR_AD_BIND_DN"]
            self.bind_pw_file = e["SSPR_AD_BIND_PASSWORD_FILE"]
            self.login_attr = "sAMAccountName"
        self.ldap_env = dict(os.environ)
        for k in ("LDAPURI", "LDAPBASE", "LDAPBINDDN", "LDAPRC", "LDAPCONF"):
            self.ldap_env.pop(k, None)
        self.ldap_env["LDAPTLS_CACERT"] = e["SSPR_TEST_CA"]
        self.ldap_env["LDAPTLS_REQCERT"] = "demand"
        self._dns = {}

    def _ldap(self, cmd, input=None, check=True):
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=self.ldap_env, input=input, timeout=60)
        if check and p.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed ({p.returncode}): "
                               f"{p.stderr.decode(errors='replace').strip()}")
        return p

    @staticmethod
    def _parse_ldif(text):
        """[{attr: [values]}] of a -LLL -o ldif-wrap=no answer (base64 values decoded)."""
        entries, cur = [], None
        for line in text.splitlines():
            if not line.strip():
                cur = None
                continue
            if line.startswith("#"):
                continue
            m = re.match(r"^([^:]+)(::?) ?(.*)$", line)
            if not m:
                continue
            attr, sep, value = m.groups()
            if sep == "::":
                value = base64.b64decode(value.strip()).decode("utf-8", "replace")
            if attr.lower() == "dn":
                cur = {"dn": [value]}
                entries.append(cur)
            elif cur is not None:
                cur.setdefault(attr, []).append(value)
        return entries

    def search(self, flt, attrs=(), base=None, admin=False):
        if admin and self.kind == "openldap":
            cmd = ["ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-Q", "-Y", "EXTERNAL", "-H",
                   self.env["SSPR_OL_LDAPI_URI"]]
        elif admin:
            cmd = ["ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-x", "-H", self.uri, "-D",
                   self.env["SSPR_AD_ADMIN_DN"], "-y", self.env["SSPR_AD_ADMIN_PASSWORD_FILE"]]
        else:
            cmd = ["ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-x", "-H", self.uri, "-D",
                   self.bind_dn, "-y", self.bind_pw_file]
        cmd += ["-b", base or self.base, flt] + list(attrs)
        p = self._ldap(cmd, check=False)
        if p.returncode not in (0, 10):  # 10: referral (AD's CN=Configuration)
            raise RuntimeError(f"ldapsearch {flt} failed ({p.returncode}): "
                               f"{p.stderr.decode(errors='replace').strip()}")
        return self._parse_ldif(p.stdout.decode("utf-8", "replace"))

    def dn_of(self, login):
        if login not in self._dns:
            found = self.search(f"({self.login_attr}={_filter_escape(login)})", ["dn"])
            if len(found) != 1:
                raise AssertionError(f"{self.kind}: expected one entry for {login}, got "
                                     f"{len(found)}")
            self._dns[login] = found[0]["dn"][0]
        return self._dns[login]

    def mail_of(self, login):
        found = self.search(f"({self.login_attr}={_filter_escape(login)})", ["mail"])
        return found[0].get("mail", [None])[0]

    def _bind(self, dn, password):
        # ldapwhoami on OpenLDAP; Samba has no WhoAmI extended operation, so a base search of
        # the rootDSE proves the bind there.
        if self.kind == "openldap":
            cmd = ["ldapwhoami", "-x", "-H", self.uri, "-D", dn, "-w", password]
        else:
            cmd = ["ldapsearch", "-x", "-H", self.uri, "-D", dn, "-w", password, "-s", "base",
                   "-b", "", "dn"]
        return self._ldap(cmd, check=False)

    def can_bind(self, login, password):
        """True when the directory accepts the password (a simple bind over LDAPS)."""
        p = self._bind(self.dn_of(login), password)
        if p.returncode == 0:
            return True
        if p.returncode == 49:
            return False
        raise RuntimeError(f"bind as {login} failed ({p.returncode}): "
                           f"{p.stderr.decode(errors='replace').strip()}")

    def bind_error(self, login, password):
        p = self._bind(self.dn_of(login), password)
        return p.returncode, p.stderr.decode(errors="replace")

    # -- admin side --
    def _ol_modify(self, ldif):
        self._ldap(["ldapmodify", "-Q", "-e", "relax", "-Y", "EXTERNAL", "-H",
                    self.env["SSPR_OL_LDAPI_URI"]],
                   input=ldif.encode())

    def _ad_modify(self, ldif):
        self._ldap(["ldapmodify", "-x", "-H", self.uri, "-D", self.env["SSPR_AD_ADMIN_DN"], "-y",
                    self.env["SSPR_AD_ADMIN_PASSWORD_FILE"]], input=ldif.encode())

    def set_password(self, login, password):
        dn = self.dn_of(login)
        if self.kind == "openldap":
            self._ldap(["ldappasswd", "-Q", "-Y", "EXTERNAL", "-H",
                        self.env["SSPR_OL_LDAPI_URI"], "-s", password, dn])
            self._ol_modify(f"dn: {dn}\nchangetype: modify\nreplace: pwdFailureTime\n-\n"
                            f"replace: pwdAccountLockedTime\n-\nreplace: pwdReset\n\n")
        else:
            value = base64.b64encode(f'"{password}"'.encode("utf-16-le")).decode()
            self._ad_modify(f"dn: {dn}\nchangetype: modify\nreplace: unicodePwd\n"
                            f"unicodePwd:: {value}\n-\nreplace: lockoutTime\nlockoutTime: 0\n\n")

    def unlock_admin(self, login):
        dn = self.dn_of(login)
        if self.kind == "openldap":
            self._ol_modify(f"dn: {dn}\nchangetype: modify\nreplace: pwdFailureTime\n-\n"
                            f"replace: pwdAccountLockedTime\n\n")
        else:
            self._ad_modify(f"dn: {dn}\nchangetype: modify\nreplace: lockoutTime\n"
                            f"lockoutTime: 0\n\n")

    def lock(self, login):
        """Locked the way setup locks `locked`: OpenLDAP pwdAccountLockedTime = now, AD 3 bad
        binds (lockoutThreshold 3)."""
        dn = self.dn_of(login)
        if self.kind == "openldap":
            now = time.strftime("%Y%m%d%H%M%SZ", time.gmtime())
            self._ol_modify(f"dn: {dn}\nchangetype: modify\nreplace: pwdAccountLockedTime\n"
                            f"pwdAccountLockedTime: {now}\n\n")
        else:
            for i in range(3):
                self._bind(dn, f"Wrong-Password-{i}!")
        if not self.is_locked(login):
            raise AssertionError(f"{self.kind}: could not lock {login}")

    def is_locked(self, login):
        dn = self.dn_of(login)
        if self.kind == "openldap":
            found = self.search("(objectClass=*)", ["pwdAccountLockedTime"], base=dn, admin=True)
            return bool(found and found[0].get("pwdAccountLockedTime"))
        found = self.search("(objectClass=*)", ["msDS-User-Account-Control-Computed"], base=dn,
                            admin=True)
        flags = int((found[0].get("msDS-User-Account-Control-Computed") or ["0"])[0])
        return bool(flags & 0x10)

    def set_must_change(self, login):
        dn = self.dn_of(login)
        if self.kind == "openldap":
            self._ol_modify(f"dn: {dn}\nchangetype: modify\nreplace: pwdReset\n"
                            f"pwdReset: TRUE\n\n")
        else:
            self._ad_modify(f"dn: {dn}\nchangetype: modify\nreplace: pwdLastSet\n"
                            f"pwdLastSet: 0\n\n")

    def restore(self, login):
        """Back to the state scripts/testenv set up: the initial password, and `locked` locked,
        `mustchange` must-change, everyone else neither."""
        self.set_password(login, self.env.user_password if login != self.env.get(
            "SSPR_TEST_UNICODE_LOGIN") else self.env["SSPR_TEST_UNICODE_PASSWORD"])
        if login == "mustchange":
            self.set_must_change(login)
        if login == "locked":
            self.lock(login)


# ---- the base class of the test modules -----------------------------------------------------------

class GatewayTestCase(unittest.TestCase):
    """One gateway per test class (started in setUpClass); after the class: SIGTERM must end it
    with exit 0, no secret the tests used may be in its stderr or audit file, and `ssprd audit
    verify` must accept the audit chain. Users named in USERS are restored in the directory
    before and after."""

    GATEWAY_OPTIONS = {}
    USERS = ()
    DIRECTORY = None  # None: the --directory argument

    gateways = ()

    @classmethod
    def directory_kind(cls):
        return cls.DIRECTORY or ARGS.directory

    @classmethod
    def setUpClass(cls):
        cls.env = testenv_or_skip()
        cls.dir = Directory(cls.directory_kind())
        cls.mail = Mailbox()
        cls.sms = SmsBox()
        for u in cls.USERS:
            cls.dir.restore(u)
        cls.gateways = []
        try:
            cls.gw = cls.add_gateway(**cls.GATEWAY_OPTIONS)
        except BaseException:
            cls._finish(raise_errors=False)
            raise
        cls.api = cls.gw.client()

    @classmethod
    def add_gateway(cls, start=True, **options):
        options.setdefault("directory", cls.directory_kind())
        options.setdefault("name", f"{cls.__name__}-{len(cls.gateways)}")
        gw = Gateway(**options)
        cls.gateways.append(gw)
        if start:
            gw.start()
        return gw

    @classmethod
    def tearDownClass(cls):
        cls._finish(raise_errors=True)

    @classmethod
    def _finish(cls, raise_errors):
        problems = []
        secrets = SECRETS.snapshot()
        for gw in cls.gateways:
            try:
                rc = gw.stop()
            except AssertionError as e:
                problems.append(str(e))
                rc = None
            if rc not in (None, 0):
                problems.append(f"{gw.name}: exit code {rc} after SIGTERM (expected 0)\n"
                                f"{gw.tail()}")
            if any(c not in (0,) for c in gw.exit_codes[:-1]):
                problems.append(f"{gw.name}: earlier exit codes {gw.exit_codes}")
            leaks = gw.leaks(secrets)
            if leaks:
                problems.append(f"{gw.name}: secrets in the server's output or audit file:\n  " +
                                "\n  ".join(leaks))
            if os.path.exists(gw.audit_path):
                vrc, out = gw.audit_verify()
                if vrc != 0:
                    problems.append(f"{gw.name}: ssprd audit verify {gw.audit_path} exited "
                                    f"{vrc}: {out.strip()}")
            else:
                problems.append(f"{gw.name}: no audit file at {gw.audit_path}")
            print(f"[{gw.name}] {len(secrets)} secrets checked against stderr/audit; "
                  f"{len(leaks)} found", file=sys.stderr)
        for u in cls.USERS:
            try:
                cls.dir.restore(u)
            except Exception as e:  # noqa: BLE001 - report, keep restoring the others
                problems.append(f"restoring {u}: {e}")
        keep = bool(problems)
        for gw in cls.gateways:
            gw.cleanup(keep=keep)
        if problems and raise_errors:
            raise AssertionError("after the tests:\n" + "\n".join(problems))

    # -- assertions --
    def assertStatus(self, resp, status, msg=""):
        if resp.status != status:
            self.fail(f"{msg}\nexpected HTTP {status}\n{resp.describe()}")

    def assertProblem(self, resp, status, code, msg=""):
        self.assertStatus(resp, status, msg or f"expected problem {code}")
        detail = resp.describe()
        self.assertEqual(resp.content_type, "application/problem+json", detail)
        body = resp.json()
        for key in ("type", "title", "status", "detail", "code", "request_id"):
            self.assertIn(key, body, f"problem body lacks {key!r}\n{detail}")
        self.assertEqual(body["status"], status, detail)
        self.assertEqual(body["code"], code, f"{msg}\n{detail}")
        self.assertEqual(body["request_id"], resp.header("X-Request-Id"),
                         f"request_id differs from X-Request-Id\n{detail}")
        return body

    def assertSecurityHeaders(self, resp):
        d = resp.describe()
        hsts = resp.header("Strict-Transport-Security") or ""
        self.assertRegex(hsts, r"max-age=\d+", f"HSTS\n{d}")
        csp = resp.header("Content-Security-Policy") or ""
        self.assertIn("frame-ancestors 'none'", csp, f"CSP\n{d}")
        self.assertEqual((resp.header("Referrer-Policy") or "").lower(), "same-origin", d)
        self.assertIn("no-store", (resp.header("Cache-Control") or "").lower(), d)
        self.assertEqual((resp.header("X-Content-Type-Options") or "").lower(), "nosniff", d)
        self.assertTrue(resp.header("X-Request-Id"), f"X-Request-Id\n{d}")

    def json_of(self, resp, status=200, msg=""):
        self.assertStatus(resp, status, msg)
        if status != 204:
            self.assertTrue(resp.content_type.endswith("json"),
                            f"expected a JSON body\n{resp.describe()}")
        return resp.json()

    def wait_ready(self, want=200, timeout=30, client=None):
        """/readyz answers `want` within `timeout` s (the servers are back, or gone); returns
        that answer."""
        c = client or self.api
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = c.get("/readyz")
            if last.status == want:
                return last
            time.sleep(0.25)
        self.fail(f"/readyz did not become {want} within {timeout}s\n{last.describe()}")

    # -- flows --
    def start_flow(self, login, kind="reset", client=None):
        c = client or self.api
        r = c.post(f"/api/v1/{kind}/start", {"username": login})
        body = self.json_of(r, 200, f"{kind}/start for {login}")
        for key in ("flow", "gates_required", "methods"):
            self.assertIn(key, body, r.describe())
        SECRETS.add(body["flow"], "flow token")
        return body

    def full_gate(self, flow, method, enrolled, kind="reset", client=None):
        r = pass_gate(client or self.api, kind, flow, method, enrolled, self.mail, self.sms)
        return self.json_of(r, 200, f"verify {method['kind']}")


def snippet(s, n=60):
    return s if len(s) <= n else s[:n] + "…"
