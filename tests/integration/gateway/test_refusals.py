#!/usr/bin/env python3
"""Refused passwords come back as their codes, and the old password keeps working:
  * the gateway's own rules: password_too_short, password_banned, password_breached (a breached
    list made with `ssprd breached import`), and with ad_complexity on password_not_complex and
    password_contains_name;
  * the directory's rules (scripts/testenv): OpenLDAP ppolicy history (pwdInHistory 3, also the
    current password) on reset and change; Samba AD complexity (pwdProperties 1) on reset and
    history (pwdHistoryLength 3) on change. Samba does not offer the policy-hints control, so a
    reset there does not check history; that case is left out on AD;
  * OpenLDAP: the service account may not write ou=admins, so padmin's reset is 403
    account_protected.
A refusal leaves the flow usable for another try (the user is told what to change).

  python3 test_refusals.py SSPRD --directory openldap|ad
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import SECRETS, enroll, method_of, new_password  # noqa: E402

USER = "t10"          # the lenient gateway (ad_complexity off: the directory judges)
STRICT_USER = "t15"   # the strict gateway (ad_complexity on: the gateway judges first)
BREACHED = "Breached-Harbor-77"
for _p in (BREACHED,):
    SECRETS.add(_p, "breached password")


class RefusalsTest(harness.GatewayTestCase):
    USERS = (USER, STRICT_USER)

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ssprd-refusals-")
        breached = harness.make_breached_file(cls.tmp, [BREACHED])
        cls.GATEWAY_OPTIONS = {"overrides": {"password": {"breached_file": breached}}}
        super().setUpClass()
        cls.strict = cls.add_gateway(name="strict", overrides={
            "password": {"breached_file": breached, "ad_complexity": True}})
        cls.strict_api = cls.strict.client()
        cls.user = enroll(cls.api, USER, cls.env.user_password, email=f"{USER}@example.org",
                         totp=True, mailbox=cls.mail)
        cls.strict_user = enroll(cls.strict_api, STRICT_USER, cls.env.user_password,
                                email=f"{STRICT_USER}@example.org", mailbox=cls.mail)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def open_flow(self, login, enrolled, client):
        start = self.start_flow(login, client=client)
        method = method_of(start, "email")
        r = harness.pass_gate(client, "reset", start["flow"], method, enrolled, self.mail)
        self.assertEqual(self.json_of(r, 200, "verify"), {"gates_passed": 1,
                                                          "gates_required": 1})
        return start["flow"]

    def assertRefused(self, client, flow, login, password, code, still):
        SECRETS.add(password, f"refused password ({code})")
        r = client.post("/api/v1/reset/complete", {"flow": flow, "new_password": password})
        body = self.assertProblem(r, 422, code, f"{password!r} should be {code}")
        self.assertTrue(body["detail"], r.describe())
        self.assertNotIn(password, r.body.decode("utf-8", "replace"),
                         "the refusal must not repeat the password")
        # (No bind with the refused password: three wrong binds would lock the account.)
        self.assertTrue(self.dir.can_bind(login, still),
                        f"after {code} the old password must still work")

    def test_refusals_on_reset_and_change(self):
        initial = self.env.user_password
        flow = self.open_flow(USER, self.user, self.api)
        # The gateway's own rules (checked before the directory sees anything).
        self.assertRefused(self.api, flow, USER, "Ab1!xyz", "password_too_short", initial)
        self.assertRefused(self.api, flow, USER, "PasswordWelcome!", "password_banned", initial)
        self.assertRefused(self.api, flow, USER, BREACHED, "password_breached", initial)
        # The directory's rules.
        if self.dir.kind == "openldap":
            self.assertRefused(self.api, flow, USER, initial, "password_in_history", initial)
        else:
            self.assertRefused(self.api, flow, USER, "alllowercaseletters",
                               "password_not_complex", initial)
        # Then a good one, in the same flow.
        first = new_password("First")
        r = self.api.post("/api/v1/reset/complete", {"flow": flow, "new_password": first})
        self.assertEqual(self.json_of(r, 200, "complete after refusals"), {"result": "changed"})
        self.assertTrue(self.dir.can_bind(USER, first))
        self.assertFalse(self.dir.can_bind(USER, initial))

        # Back to the previous password by change: history on both directories.
        r = self.api.post("/api/v1/password/change",
                          {"username": USER, "current_password": first, "new_password": initial})
        self.assertProblem(r, 422, "password_in_history", "change back to the old password")
        self.assertTrue(self.dir.can_bind(USER, first))
        r = self.api.post("/api/v1/password/change",
                          {"username": USER, "current_password": first,
                           "new_password": "PasswordWelcome!"})
        self.assertProblem(r, 422, "password_banned", "the gateway's rules apply to change too")

        # Back to it by reset: OpenLDAP's ppolicy checks history on resets as well.
        if self.dir.kind == "openldap":
            flow = self.open_flow(USER, self.user, self.api)
            self.assertRefused(self.api, flow, USER, initial, "password_in_history", first)

    def test_complexity_and_name_checked_by_the_gateway(self):
        initial = self.env.user_password
        flow = self.open_flow(STRICT_USER, self.strict_user, self.strict_api)
        self.assertRefused(self.strict_api, flow, STRICT_USER, "onlylowercaseletters",
                           "password_not_complex", initial)
        self.assertRefused(self.strict_api, flow, STRICT_USER, "Quiet-t15-Harbor-42",
                           "password_contains_name", initial)
        password = new_password("Strict")
        r = self.strict_api.post("/api/v1/reset/complete", {"flow": flow,
                                                             "new_password": password})
        self.assertEqual(self.json_of(r, 200, "complete"), {"result": "changed"})
        self.assertTrue(self.dir.can_bind(STRICT_USER, password))

    def test_korean_detail_for_a_refusal(self):
        r = self.api.post("/api/v1/password/change",
                          {"username": "no-such-user-4711", "current_password": "x" * 12,
                           "new_password": new_password("Ko")},
                          headers={"Accept-Language": "ko"})
        body = self.assertProblem(r, 401, "credentials_invalid")
        self.assertRegex(body["detail"], "[\uac00-\ud7a3]", "detail should be Korean")

    def test_a_protected_account_is_refused_by_the_directory(self):
        if self.dir.kind != "openldap":
            self.skipTest("on Samba AD padmin has adminCount=1, which the gateway refuses "
                          "itself without a directory write (allow_protected_accounts: false)")
        # padmin lives in ou=admins, where cn=sspr may not write; it is in sspr-admins too, so
        # two gates first.
        login = "padmin"
        user = enroll(self.api, login, self.env.user_password, email="padmin@example.org",
                     totp=True, mailbox=self.mail)
        start = self.start_flow(login)
        self.assertEqual(start["gates_required"], 2, start)
        for kind in ("email", "totp"):
            self.full_gate(start["flow"], method_of(start, kind), user)
        r = self.api.post("/api/v1/reset/complete",
                          {"flow": start["flow"], "new_password": new_password("Protected")})
        self.assertProblem(r, 403, "account_protected")
        self.assertTrue(self.dir.can_bind(login, self.env.user_password))


if __name__ == "__main__":
    harness.main()
