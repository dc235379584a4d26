#!/usr/bin/env python3
"""`ssprd doctor -c FILE` against real servers, each check broken on purpose.

The shared test servers (SSPR_TESTENV_FILE) give the good configuration and the breaks that do
not touch them: a CA that did not issue the directory's certificate, SMTP and PostgreSQL on a
closed port, a key file readable by others. A private slapd of this test (scripts/testenv/
slapd.sh on free ports, certificate for DNS:localhost only, stopped by PID at the end) gives the
breaks that would harm a shared server: 127.0.0.1 where the certificate names only localhost, a
wrong service password (the service account is under a lockout policy), and an ACL without the
reset right. Each case asserts the check's FAIL line and that no secret is printed.

--canary-user really resets a password. The canary is t30 (this module's user): its password is
put back to the test environment's in the setup of every case that resets it and after it. The
cases prove the reset without knowing the random password: the old password no longer binds, the
directory's own change stamps moved (OpenLDAP userPassword hash, entryCSN and pwdChangedTime, read
as the rootdn; AD pwdLastSet and uSNChanged, read as Administrator), every other account looked at
is unchanged, and no run of the password's characters as long as the password is in the output.

Run: python3 tests/integration/doctor/test_doctor.py PATH/TO/ssprd
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gateway"))
import harness as h  # noqa: E402

SLAPD_SH = os.path.join(h.SOURCE_DIR, "scripts", "testenv", "slapd.sh")
CERTS_SH = os.path.join(h.SOURCE_DIR, "scripts", "testenv", "certs.sh")


def doctor(config_path, *extra):
    p = subprocess.run([h.ssprd_binary(), "doctor", "-c", config_path, *extra],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


CANARY = "t30"
# doctor's canary passwords: 32 characters of these (doctor/canary.cpp). No run this long of them
# may be in the output, so the password cannot be in it.
CANARY_RUN = re.compile(r"[A-Za-z0-9!#$%&*+?@^~]{32,}")


def read_secret(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace").strip()


class DoctorCase(unittest.TestCase):
    def lines(self, out, level, name):
        return [ln for ln in out.splitlines() if ln.startswith(f"{level}  {name}: ")]

    def assertLine(self, out, level, name, pattern=None):
        found = self.lines(out, level, name)
        self.assertTrue(found, f"no '{level}  {name}:' line in:\n{out}")
        if pattern:
            self.assertTrue(any(re.search(pattern, ln) for ln in found),
                            f"'{level}  {name}' does not say /{pattern}/: {found}\n{out}")
        return found

    def assertNoFail(self, out):
        fails = [ln for ln in out.splitlines() if ln.startswith("FAIL")]
        self.assertEqual(fails, [], out)

    def assertNoSecrets(self, out, paths):
        for p in paths:
            value = read_secret(p)
            if len(value) >= 4:
                self.assertNotIn(value, out, f"the content of {p} is in the output")

    def assertNoCanaryPassword(self, out):
        self.assertEqual(CANARY_RUN.findall(out), [], f"a password-like run in:\n{out}")


class SharedServers(DoctorCase):
    """The good configuration, and breaks that only change this test's own configuration."""

    @classmethod
    def setUpClass(cls):
        cls.env = h.testenv_or_skip()
        cls.tmp = tempfile.mkdtemp(prefix="ssprd-doctor-")
        # The store must exist for an all-PASS run: one start of the gateway migrates it.
        cls.gw = h.Gateway(name="doctor", directory="openldap", workdir=os.path.join(cls.tmp, "ol"))
        cls.gw.start()
        cls.gw.stop()
        cls.ad = h.Gateway(name="doctor-ad", directory="ad", workdir=os.path.join(cls.tmp, "ad"))
        cls.ol_dir = h.Directory("openldap", cls.env)
        cls.ad_dir = h.Directory("ad", cls.env)

    @classmethod
    def tearDownClass(cls):
        if os.environ.get("SSPR_KEEP_TMP") != "1":
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def canary_ready(self, directory):
        """t30 with the test environment's password and no lock, now and after the case."""
        directory.restore(CANARY)
        self.addCleanup(directory.restore, CANARY)
        self.assertTrue(directory.can_bind(CANARY, self.env.user_password))

    @staticmethod
    def stamps(directory, login):
        """What a password change moves, read with the directory's admin identity."""
        attrs = (["userPassword", "pwdChangedTime", "entryCSN"] if directory.kind == "openldap"
                 else ["pwdLastSet", "uSNChanged"])
        found = directory.search("(objectClass=*)", attrs, base=directory.dn_of(login),
                                 admin=True)
        return {a: found[0].get(a, [None])[0] for a in attrs}

    def secrets(self, gw):
        e = self.env
        return [gw.store_key, gw.hmac_key, e["SSPR_SMTP_PASSWORD_FILE"],
                e["SSPR_WEBHOOK_TOKEN_FILE"], e["SSPR_PG_PASSWORD_FILE"],
                e["SSPR_OL_BIND_PASSWORD_FILE"], e["SSPR_AD_BIND_PASSWORD_FILE"]]

    def write(self, name, overrides, gw=None):
        gw = gw or self.gw
        return gw.write_config(overrides, path=os.path.join(gw.workdir, name))

    def test_good_openldap_config_passes(self):
        self.canary_ready(self.ol_dir)
        rc, out, err = doctor(self.gw.config_path, "--test-user", "carol",
                              "--protected-user", "padmin", "--canary-user", CANARY)
        uri = self.env["SSPR_OL_LDAPS_URI"]
        self.assertEqual(rc, 0, out + err)
        for name in ("config", "key file store.encryption_key_file", "key file store.hmac_key_file",
                     f"directory {uri} name", f"directory {uri} TCP", f"directory {uri} TLS",
                     f"directory {uri} service bind", f"directory {uri} dialect",
                     f"directory {uri} reset rights", f"directory {uri} protected account",
                     f"directory {uri} canary reset", "sms webhook"):
            self.assertLine(out, "PASS", name)
        self.assertLine(out, "PASS", f"directory {uri} protected account", r"padmin.*refuses")
        self.assertLine(out, "PASS", f"smtp {self.env['SSPR_SMTP_HOST']}:"
                        f"{self.env['SSPR_SMTP_PORT']}", r"AUTH as .* accepted; no mail sent")
        self.assertLine(out, "PASS", "store sqlite " + os.path.join(self.gw.workdir, "state.db"),
                        r"schema version \d+ \(current\)")
        self.assertIn("doctor: ", out.splitlines()[-1])
        self.assertIn(" 0 WARN, 0 FAIL", out.splitlines()[-1])
        self.assertNoSecrets(out + err, self.secrets(self.gw))
        self.assertNoCanaryPassword(out + err)

    def test_canary_reset_openldap(self):
        self.canary_ready(self.ol_dir)
        before = self.stamps(self.ol_dir, CANARY)
        others = {u: self.stamps(self.ol_dir, u) for u in ("carol", "t29")}
        rc, out, err = doctor(self.gw.config_path, "--canary-user", CANARY)
        uri = self.env["SSPR_OL_LDAPS_URI"]
        dn = self.ol_dir.dn_of(CANARY)
        self.assertLine(out, "PASS", f"directory {uri} canary reset",
                        rf"^PASS  .*: canary reset applied and verified: {CANARY} "
                        rf"\({re.escape(dn)}\) now has a fresh random password of 32 characters "
                        r"\(not shown, not kept\), set with the Password Modify operation, and a "
                        r"bind with it succeeded$")
        # No --test-user: that check says so, and it is not a FAIL.
        self.assertLine(out, "WARN", f"directory {uri} reset rights", r"no --test-user")
        self.assertNoFail(out)
        self.assertEqual(rc, 1, out)
        # The directory holds another password: the old one no longer binds, the stamps moved.
        self.assertFalse(self.ol_dir.can_bind(CANARY, self.env.user_password))
        after = self.stamps(self.ol_dir, CANARY)
        self.assertNotEqual(after["userPassword"], before["userPassword"])
        self.assertNotEqual(after["entryCSN"], before["entryCSN"])
        self.assertIsNotNone(after["pwdChangedTime"])
        self.assertGreaterEqual(after["pwdChangedTime"], before["pwdChangedTime"] or "")
        # Nobody else was touched.
        for u, stamp in others.items():
            self.assertEqual(self.stamps(self.ol_dir, u), stamp, u)
        self.assertNoSecrets(out + err, self.secrets(self.gw))
        self.assertNoCanaryPassword(out + err)

    def test_canary_that_is_protected_or_out_of_scope_is_refused_openldap(self):
        uri = self.env["SSPR_OL_LDAPS_URI"]
        # carol: in ou=people, which the service account may write, but in sspr-admins (an admin
        # group of the policy): doctor refuses her before writing. bob: denied by a rule.
        for login, says in (("carol", r"the policy treats it as an admin"),
                            ("bob", r"a deny rule of the policy keeps it out of scope")):
            before = self.stamps(self.ol_dir, login)
            rc, out, _ = doctor(self.gw.config_path, "--canary-user", login)
            self.assertEqual(rc, 2, out)
            self.assertLine(out, "FAIL", f"directory {uri} canary reset",
                            rf"{login} \(.*\): refused, nothing changed: {says}")
            self.assertIn("fix: choose as the canary a dedicated ordinary account in scope", out)
            self.assertEqual(self.stamps(self.ol_dir, login), before, login)
            self.assertTrue(self.ol_dir.can_bind(login, self.env.user_password), login)

    def test_canary_reset_ad(self):
        self.canary_ready(self.ad_dir)
        before = self.stamps(self.ad_dir, CANARY)
        other = self.stamps(self.ad_dir, "t29")
        _, out, err = doctor(self.ad.config_path, "--canary-user", CANARY)
        uri = self.env["SSPR_AD_LDAPS_URI"]
        self.assertLine(out, "PASS", f"directory {uri} canary reset",
                        rf"canary reset applied and verified: {CANARY} \(CN={CANARY},OU=People,"
                        r".*, set with a unicodePwd reset, and a bind with it succeeded$")
        self.assertNoFail(out)
        self.assertFalse(self.ad_dir.can_bind(CANARY, self.env.user_password))
        after = self.stamps(self.ad_dir, CANARY)
        self.assertGreater(int(after["pwdLastSet"]), int(before["pwdLastSet"]))
        self.assertGreater(int(after["uSNChanged"]), int(before["uSNChanged"]))
        self.assertEqual(self.stamps(self.ad_dir, "t29"), other)
        self.assertNoSecrets(out + err, self.secrets(self.ad))
        self.assertNoCanaryPassword(out + err)

    def test_canary_that_is_protected_is_refused_ad(self):
        uri = self.env["SSPR_AD_LDAPS_URI"]
        for login, says in (("carol", r"the policy treats it as an admin"),
                            ("Administrator", r"it is a protected account \(adminCount=1\)")):
            before = self.stamps(self.ad_dir, login)
            rc, out, _ = doctor(self.ad.config_path, "--canary-user", login)
            self.assertEqual(rc, 2, out)
            self.assertLine(out, "FAIL", f"directory {uri} canary reset",
                            rf"{login} \(.*\): refused, nothing changed: {says}")
            self.assertEqual(self.stamps(self.ad_dir, login), before, login)

    def test_ad_warns_about_policy_hints_and_checks_administrator(self):
        rc, out, err = doctor(self.ad.config_path, "--test-user", "carol")
        uri = self.env["SSPR_AD_LDAPS_URI"]
        self.assertNoFail(out)
        # Samba has no LDAP_SERVER_POLICY_HINTS_OID control: a WARN, so the worst result is 1.
        self.assertLine(out, "WARN", f"directory {uri} policy hints", r"NOT enforced on reset")
        self.assertEqual(rc, 1, out)
        self.assertLine(out, "PASS", f"directory {uri} dialect", r"Active Directory")
        self.assertLine(out, "PASS", f"directory {uri} reset rights", r"unicodePwd.*lockoutTime")
        # Without --protected-user, AD's Administrator is the protected account looked at.
        self.assertLine(out, "PASS", f"directory {uri} protected account",
                        r"^PASS  .*: Administrator: the directory refuses")
        self.assertNoSecrets(out + err, self.secrets(self.ad))

    def test_wrong_ca_is_unknown_ca(self):
        other = os.path.join(self.tmp, "other-ca")
        subprocess.run([CERTS_SH, "ca", other], check=True, stdout=subprocess.DEVNULL)
        path = self.write("wrong-ca.yaml", {"directory": {"ca_file": os.path.join(other, "ca.crt")}})
        rc, out, _ = doctor(path)
        uri = self.env["SSPR_OL_LDAPS_URI"]
        self.assertEqual(rc, 2, out)
        self.assertLine(out, "FAIL", f"directory {uri} TLS", r"unknown CA: .*other-ca/ca\.crt")
        self.assertIn("fix: set directory.ca_file", out)
        # The later directory checks are not run over an untrusted connection.
        self.assertFalse(self.lines(out, "PASS", f"directory {uri} service bind"), out)

    def test_smtp_down_is_named(self):
        port = h.free_port()
        path = self.write("smtp-down.yaml", {"delivery": {"smtp": {"port": port}}})
        rc, out, _ = doctor(path)
        self.assertEqual(rc, 2, out)
        self.assertLine(out, "FAIL", f"smtp {self.env['SSPR_SMTP_HOST']}:{port}")
        self.assertIn("fix: start the mail server or fix delivery.smtp.host / port", out)
        self.assertLine(out, "PASS", "sms webhook")

    def test_postgres_down_is_named(self):
        gw = h.Gateway(name="doctor-pg", directory="openldap", store="postgres",
                       workdir=os.path.join(self.tmp, "pg"))
        port = h.free_port()
        path = self.write("pg-down.yaml", {"store": {"postgres": {"port": port}}}, gw=gw)
        rc, out, _ = doctor(path)
        self.assertEqual(rc, 2, out)
        self.assertLine(out, "FAIL", f"store postgres {self.env['SSPR_PG_USER']}@"
                        f"{self.env['SSPR_PG_HOST']}:{port}/{self.env['SSPR_PG_DATABASE']}",
                        r"cannot open")
        self.assertIn("fix: start PostgreSQL", out)
        self.assertNoSecrets(out, [self.env["SSPR_PG_PASSWORD_FILE"]])
        # The real PostgreSQL on its port opens (schema present or not yet: PASS or WARN).
        rc, out, _ = doctor(gw.config_path)
        self.assertFalse(self.lines(out, "FAIL", "store postgres"), out)

    def test_key_file_readable_by_others(self):
        d = os.path.join(self.tmp, "loose")
        gw = h.Gateway(name="doctor-loose", directory="openldap", workdir=d)
        os.chmod(gw.store_key, 0o644)
        rc, out, _ = doctor(gw.config_path)
        self.assertEqual(rc, 2, out)
        self.assertLine(out, "FAIL", "key file store.encryption_key_file", re.escape(gw.store_key))
        self.assertIn(f"fix: chown it to the user ssprd runs as and chmod 600 {gw.store_key}", out)
        self.assertLine(out, "PASS", "key file store.hmac_key_file")
        # The other checks still ran.
        self.assertLine(out, "PASS", f"directory {self.env['SSPR_OL_LDAPS_URI']} service bind")
        self.assertNoSecrets(out, [gw.store_key])


class PrivateSlapd(DoctorCase):
    """A slapd of this test only, with a certificate for DNS:localhost alone. The tests run in
    their names' order: the wrong password costs one failed bind (the lockout is at 3), the ACL
    without the reset right comes last."""

    @classmethod
    def setUpClass(cls):
        cls.env = h.testenv_or_skip()
        cls.tmp = tempfile.mkdtemp(prefix="ssprd-doctor-slapd-")
        cls.dir = os.path.join(cls.tmp, "slapd")
        port, tls_port = h.free_port(), h.free_port()
        env = dict(os.environ, SSPR_OL_PORT=str(port), SSPR_OL_TLS_PORT=str(tls_port),
                   SSPR_OL_LOGLEVEL="0", SSPR_TESTENV_MAX_RUNTIME="900")
        cls.addClassCleanup(cls.cleanup)
        subprocess.run([SLAPD_SH, "setup", cls.dir], check=True, env=env,
                       stdout=subprocess.DEVNULL, timeout=120)
        # Re-issue the server certificate for names only (the setup's covers IP:127.0.0.1 too).
        # libldap checks "localhost" as this machine's own name, so that is named as well.
        names = "DNS:localhost,DNS:" + socket.gethostname().split(".")[0]
        subprocess.run([CERTS_SH, "server", os.path.join(cls.dir, "ca"),
                        os.path.join(cls.dir, "tls"), names], check=True,
                       stdout=subprocess.DEVNULL, timeout=60)
        # slapd.sh listens on, and checks readiness over, OL_LDAPS_URI: by the certificate's name
        # (localhost resolves to 127.0.0.1 only; slapd listens on what the name resolves to).
        instance = os.path.join(cls.dir, "instance.env")
        with open(instance, encoding="utf-8") as f:
            text = f.read()
        text = text.replace(f"OL_LDAPS_URI=ldaps://127.0.0.1:{tls_port}",
                            f"OL_LDAPS_URI=ldaps://localhost:{tls_port}")
        with open(instance, "w", encoding="utf-8") as f:
            f.write(text)
        subprocess.run([SLAPD_SH, "start", cls.dir], check=True, timeout=60,
                       stdout=subprocess.DEVNULL)
        cls.port = tls_port
        cls.ldapi = "ldapi://" + os.path.join(cls.dir, "ldapi").replace("/", "%2F")
        cls.ca = os.path.join(cls.dir, "tls", "ca.crt")
        cls.gw = h.Gateway(name="doctor-priv", directory="openldap",
                           workdir=os.path.join(cls.tmp, "gw"))

    @classmethod
    def cleanup(cls):
        # Also after a failed setUpClass: stop the recorded slapd (by its PID file), then remove.
        subprocess.run([SLAPD_SH, "stop", cls.dir], timeout=60, stdout=subprocess.DEVNULL)
        if os.environ.get("SSPR_KEEP_TMP") != "1":
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def config(self, name, host="localhost", password_file=None):
        d = {"uris": [f"ldaps://{host}:{self.port}"], "ca_file": self.ca,
             "bind_password_file": password_file or os.path.join(self.dir, "sspr.pw")}
        return self.gw.write_config({"directory": d}, path=os.path.join(self.gw.workdir, name))

    def entry(self, login):
        p = subprocess.run(["ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-Q", "-Y", "EXTERNAL",
                            "-H", self.ldapi, "-b", "dc=example,dc=org", f"(uid={login})",
                            "userPassword", "pwdAccountLockedTime", "modifyTimestamp",
                            "entryCSN"], stdout=subprocess.PIPE, check=True, timeout=60)
        return p.stdout.decode()

    def test_1_good_by_name_and_nothing_changes(self):
        before = self.entry("carol")
        self.assertIn("userPassword", before)
        rc, out, _ = doctor(self.config("good.yaml"), "--test-user", "carol",
                            "--protected-user", "padmin")
        uri = f"ldaps://localhost:{self.port}"
        self.assertLine(out, "PASS", f"directory {uri} TLS", r"covers localhost")
        self.assertLine(out, "PASS", f"directory {uri} service bind")
        self.assertLine(out, "PASS", f"directory {uri} reset rights", r"LDAP 16")
        self.assertLine(out, "PASS", f"directory {uri} protected account", r"padmin")
        # Without --canary-user the report says so (a SKIP, which never sets the exit code) and
        # nothing is reset.
        self.assertLine(out, "SKIP", f"directory {uri} canary reset",
                        r"not asked for \(no --canary-user\): no password was reset")
        self.assertFalse([ln for ln in out.splitlines() if ln.startswith("FAIL")], out)
        # The rights probe changed nothing: same password hash, same modification stamp.
        self.assertEqual(self.entry("carol"), before)
        self.assertNotIn(read_secret(os.path.join(self.dir, "sspr.pw")), out)

    def test_2_address_not_in_certificate_is_name_mismatch(self):
        rc, out, _ = doctor(self.config("mismatch.yaml", host="127.0.0.1"))
        uri = f"ldaps://127.0.0.1:{self.port}"
        self.assertEqual(rc, 2, out)
        self.assertLine(out, "PASS", f"directory {uri} TCP")
        self.assertLine(out, "FAIL", f"directory {uri} TLS",
                        r'name mismatch: the certificate does not cover "127\.0\.0\.1" '
                        r"\(it covers DNS:localhost, DNS:")
        self.assertFalse(self.lines(out, "FAIL", f"directory {uri} TLS")[0].count("unknown CA"))

    def test_3_wrong_service_password(self):
        wrong = os.path.join(self.tmp, "wrong.pw")
        h.write_private(wrong, "Not-The-Password-1")
        rc, out, _ = doctor(self.config("wrong-pw.yaml", password_file=wrong))
        uri = f"ldaps://localhost:{self.port}"
        self.assertEqual(rc, 2, out)
        self.assertLine(out, "PASS", f"directory {uri} TLS")
        self.assertLine(out, "FAIL", f"directory {uri} service bind", r"wrong password or DN")
        self.assertIn(f"fix: put the service account's current password in {wrong}", out)
        self.assertNotIn("Not-The-Password-1", out)

    def test_4_no_reset_right(self):
        ldif = ("dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\nreplace: olcAccess\n"
                "olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none\n"
                "olcAccess: {1}to * by users read by * none\n")
        subprocess.run(["ldapmodify", "-Q", "-Y", "EXTERNAL", "-H", self.ldapi],
                       input=ldif.encode(), check=True, stdout=subprocess.DEVNULL, timeout=60)
        before = self.entry("carol")
        canary_before = self.entry(CANARY)
        rc, out, _ = doctor(self.config("no-right.yaml"), "--test-user", "carol",
                            "--canary-user", CANARY)
        uri = f"ldaps://localhost:{self.port}"
        self.assertEqual(rc, 2, out)
        self.assertLine(out, "PASS", f"directory {uri} service bind")
        self.assertLine(out, "FAIL", f"directory {uri} reset rights",
                        r"no reset right: .*userPassword.*LDAP 50")
        self.assertIn("fix: give the service account `write` (not `manage`)", out)
        self.assertEqual(self.entry("carol"), before)
        # The real reset of the canary is refused the same way, with the directory's reason.
        self.assertLine(out, "FAIL", f"directory {uri} canary reset",
                        r"insufficient rights: the directory refused the service account's reset "
                        rf"of uid={CANARY},ou=people,dc=example,dc=org: access denied by the "
                        r"directory")
        self.assertIn("fix: give the service account `write` (not `manage`) on userPassword and "
                      "the pwd* lock attributes of the canary's subtree", out)
        self.assertEqual(self.entry(CANARY), canary_before)
        self.assertNoCanaryPassword(out)


if __name__ == "__main__":
    h.main()
