#!/usr/bin/env python3
"""testssl.sh (Debian's package, scripts/install-deps) scans `ssprd serve` on loopback, once with
the harness's ECDSA P-256 certificate (protocols, cipher categories, forward secrecy, server
preference, HTTP headers and every vulnerability check of -U) and once with an RSA 2048
certificate (what depends on the key: ciphers, forward secrecy, preference, ROBOT, DROWN). It
asserts, from testssl's --jsonfile output: SSLv2, SSLv3, TLS 1.0 and 1.1 not offered, TLS 1.2
and 1.3 offered; every offered suite AEAD (GCM, ChaCha20-Poly1305, CCM) with forward secrecy, no
NULL/anonymous/EXPORT/LOW/RC4/3DES/CBC suites; the server's cipher order; HSTS; every
vulnerability check present and rated OK or INFO; and no finding at all rated LOW or worse, nor
a WARN (a check testssl could not carry out: the scan would be incomplete).

testssl.sh must reach nothing but the gateway: no --phone-out (no CRL or OCSP fetches; off by
default), --nodns none (no DNS lookups of the target), and NXCONNECT=127.0.0.1:0 (testssl probes
its openssl's features with `s_client -connect invalid.` by default, a DNS query for "invalid."
to the system resolver). The scan runs under `strace -f`, and the test fails if any process of
it connects or sends to an address outside 127.0.0.0/8 and ::1.

Without SSPR_TESTENV_FILE the test is skipped (exit 77), like the others (the gateway needs a
directory configured); without testssl or strace it fails.

  python3 test_tls_scan.py SSPRD
"""
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SCAN_TIMEOUT = 150  # seconds per scan; about 35-50 s each on a 2-core machine
SEVERITIES = ["OK", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]

# The checks of the full scan; -U's list, spelled out so that none goes missing silently.
FULL_CHECKS = ["-p", "-s", "-P", "-f", "-h", "-H", "-I", "-T", "-BB", "-R", "-C", "-B", "-O",
               "-Z", "-W", "-A", "-L", "-F", "-J", "-D", "-4"]
# With the RSA certificate: the checks whose answer depends on the key.
RSA_CHECKS = ["-s", "-P", "-f", "-BB", "-D"]

VULNERABILITY_IDS = ["heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_renego",
                     "secure_client_renego", "CRIME_TLS", "BREACH", "POODLE_SSL", "fallback_SCSV",
                     "SWEET32", "FREAK", "DROWN", "LOGJAM", "BEAST", "LUCKY13", "RC4"]
WEAK_CATEGORIES = ["cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW",
                   "cipherlist_3DES_IDEA", "cipherlist_AVERAGE"]  # AVERAGE: the CBC suites
AEAD = re.compile(r"(GCM|CHACHA20[-_]POLY1305|CCM)(?![-_]8)")

# strace's rendering of a socket address in connect/sendto/sendmsg.
INET4 = re.compile(r'sa_family=AF_INET, [^}]*sin_addr=inet_addr\("([^"]+)"\)')
INET6 = re.compile(r'sa_family=AF_INET6, [^}]*inet_pton\(AF_INET6, "([^"]+)"')


def tool(*names):
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError(f"{' or '.join(names)} is not installed: run scripts/install-deps "
                         "(as root) to install it")


def foreign_addresses(strace_log):
    """Every address outside loopback that a traced process connected or sent to."""
    found = set()
    with open(strace_log, encoding="utf-8", errors="replace") as f:
        for line in f:
            for address in INET4.findall(line) + INET6.findall(line):
                ip = ipaddress.ip_address(address)
                if ip.is_unspecified:
                    continue  # connect() to 0.0.0.0 / :: is loopback on Linux
                if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
                    ip = ip.ipv4_mapped
                if not ip.is_loopback:
                    found.add(f"{address}: {line.strip()[:200]}")
    return sorted(found)


def scan(gw, checks, workdir):
    """testssl.sh CHECKS against gw under strace; returns {id: [(severity, finding), ...]}."""
    testssl = tool("testssl", "testssl.sh")
    strace = tool("strace")
    json_path = os.path.join(workdir, "scan.json")
    strace_log = os.path.join(workdir, "strace.log")
    env = dict(os.environ, NXCONNECT="127.0.0.1:0")
    for name in ("PHONE_OUT", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(name, None)
    cmd = [strace, "-f", "-qq", "-e", "trace=connect,sendto,sendmsg,sendmmsg", "-e",
           "signal=none", "-o", strace_log,
           testssl, "--quiet", "--color", "0", "--nodns", "none", "--warnings", "off",
           "--connect-timeout", "10", "--openssl-timeout", "10", "--jsonfile", json_path,
           *checks, f"127.0.0.1:{gw.port}"]
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=SCAN_TIMEOUT, env=env, cwd=workdir,
                           start_new_session=True)
    except subprocess.TimeoutExpired as e:
        # start_new_session: testssl's children (openssl s_client) go with the whole group.
        raise AssertionError(f"testssl.sh did not finish within {SCAN_TIMEOUT}s") from e
    output = p.stdout.decode(errors="replace")
    if p.returncode != 0 or not os.path.exists(json_path):
        raise AssertionError(f"testssl.sh exited {p.returncode} (strace: a ptrace refusal shows "
                             f"here)\n{output[-3000:]}")
    foreign = foreign_addresses(strace_log)
    if foreign:
        raise AssertionError("testssl.sh reached beyond loopback:\n  " + "\n  ".join(foreign))
    with open(json_path, encoding="utf-8") as f:
        entries = json.load(f)
    findings = {}
    for e in entries:
        findings.setdefault(e["id"], []).append((e["severity"], e["finding"]))
    print(f"[testssl {' '.join(checks)}] {len(entries)} findings", file=sys.stderr)
    return findings, output


class TlsScanTest(harness.GatewayTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="ssprd-tls-scan-")
        try:
            rsa = cls.add_gateway(start=False, name="rsa")
            ca_key = os.path.join(os.path.dirname(rsa.ca), "ca.key")
            rsa.cert, rsa.key = harness.issue_cert(os.path.dirname(rsa.ca), rsa.ca, ca_key,
                                                   name="rsa", algorithm="RSA")
            rsa.write_config()
            rsa.start()
            cls.rsa = rsa
        except BaseException:
            cls._finish(raise_errors=False)
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def scan_dir(self, name):
        path = os.path.join(self.tmp, name)
        os.makedirs(path)
        return path

    def one(self, findings, key):
        self.assertIn(key, findings, f"testssl.sh reported no {key}")
        self.assertEqual(len(findings[key]), 1, f"{key}: {findings[key]}")
        return findings[key][0]

    def assertNoWeakness(self, findings, output):
        bad = [f"{key}: {sev} {text}" for key, items in sorted(findings.items())
               for sev, text in items if sev not in ("OK", "INFO")]
        self.assertEqual(bad, [], "findings rated LOW or worse, or checks testssl could not "
                                  f"carry out (WARN)\n{output[-4000:]}")

    def assertSuites(self, findings, output):
        """Every suite offered is AEAD with forward secrecy; no weak category is offered."""
        for key in WEAK_CATEGORIES:
            self.assertEqual(self.one(findings, key)[1], "not offered", f"{key}\n{output}")
        self.assertEqual(self.one(findings, "cipherlist_STRONG")[1], "offered", output)
        self.assertEqual(self.one(findings, "PFS"), ("OK", "offered"), output)
        fs_suites = set(self.one(findings, "PFS_ciphers")[1].split())
        offered = {}
        for key in findings:
            if key.startswith("cipherorder_"):
                offered[key] = self.one(findings, key)[1].split()
        self.assertEqual(sorted(offered), ["cipherorder_TLSv1_2", "cipherorder_TLSv1_3"],
                         f"suites offered for other protocols\n{output}")
        for key, suites in offered.items():
            self.assertTrue(suites, f"{key}: no suite")
            for suite in suites:
                self.assertRegex(suite, AEAD, f"{key}: {suite} is not AEAD")
                self.assertNotIn("CBC", suite, f"{key}: {suite}")
                self.assertIn(suite, fs_suites, f"{key}: {suite} without forward secrecy")
        self.assertEqual(self.one(findings, "cipher_order"), ("OK", "server"), output)

    def test_ecdsa_certificate_full_scan(self):
        findings, output = scan(self.gw, FULL_CHECKS, self.scan_dir("ecdsa"))

        # Protocols.
        for key in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
            self.assertEqual(self.one(findings, key)[1], "not offered", f"{key}\n{output}")
        self.assertEqual(self.one(findings, "TLS1_2"), ("OK", "offered"), output)
        self.assertEqual(self.one(findings, "TLS1_3")[0], "OK", output)
        self.assertTrue(self.one(findings, "TLS1_3")[1].startswith("offered"), output)

        self.assertSuites(findings, output)

        # HSTS, at least half a year (testssl rates shorter than 15552000 s LOW).
        sev, text = self.one(findings, "HSTS_time")
        self.assertEqual(sev, "OK", text)
        seconds = int(re.search(r"=(\d+) seconds", text).group(1))
        self.assertGreaterEqual(seconds, 15552000, text)

        # Every vulnerability check ran and found nothing.
        for key in VULNERABILITY_IDS:
            sev, text = self.one(findings, key)
            self.assertIn(sev, ("OK", "INFO"), f"{key}: {sev} {text}")
        self.assertNoWeakness(findings, output)

    def test_rsa_certificate(self):
        findings, output = scan(self.rsa, RSA_CHECKS, self.scan_dir("rsa"))
        self.assertSuites(findings, output)
        # With an RSA key the ECDHE-RSA suites are the TLS 1.2 ones, and no RSA key transport.
        tls12 = self.one(findings, "cipherorder_TLSv1_2")[1].split()
        self.assertTrue(all(s.startswith("ECDHE-RSA-") for s in tls12), tls12)
        for key in ("ROBOT", "DROWN"):
            sev, text = self.one(findings, key)
            self.assertEqual(sev, "OK", f"{key}: {text}")
        self.assertNoWeakness(findings, output)


if __name__ == "__main__":
    harness.main()
