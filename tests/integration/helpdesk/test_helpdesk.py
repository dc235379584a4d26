#!/usr/bin/env python3
"""`ssprd helpdesk status|clear|unblock` and `ssprd enrollments export` on the real binary,
against a real `ssprd serve` (shared slapd or Samba AD, SMTP sink) and its own store.

Users are enrolled through the gateway's API (e-mail with the code from the mail sink, an
authenticator, security answers); the commands then run beside the running gateway, writing into
its audit file, and their effect is checked through the API: after `clear` the method is gone
from reset/start; after `unblock` a user locked out by wrong codes can reset again. Every secret
the test saw (codes, tokens, TOTP seed, answers, addresses) must be absent from the commands'
output, and `ssprd audit verify` must accept the chain the gateway and the commands wrote.

  python3 test_helpdesk.py SSPRD [--directory openldap|ad]
"""
import csv
import io
import json
import os
import stat
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gateway"))
import harness  # noqa: E402
from harness import SECRETS, enroll, method_of  # noqa: E402

FULL, LOCKED = "t23", "t24"
OPERATOR = "kim.helpdesk"


def wrong_codes(real):
    n = 100000
    while True:
        c = str(n)
        n += 7919
        if c != real:
            yield c


class HelpdeskTest(harness.GatewayTestCase):
    USERS = (FULL, LOCKED)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.full = enroll(cls.api, FULL, cls.env.user_password, email=f"{FULL}@example.org",
                          totp=True, questions=True, mailbox=cls.mail)
        cls.locked = enroll(cls.api, LOCKED, cls.env.user_password,
                            email=f"{LOCKED}@example.org", mailbox=cls.mail)
        # Addresses are not secrets to the gateway, but the helpdesk must only ever see them
        # masked.
        cls.addresses = [cls.full.email, cls.locked.email]

    # -- helpers --
    def ssprd(self, *args, env=None):
        p = subprocess.run([self.gw.ssprd, *args], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60, env=env)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        self.assertNoSecret(out + err)
        return p.returncode, out, err

    def helpdesk(self, *args):
        return self.ssprd("helpdesk", *args, "-c", self.gw.config_path)

    def assertNoSecret(self, text):
        for value, what in SECRETS.snapshot().items():
            if value.isdigit():
                continue  # codes: six digits also occur in times; the audit check covers them
            self.assertNotIn(value, text, f"{what} in the command's output")
        for a in self.addresses:
            self.assertNotIn(a, text, "a full e-mail address in the command's output")

    def audit_events(self, step):
        with open(self.gw.audit_path, encoding="utf-8") as f:
            return [e for e in map(json.loads, f) if e.get("step") == step]

    def reset_offers(self, login):
        start = self.start_flow(login)
        return start, sorted(m["kind"] for m in start["methods"])

    def reset_reaches_challenge(self, login):
        """429 at start or at the e-mail challenge: False; a code sent (202): True."""
        r = self.api.post("/api/v1/reset/start", {"username": login})
        if r.status == 429:
            return False
        start = self.json_of(r, 200, f"reset/start for {login}")
        SECRETS.add(start["flow"], "flow token")
        email = method_of(start, "email")
        self.assertIsNotNone(email, start)
        r = self.api.post("/api/v1/reset/challenge", {"flow": start["flow"],
                                                      "method": email["id"]})
        if r.status == 429:
            return False
        self.assertStatus(r, 202, f"challenge for {login}")
        return True

    # -- tests --
    def test_status_shows_masked_methods_and_is_audited(self):
        rc, out, err = self.helpdesk("status", FULL, "--operator", OPERATOR)
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, rf"^user: \S*{FULL}\S*,")
        self.assertRegex(out, r"\n  email-0  \*\*\*@e\*\*\*\.org  confirmed \d{4}-\d\d-\d\dT")
        self.assertRegex(out, r"\n  questions  confirmed \d{4}-")
        self.assertIn("failed_proofs (user): not blocked", out)
        self.assertIn("emails (email-0 ***@e***.org): not blocked", out)
        events = self.audit_events("helpdesk.status")
        self.assertTrue(any(e.get("actor") == OPERATOR and e.get("username") == FULL
                            for e in events), events)

    def test_unknown_user_and_usage(self):
        rc, out, err = self.helpdesk("status", "no-such-user-x9", "--operator", OPERATOR)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("no user 'no-such-user-x9'", err)
        rc, out, err = self.helpdesk("clear", FULL, "--operator", OPERATOR)  # no METHOD
        self.assertEqual(rc, 64, out + err)
        rc, out, err = self.helpdesk("unblock", FULL)  # no --operator
        self.assertEqual(rc, 64, out + err)
        rc, out, err = self.helpdesk("clear", FULL, "sms-0", "--operator", OPERATOR)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("registered: email-0", err)

    def test_clear_removes_the_method_from_reset(self):
        _, before = self.reset_offers(FULL)
        self.assertIn("totp", before)
        rc, out, err = self.helpdesk("clear", FULL, "totp", "--operator", OPERATOR)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("removed totp from ", out)
        _, after = self.reset_offers(FULL)
        self.assertNotIn("totp", after)
        self.assertIn("email", after)
        rc, out, err = self.helpdesk("status", FULL, "--operator", OPERATOR)
        self.assertEqual(rc, 0, out + err)
        self.assertNotIn("\n  totp ", out)
        events = [e for e in self.audit_events("helpdesk.clear") if e.get("outcome") == "ok"]
        self.assertTrue(any(e.get("actor") == OPERATOR and e.get("method") == "totp"
                            for e in events), events)

    def test_unblock_lets_a_locked_out_user_reset_again(self):
        start = self.start_flow(LOCKED)
        email = method_of(start, "email")
        since = self.mail.snapshot()
        self.assertStatus(self.api.post("/api/v1/reset/challenge",
                                        {"flow": start["flow"], "method": email["id"]}), 202)
        code = self.mail.wait_code(self.locked.email, since)
        guesses = wrong_codes(code)
        statuses = []
        for _ in range(12):
            r = self.api.post("/api/v1/reset/verify", {"flow": start["flow"],
                                                       "method": email["id"],
                                                       "code": next(guesses)})
            statuses.append(r.status)
            if r.status == 429:
                break
        self.assertEqual(statuses[-1], 429, statuses)
        self.assertFalse(self.reset_reaches_challenge(LOCKED), "locked out after wrong codes")

        rc, out, err = self.helpdesk("status", LOCKED, "--operator", OPERATOR)
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, r"failed_proofs \(user\): BLOCKED until \d{4}-\d\d-\d\dT")

        # The gateway keeps a remembered block for up to a minute (store/throttle_cache.hpp);
        # a restart forgets it, so what is tested is the store, not the wait.
        self.assertEqual(self.gw.stop(), 0)
        rc, out, err = self.helpdesk("unblock", LOCKED, "--operator", OPERATOR)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("lifted: failed_proofs", out)
        self.gw.start()
        self.assertTrue(self.reset_reaches_challenge(LOCKED), "still blocked after unblock")

        rc, out, err = self.helpdesk("status", LOCKED, "--operator", OPERATOR)
        self.assertEqual(rc, 0, out + err)
        self.assertNotIn("BLOCKED", out)
        events = self.audit_events("helpdesk.unblock")
        self.assertTrue(any(e.get("actor") == OPERATOR and e.get("reason") == "throttle.cleared"
                            for e in events), events)

    def test_export_is_masked_csv(self):
        out_path = os.path.join(self.gw.workdir, "coverage.csv")
        rc, out, err = self.ssprd("enrollments", "export", "-c", self.gw.config_path,
                                  "--output", out_path, "--operator", OPERATOR)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(stat.S_IMODE(os.stat(out_path).st_mode) & 0o077, 0,
                         "the report lists people: owner only")
        with open(out_path, "rb") as f:
            raw = f.read()
        text = raw.decode("utf-8")
        self.assertNoSecret(text)
        self.assertTrue(raw.endswith(b"\r\n"), "RFC 4180 line ends")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        self.assertEqual(rows[0], ["user_dn", "methods", "email_hints", "sms_hints", "totp",
                                   "questions", "last_confirmed", "reconfirm_due"])
        by_user = {r[0].split(",")[0].split("=")[-1].lower(): r for r in rows[1:]}
        self.assertIn(FULL, by_user, rows)
        self.assertIn(LOCKED, by_user, rows)
        self.assertIn("email", by_user[FULL][1].split(";"))
        self.assertIn("questions", by_user[FULL][1].split(";"))
        self.assertEqual(by_user[FULL][2], "***@e***.org")
        self.assertEqual(by_user[LOCKED][1], "email")
        self.assertRegex(by_user[LOCKED][6], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertTrue(any(e.get("actor") == OPERATOR
                            for e in self.audit_events("enrollments.export")))

        # Without --output: the same CSV on standard output; the operator defaults to $SUDO_USER.
        env = dict(os.environ, SUDO_USER="lee.admin")
        rc, out, err = self.ssprd("enrollments", "export", "-c", self.gw.config_path, env=env)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines()[0], text.splitlines()[0])
        self.assertTrue(any(e.get("actor") == "lee.admin"
                            for e in self.audit_events("enrollments.export")))


if __name__ == "__main__":
    harness.main()
