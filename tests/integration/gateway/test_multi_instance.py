#!/usr/bin/env python3
"""Two `ssprd serve` instances on one PostgreSQL store (the same store and HMAC keys):
  * a reset started on A, verified on B, completed on A;
  * an enrollment made on A is used on B;
  * a user blocked on A (guessed codes) is blocked on B;
  * the pages need no sticky sessions: a reset through the HTML forms whose every step goes to
    the other instance (both behind one public URL, as behind a round-robin load balancer), and
    a sign-in to the contact-info pages on A whose methods page is shown by B.
The store's public schema in the test database is shared with other runs: the enrollments of this
module's users are deleted first (fresh keys could not read them), and counters are keyed by the
fresh HMAC key, so earlier runs do not count.

  python3 test_multi_instance.py SSPRD [--directory openldap|ad]
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Browser, Forms, enroll, method_of, new_password  # noqa: E402

ROAMER, BLOCKED, PAGER = "t12", "t13", "t16"


def forget_enrollments(env, dns):
    with open(env["SSPR_PG_PASSWORD_FILE"]) as f:
        password = f.read().strip()
    pg_env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="10")
    quoted = ", ".join("lower('" + dn.replace("'", "''") + "')" for dn in dns)
    sql = (f"DO $$ BEGIN IF to_regclass('public.enrollments') IS NOT NULL THEN "
           f"DELETE FROM public.enrollments WHERE lower(user_dn) IN ({quoted}); END IF; END $$;")
    p = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", env["SSPR_PG_HOST"],
                        "-p", env["SSPR_PG_PORT"], "-U", env["SSPR_PG_USER"], "-d",
                        env["SSPR_PG_DATABASE"], "-c", sql], env=pg_env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"psql could not clear old enrollments: {p.stdout.decode()}")


class MultiInstanceTest(harness.GatewayTestCase):
    USERS = (ROAMER, BLOCKED, PAGER)
    GATEWAY_OPTIONS = {"name": "pg-A", "store": "postgres"}

    @classmethod
    def setUpClass(cls):
        env = harness.testenv_or_skip()
        d = harness.Directory(cls.directory_kind())
        forget_enrollments(env, [d.dn_of(u) for u in cls.USERS])
        super().setUpClass()
        cls.a = cls.api
        # One public URL for both, as behind a load balancer: the pages' Origin check and links.
        cls.gw_b = cls.add_gateway(name="pg-B", store="postgres", keys_from=cls.gw,
                                   overrides={"server": {"public_url": cls.gw.url()}})
        cls.b = cls.gw_b.client()

    def test_start_on_a_verify_on_b_complete_on_a(self):
        user = enroll(self.a, ROAMER, self.env.user_password, email=f"{ROAMER}@example.org",
                     mailbox=self.mail)
        # B sees the enrollment made on A.
        r = self.b.get("/api/v1/enroll/methods", token=user.token)
        listing = self.json_of(r, 200, "B lists A's enrollment (and honours A's session)")
        self.assertIn("email", {m["kind"] for m in listing["methods"]}, listing)

        start = self.start_flow(ROAMER, client=self.a)
        email = method_of(start, "email")
        since = self.mail.snapshot()
        r = self.a.post("/api/v1/reset/challenge", {"flow": start["flow"], "method": email["id"]})
        self.assertStatus(r, 202, "challenge on A")
        code = self.mail.wait_code(user.email, since)
        r = self.b.post("/api/v1/reset/verify", {"flow": start["flow"], "method": email["id"],
                                                 "code": code})
        self.assertEqual(self.json_of(r, 200, "verify on B"),
                         {"gates_passed": 1, "gates_required": 1})
        password = new_password("Roam")
        r = self.a.post("/api/v1/reset/complete", {"flow": start["flow"],
                                                   "new_password": password})
        self.assertEqual(self.json_of(r, 200, "complete on A"), {"result": "changed"})
        self.assertTrue(self.dir.can_bind(ROAMER, password))
        self.assertFalse(self.dir.can_bind(ROAMER, self.env.user_password))
        # ... and it is completed for B too.
        r = self.b.post("/api/v1/reset/complete", {"flow": start["flow"],
                                                   "new_password": new_password("Roam2")})
        self.assertProblem(r, 404, "flow_not_found", "B must see the completed flow")

    def test_a_user_blocked_on_a_is_blocked_on_b(self):
        user = enroll(self.a, BLOCKED, self.env.user_password, email=f"{BLOCKED}@example.org",
                     mailbox=self.mail)
        start = self.start_flow(BLOCKED, client=self.a)
        email = method_of(start, "email")
        since = self.mail.snapshot()
        self.assertStatus(self.a.post("/api/v1/reset/challenge",
                                      {"flow": start["flow"], "method": email["id"]}), 202)
        code = self.mail.wait_code(user.email, since)
        statuses = []
        guess = 100003
        for _ in range(15):
            if str(guess) == code:
                guess += 1
            r = self.a.post("/api/v1/reset/verify", {"flow": start["flow"],
                                                     "method": email["id"],
                                                     "code": str(guess)})
            guess += 7919
            statuses.append(r.status)
            if r.status == 429:
                break
        self.assertEqual(statuses[-1], 429, f"no block on A: {statuses}")

        # On B: a new flow never passes a gate, even with the right code.
        r = self.b.post("/api/v1/reset/start", {"username": BLOCKED})
        if r.status != 429:
            start_b = self.json_of(r, 200, "start on B")
            harness.SECRETS.add(start_b["flow"], "flow token")
            email_b = method_of(start_b, "email")
            since = self.mail.snapshot()
            r = self.b.post("/api/v1/reset/challenge", {"flow": start_b["flow"],
                                                        "method": email_b["id"]})
            if r.status != 429:
                self.assertStatus(r, 202, "challenge on B")
                try:
                    fresh = self.mail.wait_code(user.email, since, timeout=8)
                except AssertionError:
                    fresh = code
                r = self.b.post("/api/v1/reset/verify", {"flow": start_b["flow"],
                                                         "method": email_b["id"],
                                                         "code": fresh})
        self.assertProblem(r, 429, "throttled", "blocked on A, so blocked on B")
        self.assertTrue((r.header("Retry-After") or "").isdigit(), r.describe())
        # The old flow on B too.
        r = self.b.post("/api/v1/reset/verify", {"flow": start["flow"], "method": email["id"],
                                                 "code": code})
        self.assertProblem(r, 429, "throttled", "A's flow on B")

    def page(self, r, what):
        self.assertStatus(r, 200, what)
        self.assertIn("text/html", r.header("Content-Type") or "", r.describe())
        return r.body.decode("utf-8")

    def test_pages_need_no_sticky_sessions(self):
        user = enroll(self.a, PAGER, self.env.user_password, email=f"{PAGER}@example.org",
                      mailbox=self.mail)
        browser = Browser(self.gw.url())
        # Each step of the forgot-password pages on the other instance than the step before.
        forms = Forms(self.page(browser.get(self.a, "/reset"), "reset page on A"))
        fields = forms.form("/reset/start")
        fields["username"] = PAGER
        forms = Forms(self.page(browser.post(self.b, "/reset/start", fields), "start on B"))
        fields = forms.form("/reset/challenge")
        self.assertTrue(fields.get("flow") and fields.get("method"), fields)
        harness.SECRETS.add(fields["flow"], "flow token")
        since = self.mail.snapshot()
        forms = Forms(self.page(browser.post(self.a, "/reset/challenge", fields),
                                "challenge on A"))
        fields = forms.form("/reset/verify")
        fields["code"] = self.mail.wait_code(user.email, since)
        forms = Forms(self.page(browser.post(self.b, "/reset/verify", fields), "verify on B"))
        fields = forms.form("/reset/complete")
        password = new_password("Page")
        fields["new_password"] = fields["confirm_password"] = password
        done = self.page(browser.post(self.a, "/reset/complete", fields), "complete on A")
        self.assertFalse(Forms(done).forms and any(f["action"] == "/reset/complete"
                                                   for f in Forms(done).forms),
                         "the complete form came back: the change was refused\n" + done)
        self.assertTrue(self.dir.can_bind(PAGER, password), "the directory holds the new one")
        self.assertFalse(self.dir.can_bind(PAGER, self.env.user_password))

        # The contact-info pages: sign in on A, the methods page (and its forms) from B.
        browser = Browser(self.gw.url())
        forms = Forms(self.page(browser.get(self.a, "/enroll"), "sign-in page on A"))
        fields = forms.form("/enroll/session")
        fields.update({"username": PAGER, "password": password})
        r = browser.post(self.a, "/enroll/session", fields)
        self.assertIn(r.status, (200, 303), r.describe())
        listing = self.page(browser.get(self.b, "/enroll"), "methods page on B")
        Forms(listing).form("/enroll/remove")  # a registered method is listed, with its form
        r = self.a.get("/api/v1/enroll/methods", token=user.token)
        hints = [m["hint"] for m in self.json_of(r, 200, "A's listing")["methods"]]
        self.assertTrue(hints, "A lists the e-mail method")
        for hint in hints:
            self.assertIn(hint, listing, "B's page shows the methods of the session made on A")


if __name__ == "__main__":
    harness.main()
