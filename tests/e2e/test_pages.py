#!/usr/bin/env python3
"""Browser tests of the pages (ctest label e2e): headless Debian Chromium driven by playwright-core
(tests/e2e/pages.mjs) against a real `ssprd serve` on the test environment's slapd, SMTP sink and
SMS webhook sink, started the way the gateway integration tests start it
(tests/integration/gateway/harness.py).

What the browser does, axe-core (no serious or critical violation) and a screenshot on every page:
  * t26: registers e-mail and an authenticator app, resets with the app (a refused password
    first, then the completed form sent again, which changes nothing and mails nobody);
  * t27: the same in Korean, chosen with the language switcher; Korean by Accept-Language;
  * t28: unlocks its locked account with an e-mailed code;
  * t25 (two gates, by a rule of this test's configuration): registers a mobile number (the
    texted code) and security questions, sees both listed (the number masked), resets with the
    texted code and then the questions, each page saying its step of the two (a wrong answer
    first: its message in the summary and at the field, nothing changed; then the right ones),
    the new password typed twice (differently first: refused).
Afterwards the directory must take each new password (and no longer t25's old one).

This side owns the servers and the secrets: it starts the gateway, prepares the accounts, reads
the mailed codes from the SMTP sink and the texted ones from the webhook sink, computes the
authenticator codes and checks the directory. pages.mjs owns the browser and asks for those over
a line protocol: one JSON object per line on its stdout ({"op": ...}), one JSON answer per line on
its stdin. After the run the usual gateway checks apply (exit 0 on SIGTERM, no secret in its log
or audit file, the audit chain verifies); t25's answers and mobile number count as secrets there.

  python3 tests/e2e/test_pages.py SSPRD SCREENSHOT_DIR

Without SSPR_TESTENV_FILE it exits 77 (skipped); with it, a missing Chromium or missing npm
packages (scripts/install-deps installs both) are failures.
"""
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration", "gateway"))
import harness  # noqa: E402

EN_USER, KO_USER, UNLOCK_USER, SMS_USER = "t26", "t27", "t28", "t25"
# The SMS user's mobile number, typed the way people type it; the gateway texts the E.164 form.
SMS_NUMBER, SMS_E164 = "+82 10 5555 0025", "+821055550025"
CHROMIUM = "/usr/bin/chromium"
# The whole browser run; every single browser step has a timeout of its own in pages.mjs.
RUN_TIMEOUT = 240

SHOTS = None


class PagesTest(harness.GatewayTestCase):
    USERS = (EN_USER, KO_USER, UNLOCK_USER, SMS_USER)
    # The organisation's logo on every page (pages.mjs checks it is shown and loads).
    GATEWAY_OPTIONS = {"overrides": {"ui": {"logo": os.path.join(HERE, "logo.svg")}}}

    @classmethod
    def add_gateway(cls, start=True, **options):
        """The test configuration, and a rule of its own for the SMS user: two gates (the
        configuration's default is one, and admins, who need two, may not use questions)."""
        gw = super().add_gateway(start=False, **options)
        rules = gw.config()["policy"]["rules"] + [
            {"name": "e2e-two-gates", "filter": f"({cls.dir.login_attr}={SMS_USER})",
             "gates": 2}]
        harness.merge(gw.overrides, {"policy": {"rules": rules}})
        gw.write_config()
        if start:
            gw.start()
        return gw

    def serve(self, request, totps):
        """The answer to one request of pages.mjs."""
        op = request.get("op")
        if op == "mark":
            self.since = self.mail.snapshot()
            self.sms_since = self.sms.snapshot()
            return {}
        if op == "mail_code":
            return {"code": self.mail.wait_code(request["address"], self.since)}
        if op == "sms_code":
            return {"code": self.sms.wait_code(request["number"], self.sms_since)}
        if op == "totp":
            secret = request["secret"]
            if secret not in totps:
                totps[secret] = harness.Totp(f"otpauth://totp/e2e?secret={secret}")
            return {"code": totps[secret].code()}
        if op == "can_bind":
            return {"ok": self.dir.can_bind(request["login"], request["password"])}
        if op == "is_locked":
            return {"locked": self.dir.is_locked(request["login"])}
        if op == "mails_to":
            return {"count": sum(1 for n in self.mail.names() - self.since
                                 if request["address"].lower() in
                                 harness.Mailbox.recipients(self.mail.parse(n)))}
        raise AssertionError(f"pages.mjs asked for {op!r}")

    def test_pages_in_chromium(self):
        self.assertTrue(os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} missing: scripts/install-deps")
        modules = os.path.join(HERE, "node_modules")
        for pkg in ("playwright-core", "@axe-core/playwright"):
            self.assertTrue(os.path.isfile(os.path.join(modules, pkg, "package.json")),
                            f"{pkg} missing in {modules}: scripts/install-deps runs npm ci")

        # The unlock user: e-mail registered through the API, then locked in the directory.
        password = self.env.user_password
        harness.enroll(self.api, UNLOCK_USER, password, email=f"{UNLOCK_USER}@example.org",
                       mailbox=self.mail)
        self.dir.lock(UNLOCK_USER)
        self.assertTrue(self.dir.is_locked(UNLOCK_USER))

        # The SMS user's answers, by the English text of every question of the pool (the page
        # shows the text, the browser picks the answer by it). The number is no secret to the
        # user, but the gateway logs only its masked form: in clear it counts as a leak.
        answers = {q["text"]["en"]: a for q, a in zip(harness.QUESTION_POOL, harness.ANSWERS)}
        for a in answers.values():
            harness.SECRETS.add(a, "security answer")
        wrong = "Not The Answer At All"
        harness.SECRETS.add(wrong, "wrong security answer")
        for n in (SMS_NUMBER, SMS_E164, "010 5555 0025", "01055550025"):
            harness.SECRETS.add(n, "mobile number")
        questions = self.gw.config()["methods"]["questions"]

        plan = {
            "base": self.gw.url(),
            "shots": SHOTS,
            "chromium": CHROMIUM,
            "messages": os.path.join(harness.SOURCE_DIR, "messages"),
            "organisation": harness.ORGANISATION,
            "password": password,
            "min_length": self.gw.config()["password"]["min_length"],
            "users": {
                "en": {"login": EN_USER, "email": f"{EN_USER}@example.org",
                       "new": harness.new_password("Pages")},
                "ko": {"login": KO_USER, "email": f"{KO_USER}@example.org",
                       "new": harness.new_password("Seoul")},
                "unlock": {"login": UNLOCK_USER, "email": f"{UNLOCK_USER}@example.org"},
                "sms": {"login": SMS_USER, "number": SMS_NUMBER, "answers": answers,
                        "wrong": wrong, "new": harness.new_password("Texts"),
                        "mismatch": harness.new_password("Other")},
            },
            "questions": {"register": questions["register_count"],
                          "asked": questions["answer_count"]},
        }
        self.since = self.mail.snapshot()
        self.sms_since = self.sms.snapshot()
        totps = {}
        node = subprocess.Popen(["node", os.path.join(HERE, "pages.mjs")],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                cwd=HERE)
        deadline = time.monotonic() + RUN_TIMEOUT
        result = None
        try:
            node.stdin.write(json.dumps(plan) + "\n")
            node.stdin.flush()
            for line in node.stdout:
                if time.monotonic() > deadline:
                    raise AssertionError(f"pages.mjs still running after {RUN_TIMEOUT}s")
                request = json.loads(line)
                if request.get("op") == "result":
                    result = request
                    break
                node.stdin.write(json.dumps(self.serve(request, totps)) + "\n")
                node.stdin.flush()
            node.wait(max(1, deadline - time.monotonic()))
        finally:
            if node.poll() is None:
                node.kill()
                node.wait(10)
        self.assertIsNotNone(result, f"pages.mjs ended (exit {node.returncode}) without a result")
        for name in result.get("passed", []):
            print(f"ok: {name}")
        self.assertEqual(result.get("failures"), [], "\n".join(result.get("failures", [])))
        self.assertEqual(node.returncode, 0)
        self.assertGreaterEqual(result.get("pages_checked", 0), 44, "axe ran on too few pages")

        # What the directory says after the forms.
        self.assertTrue(self.dir.can_bind(EN_USER, plan["users"]["en"]["new"]))
        self.assertTrue(self.dir.can_bind(KO_USER, plan["users"]["ko"]["new"]))
        self.assertFalse(self.dir.is_locked(UNLOCK_USER))
        self.assertTrue(self.dir.can_bind(UNLOCK_USER, password))
        self.assertTrue(self.dir.can_bind(SMS_USER, plan["users"]["sms"]["new"]))
        self.assertFalse(self.dir.can_bind(SMS_USER, password))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:]]
    if len(args) < 2:
        raise SystemExit("usage: test_pages.py SSPRD SCREENSHOT_DIR [unittest options]")
    SHOTS = os.path.abspath(args.pop(1))
    # Only this run's screenshots.
    shutil.rmtree(SHOTS, ignore_errors=True)
    os.makedirs(SHOTS)
    harness.main([sys.argv[0]] + args)
